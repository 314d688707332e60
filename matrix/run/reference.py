"""The published rows that judge a corpus without expectations (operators, models), one environment at a time.

A pitfall case states what each cell should do (``Expect``); thousands of operator cells cannot, so their
expectation is the published reference: the same cell as ``results/<corpus>`` last recorded it. Only the
rows of the environment a row belongs to are read (its replay rows for a replayed one), newest run last, so a
run of one environment costs one file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from matrix.paths import RESULTS_DIR
from matrix.results.rows import iter_rows
from matrix.results.store import list_runs, readable_rows
from matrix.wire.contract import judge, judge_by_reference

JUDGED = ("cell", "status", "run_id")  # all a published row says to judge a cell by


def reference_folder(corpus: str | None) -> Path | None:
    """Where a corpus's published results live: results/ for the pitfalls (judged by their Expects), results/ops
    for the operators, results/models for the models."""
    return None if corpus in (None, "pitfalls") else RESULTS_DIR / corpus  # "check" (a user's model): none there


# More published folders that hold a corpus's rows: the transformers cases (cases/hf) and torchvision's (cases/vision)
# are models, published on their own into results/hf and results/vision. A case is judged by the folder of its own
# case folder's name only: the folders' case ids may meet (torch's ResNet in cases/models and transformers' in cases/hf are both "resnet", at the same
# opsets and options), and a cell of one must never be judged by the other's row
ALSO_PUBLISHED_IN = {"models": ("hf", "vision")}


def published_in(corpus: str | None, case: dict[str, Any]) -> str | None:
    """The folder of ALSO_PUBLISHED_IN a case's rows are published in (its case folder's name), or None: the
    corpus's own folder."""
    folder = str(case.get("file") or "").replace("\\", "/").split("/")[0]
    return folder if folder in ALSO_PUBLISHED_IN.get(str(corpus), ()) else None


class Reference:
    """The newest published row of every cell, per corpus, environment and kind (own or replayed), each
    loaded on first use."""

    def __init__(self, folders: dict[str, Path | None] | None = None) -> None:
        self.folders = folders or {}
        self.cells: dict[tuple, dict[str, dict[str, Any]]] = {}

    def _load(self, corpus: str, env_id: str, replay: bool, also: str | None = None) -> dict[str, dict[str, Any]]:
        """The published cells of ``corpus`` in ``env_id``: from its folder, or with ``also`` (a name of
        ALSO_PUBLISHED_IN) from that folder alone."""
        key = (corpus, env_id, replay, also)
        if key not in self.cells:
            if also is not None and corpus not in self.folders:
                where: Path | None = RESULTS_DIR / also
            else:
                where = self.folders.get(corpus, reference_folder(corpus))
            found: dict[str, dict[str, Any]] = {}
            if where is not None and (where / "runs").is_dir():
                for run in list_runs(where):
                    # only what judging needs: tens of thousands of op rows are hundreds of MB whole
                    for row in iter_rows(readable_rows(run.rows_file(env_id, replay)), fields=JUDGED):
                        found[row["cell"]] = {"status": row.get("status"), "run_id": row.get("run_id")}
            self.cells[key] = found
        return self.cells[key]

    def judge(self, row: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
        """The verdict fields: by the case's Expects, or where it has none and belongs to a corpus judged by
        its reference, by the published row of the same cell."""
        meta = case.get("meta") or {}
        corpus, expects = meta.get("corpus"), meta.get("expect") or []
        if expects or reference_folder(corpus) is None:
            return judge(row, expects)
        published = self._load(corpus, str(row.get("env_id")), bool(row.get("runtime_env")), published_in(corpus, case))
        return judge_by_reference(row, published.get(row.get("cell")))
