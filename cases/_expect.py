"""Expectations several cases share: one root cause, stated once, included by each case it touches.

Torch ranges name lineup eras: <1.5 is 1.4.0; 1.5.1, 1.6.0, 1.7.1 and 1.8.1 each have a minor range of
their own (>=1.5,<1.6 is 1.5.1), and >=1.5,<1.10 is the Caffe2 behaviour they share with 1.9.1; 1.10.2 has the
last Caffe2 (1.11 and 1.12's do not import); 2.1 to 2.3 have dynamo_export; 2.4 and 2.5 are export(dynamo=True) with onnxscript 0.1.0.dev.
Every minor release is in the lineup, so a range says where a behaviour begins and ends, release by release.
"""
from __future__ import annotations

from matrix.wire import Expect

# S4 in every Caffe2 build: with the exporter's default keep_initializers_as_inputs (False from
# opset 9 on), Caffe2's ONNX backend cannot find an initializer. The error changes with the release.
# torch 1.4 keeps constants as Constant nodes, so only models with weights fail there; torch 1.5 folds some constants
# into initializers, but a graph whose constants stay Constant nodes and Shape computations still loads; from 1.6 on
# constant folding turns those into initializers too, and every graph that has one fails.
def caffe2_initializers(keep=None, variant=None):
    """The S4 failure in each Caffe2 build, for cells exported with keep_initializers_as_inputs=keep."""
    options = {"keep_initializers_as_inputs": keep}
    return [
        Expect("load-fail", variant=variant, runtime="caffe2", torch="<1.5", options=options, match="_Map_base::at",
               reason="Caffe2 looks initializers up among the graph inputs: IndexError _Map_base::at "
                      "(S4, onnx/onnx#2458)"),
        Expect("load-fail", variant=variant, runtime="caffe2", torch=">=1.5,<1.10", options=options,
               match="is undefined!",
               reason="S4 in the Caffe2 of torch 1.5 to 1.9: 'Input <initializer> is undefined!' (weights, and constants "
                      "folded into initializers, more of them from 1.6 on)"),
        Expect("run-fail", variant=variant, runtime="caffe2", torch=">=1.10,<1.11", options=options,
               match="is unknown for net",
               reason="S4 in torch 1.10's Caffe2, now at run time: 'Source for input <initializer> is unknown'"),
    ]


CAFFE2_1_4, CAFFE2_1_8, CAFFE2_1_10 = caffe2_initializers()
CAFFE2_WEIGHTS = [CAFFE2_1_4, CAFFE2_1_8, CAFFE2_1_10]
CAFFE2_CONSTANTS = [CAFFE2_1_8, CAFFE2_1_10]

# torch 2.1's dynamo_export writes onnxscript functions (pkg.onnxscript.torch_lib) into the model;
# onnx's reference evaluator has no implementation for them.
def reference_2_1(variant=None):
    return Expect("load-fail", variant=variant, exporter="dynamo", runtime="reference", torch=">=2.1,<2.3",
                  match="is unknown, known functions",
                  reason="torch 2.1 and 2.2's dynamo_export emit onnxscript library functions the reference "
                         "evaluator cannot run (torch 2.3's files of most cases run there)")


REFERENCE_2_1 = reference_2_1()

# torch 2.4.1's export(dynamo=True) with its era's onnxscript fails on nn.Sequential (toolchains.md).
DYNAMO_2_4_SEQUENTIAL = Expect("export-fail", exporter="dynamo", torch=">=2.4,<2.5", match="Failed to export",
                               reason="torch 2.4's dynamo exporter fails on nn.Sequential models (SARIF report)")

def index_put_opset_9(variant="default"):
    """Indexed writes (x[i] = v, x[:, :2] += 1, index_put_) become aten::index_put: ScatterND, opset 11."""
    return Expect("export-fail", variant=variant, exporter="torchscript", torch=">=1.6", opset="<11",
                  match="index_put",
                  reason="index_put has no ONNX form before opset 11 (ScatterND); the exporter says so from torch 1.6 "
                         "(1.5 still falls back to ATen) (S8)")

# Caffe2's ONNX backend (torch 1.10) has no translation for opset 11's ScatterND / ScatterElements. (torch 1.11 and
# 1.12's wheels ship a Caffe2 that does not import: the last Caffe2 of the lineup is 1.10's.)
CAFFE2_NO_SCATTER_ND = Expect("load-fail", runtime="caffe2", torch=">=1.10,<1.11", opset=">=11",
                              match="Error while processing node",
                              reason="Caffe2's ONNX backend cannot translate ScatterND/ScatterElements (opset 11)")

# The reference evaluator implements no Scatter (opset 9-10's name for ScatterElements).
REFERENCE_NO_SCATTER = Expect("load-fail", exporter="torchscript", runtime="reference", opset="<11",
                              match="'Scatter'",
                              reason="onnx.reference has no implementation of the deprecated Scatter op (opset 9-10)")

# A batchable case exported with dynamic_axes still fails at batch 2 when its example batch is 1:
# the dynamo exporters specialise a size-1 dimension (0/1 specialisation) and keep it static.
DYNAMO_SIZE_ONE = "dynamo specialises a dimension whose example size is 1; dynamic_axes cannot make it dynamic"


