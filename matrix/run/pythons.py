"""Where each lineup entry's Python comes from on GitHub's runners, decided from recorded facts.

The facts are `.github/python-sources.json` (which Pythons uv's pinned release downloads, which ones
actions/setup-python's manifest has for each Ubuntu image, which official python:3.x image holds one), recorded
with their date and source. The workflow's plan job resolves every entry here, and tests/test_workflow.py does
the same from the same file, so an entry whose Python no source has is refused before it is merged, naming it.

The order of preference: uv (the tool the harness builds environments with, pinned in requirements.txt), then
setup-python on the runner image, then an official python:X.Y container on that image (the host then runs on
the container's Debian python3). Only the supported runner image is used: setup-python has 3.7 only for
ubuntu-22.04 and older, and ubuntu-22.04 is deprecated since 2026-09-17 (retired 2027-04-17).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from matrix.envs.lineup import Entry
from matrix.paths import REPO_ROOT

SOURCES_FILE = REPO_ROOT / ".github" / "python-sources.json"
HOST_PYTHON = "3.11"  # the host's own Python on the runner (pandas 3 needs >= 3.11)


class NoPythonSource(LookupError):
    """No recorded source has an entry's Python on the workflow's runner."""


@dataclasses.dataclass(frozen=True)
class PythonSource:
    entry: str
    python: str  # major.minor, as the lineup says
    source: str  # "uv", "setup-python" or "container"
    patch: str  # the exact version that source gives
    runner: str
    container: str = ""  # the job's container image; "" runs on the runner itself
    host_pythons: str = HOST_PYTHON  # what the host's setup-python step installs (the last one is `python`)

    def fields(self) -> dict[str, str]:
        """The keys the workflow's matrix reads (matrix.shard.<key>)."""
        return {"python": self.python, "python-source": self.source, "python-patch": self.patch,
                "runs-on": self.runner, "container": self.container, "host-pythons": self.host_pythons}


def load_sources(path: Path = SOURCES_FILE) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def resolve(entry: Entry, sources: dict[str, Any] | None = None) -> PythonSource:
    """The first recorded source that has ``entry.python`` on the supported runner, or NoPythonSource."""
    sources = load_sources() if sources is None else sources
    runner = sources["runner"]
    if sources["runners"].get(runner, {}).get("status") != "supported":
        raise NoPythonSource(f"{entry.id}: the workflow's runner {runner} is not a supported image in {SOURCES_FILE.name}")
    wanted = entry.python
    by_uv = sources["uv"]["versions"].get(wanted)
    if by_uv:
        return PythonSource(entry.id, wanted, "uv", by_uv, runner)
    image_version = runner.split("-", 1)[1]
    by_setup = sources["setup-python"]["platform_versions"].get(image_version, {}).get(wanted)
    if by_setup:
        both = wanted if wanted == HOST_PYTHON else f"{wanted}\n{HOST_PYTHON}"
        return PythonSource(entry.id, wanted, "setup-python", by_setup, runner, host_pythons=both)
    image = sources["container"]["images"].get(wanted)
    if image:
        return PythonSource(entry.id, wanted, "container", image["python"], runner, container=image["image"],
                            host_pythons="")
    raise NoPythonSource(f"lineup entry {entry.id} needs Python {wanted}, which no source the workflow uses has on "
                         f"{runner}: {_elsewhere(sources, wanted)}")


def _elsewhere(sources: dict[str, Any], wanted: str) -> str:
    """What the record says about ``wanted`` beyond the supported runner, for the refusal's message."""
    images = [f"ubuntu-{name}" for name, versions in sources["setup-python"]["platform_versions"].items()
              if wanted in versions]
    where = [f"setup-python has it only for {', '.join(images)}"] if images else []
    for image in images:
        runner = sources["runners"].get(image)
        if runner and runner.get("status") != "supported":
            where.append(f"{image} is {runner['status']} ({runner.get('source', '')})")
    uv = sources["uv"]
    where.append(f"uv {uv['uv']} downloads {', '.join(uv['versions'])}")
    where.append(f"no official python:{wanted} image is recorded")
    return "; ".join(where) + f" (see {SOURCES_FILE.relative_to(REPO_ROOT)})"
