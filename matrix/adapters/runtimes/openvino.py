"""OpenVINO's ONNX frontend on its CPU device (the ``openvino`` PyPI package, 2023.1 onwards)."""
from __future__ import annotations

from typing import Any, Dict

from matrix.adapters import runtime
from matrix.adapters.runtimes.base import ARITY_CHECK, Runtime


@runtime
class OpenVinoCpu(Runtime):
    name = "ov-cpu"
    runtime = "openvino"
    provider = "CPU"
    label = "OpenVINO CPU"
    short = "OV CPU"
    upstream = "openvinotoolkit/openvino"
    version_keys = {"openvino": ("openvino",)}

    def probe(self) -> Dict[str, Any]:
        try:
            import openvino
        except ImportError:
            return {"missing": "openvino is not installed in this environment"}
        try:
            from openvino import Core  # noqa: F401  (2023.1 onwards; 2026 dropped openvino.runtime)
            api = "openvino"
        except ImportError:
            api = "openvino.runtime"
        # "2026.4.1-22982-e213a147257-releases/2026/4": the release is what pins and Expects name
        build = str(openvino.__version__)
        caps = {"version": build.split("-")[0], "build": build, "api": api}
        try:
            devices = list(__import__(api, fromlist=["Core"]).Core().available_devices)
        except Exception as exc:  # a broken install: say so in its words
            return dict(caps, missing="openvino %s does not start here: %s" % (build, exc))
        if "CPU" not in devices:
            return dict(caps, missing="openvino %s here offers %s, not the CPU device" % (build, ", ".join(devices)))
        return caps

    def source(self, caps: Dict[str, Any]) -> str:
        return ("import numpy\n"
                "from %s import Core\n\n\n"
                "def load_model(path):\n"
                "    core = Core()\n"
                "    # f32 as the file says: on CPUs with AMX or AVX512-FP16, OpenVINO's default precision hint is\n"
                "    # bf16 or f16, which would make a verdict depend on the machine it ran on\n"
                "    compiled = core.compile_model(core.read_model(path), 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})\n"
                "    return compiled, compiled.create_infer_request()\n\n\n"
                "def run_model(session, arrays):\n"
                "    compiled, request = session\n"
                "    names = [port.get_any_name() for port in compiled.inputs]\n"
                "%s"
                "    # by position, in the model's input order; outputs copied out of the request's own buffers,\n"
                "    # which the next inference overwrites\n"
                "    result = request.infer(dict(enumerate(arrays)))\n"
                "    return [numpy.array(result[port]) for port in compiled.outputs]\n") % (caps.get("api", "openvino"),
                                                                                        ARITY_CHECK)
