"""The matrix: a compatibility-matrix benchmark harness for PyTorch -> ONNX export.

This package is imported both by the host (modern Python, never torch) and, for
``matrix.worker``, inside pinned environments down to Python 3.7: keep this file
free of imports and of syntax newer than 3.7.
"""
