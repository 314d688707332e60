"""Published rows as Parquet: one typed column per row field, zstd-compressed, sorted by cell.

The operator corpus is tens of thousands of rows per environment whose fields repeat (versions, calls, statuses):
as JSON Lines in gzip an environment is 4.4 MB, as columns 1.27 MB, which is what keeps ``results/`` under its
bound across the lineup and its history. Only rows.py calls this module (no reader learns Parquet):

- a field of the row schema is a column of its own type (text, integer, float with inf and nan kept, bool);
  lists and dicts are JSON text, named in the file's metadata, so a nested value reads back as it was written;
  a column whose values do not fit its type (a float where an integer belongs, a lone surrogate in a text) is
  JSON text too, so no row is ever refused or altered by the format;
- None is a null (an all-None column is a typed column of nulls: reading another file never depends on it);
- the same rows give the same bytes (no timestamps; the writer's version is the only provenance), so a
  republish of unchanged rows is no change in git;
- a file is read a batch at a time (memory bounded by one row group), after its footer says what it holds:
  a file that claims more rows or bytes than a rows file may have is refused whole, as a gzip bomb is, and one
  whose batches hold more than it claimed stops there;
- the file says its format (``matrix.rows``: how values are stored, apart from the rows' own schema_version):
  a newer one is refused, never misread.
"""
from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
from pathlib import Path
from typing import Any, Iterator

from matrix.results.safe import MAX_LINES, ResultsError
from matrix.wire import Row

SUFFIX = ".parquet"
JSON_COLUMNS = b"matrix.json_columns"  # the file's metadata: columns whose values are JSON text
FORMAT = b"matrix.rows"  # how this module stores rows: bumped when that changes, and a newer one refused
FORMAT_VERSION = 1
# Rows per row group: reading holds one group's columns (83 MB at most, measured, whatever the file's length);
# an op environment's 68,700 rows are 1.27 MB in groups of 65,536 against 1.45 in groups of 16,384
ROW_GROUP = 65_536
BATCH = 2_048
COMPRESSION_LEVEL = 19  # zstd's strongest ordinary level: written once per publish, read many times
# The one Python type a typed column holds (an int among floats, a bool among ints would come back changed):
# a column with any other value is JSON text instead
PLAIN = {"string": str, "bool": bool, "int64": int, "double": float}


def _arrow():
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
    except ImportError:
        raise ResultsError("published rows in Parquet need pyarrow: pip install -r requirements.txt") from None
    return pyarrow


def _types(pa) -> dict[str, Any]:
    """Each row field's Arrow type from its annotation; None for lists and dicts (kept as JSON text)."""
    kinds = (("str", pa.string()), ("bool", pa.bool_()), ("int", pa.int64()), ("float", pa.float64()))
    found = {}
    for field in dataclasses.fields(Row):
        annotation = str(field.type).removeprefix("Optional[")
        found[field.name] = next((kind for name, kind in kinds if annotation.startswith(name)), None)
    return found


def _json(value: Any) -> str | None:
    # ASCII escapes: any text, lone surrogates included, is valid UTF-8 this way
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _column(pa, values: list[Any], kind: Any) -> tuple[Any, bool]:
    """The Arrow array of one field's values and whether it is JSON text (its type did not fit them all)."""
    if kind is not None:
        plain = PLAIN[str(kind)]
        try:
            if all(v is None or type(v) is plain for v in values):
                return pa.array(values, type=kind), False
        except (pa.ArrowException, TypeError, ValueError, UnicodeError):
            pass
    return pa.array([_json(v) for v in values], type=pa.string()), True


