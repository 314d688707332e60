"""Code that runs inside a pinned environment (Python 3.7 and up, stdlib + torch/onnx/runtimes/numpy): case
discovery, the pipeline and its stages, the comparison with eager PyTorch, the clean slate, the bench loop.

The host never imports it: host and worker share only ``matrix.wire`` and the adapters' registry.
"""
