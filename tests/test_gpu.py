"""The GPU path, tested where no GPU is: onnxruntime's record of node placement read from real session logs,
the CUDA adapter's fallback check, CUDA beside CPU in the views, and the GPU variants of the lineup."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from matrix.adapters.runtimes import log_complaints, placements, share_of
from matrix.envs.lineup import LineupError, load_lineup, parse_entry
from matrix.views.gpu import gpu_summary, side_by_side

LOGS = Path(__file__).with_name("ort_logs")
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def test_placement_of_a_real_mixed_session():
    """onnxruntime-openvino 1.24.1 on this CPU: three fused subgraphs on OpenVINO, an Unsqueeze left on the CPU."""
    placed = placements((LOGS / "onnxruntime-openvino-1.24.1-mixed.log").read_text())
    assert placed["OpenVINOExecutionProvider"]["count"] == 3
    assert placed[CPU] == {"count": 1, "nodes": ["Unsqueeze (unsqueeze_2)"]}
    assert share_of(placed, "OpenVINOExecutionProvider") == 0.75
    assert share_of(placed, CUDA) == 0.0


def test_device_copies_are_not_nodes_of_the_model():
    """A posted MIGraphX log: the MemcpyFromHost onnxruntime inserted is not counted; the header's count is."""
    placed = placements((LOGS / "migraphx-mixed-excerpt.log").read_text())
    assert placed[CPU]["count"] == 39  # the excerpt lists one of them: the header is the count
    assert "MemcpyFromHost (Memcpy)" in placed["MIGraphXExecutionProvider"]["nodes"]
    assert share_of(placed, "MIGraphXExecutionProvider") == pytest.approx(1 / 40)


def test_a_fallback_session_says_why():
    """onnxruntime-gpu 1.31.1 with no CUDA libraries: the provider does not start, every node is the CPU's,
    and onnxruntime's own words say why."""
    log = (LOGS / "onnxruntime-gpu-1.31.1-no-cuda-libraries.log").read_text()
    placed = placements(log)
    assert placed == {CPU: {"count": 3, "nodes": []}}
    assert share_of(placed, CUDA) == 0.0
    said = log_complaints(log, "/opt/venv")
    assert said[0].startswith("Failed to load library lib/python3.12/site-packages/onnxruntime/capi/"
                              "libonnxruntime_providers_cuda.so with error: libcublasLt.so.13")
    assert said[1].startswith("Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 13.*")
    assert not any("Session Options" in line for line in said), "info lines are not complaints"


def test_no_placement_record():
    assert placements("") is None
    assert placements("2026-01-01 00:00:00 [I:onnxruntime:, inference_session.cc:1 Init] Session initialized.") is None


