"""Code that runs inside a pinned environment (Python 3.7 and up, stdlib + torch/onnx/runtimes/numpy).

The host imports only ``schema`` and ``spec`` from here, both stdlib-only.
"""
