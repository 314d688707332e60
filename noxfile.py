"""nox sessions of the matrix: one ``matrix(<id>)`` per lineup entry, then ``report``; ``tests``.

Arguments after ``--`` go to the harness: ``nox -s matrix -- --cases expand --timeout 60``.
Each entry's environment is built by the harness itself (matrix/envs.py: uv where it is
installed, venv + pip otherwise), keyed by a fingerprint of its pins, so the matrix
sessions need no nox virtualenv of their own.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))  # nox does not put the noxfile's folder there

from matrix.envs.build import pip_find_links  # noqa: E402
from matrix.envs.lineup import LineupError, find_entry, load_lineup  # noqa: E402
from matrix.run.corpora import HF, MODELS, OPS, VISION, hf_opsets  # noqa: E402

# a bare `nox` runs the affordable entries (a few GB); `nox -s matrix` the whole lineup (tens of GB)
nox.options.tags = ["quick"]
nox.options.error_on_missing_interpreters = True
# uv where it is installed, plain virtualenv where not
VENV_BACKEND = "uv|virtualenv"
HOST_REQUIREMENTS = "requirements.txt"
try:
    LINEUP = load_lineup()
except LineupError as exc:  # before any environment is built, and without a traceback
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
# the tests run the real pipeline in their own venv, with this entry's pins
TESTS_WORKER_ENTRY = "torch-2.13.0"
BENCH_PEER = ["onnx-diagnostic==0.9.3", "optree", "scipy", "transformers<5"]


def _out_args(posargs: list[str]) -> list[str]:
    """The report needs only --out from the harness arguments."""
    for index, arg in enumerate(posargs):
        if arg == "--out" and index + 1 < len(posargs):
            return ["--out", posargs[index + 1]]
        if arg.startswith("--out="):
            return [arg]
    return []


# The matrix(<id>) sessions nox selected, run together by the `environments` session: several at once
# (-- --jobs N; by default what the machine's cores and memory allow), in one live display.
SELECTED: list[str] = []


@nox.session(venv_backend="none")
@nox.parametrize("entry", [nox.param(e.id, id=e.id, tags=list(e.tags)) for e in LINEUP])
def matrix(session: nox.Session, entry: str) -> None:
    """Run the corpus in one lineup environment (built on first use), then replay and report."""
    SELECTED.append(entry)
    session.notify("environments", posargs=session.posargs)
    session.notify("replay", posargs=_out_args(session.posargs))
    session.notify("report", posargs=_out_args(session.posargs))


@nox.session(venv_backend="none", default=False)
def environments(session: nox.Session) -> None:
    """Run the selected matrix(<id>) entries, --jobs at once (nox -s matrix runs them through here)."""
    if not SELECTED:
        session.skip("no matrix(<id>) session selected: nox -s matrix, nox -t quick or nox -s 'matrix(<id>)'")
    envs = [arg for entry in SELECTED for arg in ("--env", entry)]
    session.run(sys.executable, "-m", "matrix", "run", *envs, "--no-report", *session.posargs, external=True)


@nox.session(venv_backend="none")
def replay(session: nox.Session) -> None:
    """Run every environment's exported files with the newest built environment's runtimes."""
    session.run(sys.executable, "-m", "matrix", "replay", "--no-report", *session.posargs, external=True)


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True)
def report(session: nox.Session) -> None:
    """Render reports/index.html from every stored result."""
    session.install("-r", HOST_REQUIREMENTS)
    session.run("python", "-m", "matrix", "report", *session.posargs)


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True, default=False)
def site(session: nox.Session) -> None:
    """Build the static compatibility site (site/) from results/: pandas, jinja2 and matplotlib, never torch."""
    session.install("-r", HOST_REQUIREMENTS)
    session.run("python", "-m", "matrix.site", *session.posargs)


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True, default=False)
def publish(session: nox.Session) -> None:
    """Make each environment's newest finished run in reports/ the reference in results/ (keeps history)."""
    session.install("-r", HOST_REQUIREMENTS)
    session.run("python", "-m", "matrix", "publish", *session.posargs)


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True, default=False)
def gpu(session: nox.Session) -> None:
    """The corpus on onnxruntime's CUDA and CPU providers, and results/'s files replayed on both:
    nox -s gpu [-- --python PY --env-id ID --out DIR] (default: the newest lineup entry's -gpu variant)."""
    session.install("-r", HOST_REQUIREMENTS)
    session.run("python", "-m", "matrix", "gpu", *session.posargs)


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True, default=False)
def runtimes(session: nox.Session) -> None:
    """The newest entry's (or --env's) exported files on every onnxruntime minor release that installs beside its
    pins: nox -s runtimes [-- --env ID --files ID --onnxruntime A..B --publish]."""
    session.install("-r", HOST_REQUIREMENTS)
    session.run("python", "-m", "matrix", "runtimes", *session.posargs)


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True)
def tests(session: nox.Session) -> None:
    """The test suite: host parts, the real pipeline here, and torch-1.4.0 end to end."""
    session.install("-r", HOST_REQUIREMENTS)
    entry = find_entry(LINEUP, TESTS_WORKER_ENTRY)
    links = [arg for folder in pip_find_links() for arg in ("--find-links", folder)] if entry.find_links else []
    session.install(*links, *entry.pins)
    # the slowest tests named in every run (CI included): the suite stays under its 15 minutes by trimming them
    session.run("python", "-m", "pytest", *(session.posargs or ["-q", "--durations=20", "tests"]))


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True, default=False)
def bench(session: nox.Session) -> None:
    """The harness against a one-process loop, onnx-diagnostic side by side, the host alone at 10,000 cells, --jobs 2."""
    session.install("-r", HOST_REQUIREMENTS)
    entry = find_entry(LINEUP, TESTS_WORKER_ENTRY)
    links = [arg for folder in pip_find_links() for arg in ("--find-links", folder)] if entry.find_links else []
    # the peer of the side by side, beside the same pins (its package imports transformers 4.x, optree, scipy)
    session.install(*links, *entry.pins, *BENCH_PEER)
    session.run("python", "-m", "matrix.run.bench", *session.posargs)


