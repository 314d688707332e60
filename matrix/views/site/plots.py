"""Plots drawn at build time into inline SVG: latency per case across releases, passing share per release.

matplotlib's object API with the SVG canvas (no pyplot, no global figure state, no display);
text stays text (``svg.fonttype: none``) and ids are salted per plot, so the SVGs are small,
reproducible, and several can share a page. What a plot shows is also returned as a table for
those who would rather read numbers.
"""
from __future__ import annotations

import io
import math
import re
from typing import Any

import matplotlib
from markupsafe import Markup
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from matrix.views.labels import PASS, SKIP
from matrix.views.site.load import SiteData

LATENCY_CELLS = {"variant": "default", "exporter": "torchscript", "runtime": "onnxruntime",
                 "provider": "CPUExecutionProvider"}
COLUMNS = 4
ONNXRUNTIME, EAGER = "#1f6fb2", "#d9822b"
EXPORTER_COLOURS = {"torchscript": "#1f6fb2", "dynamo": "#7b3fb5"}


def _svg(figure: Figure, name: str) -> Markup:
    """The figure as an inline <svg> element: no XML prolog, no doctype, no metadata block."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    # matplotlib wrote every label through its XML escaping, so the markup is its own, not the data's
    return Markup(text.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1))


def _short(env_id: str) -> str:
    return env_id.removeprefix("torch-")


def latency(data: SiteData) -> dict[str, Any] | None:
    """Median runtime and eager latency of each case's naive code per release (torchscript, onnxruntime CPU)."""
    rows = data.native
    for key, value in LATENCY_CELLS.items():
        rows = rows[rows[key] == value]
    rows = rows[rows["latency_ms"].notna() | rows["eager_ms"].notna()]
    if rows.empty:
        return None
    medians = rows.groupby(["case", "env_id"])[["latency_ms", "eager_ms"]].median()
    cases = sorted(set(medians.index.get_level_values(0)))
    envs = [e for e in data.env_ids if e in set(medians.index.get_level_values(1))]
    position = {e: i for i, e in enumerate(envs)}
    columns = min(COLUMNS, len(cases))
    lines = math.ceil(len(cases) / columns)
    figure = Figure(figsize=(2.6 * columns, 1.9 * lines + 0.5), layout="constrained")
    axes = figure.subplots(lines, columns, sharex=True, squeeze=False).ravel()
    table = []
    for ax, case in zip(axes, cases):
        sub = medians.loc[case]
        ordered = sorted((e for e in sub.index if e in position), key=position.get)  # releases in lineup order
        for column, colour, style, label in (("latency_ms", ONNXRUNTIME, "-", "onnxruntime"),
                                             ("eager_ms", EAGER, "--", "eager torch")):
            ax.plot([position[e] for e in ordered], [sub.loc[e, column] for e in ordered], style, color=colour,
                    marker="o", markersize=2.5, linewidth=1, label=label)
        ax.set_title(case, fontsize=8)
        ax.set_yscale("log")
        # labels at 1, 2 and 5 of each decade, written as plain numbers; the minor ticks unlabelled
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(labelsize=6)
        ax.grid(True, linewidth=0.3, alpha=0.5)
        table.append({"case": case, "envs": {e: {"runtime": _round(sub.loc[e, "latency_ms"]),
                                                  "eager": _round(sub.loc[e, "eager_ms"])} for e in ordered}})
    for ax in axes[len(cases):]:
        ax.set_visible(False)
    for ax in axes:
        ax.set_xticks(range(len(envs)), [_short(e) for e in envs], rotation=60, fontsize=6)
    axes[0].legend(fontsize=6, loc="best")
    figure.supylabel("median latency (ms, log)", fontsize=8)
    return {"svg": _svg(figure, "latency per case across releases"), "table": table, "envs": envs}


def pass_share(data: SiteData, compact: bool = False) -> dict[str, Any] | None:
    """The share of cells that pass, per release and exporter (each environment's own runtimes)."""
    rows = data.native[data.native["status"] != SKIP]
    if rows.empty:
        return None
    share = rows.assign(passed=rows["status"] == PASS).groupby(["exporter", "env_id"])["passed"].agg(["mean", "size"])
    envs = [e for e in data.env_ids if e in set(share.index.get_level_values(1))]
    position = {e: i for i, e in enumerate(envs)}
    figure = Figure(figsize=(7, 2.4) if compact else (8, 3.2), layout="constrained")
    ax = figure.subplots()
    table = []
    for exporter in sorted(set(share.index.get_level_values(0))):
        sub = share.loc[exporter]
        sub = sub[[e in position for e in sub.index]]
        ordered = sorted(sub.index, key=position.get)
        ax.plot([position[e] for e in ordered], [100 * sub.loc[e, "mean"] for e in ordered], "-o", markersize=3,
                linewidth=1.2, color=EXPORTER_COLOURS.get(exporter), label=exporter)
        table.append({"exporter": exporter, "envs": {e: {"share": round(100 * float(sub.loc[e, "mean"]), 1),
                                                          "cells": int(sub.loc[e, "size"])} for e in ordered}})
    ax.set_xticks(range(len(envs)), [_short(e) for e in envs], rotation=45 if len(envs) > 6 else 0, fontsize=7)
    ax.set_ylim(0, 102)
    ax.set_ylabel("cells passing (%)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    ax.legend(fontsize=7, loc="lower right")
    name = "share of passing cells per release and exporter" + (" (overview)" if compact else "")
    return {"svg": _svg(figure, name), "table": table, "envs": envs}


def _round(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else float(f"{value:.3g}")
