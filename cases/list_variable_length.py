"""A list whose length depends on the input needs a scripted loop, which old exporters cannot emit."""
from __future__ import annotations

from typing import List

import torch

from cases._expect import CAFFE2_CONSTANTS, OPENVINO_FUNCTIONS_2_1, OPENVINO_STATIC_INPUT, openvino_local_functions
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="a list built in a loop over x.size(0)",
    pitfall="Tracing unrolls a Python loop at the example's length, so the graph only fits that length. "
            "Scripting keeps the loop (ONNX Loop with a sequence, opset >= 11), which torch 1.4 at "
            "opset 9 cannot export; later versions can, at a newer opset.",
    seed=["S7", "S9"],
    batchable=True,
    expect=[
        Expect("run-fail", variant="default", torch="<1.5", runtime="reference",
               match="need at least one array to concatenate",
               reason="torch 1.4's empty Concat, replayed: the reference evaluator fails on it at run time (S7)"),
        Expect("load-fail", variant="default", torch="<1.5", runtime="openvino", openvino="<2024",
               match="Check 'get_input_size() >= 1'",
               reason="torch 1.4's empty Concat (S7): openvino 2023.1's Concat needs at least one input"),
        Expect("load-fail", variant="default", torch="<1.5", runtime="openvino", match="Check '!input_shapes.empty()'",
               reason="torch 1.4 exports the scripted loop's list as an empty Concat (S7): OpenVINO's Concat shape "
                      "inference refuses a Concat of no inputs (seen with openvino 2026.4.1)"),
        Expect("load-fail", variant="default", torch="<1.5", match="has input size 0 not in range",
               reason="torch 1.4 exports the scripted loop's list as an empty Concat: the graph is invalid (S7)"),
        Expect("export-fail", variant="default", exporter="torchscript", torch=">=1.5,<1.8",
               match="has input size 0 not in range",
               reason="torch 1.5 to 1.7 still export the scripted loop's list as an empty Concat, as 1.4 did, and "
                      "their torch.onnx.export checks the model and refuses it (S7)"),
        Expect("export-fail", variant="default", exporter="torchscript", torch=">=1.8,<1.9",
               match="INTERNAL ASSERT FAILED",
               reason="torch 1.8 cannot export the scripted list loop at any opset (internal assert) (S7)"),
        Expect("export-fail", variant="default", exporter="torchscript", torch=">=1.9", opset="<11", match="append",
               reason="a list built in a loop needs ONNX sequences: opset 11 (S7)"),
        Expect("crash", variant="default", runtime="caffe2", torch=">=1.9,<1.10", opset=">=11", match="SIGABRT",
               reason="torch 1.9's Caffe2 aborts the worker running the scripted list loop (opset 11's Loop)"),
        Expect("run-fail", variant="default", runtime="caffe2", torch=">=1.10,<1.11", match="is unknown for net loop_net",
               reason="Caffe2 runs the Loop body without the outer scope's input_0"),
        Expect("diverge", variant="default", exporter="torchscript", runtime="reference", opset=">=18",
               torch=">=2.0,<2.6", replayed=False, match="has shape (4, 3)",
               reason="the reference Loop of onnx 1.14 and 1.16 returns the stacked sequence of torch 2.0/2.4's "
                      "TorchScript export transposed"),
        Expect("export-fail", variant="default", exporter="dynamo", match="Failed to export the model",
               reason="torch.export cannot take a ScriptModule: the dynamo exporters need the eager module"),
        Expect("diverge", variant="traced", exporter="torchscript", match="has shape (3, 4)",
               reason="tracing unrolled the loop at the example's length (3): at another batch size the graph "
                      "still returns 3 rows, silently (S7)"),
        Expect("diverge", variant="traced", exporter="dynamo", runtime="reference", torch="<2.4", replayed=False,
               match="has shape (4, 3)",
               reason="the reference evaluator of onnx 1.15 transposes the sequence torch 2.1 to 2.3's dynamo_export "
                      "builds"),
        Expect("batch-fail", variant="traced", exporter="dynamo", runtime="onnxruntime", match="invalid dimensions",
               torch=">=2.5,<2.7",
               reason="torch 2.5 and 2.6's dynamo fix the input at the example's 3 rows: onnxruntime refuses 4"),
        Expect("batch-fail", variant="traced", exporter="dynamo", runtime="openvino", torch=">=2.5,<2.7",
               match=OPENVINO_STATIC_INPUT,
               reason="torch 2.5 and 2.6's dynamo fix the input at the example's 3 rows: OpenVINO refuses 4"),

        # after the export failures, before the divergence: these files do not load on OpenVINO
        OPENVINO_FUNCTIONS_2_1,
        openvino_local_functions(">=2.5,<2.7", "torch 2.5 and 2.6's export(dynamo=True) leave unsqueeze as a call to "
                                 "torch_lib's aten_unsqueeze", variant="workaround"),
        Expect("diverge", variant="traced", exporter="dynamo", torch="<2.9", match="has shape (3, 4)",
               reason="dynamo specialises the loop to the example's 3 iterations: another batch gets 3 rows, silently"),
        Expect("export-fail", variant="traced", exporter="dynamo", torch=">=2.9",
               match="Failed to export the model with torch.export",
               reason="from 2.9 torch.export refuses a Python loop over a dynamic dimension"),
        *CAFFE2_CONSTANTS,
    ],
)


class RowsTimesIndex(torch.nn.Module):
    def forward(self, x):
        rows: List[torch.Tensor] = []
        for i in range(x.size(0)):
            rows.append(x[i] * float(i + 1))
        return torch.stack(rows)


def build():
    """Scripted: the loop's length follows the input."""
    return torch.jit.script(RowsTimesIndex()), (randn(3, 4),)


def build_traced():
    """Traced: the loop is unrolled three times."""
    return RowsTimesIndex(), (randn(3, 4),)


def build_workaround():
    """No list at all: the same numbers from one vectorised expression."""
    class Vectorised(torch.nn.Module):
        def forward(self, x):
            steps = torch.arange(1, x.size(0) + 1, dtype=torch.float32).unsqueeze(1)
            return x * steps
    return Vectorised(), (randn(3, 4),)