# The operator corpus: every frozen OpInfo sample at every opset the exporter accepts, on onnxruntime and the
# reference evaluator, judged against results/ops (a cell that passed there and fails now is a regression)
OPS_ARGS = [*OPS, "--out", "reports/ops", "--no-report"]


@nox.session(venv_backend="none", default=False)
def ops(session: nox.Session) -> None:
    """The operator corpus (cases/ops) in every lineup entry, or those given: nox -s ops -- --env torch-2.13.0
    [--shard K/N: one op range of .github/op-shards.json, as the workflow runs it]."""
    from matrix.run.shards import ShardError, shard_posargs

    envs = [] if "--env" in session.posargs else [arg for e in LINEUP if e.runs_op_corpus for arg in ("--env", e.id)]
    try:
        posargs = shard_posargs(session.posargs)
    except ShardError as exc:
        session.error(str(exc))
    session.run(sys.executable, "-m", "matrix", "run", *envs, *OPS_ARGS, *posargs, external=True)


# A small fixed subset of the operator corpus for the quick lineup: ops whose support moved across releases
# (roll and tril gained symbolics, einsum needs opset 12, nonzero of a scalar diverges on onnxruntime, bool add
# has no onnxruntime kernel), at every opset each exporter writes natively
OPS_QUICK = r"^(roll|tril|einsum|cumsum|add|nonzero)\."


@nox.session(venv_backend="none", tags=["quick"])
def ops_quick(session: nox.Session) -> None:
    """A fixed handful of the operator corpus in the quick lineup's environments, judged against results/ops."""
    _quick_subset(session, OPS_ARGS, OPS_QUICK)