def test_cuda_code_refuses_a_session_on_the_cpu(tmp_path):
    """With a CPU-only onnxruntime (the tests' own), the CUDA adapter's recorded code raises ProviderFallback,
    and the pipeline makes that a skip, not a CUDA result."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    from onnx import TensorProto, helper

    from matrix.adapters import RUNTIMES
    from matrix.wire import Row, Status
    from matrix.worker.pipeline import Pipeline, StageFailed, compiled
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    code = compiled(RUNTIMES["ort-cuda"].source({"providers_argument": True}), "<ort-cuda runtime>")
    pipeline = Pipeline({}, {}, {}, str(tmp_path), on_stage=lambda name: None)
    row = Row(cell="c")
    with pytest.raises(StageFailed) as failed:
        with pipeline.stage(row, "load", RUNTIMES["ort-cuda"].skip_exceptions):
            code["load_model"](str(path))
    assert failed.value.status == Status.SKIP
    assert failed.value.error_type == "ProviderFallback"
    assert "not the GPU" in failed.value.error


def test_verbose_log_of_a_real_cpu_session(tmp_path):
    """The placement stage's own path (a verbose session, fd 2 captured and parsed) on this onnxruntime."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import numpy
    from onnx import TensorProto, helper

    from matrix.adapters import RUNTIMES
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["r"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    placed = RUNTIMES["ort-cpu"].placement(str(path), [numpy.array([1.0, -1.0], numpy.float32)], str(tmp_path / "s"))
    assert placed["placement_source"] == "session log"
    assert placed["gpu_node_share"] == 0.0
    assert not list((tmp_path / "s").iterdir()), "the captured log is removed after reading"


def _row(provider: str, latency: float, status: str = "pass", **extra) -> dict:
    return {"env_id": "torch-2.13.0-gpu", "runtime_env": "", "case": "constant_folding", "variant": "default",
            "options": "do_constant_folding=False", "exporter": "torchscript", "opset_requested": 11,
            "runtime": "onnxruntime", "provider": provider, "status": status, "latency_ms": latency,
            "gpu_node_share": extra.get("gpu_node_share"), "cpu_nodes": extra.get("cpu_nodes"),
            "latency_method": "io-binding" if provider == CUDA else "run"}


def test_cuda_beside_cpu_pairs_the_same_file():
    view = pd.DataFrame([_row(CUDA, 0.05, gpu_node_share=0.8, cpu_nodes=["Shape (Shape_0)"]), _row(CPU, 0.2),
                         {**_row(CUDA, 0.04), "opset_requested": 9},  # its CPU twin did not run
                         {**_row(CPU, 0.3), "case": "other"}, _row(CUDA, 9.0, status="diverge")])
    pairs = side_by_side(view)
    assert len(pairs) == 1
    pair = pairs.iloc[0]
    assert (pair["cuda_ms"], pair["cpu_ms"], pair["speedup"]) == (0.05, 0.2, 4.0)
    assert pair["cpu_nodes"] == ["Shape (Shape_0)"]
    assert side_by_side(pd.DataFrame()).empty
    assert side_by_side(view[view["provider"] == CPU]).empty


def _entry(**fields) -> dict:
    return {"id": "torch-9.9.9", "python": "3.12", "pins": ["torch==9.9.9", "onnxruntime==1.32.0", "numpy==2.0.0"],
            **fields}


def test_gpu_variant_swaps_only_the_runtime():
    entry = parse_entry(_entry(gpu_runtime="onnxruntime-gpu==1.31.1", tags=["quick"]), "lineup")
    gpu = entry.for_gpu()
    assert gpu.id == "torch-9.9.9-gpu"
    assert gpu.pins == ("torch==9.9.9", "onnxruntime-gpu==1.31.1", "numpy==2.0.0")
    assert gpu.tags == ("quick", "gpu")
    with pytest.raises(LineupError, match="gpu_runtime 'onnxruntime==1.31.1' must be a pin like"):
        parse_entry(_entry(gpu_runtime="onnxruntime==1.31.1"), "lineup")
    with pytest.raises(LineupError, match="the pins have none"):
        parse_entry(_entry(pins=["torch==9.9.9"], gpu_runtime="onnxruntime-gpu==1.31.1"), "lineup")
    with pytest.raises(LineupError, match="names no gpu_runtime"):
        parse_entry(_entry(), "lineup").for_gpu()


GPU_ENTRIES = [e for e in load_lineup() if e.gpu_runtime]


def _resolve_gpu_pins(entry) -> subprocess.CompletedProcess:
    return subprocess.run(["uv", "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-version",
                           entry.python, "--python-platform", "x86_64-manylinux_2_28", "-"],
                          input="\n".join(entry.for_gpu().pins) + "\n", capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def gpu_resolutions() -> dict:
    """Every GPU variant's resolution, asked of uv at once (each waits on the index, not on a core)."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=max(1, len(GPU_ENTRIES))) as pool:
        return dict(zip([e.id for e in GPU_ENTRIES], pool.map(_resolve_gpu_pins, GPU_ENTRIES)))


@pytest.mark.skipif(shutil.which("uv") is None, reason="resolving needs uv")
@pytest.mark.parametrize("entry", GPU_ENTRIES, ids=[e.id for e in GPU_ENTRIES])
def test_gpu_variant_resolves(entry, gpu_resolutions):
    """What --gpu installs exists for the entry's Python on Linux x86-64, at exactly the pinned versions."""
    gpu, out = entry.for_gpu(), gpu_resolutions[entry.id]
    assert out.returncode == 0, out.stderr
    resolved = {line.strip() for line in out.stdout.splitlines() if line.strip() and not line.startswith("#")}
    assert entry.gpu_runtime in resolved
    assert not any(line.startswith("onnxruntime==") for line in resolved)
    assert set(gpu.pins) <= resolved, "every pin resolves as pinned"


def test_gpu_command_on_a_host_without_a_gpu(tmp_path):
    """onnxruntime-gpu installed, no GPU: the CUDA cells are skip with onnxruntime's own reason, none claims a
    CUDA result, the CPU cells are real, and results/'s files are replayed on both providers."""
    from matrix.commands import main
    from matrix.results.read import Results
    out = tmp_path / "gpu-out"
    status = main(["gpu", "--env", "torch-2.13.0", "--cases", "^constant_folding$", "--out", str(out),
                   "--time-budget", "0.01"])
    assert status == 0
    results = Results(out)
    rows = results.rows()
    assert not ((rows["provider"] == CUDA) & (rows["status"] != "skip")).any(), "no CUDA cell ran on the CPU"
    native = rows[rows["runtime_env"].isna() | (rows["runtime_env"] == "")]
    assert set(native["env_id"]) == {"torch-2.13.0-gpu"}
    assert (native[native["provider"] == CPU]["status"] == "pass").all() and len(native) >= 8
    assert "onnxruntime-gpu" not in set(native["onnxruntime"]) and set(native["onnxruntime"]) == {"1.31.1"}
    replayed = rows[rows["runtime_env"] == "torch-2.13.0-gpu"]
    assert {"torch-1.4.0", "torch-2.13.0"} <= set(replayed["env_id"])
    skips = results.skips()
    cuda = skips[skips["provider"] == CUDA]
    # a request the exporter ignores is no cell on any provider (the file would be opset 18's): its own reason
    cuda = cuda[~cuda["reason"].str.startswith("the dynamo exporter of torch")]
    assert len(cuda) and cuda["reason"].str.contains("fell back to the CPU").all()
    assert cuda["reason"].str.contains("CUDAExecutionProvider").all()
    assert "fell back to the CPU" in (out / "index.html").read_text()
    assert any("CUDA cells skip: onnxruntime 1.31.1 fell back" in line for line in gpu_summary(out))

    # its rows join results/ like any other run's: its own run, and its replays beside the reference's
    from matrix.results.publish import publish, publish_replays
    reference = tmp_path / "results"
    shutil.copytree(Path(__file__).resolve().parent.parent / "results", reference)
    before = Results(reference).rows()
    publish(out, reference, ["torch-2.13.0-gpu"], {})
    for _ in range(2):  # publishing again replaces, never duplicates
        added = publish_replays(out, reference, "torch-2.13.0-gpu")
    assert added == len(replayed)
    first = replayed.iloc[0]
    record = json.loads((reference / "runs" / first["run_id"] / f"{first['env_id']}.published.json").read_text())
    # the GPU run's replays are recorded once, after whoever added replays before (the reference's own runtimes)
    added_by = [a["runtime_env"] for a in record["replays_added"]]
    assert added_by[-1] == "torch-2.13.0-gpu" and added_by.count("torch-2.13.0-gpu") == 1
    after = Results(reference).rows()
    assert len(after) == len(before) + len(native) + len(replayed)
    kept = after[after["runtime_env"].fillna("") != "torch-2.13.0-gpu"]
    assert len(kept) == len(before) + len(native), "the reference's own rows are untouched"
    skipped = Results(reference).skips()
    assert len(skipped[(skipped["runtime_env"] == "torch-2.13.0-gpu") & (skipped["provider"] == CUDA)])


def test_views_show_cuda_beside_cpu_and_survive_odd_placement_values(tmp_path):
    """The report and the site put the two providers' latencies side by side, list the nodes left on the CPU,
    and render rows whose placement fields are missing or of the wrong shape."""
    from matrix.results.rows import append_row
    from matrix.results.store import RunDir, write_json
    from matrix.views.report import render_report
    from matrix.views.site.build import build_site
    from matrix.wire import Cell, Row
    run = RunDir(tmp_path, "20260101T000000Z-0001")
    run.path.mkdir(parents=True)
    write_json(run.path / "run.json", {"run_id": run.run_id, "created": "2026-01-01T00:00:00+00:00"})
    env = "gpu-h100-torch-2.11.0"

    def row(provider: str, opset: int, **fields) -> dict:
        cell = Cell("constant_folding", "default", "torchscript", opset, "onnxruntime", provider,
                    options={"do_constant_folding": False})
        return Row.for_cell(cell, {"torch": "2.11.0"}, run_id=run.run_id, env_id=env, status="pass",
                            verdict="as-expected", case_hash="abc", finished_at="2026-01-01T00:00:00+00:00",
                            **fields).to_dict()
    for item in (row(CUDA, 11, latency_ms=0.05, gpu_node_share=0.75, placement_source="session log",
                     cpu_nodes=["Shape (Shape_3)"], latency_method="io-binding"),
                 row(CPU, 11, latency_ms=0.2),
                 row(CUDA, 9, latency_ms=None, gpu_node_share="lots", cpu_nodes="Shape"),  # hostile shapes
                 row(CPU, 9, latency_ms=0.1)):
        append_row(run.rows_file(env), item, sync=False)
    write_json(run.catalogue_file(env), {"env_id": env, "cases": []})
    index, problems = render_report(tmp_path)
    html = index.read_text()
    assert "CUDA beside CPU" in html and "Shape (Shape_3)" in html
    build_site(tmp_path, tmp_path / "site")
    page = (tmp_path / "site" / "env" / f"{env}.html").read_text()
    assert "CUDA beside CPU" in page and "Shape (Shape_3)" in page and "4×" in page


def test_gpu_command_refuses_bad_input_before_running(tmp_path, capsys):
    from matrix.commands import main
    assert main(["gpu", "--env", "torch-2.13.0", "--out", str(tmp_path / "a"), "--from", str(tmp_path)]) == 2
    assert "no runs/ folder there" in capsys.readouterr().err
    assert main(["gpu", "--env", "torch-1.4.0", "--out", str(tmp_path / "b")]) == 2
    assert "torch-1.4.0 names no gpu_runtime" in capsys.readouterr().err
    assert main(["gpu", "--env", "torch-2.13.0", "--env-id", "x", "--out", str(tmp_path / "c")]) == 2
    assert main(["envs", "--env", "torch-2.13.0-gpu", "--no-gpu"]) == 2
    assert "is a GPU variant" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abc")


def test_views_name_the_gpu_variant_and_order_it_after_its_entry():
    from matrix.envs.lineup import by_id, env_order
    lineup = load_lineup()
    entries = by_id(lineup)
    assert entries["torch-2.13.0-gpu"].pin("onnxruntime-gpu") == "1.31.1"
    assert "GPU variant" in entries["torch-2.13.0-gpu"].note
    ids = sorted(["torch-2.15.0", "torch-2.13.0-gpu", "local-x", "torch-2.13.0", "torch-1.4.0"], key=env_order(lineup))
    assert ids == ["torch-1.4.0", "torch-2.13.0", "torch-2.13.0-gpu", "torch-2.15.0", "local-x"]


def test_io_bound_call_runs_and_gives_the_sessions_outputs(tmp_path):
    """The CUDA cells' timed call, bound on the CPU device here: it runs the model and leaves the outputs bound."""
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    import numpy
    from onnx import TensorProto, helper

    from matrix.adapters.runtimes import OrtCuda
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Shape", ["x"], ["s"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
                              [helper.make_tensor_value_info("r", TensorProto.FLOAT, ["N", 2]),
                               helper.make_tensor_value_info("s", TensorProto.INT64, [2])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    namespace = {"onnxruntime": onnxruntime}
    exec(OrtCuda.binding_code("cpu"), namespace)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = numpy.array([[1.0, -1.0], [-2.0, 3.0]], numpy.float32)
    call = namespace["bind_model"](session, [x])
    for _ in range(3):  # the timing loop calls it again and again
        binding = call()
    relu, shape = binding.copy_outputs_to_cpu()
    numpy.testing.assert_array_equal(relu, numpy.maximum(x, 0))
    numpy.testing.assert_array_equal(shape, [2, 2])
    assert "'cuda', 0" in OrtCuda().source({"providers_argument": True})
