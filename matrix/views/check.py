"""``check``'s answer: a user's model's cells made into where it works, where it fails and why, and what to pin.

Cells come from ``opsets.cells`` (the file's opset), the environments' own runtimes only, skips left out. A
*combination* is (environment, exporter, opset, runtime); "newest" and "oldest" order them by the lineup, then
by opset. ``--require`` is a few tokens (``torch>=2.6 opset=17 runtime=onnxruntime``) that one passing cell
must satisfy together. Pure pandas and plain dicts; the page is rendered by the one jinja environment.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from matrix.adapters import EXPORTERS, RUNTIMES, runtime_for
from matrix.results.read import Results
from matrix.run.plan import SelectionError
from matrix.views import html
from matrix.views.frames import current_view
from matrix.views.labels import PASS, SKIP, error_signature, rank, runtime_label
from matrix.views.opsets import cells, ranges
from matrix.views.since import in_words, numbered, supported_since
from matrix.views.site.overview import HEADLINE_RUNTIME

OPS: dict[str, Callable[[Any, Any], bool]] = {">=": operator.ge, "<=": operator.le, "!=": operator.ne,
                                              "==": operator.eq, ">": operator.gt, "<": operator.lt,
                                              "=": operator.eq}
VERSION_KEYS = ("torch", "python", "onnx", "onnxruntime", "openvino")  # row fields holding a version
TOKEN = re.compile(r"^([a-z]+)(>=|<=|!=|==|>|<|=)(\S+)$")
OPERATOR_NAME = re.compile(r"'((?:aten|prim|onnx|quantized)::\w+)'")


class RequireError(SelectionError):
    """A --require that cannot mean anything (exit code 2); the message names the token."""


@dataclass(frozen=True)
class Requirement:
    token: str
    key: str
    op: str
    value: Any

    def holds(self, cell: dict[str, Any]) -> bool:
        if self.key == "exporter":
            return OPS[self.op](cell["exporter"], self.value)
        if self.key == "runtime":
            same = cell["runtime"] == self.value[0] and self.value[1] in (None, cell["provider"])
            return same if self.op in ("=", "==") else not same
        if self.key == "opset":
            return OPS[self.op](int(cell["opset"]), self.value)
        have = version(cell.get(self.key))
        if have is None:
            return False
        width = max(len(have), len(self.value))  # 2.6 is 2.6.0, as pip reads it
        return OPS[self.op](have + (0,) * (width - len(have)), self.value + (0,) * (width - len(self.value)))


def version(text: Any) -> tuple[int, ...] | None:
    """``2.13.0+cpu`` as (2, 13, 0); None where it has no leading number."""
    found = re.match(r"\d+(\.\d+)*", str(text or ""))
    return tuple(int(p) for p in found.group(0).split(".")) if found else None


def _runtime_value(token: str, name: str) -> tuple[str, str | None]:
    """A runtime as its --runtimes name (``ort-cpu``: one provider) or its rows' name (``onnxruntime``: any)."""
    if name in RUNTIMES:
        return RUNTIMES[name].runtime, RUNTIMES[name].provider
    if name in {a.runtime for a in RUNTIMES.values()}:
        return name, None
    known = sorted({*RUNTIMES, *(a.runtime for a in RUNTIMES.values())})
    raise RequireError(f"--require: {token!r}: no runtime {name!r}; known: {', '.join(known)}")


def parse_require(text: str | None) -> list[Requirement]:
    """The tokens of a --require, each checked; the first that cannot mean anything is named."""
    found = []
    for token in (text or "").split():
        match = TOKEN.match(token)
        if not match:
            raise RequireError(f"--require: {token!r} is not KEY<op>VALUE (torch>=2.6, opset=17, runtime=onnxruntime)")
        key, op, value = match.groups()
        if key in ("exporter", "runtime") and op not in ("=", "==", "!="):
            raise RequireError(f"--require: {token!r}: {key} takes = or != a name, not {op}")
        if key == "exporter" and value not in EXPORTERS:
            raise RequireError(f"--require: {token!r}: no exporter {value!r}; known: {', '.join(EXPORTERS)}")
        if key == "runtime":
            value = _runtime_value(token, value)
        elif key == "opset":
            if not value.isdigit():
                raise RequireError(f"--require: {token!r}: {value!r} is not an opset")
            value = int(value)
        elif key in VERSION_KEYS:
            if not re.fullmatch(r"\d+(\.\d+)*", value):
                raise RequireError(f"--require: {token!r}: {value!r} is not a version (2.6, 1.17.1)")
            value = version(value)
        elif key != "exporter":
            keys = ", ".join(("exporter", "runtime", "opset", *VERSION_KEYS))
            raise RequireError(f"--require: {token!r}: no key {key!r}; known: {keys}")
        found.append(Requirement(token, key, op, value))
    if text is not None and not found:
        raise RequireError("--require is empty: give tokens such as 'torch>=2.6 opset=17 runtime=onnxruntime'")
    return found


