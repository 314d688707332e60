"""The model corpora's packages (transformers, torchvision and their needs), pinned per lineup entry, beside its
environment.

An entry's ``pins`` are its identity: they key the reuse of every published row. transformers and torchvision are
needed by one corpus each, so they are not among them. Each is a ``Group``: its lineup fields (``model_requires``:
``transformers[torch]``; ``vision_requires``: ``torchvision``) are locked into ``<field>_pins``, the newest release
whose own torch requirement admits the entry's torch *and* that works beside it (checked in the environment itself:
a release whose torch extra admits torch 1.4 may still use what 1.4 lacks; PyPI's torchvision, built for PyPI's
torch, does not load beside a CPU build of the same release), less every package ``pins`` already has. They install
with ``--target`` into ``<envs>/<id><suffix>/`` (``+models``, ``+vision``), a folder put on the worker's path only
for case folders whose ``_requires.txt`` names the group's package (cases/hf/: transformers, cases/vision/:
torchvision): every other corpus runs as before. Removing the folder removes them (about 10-130 MB an entry).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from matrix.envs.build import EnvBuildError, env_python, pip_find_links
from matrix.envs.interpreters import find_python
from matrix.envs.lineup import PACKAGE_FIELDS, Entry, _normalise
from matrix.envs.uvtool import which_uv
from matrix.paths import ENVS_DIR

NEEDS = "_requires.txt"  # in a case folder: its cases import the model packages
MARKER = ".matrix-models.json"
# what a release must do beside the entry's torch to count as supporting it: import, see torch, build a model and run
# it, and run a decoder where the release has LLaMA (its code path calls what an encoder's does not: transformers 5.0
# builds and runs BERT beside torch 2.2 but its decoders call torch.is_autocast_enabled(device), added in 2.4)
PROBE = ("import transformers, torch; from transformers import PreTrainedModel, BertConfig, BertModel\n"
         "assert transformers.is_torch_available(), 'transformers does not see torch ' + torch.__version__\n"
         "ids = torch.ones(1, 4, dtype=torch.long)\n"
         "BertModel(BertConfig(num_hidden_layers=1, hidden_size=8, num_attention_heads=2, intermediate_size=8,"
         " vocab_size=20)).eval()(ids)\n"
         "if hasattr(transformers, 'LlamaForCausalLM'):\n"
         "    transformers.LlamaForCausalLM(transformers.LlamaConfig(vocab_size=20, hidden_size=8, intermediate_size=8,"
         " num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)).eval()(ids)\n"
         "print(transformers.__version__)")
# torchvision's: its C++ operators (nms among them) load beside this torch and a model runs
VISION_PROBE = ("import torch, torchvision\n"
                "torchvision.models.resnet18(num_classes=4).eval()(torch.ones(1, 3, 32, 32))\n"
                "torchvision.ops.nms(torch.tensor([[0., 0., 4., 4.], [1., 1., 5., 5.]]), torch.tensor([.9, .8]), .5)\n"
                "print(torchvision.__version__)")
TRIES = 8  # releases stepped down from the resolver's answer before an entry is said to have none


@dataclasses.dataclass(frozen=True)
class Group:
    """One corpus's packages beside an environment."""
    package: str  # what a case folder's _requires.txt names; the release the lock picks
    field: str  # its lineup fields: <field>_requires, <field>_pins, <field>_note
    suffix: str  # its folder beside the environment: <envs>/<id><suffix>
    probe: str  # what a release must do beside the entry's torch to count as supporting it


TRANSFORMERS = Group(PACKAGE_FIELDS["model"], "model", "+models", PROBE)
GROUPS = {group.package: group for group in (TRANSFORMERS, Group(PACKAGE_FIELDS["vision"], "vision", "+vision",
                                                                 VISION_PROBE))}


