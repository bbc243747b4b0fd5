"""The torch side: model, training loop, checkpoints, ONNX export, and the targets they learn.

Importing this package imports nothing heavy: ``targets`` (and the procedural
family) are numpy/Pillow only and are read by the torch-free render path too;
``model``, ``loop``, ``checkpoint`` and ``export`` import torch (the ``[train]`` extra).
"""