def check_cells(out: Path, case_id: str, env_ids: list[str], case_dirs: list[Path]) -> pd.DataFrame:
    """The case's current cells in these environments (``select_cells``), from the rows under ``out``."""
    results = Results(out, case_dirs)
    return select_cells(current_view(results.rows(), results.current_hashes()), case_id, env_ids)


def select_cells(view: pd.DataFrame, case_id: str, env_ids: list[str]) -> pd.DataFrame:
    """A current view's cells of the case in these environments (ranked in their order), run by their own
    runtimes: skips, replays and stale rows left out."""
    view = view[(view["case"] == case_id) & view["env_id"].isin(env_ids) & ~view["stale"]
                & (view["runtime_env"] == "")]
    found = cells(view)
    found = found[found["status"].astype(str) != SKIP] if len(found) else found
    order = {env: i for i, env in enumerate(env_ids)}
    return found.assign(env_rank=found["env_id"].map(order), opset=found["opset"].astype(int)).reset_index(drop=True)


def release(row: dict[str, Any]) -> str:
    """``torch 2.13.0``: the release a row's environment has (its env id where the row says none)."""
    torch = str(row.get("torch") or "").split("+")[0]
    return f"torch {torch}" if torch else str(row["env_id"])


def short_reason(signature: str) -> str:
    """What a failure is about in a few words: the operator an exporter refused, else its signature's start."""
    found = OPERATOR_NAME.search(signature)
    return found.group(1) if found else (signature[:70] + "…" if len(signature) > 70 else signature)


def _combo(rows: pd.DataFrame) -> dict[str, Any]:
    """One (environment, exporter, opset) and the runtimes that pass there, with the pins that reproduce it."""
    first = rows.iloc[0].to_dict()
    ordered = sorted(rows.to_dict("records"), key=lambda r: _runtime_order(runtime_label(r["runtime"], r["provider"])))
    pins = [f"torch=={str(first.get('torch') or '?').split('+')[0]}"]
    keys = list(runtime_for(ordered[0]["runtime"], ordered[0]["provider"]).version_keys)
    if keys and ordered[0].get("runtime_version"):
        pins.append(f"{keys[0]}=={ordered[0]['runtime_version']}")
    return {"env_id": first["env_id"], "release": release(first), "exporter": first["exporter"],
            "opset": int(first["opset"]), "runtimes": [runtime_label(r["runtime"], r["provider"]) for r in ordered],
            "cell": ordered[0]["cell_key"], "pins": " ".join(pins),
            "text": f"{release(first)} · {first['exporter']} · opset {int(first['opset'])} · "
                    f"{runtime_label(ordered[0]['runtime'], ordered[0]['provider'])}"
                    + (f" (also {', '.join(runtime_label(r['runtime'], r['provider']) for r in ordered[1:])})"
                       if len(ordered) > 1 else "")}


def _at(passed: pd.DataFrame, key: tuple) -> pd.DataFrame:
    return passed[(passed["env_id"] == key[0]) & (passed["exporter"] == key[1]) & (passed["opset"] == key[2])]


def _exporter_rank(frame: pd.DataFrame) -> pd.Series:
    """The exporters in the registry's order (TorchScript, then dynamo): the older exporter first."""
    names = list(EXPORTERS)
    return frame["exporter"].map(lambda x: names.index(x) if x in names else len(names))


