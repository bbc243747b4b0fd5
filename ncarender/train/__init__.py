"""The torch side: model, training loop, checkpoints and ONNX export (the ``[train]`` extra).

The targets and the procedural family they learn are numpy/Pillow only and live in :mod:`ncarender.family`.
"""
