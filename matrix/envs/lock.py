"""Lock a lineup entry: resolve its top-level ``requires`` to every transitive ``name==version``.

    python -m matrix lock            # re-resolve every entry, rewrite matrix/envs/lineup.toml
    python -m matrix lock --env ID   # one entry

Floating transitive packages (onnxscript, onnx-ir) have broken rows before, so the
environments install ``pins``, the lock, and never re-resolve on their own.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from matrix.envs.build import pip_find_links
from matrix.envs.interpreters import find_python
from matrix.envs.lineup import PACKAGE_FIELDS, Entry
from matrix.envs.uvtool import which_uv

HEADER = """\
# The lineup: one [[env]] per environment the matrix runs in.
#
# id          stable name: nox session "matrix(<id>)", results file "<id>.jsonl"
# python      major.minor; found on PATH or under $(pyenv root)/versions
# requires    the top-level packages, name==version (what toolchains.md saw working)
# pins        the lock: every package, transitive ones included, made from requires by
#             `python -m matrix lock`; environments install exactly these
# tags        select entries with `nox -t TAG`
# find_links  also look in pip's configured find-links folders (the local CPU torch wheel);
#             torch stays pinned without its +cpu label, so PyPI's build installs elsewhere
# note        one line shown in the report
# gpu_runtime the onnxruntime build with the CUDA provider (onnxruntime-gpu==...) installed instead of
#             onnxruntime with --gpu, as entry <id>-gpu; the other pins stay
# model_requires  the model corpus's packages (transformers[torch]), locked by `python -m matrix lock --models`
# model_pins  into the newest release that imports beside this torch, less what pins has; installed beside the
#             environment (<id>+models), seen only by case folders with _requires.txt: not part of its identity
# model_note  why model_pins is empty (no release works beside this torch)
# vision_requires, vision_pins, vision_note  the same for the torchvision corpus (cases/vision, <id>+vision):
#             torchvision's release built for this torch, `python -m matrix lock --models torchvision`
"""


def resolve(entry: Entry) -> list[str]:
    """The full pin list for ``entry.requires`` on its Python (Linux x86_64 wheels)."""
    uv = which_uv()
    if uv is None:
        raise RuntimeError("locking needs uv (pip install uv)")
    python = find_python(entry.python, needed_by=f"lineup entry {entry.id}")
    links = [arg for folder in (pip_find_links() if entry.find_links else []) for arg in ("--find-links", folder)]
    out = subprocess.run([uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python", python,
                          *links, "-"], input="\n".join(entry.requires) + "\n", capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{entry.id}: cannot resolve {', '.join(entry.requires)}:\n{out.stderr.strip()}")
    pins = [line.strip() for line in out.stdout.splitlines() if re.match(r"^[A-Za-z0-9]", line.strip())]
    # a local label (+cpu) exists only in a find-links folder; elsewhere the same release is on PyPI
    return [re.sub(r"\+[A-Za-z0-9.]+$", "", pin) if entry.find_links else pin for pin in pins]


def _toml_list(items: list[str]) -> str:
    return "[\n" + "\n".join(f'    "{item}",' for item in items) + "\n]"


def render_lineup(entries: list[Entry]) -> str:
    blocks = [HEADER]
    for entry in entries:
        block = ["[[env]]", f'id = "{entry.id}"', f'python = "{entry.python}"']
        if entry.tags:
            block.append("tags = [" + ", ".join(f'"{t}"' for t in entry.tags) + "]")
        if entry.find_links:
            block.append("find_links = true")
        if entry.note:
            block.append(f'note = "{entry.note}"')
        if entry.gpu_runtime:
            block.append(f'gpu_runtime = "{entry.gpu_runtime}"')
        block.append("requires = " + _toml_list(list(entry.requires)))
        block.append("pins = " + _toml_list(list(entry.pins)))
        for field in PACKAGE_FIELDS:
            requires, pins, note = entry.packages(field)
            if requires:
                block.append(f"{field}_requires = " + _toml_list(list(requires)))
            if pins:
                block.append(f"{field}_pins = " + _toml_list(list(pins)))
            if note:
                block.append(f"{field}_note = " + json.dumps(note))
        blocks.append("\n".join(block))
    return "\n\n".join(blocks) + "\n"


def lock(entries: list[Entry], only: str | None, path: Path, models: bool | list[str] = False) -> list[Entry]:
    """Re-resolve ``pins`` (or with ``models`` the corpora's packages alone, all of them or the groups named,
    which leaves every environment's identity as it is: the model lock needs the entry's environment built, to
    try each release in it)."""
    import dataclasses
    updated = []
    for entry in entries:
        if (only is None or entry.id == only) and models:
            from matrix.envs.build import ensure_env
            from matrix.envs.models import lock_groups
            entry = dataclasses.replace(entry, **lock_groups(entry, ensure_env, None if models is True else models))
        elif (only is None or entry.id == only) and not models:
            entry = dataclasses.replace(entry, pins=tuple(resolve(entry)))
        updated.append(entry)
    # the file keeps its own order (load_lineup sorts by torch release): a lock adds no reordering diff
    import tomllib
    try:
        in_file = [raw.get("id") for raw in tomllib.loads(path.read_text(encoding="utf-8")).get("env", [])]
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        in_file = []
    rank = {env_id: i for i, env_id in enumerate(in_file)}
    updated.sort(key=lambda e: rank.get(e.id, len(rank)))
    # whole or not at all: a run reading the lineup while a lock rewrites it never sees half a file
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(render_lineup(updated), encoding="utf-8")
    scratch.replace(path)
    return updated