def extremes(passed: pd.DataFrame) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The newest working combination (newest release, highest opset, newer exporter) and the oldest (oldest
    release, lowest opset, older exporter)."""
    if passed.empty:
        return None, None
    ordered = passed.assign(_x=_exporter_rank(passed)).sort_values(["env_rank", "opset", "_x"], kind="stable")
    newest, oldest = ordered.iloc[-1], ordered.iloc[0]
    return (_combo(_at(passed, (newest["env_id"], newest["exporter"], newest["opset"]))),
            _combo(_at(passed, (oldest["env_id"], oldest["exporter"], oldest["opset"]))))


def pin(passed: pd.DataFrame) -> dict[str, Any] | None:
    """What to pin: the newest release, then the (exporter, opset) that passes on the most runtimes, then the
    highest opset, then the newer exporter."""
    if passed.empty:
        return None
    newest = passed[passed["env_rank"] == passed["env_rank"].max()]
    counts = newest.assign(_x=_exporter_rank(newest)).groupby(["exporter", "opset", "_x"]).size().reset_index(name="n")
    best = counts.sort_values(["n", "opset", "_x"], ascending=False, kind="stable").iloc[0]
    return _combo(_at(newest, (newest["env_id"].iloc[0], best["exporter"], best["opset"])))


def _runtime_order(label: str) -> tuple[bool, str]:
    """The site's headline runtime first (the seed's own check), then the others by label, case aside."""
    return label != HEADLINE_RUNTIME, label.lower()


def _names(labels: Any) -> str:
    return ", ".join(sorted(set(labels), key=_runtime_order))


def _failure_parts(rows: pd.DataFrame, every: set[str]) -> list[str]:
    """``export-fail at opset 7–12 (aten::unflatten)``, one per status and reason, runtimes named where only some
    of ``every`` runtime fail that way."""
    parts = []
    for (status, reason), group in rows.groupby(["status", "reason"], sort=False):
        where = "" if set(group["runtime_name"]) == every else f" on {_names(group['runtime_name'])}"
        parts.append(f"{status} at opset {ranges(group['opset'])}{where} ({reason})")
    return parts


def by_release(found: pd.DataFrame) -> list[dict[str, Any]]:
    """Per environment and exporter, one sentence: the opsets and runtimes where it works, then how the rest fail."""
    lines = []
    frame = found.assign(runtime_name=[runtime_label(r, p) for r, p in zip(found["runtime"], found["provider"])],
                         reason=[short_reason(error_signature(e)) for e in found["error"]])
    frame["exporter_rank"] = _exporter_rank(frame)
    for (_, _, env_id, exporter), rows in frame.groupby(["env_rank", "exporter_rank", "env_id", "exporter"]):
        passed, failed = rows[rows["status"] == PASS], rows[rows["status"] != PASS]
        works = ""
        if len(passed):
            by_runtime = passed.groupby("runtime_name")["opset"].agg(lambda s: ranges(s))
            names = sorted(by_runtime.index, key=_runtime_order)
            same = by_runtime.nunique() == 1
            on = ", ".join(names) if same else ", ".join(f"{n} {by_runtime[n]}" for n in names)
            works = f"works at opset {ranges(passed['opset'])} on {on}" if same else f"works on {on}"
        failing = _failure_parts(failed.sort_values("opset", kind="stable"), set(rows["runtime_name"]))
        if works and failing and failed["opset"].max() < passed["opset"].min():
            failing = [f"below opset {passed['opset'].min()}: " + "; ".join(failing)]
        text = "; ".join([works] + failing) if works else "fails: " + "; ".join(failing)
        lines.append({"release": release(rows.iloc[0].to_dict()), "env_id": env_id, "exporter": exporter,
                      "works": bool(works), "text": text})
    return lines


def failure_groups(found: pd.DataFrame) -> list[dict[str, Any]]:
    """The failing cells grouped by stage, status and error signature, most cells first, each with where it
    happens (releases, exporters, opsets), its first error and one cell to reproduce."""
    failed = found[found["status"] != PASS]
    failed = failed.assign(signature=failed["error"].map(error_signature))
    groups = []
    for (stage, status, signature), rows in failed.groupby(["stage", "status", "signature"], dropna=False):
        where = []
        for (_, exporter), sub in rows.groupby(["env_rank", "exporter"], sort=True):
            names = _names(runtime_label(r, p) for r, p in zip(sub["runtime"], sub["provider"]))
            on = f" on {names}" if stage not in ("build", "export") else ""
            where.append(f"{release(sub.iloc[0].to_dict())} {exporter} opset {ranges(sub['opset'])}{on}")
        first = rows.iloc[0]
        groups.append({"stage": str(stage), "status": str(status), "signature": str(signature), "cells": len(rows),
                       "reason": short_reason(str(signature)), "where": where,
                       "error": str(first["error"] or "").strip().split("\n")[0][:400],
                       "cell": str(first["cell"]), "env_id": str(first["env_id"])})
    return sorted(groups, key=lambda g: (-g["cells"], -rank(g["status"]), g["signature"]))


def answer(found: pd.DataFrame, requirements: list[Requirement], env_ids: list[str]) -> dict[str, Any]:
    """Everything check says, as a plain dict: counts, newest and oldest working combinations, per release and
    exporter, the failure groups, the pin (one that satisfies --require where one does) and supported since."""
    first = found.drop_duplicates("env_id").set_index("env_id")
    names = {e: release({"env_id": e, "torch": first["torch"].get(e)}) for e in env_ids if e in first.index}
    passed = found[found["status"] == PASS]
    meeting = passed[[all(r.holds(c) for r in requirements) for c in passed.to_dict("records")]] \
        if requirements else passed
    newest, oldest = extremes(passed)
    since = supported_since(found.assign(case="check"), list(names), keys=("case",), names=names).get(("check",), [])
    return {"cells": len(found), "passed": len(passed), "newest": newest, "oldest": oldest,
            "unmeasured": [e for e in env_ids if e not in names],
            "releases": by_release(found) if len(found) else [], "failures": failure_groups(found),
            "pin": pin(meeting) if requirements else pin(passed),
            "require": {"text": " ".join(r.token for r in requirements), "holds": not meeting.empty}
            if requirements else None,
            "since": since, "since_notes": numbered(since), "since_words": in_words(since, HEADLINE_RUNTIME) if since else ""}


def answer_lines(result: dict[str, Any], target: str, env_ids: list[str]) -> list[str]:
    """The answer as text, what works first."""
    lines = [f"works: {result['passed']} of {result['cells']} cells pass ({target} in {', '.join(env_ids)})"]
    for label in ("newest", "oldest"):
        if result[label]:
            lines.append(f"  {label}: {result[label]['text']}")
    lines += [f"  {line['release']} {line['exporter']}: {line['text']}" for line in result["releases"]]
    if result["unmeasured"]:
        lines.append(f"  not measured: {', '.join(result['unmeasured'])} (no cell ran there)")
    if result["failures"]:
        lines.append(f"fails: {sum(g['cells'] for g in result['failures'])} cells, "
                     f"{len(result['failures'])} kind{'s' if len(result['failures']) != 1 else ''} (stage · status)")
    for g in result["failures"]:
        lines.append(f"  {g['stage']} · {g['status']} · {g['cells']} cells · {'; '.join(g['where'])}")
        lines.append(f"      {g['error']}")
    if result["pin"]:
        lines.append(f"pin: {result['pin']['pins']} · {result['pin']['exporter']} at opset {result['pin']['opset']}"
                     f" (passes on {', '.join(result['pin']['runtimes'])})")
    else:
        lines.append("pin: nothing to pin" + (" that satisfies --require" if result["require"] else ": no cell passes"))
    if result["require"]:
        lines.append(f"require {result['require']['text']!r}: {'holds' if result['require']['holds'] else 'does not hold'}")
    return lines


def write_check_page(path: Path, result: dict[str, Any], context: dict[str, Any]) -> Path:
    """The HTML page of a check: the answer, the cells as a table, the failures with their reproductions."""
    env = html.environment("check")
    html.write_page(path, env.get_template("check.html").render(answer=result, **context))
    return path


def page_context(found: pd.DataFrame, path: Path, target: str, env_ids: list[str], out: Path) -> dict[str, Any]:
    """What the page shows beside the answer: the cells as (release, exporter, runtime) x opset, the file's
    source, and a reproduction command per failure kind."""
    opsets = sorted({int(o) for o in found["opset"]})
    table = []
    for (_, exporter, runtime, provider), rows in found.groupby(["env_rank", "exporter", "runtime", "provider"]):
        by_opset = {int(r["opset"]): r for r in rows.to_dict("records")}
        table.append({"release": release(rows.iloc[0].to_dict()), "exporter": exporter,
                      "runtime": runtime_label(runtime, provider),
                      "cells": [{"status": str(by_opset[o]["status"]), "opset": o,
                                 "title": str(by_opset[o]["error"] or by_opset[o]["status"]).split("\n")[0][:300]}
                                if o in by_opset else None for o in opsets]})
    try:
        source = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError as exc:
        source = f"(unreadable: {exc.strerror})"
    return {"target": target, "file": str(path), "env_ids": env_ids, "opsets": opsets, "table": table,
            "source": source, "out": str(out)}
