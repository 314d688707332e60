"""The run arguments of each corpus, in one place: ``nox -s ops``/``models`` run them across the lineup, the bench
times them in one environment, and the published results were made with them.

The transformers corpus runs each release at the opsets its exporters write, so that no release is asked for an opset
it cannot write (``hf_opsets``): opset 11 before torch 1.13 (torch 1.4's TorchScript writes at most 11), 17 for 1.13
and 2.0, 17 and 18 for 2.1-2.3 (TorchScript writes 17 at most, dynamo_export 18 only), 18 from 2.4. The newest
entries were also published at 17. torchvision's models run at the same opsets (``hf_opsets``).
"""
from __future__ import annotations

from packaging.version import Version

# every frozen OpInfo sample at every opset each exporter writes natively, on onnxruntime and the reference evaluator
OPS = ["--cases-dir", "cases/ops", "--opsets", "all", "--runtimes", "ort-cpu,reference", "--time-budget", "0.01"]
# torch's own architectures, with their declared dynamic axes and other input sets, at the opsets most deployed
MODELS = ["--cases-dir", "cases/models", "--opsets", "11,17,18", "--runtimes", "ort-cpu", "--time-budget", "0.2"]
# transformers from tiny configs; --opsets per release (hf_opsets)
HF = ["--cases-dir", "cases/hf", "--runtimes", "ort-cpu", "--time-budget", "0.2"]
# torchvision's models (weights=None); --opsets per release, as the transformers corpus (hf_opsets)
VISION = ["--cases-dir", "cases/vision", "--runtimes", "ort-cpu", "--time-budget", "0.2"]


def hf_opsets(torch: str) -> str:
    """The opsets the transformers corpus runs at in a release of torch (``--opsets`` text)."""
    version = Version(torch.split("+")[0])
    if version < Version("1.13"):
        return "11"
    if version < Version("2.1"):
        return "17"
    if version < Version("2.4"):
        return "17,18"  # TorchScript writes 17 at most, dynamo_export 18 only
    return "18"
