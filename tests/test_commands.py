"""Commands found by discovery, and one command running another through a checked namespace."""
from __future__ import annotations

import pytest

from matrix.commands import build_parser, commands, common
from matrix.commands import replay as replay_command
from matrix.commands import run as run_command


def test_every_command_declares_itself():
    for name, module in commands().items():
        assert module.NAME == name and callable(module.add_arguments) and callable(module.run)


def test_a_namespace_has_the_commands_own_defaults_and_refuses_what_it_has_not():
    args = common.namespace(replay_command, runtimes="ort-cpu", no_report=True)
    assert args.runtimes == "ort-cpu" and args.no_report and args.timeout == 300.0
    assert args.source is None and args.lineup.name == "lineup.toml"
    with pytest.raises(TypeError, match="replay has no argument gpu"):
        common.namespace(replay_command, gpu=True)
    assert common.namespace(run_command, env=["torch-2.13.0"], gpu=True).gpu is True


def test_the_parser_gives_each_command_its_handler():
    args = build_parser().parse_args(["compare", "results", "reports"])
    assert args.handler.__module__ == "matrix.commands.compare"


def test_a_failure_maps_to_its_exit_status(capsys, tmp_path):
    from matrix.envs.build import EnvBuildError
    from matrix.run.plan import SelectionError
    assert common.failure_status(None, tmp_path) == 0
    assert common.failure_status(SelectionError("--cases x matches no case"), tmp_path) == 2
    assert common.failure_status(EnvBuildError("[e] uv venv failed"), tmp_path) == 1
    assert "matches no case" in capsys.readouterr().err
    with pytest.raises(ZeroDivisionError):
        common.failure_status(ZeroDivisionError("a bug"), tmp_path)


@pytest.mark.parametrize("command", [["report"], ["compare", "a", "b"], ["triage"]])
def test_an_out_path_too_long_is_one_line_not_a_traceback(tmp_path, command):
    import subprocess
    import sys

    from conftest import REPO
    long = tmp_path / ("x" * 300)
    done = subprocess.run([sys.executable, "-m", "matrix", *command, "--out", str(long)], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "File name too long" in done.stderr
