"""The model packages beside an environment (transformers, torchvision), imported before the worker's slate is taken.

Building the first transformers model patches ``torch.nn.Module`` (5.x adds ``smart_apply``) and its progress
bars start a monitor thread: done inside a case, the slate would see the case change the process and the host
would restart the worker after every model case. So the worker imports them and builds one tiny model once, before the slate, and only
when a case folder asks for them (its ``_requires.txt``: cases/hf/); every other corpus's worker never imports
transformers. torchvision registers its operators and their ONNX symbolics (nms, roi_align) when imported: done in a
case, the slate would take those symbolics back after it and every later case would export without them.
The release found is recorded beside the other versions: ``versions`` (the hello frame) and the
``runtime_versions`` dict of every row. Python 3.7 syntax.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List

NEEDS = "_requires.txt"  # as matrix/envs/models.py names it


def wanted(case_dirs: List[str]) -> List[str]:
    """The packages the case folders' ``_requires.txt`` name (the host checked each is one it installs)."""
    names = []  # type: List[str]
    for folder in case_dirs:
        try:
            with open(os.path.join(folder, NEEDS)) as handle:
                names.extend(line.split("#")[0].strip() for line in handle)
        except OSError:
            continue
    return sorted(set(name for name in names if name))


def preload(case_dirs: List[str], capabilities: Dict[str, Any], versions: Dict[str, Any]) -> None:
    names = wanted(case_dirs)
    if "torchvision" in names:
        _torchvision(capabilities, versions)
    if "transformers" in names:
        _transformers(capabilities, versions)


def _torchvision(capabilities: Dict[str, Any], versions: Dict[str, Any]) -> None:
    try:
        import torchvision
        import torchvision.models  # noqa: F401  (the builders' modules, and detection's ops, before the slate)
        import torchvision.ops  # noqa: F401
    except Exception as exc:  # missing, or its operators do not load beside this torch: the cases skip and say why
        versions["torchvision"] = None
        versions["torchvision_error"] = "%s: %s" % (type(exc).__name__, exc)
        return
    versions["torchvision"] = torchvision.__version__
    capabilities.setdefault("version_keys", {})["torchvision"] = torchvision.__version__


def _transformers(capabilities: Dict[str, Any], versions: Dict[str, Any]) -> None:
    try:
        import tqdm
        tqdm.tqdm.monitor_interval = 0  # no monitor thread: a thread left running reads as a case's leak
    except ImportError:
        pass
    try:
        import transformers
        # the first model built patches torch.nn.Module (5.x's smart_apply, set while weights initialise)
        transformers.BertModel(transformers.BertConfig(num_hidden_layers=1, hidden_size=8, num_attention_heads=2,
                                                       intermediate_size=8, vocab_size=20))
    except Exception as exc:  # missing, or not importable beside this torch: the cases skip and say why
        versions["transformers"] = None
        versions["transformers_error"] = "%s: %s" % (type(exc).__name__, exc)
        return
    versions["transformers"] = transformers.__version__
    capabilities.setdefault("version_keys", {})["transformers"] = transformers.__version__
