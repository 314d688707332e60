"""The op corpus's registry files: per environment, what its exporters have registered for each op sample.

``<folder>/registry/<env>.registry.json.gz`` beside the op rows' ``runs/`` (reports/ops, results/ops): written by
``python -m matrix ops registry``, copied into results/ops by ``publish``, read by the op views. One small file per
environment (a few tens of kB): the ATen ops of each case, each ATen op's symbolic opsets and torchlib's verdict.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
FOLDER = "registry"
SUFFIX = ".registry.json.gz"


class RegistryFileError(ValueError):
    """A registry file this harness cannot read (another schema, not JSON): the message names it."""


def registry_path(folder: Path, env_id: str) -> Path:
    return Path(folder) / FOLDER / f"{env_id}{SUFFIX}"


def write_registry(folder: Path, env_id: str, facts: dict[str, Any]) -> Path:
    """Write one environment's registry file atomically; returns its path."""
    path = registry_path(folder, env_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps({"schema_version": SCHEMA_VERSION, "env_id": env_id, **facts}, sort_keys=True,
                      separators=(",", ":")).encode()
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(data)  # mtime=0: the same facts give the same bytes, so git sees no change
    os.replace(tmp, path)
    return path


def read_registry(path: Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            facts = json.load(handle)
    except (OSError, ValueError) as exc:
        raise RegistryFileError(f"{path}: not a registry file ({exc})") from None
    if not isinstance(facts, dict) or facts.get("schema_version") != SCHEMA_VERSION:
        raise RegistryFileError(f"{path}: schema_version {facts.get('schema_version') if isinstance(facts, dict) else '?'}"
                                f", this harness reads {SCHEMA_VERSION}")
    return facts


def read_registries(folder: Path) -> dict[str, dict[str, Any]]:
    """Every environment's registry facts in ``folder`` (none: an empty dict), keyed by environment id."""
    found = {}
    for path in sorted((Path(folder) / FOLDER).glob(f"*{SUFFIX}")):
        facts = read_registry(path)
        found[str(facts.get("env_id") or path.name[:-len(SUFFIX)])] = facts
    return found


def publish_registry(source: Path, target: Path, envs: list[str] | None = None) -> list[str]:
    """Copy the registry files of ``source`` (reports/ops) into ``target`` (results/ops); returns the ids copied."""
    copied = []
    for path in sorted((Path(source) / FOLDER).glob(f"*{SUFFIX}")):
        env_id = path.name[:-len(SUFFIX)]
        if envs and env_id not in envs:
            continue
        read_registry(path)  # refuse a file the views could not read, before it becomes the reference
        destination = registry_path(target, env_id)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied.append(env_id)
    return copied
