"""The snowflake family, numpy and Pillow only: target images, Reiter's automaton, its crystal images, the
discrete and continuous families and their conditioning codes.

The render side (metadata, seed states, the page, evaluation) and the trainer both read these modules;
nothing here imports torch or onnxruntime.
"""