def groups_of(case_dirs: list[Path]) -> list[Group]:
    """The groups the case folders ask for (each name of their ``_requires.txt``), in GROUPS order: transformers'
    folder first on the worker's path, where cases/hf looks for its marker."""
    wanted = set()
    for folder in case_dirs:
        needs = Path(folder) / NEEDS
        if needs.is_file():
            wanted |= {name for name in (line.split("#")[0].strip() for line in
                                         needs.read_text(encoding="utf-8").splitlines()) if name}
            unknown = sorted(name for name in wanted if name not in GROUPS)
            if unknown:
                from matrix.run.plan import SelectionError  # what a bad --cases-dir is told
                raise SelectionError(f"{needs}: {unknown[0]!r} is no package the lineup locks beside an environment "
                                     f"(known: {', '.join(GROUPS)})")
    return [group for name, group in GROUPS.items() if name in wanted]


def needs_models(case_dirs: list[Path]) -> bool:
    return bool(groups_of(case_dirs))


def site_dir(entry: Entry, envs_dir: Path = ENVS_DIR, group: Group = TRANSFORMERS) -> Path:
    return envs_dir / f"{entry.id}{group.suffix}"


def model_fingerprint(entry: Entry, group: Group = TRANSFORMERS) -> str:
    """What a row of a model case also depends on: its group's pins (a new transformers runs its cells again)."""
    return hashlib.sha256(json.dumps(sorted(entry.packages(group.field)[1])).encode()).hexdigest()[:16]


def _compile(python: str, requirements: list[str], constraints: list[str], links: list[str]) -> list[str]:
    uv = which_uv()
    if uv is None:
        raise RuntimeError("locking needs uv (pip install uv)")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(constraints) + "\n")
    link_args = [arg for folder in links for arg in ("--find-links", folder)]
    out = subprocess.run([uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python", python,
                          "--only-binary", ":all:", "-c", handle.name, *link_args, "-"],
                         input="\n".join(requirements) + "\n", capture_output=True, text=True)
    Path(handle.name).unlink()
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "no resolution")
    return [line.strip() for line in out.stdout.splitlines() if re.match(r"^[A-Za-z0-9]", line.strip())]


def _beyond(resolved: list[str], entry: Entry) -> list[str]:
    """The resolved pins the environment does not already have (local labels as lock.resolve drops them)."""
    own = {_normalise(p.split("==")[0]) for p in entry.pins}
    return [re.sub(r"\+[A-Za-z0-9.]+$", "", p) for p in resolved if _normalise(p.split("==")[0]) not in own]


def _install(entry: Entry, pins: list[str], target: Path, python: Path) -> None:
    uv = which_uv()
    if uv is None:
        raise EnvBuildError("installing the model packages needs uv (pip install uv)")
    out = subprocess.run([uv, "pip", "install", "--quiet", "--no-deps", "--python", str(python), "--target",
                          str(target), *pins], capture_output=True, text=True)
    if out.returncode != 0:
        raise EnvBuildError(f"[{entry.id}] installing {' '.join(pins)} beside the environment failed:\n"
                            + "\n".join(out.stderr.strip().splitlines()[-10:]))


