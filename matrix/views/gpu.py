"""The GPU columns: CUDA cells beside the CPU cells of the same file, and what a GPU run gave.

Host code: pandas over rows, never torch.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from matrix.adapters.runtimes import CUDA
from matrix.results.read import Results
from matrix.views.frames import current_view

CPU = "CPUExecutionProvider"
# One exported file run by both providers: same exporting environment, runtime environment, case and export
SAME_FILE = ["env_id", "runtime_env", "case", "variant", "options", "exporter", "opset_requested"]


def side_by_side(view: pd.DataFrame) -> pd.DataFrame:
    """One line per exported file that both providers ran and passed: latency on each, the speed-up, and
    where onnxruntime put the nodes. ``view`` is aggregate.current_view's frame."""
    columns = SAME_FILE + ["cuda_ms", "cpu_ms", "speedup", "gpu_node_share", "cpu_nodes", "latency_method"]
    if view.empty or "provider" not in view:
        return pd.DataFrame(columns=columns)
    passed = view[(view["runtime"] == "onnxruntime") & (view["status"] == "pass")]
    cuda = passed[passed["provider"] == CUDA]
    cpu = passed[passed["provider"] == CPU]
    if cuda.empty or cpu.empty:
        return pd.DataFrame(columns=columns)
    keep = lambda frame, extra: frame[SAME_FILE + extra].astype({"options": str})
    pairs = keep(cuda, ["latency_ms", "gpu_node_share", "cpu_nodes", "latency_method"]).merge(
        keep(cpu, ["latency_ms"]), on=SAME_FILE, suffixes=("_cuda", "_cpu"))
    pairs = pairs.rename(columns={"latency_ms_cuda": "cuda_ms", "latency_ms_cpu": "cpu_ms"})
    pairs["speedup"] = pairs["cpu_ms"] / pairs["cuda_ms"]
    return pairs[columns].sort_values(SAME_FILE, kind="stable").reset_index(drop=True)


def gpu_summary(out: Path) -> list[str]:
    """What a GPU run gave, in lines for the terminal: CUDA cells by status, the skip reasons, three latencies."""
    results = Results(out)
    view = current_view(results.rows(), results.current_hashes())
    lines = []
    cuda = view[view["provider"] == CUDA] if not view.empty else view
    if len(cuda):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(cuda["status"].value_counts().items()))
        lines.append(f"gpu: {len(cuda)} CUDA cells: {counts}")
    skips = results.skips()
    if not skips.empty:
        for reason, group in skips[skips["provider"] == CUDA].groupby("reason"):
            lines.append(f"gpu: {int(group['cells'].sum())} CUDA cells skip: {reason}")
    pairs = side_by_side(view)
    for record in pairs.sort_values("speedup", ascending=False).head(3).to_dict("records"):
        lines.append(f"gpu: {record['case']}/{record['variant']} ({record['env_id']}, opset {record['opset_requested']}): "
                     f"CUDA {record['cuda_ms']:.3f} ms, CPU {record['cpu_ms']:.3f} ms")
    if not lines:
        lines.append("gpu: no CUDA cell ran or was skipped")
    return lines
