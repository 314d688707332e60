"""The GPU columns: a device runtime's cells (onnxruntime CUDA) beside its host twin's on the same file, and what
a GPU run gave. Which runtimes those are is the adapters' word (``device``, ``host_twin``).

Host code: pandas over rows, never torch.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from matrix.adapters import device_pairs
from matrix.results.read import Results
from matrix.views.frames import current_view
from matrix.views.labels import PASS

# One exported file run by both providers: same exporting environment, runtime environment, case and export
SAME_FILE = ["env_id", "runtime_env", "case", "variant", "options", "exporter", "opset_requested"]
COLUMNS = SAME_FILE + ["cuda_ms", "cpu_ms", "speedup", "gpu_node_share", "cpu_nodes", "latency_method"]


def _on(frame: pd.DataFrame, adapter) -> pd.DataFrame:
    return frame[(frame["runtime"] == adapter.runtime) & (frame["provider"] == adapter.provider)]


def on_devices(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows (or skipped columns) of the device runtimes the adapters declare."""
    if frame.empty or "provider" not in frame:
        return frame
    return pd.concat([_on(frame, device) for device, _ in device_pairs()] or [frame.iloc[0:0]])


def side_by_side(view: pd.DataFrame) -> pd.DataFrame:
    """One line per exported file that a device runtime and its host twin (the adapters say which) both ran
    and passed: latency on each, the speed-up, and where the runtime put the nodes. ``view`` is a current view."""
    if view.empty or "provider" not in view:
        return pd.DataFrame(columns=COLUMNS)
    passed = view[view["status"] == PASS]
    keep = lambda frame, extra: frame[SAME_FILE + extra].astype({"options": str})
    found = []
    for device, host in device_pairs():
        pairs = keep(_on(passed, device), ["latency_ms", "gpu_node_share", "cpu_nodes", "latency_method"]).merge(
            keep(_on(passed, host), ["latency_ms"]), on=SAME_FILE, suffixes=("_cuda", "_cpu"))
        found.append(pairs.rename(columns={"latency_ms_cuda": "cuda_ms", "latency_ms_cpu": "cpu_ms"}))
    pairs = pd.concat(found) if found else pd.DataFrame(columns=COLUMNS)
    if pairs.empty:
        return pd.DataFrame(columns=COLUMNS)
    pairs["speedup"] = pairs["cpu_ms"] / pairs["cuda_ms"]
    return pairs[COLUMNS].sort_values(SAME_FILE, kind="stable").reset_index(drop=True)


def gpu_summary(out: Path) -> list[str]:
    """What a GPU run gave, in lines for the terminal: CUDA cells by status, the skip reasons, three latencies."""
    results = Results(out)
    view = current_view(results.rows(), results.current_hashes())
    lines = []
    cuda = on_devices(view)
    if len(cuda):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(cuda["status"].value_counts().items()))
        lines.append(f"gpu: {len(cuda)} CUDA cells: {counts}")
    skips = results.skips()
    if not skips.empty:
        for reason, group in on_devices(skips).groupby("reason"):
            lines.append(f"gpu: {int(group['cells'].sum())} CUDA cells skip: {reason}")
    pairs = side_by_side(view)
    for record in pairs.sort_values("speedup", ascending=False).head(3).to_dict("records"):
        lines.append(f"gpu: {record['case']}/{record['variant']} ({record['env_id']}, opset {record['opset_requested']}): "
                     f"CUDA {record['cuda_ms']:.3f} ms, CPU {record['cpu_ms']:.3f} ms")
    if not lines:
        lines.append("gpu: no CUDA cell ran or was skipped")
    return lines
