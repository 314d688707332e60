"""torchvision's models, random weights (``weights=None``; ``pretrained=False`` before torchvision 0.13): the table
and the one builder.

Each case module of this folder names one entry of ``MODELS``; ``vision_model`` calls the builder as a user does
(``torchvision.models.resnet18(weights=None)``), with no backbone weights either (a builder that would download
them is told not to: nothing may reach the network), in eval mode from the worker's fixed seed. The two
transformer classifiers are built small from their classes (``VisionTransformer``, ``SwinTransformer``): vit_b_16
alone would be a 330 MB file per cell. A segmentation model returns its ``out`` tensor.

No detection model: with random weights its kept boxes are those near the score threshold, and which of them pass
depends on summation order (ssdlite320 kept 128 boxes in onnxruntime and 136 in eager PyTorch, torch 2.3.1), so its
"pass" would be no fact on another CPU. DenseNet-121 is left out for its cost (a 50 s dynamo export on 2 cores).

torchvision is not in the environments' pins: it lies beside them (matrix/envs/models.py, ``vision_pins``) and
only this folder sees it (its ``_requires.txt``). Where it is missing, or does not load beside the environment's
torch (PyPI's torchvision beside a CPU build of torch: ``operator torchvision::nms does not exist``), or is older
than the model, a cell is a skip that says so. Python 3.7 syntax: torch 1.4's environment runs it.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Tuple

from matrix.wire import Case
from matrix.wire.contract import CaseSkip

# id: (family, title, the builder or class in torchvision.models, the torchvision release that added it, its
# arguments, input kind). "0.5": in torchvision 0.5 (torch 1.4, the lineup's oldest) already.
MODELS = {
    "resnet18": ("vision", "ResNet-18", "resnet18", "0.5", {}, "image"),
    "mobilenet_v2": ("vision", "MobileNetV2", "mobilenet_v2", "0.5", {}, "image"),
    "mobilenet_v3_small": ("vision", "MobileNetV3-Small", "mobilenet_v3_small", "0.9", {}, "image"),
    "squeezenet1_1": ("vision", "SqueezeNet 1.1", "squeezenet1_1", "0.5", {}, "image"),
    "shufflenet_v2_x0_5": ("vision", "ShuffleNetV2 x0.5", "shufflenet_v2_x0_5", "0.5", {}, "image"),
    "mnasnet0_5": ("vision", "MNASNet 0.5", "mnasnet0_5", "0.5", {}, "image"),
    "efficientnet_b0": ("vision", "EfficientNet-B0", "efficientnet_b0", "0.11", {}, "image"),
    "regnet_y_400mf": ("vision", "RegNetY-400MF", "regnet_y_400mf", "0.11", {}, "image"),
    "convnext_tiny": ("vision", "ConvNeXt-Tiny", "convnext_tiny", "0.12", {}, "image"),
    "vit_tiny": ("vision", "ViT (VisionTransformer, 2 layers)", "VisionTransformer", "0.12",
                 {"image_size": 64, "patch_size": 16, "num_layers": 2, "num_heads": 2, "hidden_dim": 32, "mlp_dim": 64,
                  "num_classes": 10}, "image-fixed"),
    "swin_tiny": ("vision", "Swin (SwinTransformer, 2 stages)", "SwinTransformer", "0.13",
                  {"patch_size": [4, 4], "embed_dim": 16, "depths": [2, 2], "num_heads": [2, 4], "window_size": [4, 4],
                   "num_classes": 10}, "image"),
    "deeplabv3_mobilenet_v3_large": ("segmentation", "DeepLabV3 (MobileNetV3-Large)", "deeplabv3_mobilenet_v3_large",
                                     "0.9", {"num_classes": 4}, "segmentation"),
    "lraspp_mobilenet_v3_large": ("segmentation", "LR-ASPP (MobileNetV3-Large)", "lraspp_mobilenet_v3_large", "0.9",
                                  {"num_classes": 4}, "segmentation"),
}
BATCH, SIZE = 2, (64, 64)
# The other input sets every cell runs after the export's (shapes()): another batch, then another image size (not a
# multiple of 32: the strides' rounding must follow it), as a deployed model meets them
OTHER = ({"batch": 3}, {"size": (96, 80)})

IMAGE_AXES = {0: "batch", 2: "height", 3: "width"}
# Dynamic axes as users declare them, per input kind: (forward's parameters with their axes, the outputs' axes)
DYNAMIC = {
    "image": ({"image": IMAGE_AXES}, {0: {0: "batch"}}),
    # a ViT's position embeddings are for one image size: only its batch varies
    "image-fixed": ({"image": {0: "batch"}}, {0: {0: "batch"}}),
    "segmentation": ({"image": IMAGE_AXES}, {0: IMAGE_AXES}),
}


def case_of(name: str) -> Case:
    family, title, builder, since, _, kind = MODELS[name]
    dynamic, dynamic_outputs = DYNAMIC[kind]
    what = {"vision": "its logits", "segmentation": "its per-pixel logits (out)"}[family]
    return Case(title="%s (torchvision.models.%s)" % (title, builder), corpus="models",
                pitfall="Does torchvision's %s (random weights) export with dynamic axes, run at another batch and "
                        "image size and agree with eager PyTorch (%s)?" % (title, what),
                links=["https://pytorch.org/vision/stable/models.html"],
                op={"family": family, "architecture": title, "model_class": builder, "source": "torchvision",
                    "since": since}, atol=1e-4, rtol=1e-3, dynamic=dynamic, dynamic_outputs=dynamic_outputs)


def _site() -> Dict[str, Any]:
    """What matrix/envs/models.py installed beside this environment for torchvision (its marker on the path)."""
    for folder in sys.path:
        try:
            with open(os.path.join(folder, ".matrix-models.json")) as handle:
                marker = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(marker, dict) and marker.get("package") == "torchvision":
            return marker
    return {}


def _torchvision(builder: str, since: str) -> Any:
    try:
        import torchvision.models
        import torchvision.models.segmentation  # noqa: F401  (its builders, by their submodule)
    except ImportError:
        raise CaseSkip(_site().get("note") or "torchvision is not installed beside this environment (no "
                       "vision_pins for it in the lineup: python -m matrix lock --models torchvision --env ID)")
    except Exception as exc:  # its operators do not load beside this torch: the import itself says why
        raise CaseSkip("torchvision does not load beside torch here: %s: %s" % (type(exc).__name__, exc))
    import torchvision
    for where in (torchvision.models, torchvision.models.segmentation):
        if hasattr(where, builder):
            return getattr(where, builder)
    raise CaseSkip("torchvision %s has no %s (added in %s)" % (torchvision.__version__, builder, since))


def _no_weights(build: Any, family: str) -> Dict[str, Any]:
    """The arguments that ask for no weights, the model's nor its backbone's: weights=None from 0.13, pretrained=False
    before (a segmentation builder takes pretrained_backbone, through **kwargs in 0.9-0.12)."""
    import inspect
    if isinstance(build, type):  # a class: weights are the builders' business
        return {}
    names = inspect.signature(build).parameters
    if "weights" in names:
        return dict({"weights": None}, **({"weights_backbone": None} if "weights_backbone" in names else {}))
    return dict({"pretrained": False}, **({"pretrained_backbone": False} if family != "vision" else {}))


def _module_classes():
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super(Classifier, self).__init__()
            self.model = model

        def forward(self, image):
            return self.model(image)

    class Segmenter(Classifier):
        def forward(self, image):
            return self.model(image)["out"]

    return {"image": Classifier, "image-fixed": Classifier, "segmentation": Segmenter}


def _inputs(kind: str, batch: int = BATCH, size: Tuple[int, int] = SIZE) -> List[Any]:
    import torch
    return [torch.randn(batch, 3, *(SIZE if kind == "image-fixed" else size))]


def vision_model(name: str) -> Tuple[Any, List[Any]]:
    """(module returning plain tensors, its example inputs) for ``MODELS[name]``, random weights, eval mode."""
    family, _, builder, since, kwargs, kind = MODELS[name]
    build = _torchvision(builder, since)
    model = build(**dict(_no_weights(build, family), **kwargs)).eval()
    return _module_classes()[kind](model).eval(), _inputs(kind)


def other_shapes(name: str) -> List[List[Any]]:
    """The case's other input sets (its module's shapes()): another batch, then another image size (a ViT: another
    batch only)."""
    kind = MODELS[name][5]
    _torchvision(MODELS[name][2], MODELS[name][3])  # a skip says why before any input is made
    found = [_inputs(kind, **OTHER[0])]
    return found if kind == "image-fixed" else found + [_inputs(kind, **OTHER[1])]
