"""onnx's own reference evaluator (onnx >= 1.13): slow, but the spec's reading of the file."""
from __future__ import annotations

from matrix.adapters import runtime
from matrix.adapters.runtimes.base import ARITY_CHECK, Runtime


@runtime
class Reference(Runtime):
    name = "reference"
    runtime = "reference"
    provider = "onnx.reference"
    label = "reference evaluator"
    short = "ref"
    upstream = "onnx/onnx"
    reads_spec = True
    version_keys = {"onnx": ("onnx",)}  # the evaluator is the onnx package's
    # its code calls onnx, which the worker's slate watches anyway

    def probe(self):
        import onnx
        try:
            import onnx.reference  # noqa: F401
        except ImportError:
            return {"missing": "onnx.reference needs onnx >= 1.13 (this is %s)" % onnx.__version__}
        return {"version": onnx.__version__}

    def source(self, caps):
        return ("import numpy\n"
                "import onnx\n"
                "from onnx.reference import ReferenceEvaluator\n\n\n"
                "def load_model(path):\n"
                "    model = onnx.load(path)\n"
                "    initializers = {i.name for i in model.graph.initializer}\n"
                "    return ReferenceEvaluator(model), [i.name for i in model.graph.input if i.name not in initializers]\n\n\n"
                "def run_model(session, arrays):\n"
                "    evaluator, names = session\n"
                "%s"
                "    return [numpy.asarray(x) for x in evaluator.run(None, dict(zip(names, arrays)))]\n") % ARITY_CHECK