def cell_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by cell, as a Parquet file holds them (stable: one cell's rows keep their order)."""
    return sorted(rows, key=lambda row: str(row.get("cell") or ""))


def to_parquet(rows: list[dict[str, Any]]) -> bytes:
    """The bytes of a Parquet file of ``rows`` (the row schema's fields, then any others), sorted by cell."""
    pa = _arrow()
    types = _types(pa)
    ordered = cell_order(rows)
    names = list(types) + sorted({k for row in rows for k in row} - set(types))
    arrays, as_json = [], []
    for name in names:
        array, is_json = _column(pa, [row.get(name) for row in ordered], types.get(name))
        arrays.append(array)
        if is_json:
            as_json.append(name)
    metadata = {JSON_COLUMNS: json.dumps(as_json).encode(), FORMAT: str(FORMAT_VERSION).encode()}
    table = pa.table(arrays, names=names).replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    pa.parquet.write_table(table, buffer, compression="zstd", compression_level=COMPRESSION_LEVEL,
                           row_group_size=ROW_GROUP, use_dictionary=True, write_statistics=False)
    return buffer.getvalue()


def iter_parquet(path: Path, limit: int, columns: set[str] | None = None,
                 cases: set[str] | None = None) -> Iterator[tuple[dict[str, Any], str]]:
    """(record, problem) for each record of a Parquet rows file, its nested values decoded (not yet checked as a
    row): the problem is "" or says which field's JSON text did not decode.

    ResultsError naming the file where it is not a readable Parquet file, claims more than ``limit`` bytes or
    MAX_LINES rows, or is damaged past its footer (the records before the damage have come by then). ``columns``:
    read only these (of those the file has); ``cases``: only the records of these cases (filtered in Arrow, before
    any record becomes Python)."""
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    pa = _arrow()
    handle, as_json = _opened(pa, path, limit)
    names = None if columns is None else [n for n in handle.schema_arrow.names if n in columns]
    if cases is not None and names is not None and "case" not in names:
        names.append("case")
    wanted = None if cases is None else pa.array(sorted(cases), type=pa.string())
    batches, read = handle.iter_batches(batch_size=BATCH, columns=names), 0
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise ResultsError(f"{path}: a damaged Parquet file, read up to the damage ({exc})") from None
        if batch is None:
            return
        read += batch.nbytes
        if read > limit:  # its footer lied about its size
            raise ResultsError(f"{path}: more than {limit // 2 ** 20} MiB once read (a Parquet bomb?), skipped")
        if wanted is not None and "case" in batch.schema.names and "case" not in as_json:
            batch = batch.filter(pa.compute.is_in(batch.column("case"), value_set=wanted))
        for record in batch.to_pylist():
            yield record, _decode(record, as_json)


def _opened(pa, path: Path, limit: int) -> tuple[Any, list[str]]:
    """The file opened, after its footer says it is a rows file this harness reads, with its JSON text columns."""
    try:
        handle = pa.parquet.ParquetFile(path)
        meta = handle.metadata
        inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        keys = meta.metadata or {}
        as_json, version = json.loads(keys.get(JSON_COLUMNS, b"[]")), int(keys.get(FORMAT, b"1"))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not a readable Parquet file ({exc})") from None
    if version > FORMAT_VERSION:
        raise ResultsError(f"{path}: rows stored in format {version}, newer than this harness reads "
                           f"({FORMAT_VERSION}); upgrade the matrix to read it")
    if meta.num_rows > MAX_LINES or inflated > limit:
        raise ResultsError(f"{path}: claims {meta.num_rows} rows, {inflated // 2 ** 20} MiB once read: more than a "
                           f"rows file may hold ({limit // 2 ** 20} MiB or {MAX_LINES} rows), skipped")
    return handle, [name for name in as_json if isinstance(name, str)] if isinstance(as_json, list) else []


def _decode(record: dict[str, Any], as_json: list[str]) -> str:
    """Decode the JSON text columns of ``record`` in place; what did not decode, or ""."""
    for name in as_json:
        text = record.get(name)
        if isinstance(text, str):
            try:
                record[name] = json.loads(text)
            except ValueError:
                return f"{name} is not JSON"
    return ""