def probe(python: Path, target: Path, group: Group = TRANSFORMERS) -> tuple[bool, str]:
    """Whether the packages in ``target`` import and build a model beside the environment's torch."""
    out = subprocess.run([str(python), "-c", group.probe], capture_output=True, text=True, timeout=600,
                         env={"PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    if out.returncode == 0:
        return True, out.stdout.strip().splitlines()[-1]
    lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
    return False, lines[-1] if lines else f"exit {out.returncode}"


def resolve_models(entry: Entry, python: Path, log: Callable[[str], None] = print,
                   group: Group = TRANSFORMERS) -> tuple[list[str], str]:
    """(pins, note): the newest release of the group's requirements that resolves with the entry's pins and
    passes the probe in its environment (``python``); a release that fails it is excluded and the next one
    down tried. No release: no pins, and the note says what the oldest one tried said."""
    interpreter = find_python(entry.python, needed_by=f"lineup entry {entry.id}")
    links = pip_find_links() if entry.find_links else []
    requirements = list(entry.packages(group.field)[0])
    main = _normalise(re.split(r"[\[<>=!~ ]", requirements[0])[0])
    failures: list[str] = []
    for _ in range(TRIES):
        try:
            chosen = next(p for p in _compile(interpreter, requirements, list(entry.pins), links)
                          if _normalise(p.split("==")[0]) == main)
        except (RuntimeError, StopIteration) as exc:
            # below a release that failed the probe, the resolver's reason (no wheel for this Python) is noise
            failures.append("no older release resolves beside it" if failures else f"no release resolves ({exc})")
            break
        # the install set is the release's own needs and the entry's other requirements (torch 1.8.1's numpy 1.20 has
        # a numpy.typing without NDArray, which pillow 10 reads): the [torch] extra only chose it (no accelerate)
        pins = _beyond(_compile(interpreter, [chosen, *requirements[1:]], list(entry.pins), links), entry)
        with tempfile.TemporaryDirectory(prefix=f"{entry.id}{group.suffix}-") as scratch:
            _install(entry, pins, Path(scratch), python)
            ok, said = probe(python, Path(scratch), group)
        log(f"[{entry.id}] {chosen}: {'imports and builds a model' if ok else said}")
        if ok:
            return sorted(pins, key=str.lower), ""
        failures.append(f"{chosen}: {said}")
        # what one release of a minor series imports, its patch releases import too: step below the series
        major, minor = (chosen.split("==")[1].split(".") + ["0"])[:2]
        requirements.append(f"{main}<{major}.{minor}")
    note = f"no {main} release works beside torch {entry.torch}: " + "; ".join(failures[-2:])
    return [], note[:400]


def lock_groups(entry: Entry, ensure_env: Callable[[Entry], Path], names: list[str] | None = None) -> dict:
    """The entry's fields re-locked (``<field>_pins``, ``<field>_note``) for every group it has requirements for,
    or only the groups ``names`` gives; its environment built first (``ensure_env``) only when one is locked."""
    unknown = sorted(set(names or ()) - set(GROUPS))
    if unknown:
        raise RuntimeError(f"--models {', '.join(unknown)}: no such package group (known: {', '.join(GROUPS)})")
    chosen = [g for name, g in GROUPS.items() if (names is None or name in names) and entry.packages(g.field)[0]]
    fields: dict = {}
    for group in chosen:
        pins, note = resolve_models(entry, ensure_env(entry), group=group)
        fields.update({f"{group.field}_pins": tuple(pins), f"{group.field}_note": note})
    return fields


def ensure_model_site(entry: Entry, envs_dir: Path = ENVS_DIR, log: Callable[[str], None] = print,
                      group: Group = TRANSFORMERS) -> Path:
    """The folder holding the entry's pins of ``group``, installed first if missing or stale. Its marker says what
    it holds, and for an entry without pins why (``<field>_note``): the cases read it there (cases/hf/_hf.py)."""
    _, pins, note = entry.packages(group.field)
    target = site_dir(entry, envs_dir, group)
    wanted = model_fingerprint(entry, group) + _digest(note)
    try:
        if json.loads((target / MARKER).read_text()).get("fingerprint") == wanted:
            return target
    except (OSError, ValueError, AttributeError):
        pass
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if pins:
        log(f"[{entry.id}] installing {len(pins)} {group.package} packages into {target}")
        _install(entry, list(pins), target, env_python(envs_dir / entry.id))
    (target / MARKER).write_text(json.dumps({"fingerprint": wanted, "env": entry.id, "package": group.package,
                                             "pins": list(pins), "note": note}, indent=1))
    return target


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def worker_settings(entry: Entry, case_dirs: list[Path], envs_dir: Path = ENVS_DIR,
                    log: Callable[[str], None] = print) -> tuple[str | None, str]:
    """What a run of ``case_dirs`` in ``entry`` adds to its worker: the groups' folders for its PYTHONPATH (None:
    nothing, the corpus needs none) and what to add to the environment's fingerprint for its rows' reuse
    (``+models-...`` for transformers as it always was, so its published rows stay reusable)."""
    sites, more = [], ""
    for group in groups_of(case_dirs):
        requires, _, note = entry.packages(group.field)
        if requires:
            sites.append(str(ensure_model_site(entry, envs_dir, log, group)))
            more += f"{group.suffix}-" + model_fingerprint(entry, group)[:8] + _digest(note)
    return (os.pathsep.join(sites) or None), more


# No case may reach the hub: a tiny config is built in code, its weights are random (set for every worker of a
# run whose case folders need the model packages; the same for every environment, so it is no state a case made)
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "TOKENIZERS_PARALLELISM": "false"}
