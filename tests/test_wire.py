"""The one definition of a cell, a row and a version specifier, shared by host and worker."""
from __future__ import annotations

import pytest

from matrix.wire import SCHEMA_VERSION, Cell, Row
from matrix.wire.row import migrate
from matrix.wire.versions import SpecifierError, admits, parse_specifier


@pytest.mark.parametrize("spec, version, expected", [
    ("<1.5", "1.4.0", True), ("<1.5", "1.8.1", False), (">=2.1,<2.2", "2.1.2", True),
    (">=2.13", "2.13.0+cpu", True), ("<2.10", "2.10.0a0", True), ("==1.4.*", "1.4.0", True),
    ("==1.4.*", "1.5", False), ("~=1.16", "1.19.2", True), ("~=1.16", "2.0", False), ("==1.4", "1.4.0", True),
    ("!=11", 11, False), (">=11,<18", "11", True), (">=0.1.0", "0.1.0.dev2024", False), ("<1.17", None, False),
])
def test_specifiers_read_like_pep_440(spec, version, expected):
    assert admits(spec, version) is expected


@pytest.mark.parametrize("spec", [">=banana", "", "1.4", "<", ">1.*", "~=1", ">=1.4,"])
def test_specifiers_that_do_not_parse_say_so(spec):
    with pytest.raises(SpecifierError):
        parse_specifier(spec)


def test_a_cells_keys_nest():
    cell = Cell("expand", "default", "torchscript", 9, "onnxruntime", "CPUExecutionProvider",
                {"dynamic_axes": True, "keep_initializers_as_inputs": False})
    assert cell.key == ("expand/default/torchscript/opset9/keep_initializers_as_inputs=False,dynamic_axes=True/"
                        "onnxruntime/CPUExecutionProvider")
    assert cell.key.startswith(cell.export_key + "/") and cell.export_key.startswith(cell.build_key + "/")
    replayed = Cell.from_dict(dict(cell.to_dict(), runtime_env="torch-2.15.0"))
    assert replayed.key == cell.key + "@torch-2.15.0" and replayed.export_key == cell.export_key
    assert Cell.from_row(Row.for_cell(replayed).to_dict()) == replayed
    assert "/" not in cell.export_stem("abc123")


def test_unknown_export_options_are_refused():
    with pytest.raises(ValueError, match="unknown export option"):
        Cell("c", "default", "torchscript", 9, "onnxruntime", "CPUExecutionProvider", {"dynamic_axis": True})


def test_rows_of_schema_1_are_migrated_newer_ones_refused():
    old = {"schema_version": 1, "env_id": "e", "cell": "c", "case": "c", "variant": "default", "exporter": "t",
           "runtime": "onnxruntime", "status": "pass", "onnx": "1.6.0", "onnxruntime": "1.1.0"}
    row = Row.from_dict(old)
    assert row.schema_version == SCHEMA_VERSION and row.runtime_onnxruntime == "1.1.0" and row.runtime_version == "1.1.0"
    with pytest.raises(ValueError, match="newer than this harness"):
        migrate({**old, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(ValueError, match="is not a schema version"):
        migrate({**old, "schema_version": "2"})