# torch 1.4 has no index_put symbolic: it falls back to an ATen op that onnxruntime does not have.
ATEN_INDEX_PUT_1_4 = [
    Expect("load-fail", variant="default", runtime=runtime, torch="<1.5", match="ATen",
           reason="torch 1.4 exports index_put as an ATen fallback op, which no ONNX runtime has (S8)")
    for runtime in ("onnxruntime", "reference")
] + [
    Expect("load-fail", variant="default", runtime="openvino", torch="<1.5",
           match="Only `embedding_bag` is supported as ATen",
           reason="torch 1.4 exports index_put as an ATen fallback op; OpenVINO's ONNX frontend converts an ATen "
                  "node only for embedding_bag (S8; seen with openvino 2026.4.1)"),
]

# torch 1.5 exports index_put as ScatterND at opset 11, but below it still falls back to the ATen op (from 1.6 the
# exporter refuses instead: index_put_opset_9).
ATEN_INDEX_PUT_1_5 = [
    Expect("load-fail", variant="default", runtime=runtime, torch=">=1.5,<1.6", opset="<11", match="ATen",
           reason="torch 1.5 exports index_put below opset 11 as an ATen fallback op, which no ONNX runtime has (S8)")
    for runtime in ("onnxruntime", "reference")
] + [
    Expect("load-fail", variant="default", runtime="openvino", torch=">=1.5,<1.6", opset="<11",
           match="Only `embedding_bag` is supported as ATen",
           reason="torch 1.5 exports index_put below opset 11 as an ATen fallback op; OpenVINO's ONNX frontend "
                  "converts an ATen node only for embedding_bag (S8; seen with openvino 2024.4.0)"),
]

# OpenVINO's ONNX frontend converts no model-local function (a FunctionProto the model carries, which
# onnxruntime inlines): a node calling one is an operation it has no rule for, even a function whose body is a
# single Exp (openvino 2026.4.1 says "No conversion rule found for operations: <domain>.<name>"; 2023.1 says
# "does not support the following ONNX operations"). Which dynamo files call one depends on the era: every
# file of torch 2.1, some of 2.4 and 2.6 (the Expects below and in the cases say which), none from 2.9 on.
OPENVINO_NO_LOCAL_FUNCTIONS = "OpenVINO's ONNX frontend converts no model-local function, so a node calling " \
                              "one has no conversion rule (seen with openvino 2026.4.1)"


def openvino_local_functions(torch, calls, variant=None):
    """A dynamo file of the ``torch`` era that still calls model-local functions (``calls`` says which)."""
    return Expect("load-fail", variant=variant, exporter="dynamo", runtime="openvino", torch=torch,
                  match="No conversion rule found for operations: pkg.",
                  reason="%s: %s" % (calls, OPENVINO_NO_LOCAL_FUNCTIONS))


# torch 2.1's dynamo_export writes every op as a call to an onnxscript torch_lib function
# (pkg.onnxscript.torch_lib) and every submodule as one (pkg.torch.2.1.2+...): no such file loads.
OPENVINO_FUNCTIONS_2_1 = openvino_local_functions(
    ">=2.1,<2.4", "torch 2.1 to 2.3's dynamo_export calls each op and submodule as a model-local function "
                  "(pkg.onnxscript.torch_lib, pkg.torch)")
# torch 2.4's export(dynamo=True) keeps each nn.Sequential as a function (pkg.torch.2.4.1+...)...
OPENVINO_SEQUENTIAL_2_4 = openvino_local_functions(
    ">=2.4,<2.5", "torch 2.4's export(dynamo=True) keeps each nn.Sequential as a model-local function (pkg.torch)")
# ...and index_put (x[i] = v, index_put_, index_add_) as torch_lib's aten_index_put.
OPENVINO_INDEX_PUT_2_4 = openvino_local_functions(
    ">=2.4,<2.6", "torch 2.4 and 2.5's export(dynamo=True) leave index_put as a call to torch_lib's aten_index_put")

# torch 2.5's exporter (onnxscript 0.1.0.dev20241029) cannot build aten_view's Cast of a shape list that mixes a
# symbolic batch size with constants ([sym_size, 128]): every view/flatten of a dynamic batch fails to convert.
DYNAMO_2_5_SYMBOLIC_VIEW = Expect("export-fail", exporter="dynamo", torch=">=2.5,<2.6", match="aten_view",
                                  reason="torch 2.5's exporter cannot translate view() to a shape of a symbolic batch "
                                         "and constants (aten_view's Cast of [sym_size, n]); 2.4 and 2.6 can")

# torch 2.5's dynamo_shapes from dynamic_axes name more inputs than a flattened list or dict argument gives the model.
DYNAMO_2_5_INPUT_NAMES = Expect("export-fail", variant="default", exporter="dynamo", torch=">=2.5,<2.6",
                                match="Number of input names",
                                reason="torch 2.5 names each flattened tensor of a list or dict argument as an input "
                                       "of its own, and the model has one: 'Number of input names (2) should not be "
                                       "greater than the number of model inputs (1)'")

# OpenVINO's CPU plugin refuses an input whose shape differs from a static declared one (seen with 2026.4.1).
OPENVINO_STATIC_INPUT = "The input tensor size is not equal to the model input type"

# Caffe2 and the reference evaluator on graphs of the scatter family, in the order that matters
# (first match wins: torch 1.10's Caffe2 fails on ScatterND before it reaches its initializers).
SCATTER_RUNTIMES = [CAFFE2_1_4, CAFFE2_1_8, CAFFE2_NO_SCATTER_ND, CAFFE2_1_10, REFERENCE_NO_SCATTER]
