"""The cell: one point of the matrix, its key, and the keys of what it shares with other cells.

    case/variant/exporter/opset<N>/<options>/runtime/provider[@runtime_env]

Resuming, confirming, merging shards, comparing runs and naming exported files all
go through these keys and nothing else. Stdlib only, Python 3.7 syntax.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

# Export options that form an axis of the matrix (a case may sweep them), in key order.
EXPORT_OPTIONS = ("keep_initializers_as_inputs", "do_constant_folding", "dynamic_axes")
DEFAULT_OPSETS = (9, 11, 18)


def clean_options(options: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Only the export options that are set, in key order."""
    options = options or {}
    unknown = [k for k in options if k not in EXPORT_OPTIONS]
    if unknown:
        raise ValueError("unknown export option(s) %s; known: %s" % (", ".join(unknown), ", ".join(EXPORT_OPTIONS)))
    return {k: options[k] for k in EXPORT_OPTIONS if options.get(k) is not None}


def options_label(options: Optional[Dict[str, Any]]) -> str:
    """``keep_initializers_as_inputs=False,dynamic_axes=True``, or ``default`` when none is set."""
    return ",".join("%s=%s" % (k, v) for k, v in clean_options(options).items()) or "default"


@dataclasses.dataclass
class Cell:
    """One environment's cell; ``runtime_env`` is set when another environment's runtime runs the file."""

    case: str
    variant: str
    exporter: str
    opset: int
    runtime: str
    provider: str
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)
    runtime_env: Optional[str] = None

    def __post_init__(self) -> None:
        self.options = clean_options(self.options)
        self.opset = int(self.opset)

    @property
    def build_key(self) -> str:
        """Cells sharing this key share one build() of the case variant."""
        return "%s/%s" % (self.case, self.variant)

    @property
    def export_key(self) -> str:
        """Cells sharing this key share one exported file."""
        return "/".join([self.case, self.variant, self.exporter, "opset%d" % self.opset, options_label(self.options)])

    @property
    def key(self) -> str:
        """The cell's identity in every results file (the row's ``cell`` field)."""
        key = "/".join([self.export_key, self.runtime, self.provider])
        return key + ("@" + self.runtime_env if self.runtime_env else "")

    def export_stem(self, case_hash: Optional[str]) -> str:
        """The file name (without suffix) of this cell's exported model: one per export key and case source."""
        return self.export_key.replace("/", "__") + "__" + (case_hash or "nohash")

    def identity(self) -> Dict[str, Any]:
        """The row fields that say which cell a row is the answer to."""
        fields = {"cell": self.key, "case": self.case, "variant": self.variant, "exporter": self.exporter,
                  "opset_requested": self.opset, "runtime": self.runtime, "provider": self.provider,
                  "runtime_env": self.runtime_env}
        fields.update({k: self.options.get(k) for k in EXPORT_OPTIONS})
        return fields

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Cell":
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{k: data[k] for k in names if k in data})

    @classmethod
    def from_row(cls, row: Dict[str, Any]) -> "Cell":
        return cls(case=row["case"], variant=row["variant"], exporter=row["exporter"],
                   opset=row["opset_requested"], runtime=row["runtime"], provider=row["provider"],
                   options={k: row.get(k) for k in EXPORT_OPTIONS}, runtime_env=row.get("runtime_env") or None)