def _quick_subset(session: nox.Session, corpus_args: list[str], cases: str) -> None:
    """``cases`` of a corpus in the quick lineup's environments."""
    envs = [arg for e in LINEUP if "quick" in e.tags for arg in ("--env", e.id)]
    args = [*corpus_args, "--cases", cases]
    session.run(sys.executable, "-m", "matrix", "run", *envs, *args, *session.posargs, external=True)


# The model corpus: torch's own architectures with their declared dynamic axes and other input sets, both exporters
# at the opsets most deployed (11, 17, 18), on onnxruntime's CPU, judged against results/models; then the
# transformers architectures, each release at the opsets its exporters write (corpora.hf_opsets), against results/hf;
# then torchvision's models at the same opsets, against results/vision
MODELS_ARGS = [*MODELS, "--out", "reports/models", "--no-report"]
HF_ARGS = [*HF, "--out", "reports/hf", "--no-report"]
VISION_ARGS = [*VISION, "--out", "reports/vision", "--no-report"]


@nox.session(venv_backend="none", default=False)
def models(session: nox.Session) -> None:
    """The model corpus (cases/models, then cases/hf, then cases/vision) in every lineup entry, or those given:
    nox -s models -- --env torch-2.13.0."""
    chosen, others = _env_args(session.posargs)
    entries = [e for e in LINEUP if not chosen or e.id in chosen]
    envs = [arg for env_id in (chosen or [e.id for e in entries]) for arg in ("--env", env_id)]  # a typo: run says so
    session.run(sys.executable, "-m", "matrix", "run", *envs, *MODELS_ARGS, *others, external=True)
    by_opsets: dict[str, list[str]] = {}
    for entry in entries:
        by_opsets.setdefault(hf_opsets(entry.torch), []).append(entry.id)
    for corpus in (HF_ARGS, VISION_ARGS):
        for opsets, ids in by_opsets.items():
            session.run(sys.executable, "-m", "matrix", "run", *[a for i in ids for a in ("--env", i)], *corpus,
                        "--opsets", opsets, *others, external=True)


def _env_args(posargs: list[str]) -> tuple[list[str], list[str]]:
    """(the ids given as --env ID or --env=ID, the other arguments)."""
    chosen, others, args = [], [], iter(posargs)
    for arg in args:
        if arg == "--env":
            chosen.append(next(args, ""))
        elif arg.startswith("--env="):
            chosen.append(arg.split("=", 1)[1])
        else:
            others.append(arg)
    return chosen, others


# Two of the model corpus in the quick lineup: the TransformerEncoder whose TorchScript export needs opset 13 from
# torch 2.x (aten::unflatten) and a multi-layer bidirectional LSTM, both exporters, judged against results/models
MODELS_QUICK = r"^(transformer_encoder|lstm)/"


@nox.session(venv_backend="none", tags=["quick"])
def models_quick(session: nox.Session) -> None:
    """A fixed pair of the model corpus in the quick lineup's environments, judged against results/models."""
    _quick_subset(session, MODELS_ARGS, MODELS_QUICK)


@nox.session(venv_backend=VENV_BACKEND, reuse_venv=True, default=False)
def compare(session: nox.Session) -> None:
    """Regressions between two runs: nox -s compare -- BASE NEW (non-zero exit on one)."""
    session.install("-r", HOST_REQUIREMENTS)
    session.run("python", "-m", "matrix", "compare", *session.posargs)


@nox.session(venv_backend="none", default=False)
def lineup(session: nox.Session) -> None:
    """List the lineup and whether each entry's Python is on this machine."""
    session.run(sys.executable, "-m", "matrix", "list", external=True)



@nox.session(venv_backend="none", default=False)
def check(session: nox.Session) -> None:
    """Your model through the lineup, the answer first: nox -s check -- PATH [--env ID] [--require 'torch>=2.6']."""
    if not session.posargs:
        session.error("name a file: nox -s check -- model.py (a build() returning (module, inputs)), "
                      "or model.py:factory --inputs 1x3x224x224")
    session.run(sys.executable, "-m", "matrix", "check", *session.posargs, external=True)
