"""What every runtime adapter declares: its names, its label for views, the version keys Expects filter on,
whether it runs on a device, and which of its own exceptions mean "not here" (skip) rather than a failure.

``source()`` writes ``load_model(path) -> session`` and ``run_model(session, arrays) -> outputs``
(and, where timing needs the device, ``bind_model(session, arrays) -> call``); the worker compiles
and calls exactly that, and the row keeps it for the reproduction. Python 3.7 syntax, stdlib only.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

ARITY_CHECK = """\
    if len(names) != len(arrays):
        raise RuntimeError("the model takes %d inputs (%s), the case gives %d" % (len(names), ", ".join(names), len(arrays)))
"""


class Runtime(object):
    name = ""      # what --runtimes says
    runtime = ""   # the row's runtime field
    provider = ""  # the row's provider field
    label = ""     # what views call it: "onnxruntime CPU"
    short = ""     # a narrow column heading: "ORT CPU"
    upstream = ""  # where its bugs are filed (``bug CELL`` names it): "microsoft/onnxruntime"
    # reads a file as the ONNX spec does (onnx's reference evaluator): where it fails a file too, ``bug`` calls the
    # file the exporter's, even when a lenient runtime runs it
    reads_spec = False
    # the Expect keys this runtime answers for (Expect(openvino=">=2025")), each with the distributions whose
    # installed version is the key's value; rows carry them in ``runtime_versions``
    version_keys: Dict[str, Tuple[str, ...]] = {}
    # runs on an accelerator: the pipeline reads where it put the nodes (``placement``) after timing
    device = False
    # a device runtime's counterpart on the host CPU (its --runtimes name): views put the two side by side
    host_twin = ""
    # names of exceptions its recorded code raises when the cell cannot run here (onnxruntime put a CUDA
    # session on the CPU): the cell is skip, not a failure. Names, since the classes live in that code.
    skip_exceptions: Tuple[str, ...] = ()
    # modules whose functions its code calls: the worker's clean slate watches them for a case's patches
    modules: Tuple[str, ...] = ()

    def probe(self) -> Dict[str, Any]:
        """In the worker: whether this runtime is here, and its version (JSON-ready)."""
        raise NotImplementedError

    def unavailable(self, caps: Dict[str, Any]) -> Optional[str]:
        """Why this runtime cannot run cells here (the cells are skip), or None."""
        return caps.get("missing")

    def source(self, caps: Dict[str, Any]) -> str:
        raise NotImplementedError

    def placement(self, path: str, arrays: Sequence[Any], scratch: str) -> Optional[Dict[str, Any]]:
        """Where the runtime put the model's nodes, as row fields (gpu_node_share, cpu_nodes, ...), or None."""
        return None
