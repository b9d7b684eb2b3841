"""File formats ``mlwarden mask`` reads and writes: one module each, one registry here."""

from __future__ import annotations

from pathlib import Path

from mlwarden.errors import UsageError
from mlwarden.masking.formats.interface import MaskFormat

FORMAT_NAMES = ("csv", "tsv", "jsonl", "parquet", "text")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "text",
    ".log": "text",
    ".md": "text",
}
_COMPRESSED = {".gz", ".bz2", ".xz", ".zst", ".zip"}
_PARQUET_MAGIC = b"PAR1"


def get_format(name: str) -> MaskFormat:
    """The format called ``name`` (one of :data:`FORMAT_NAMES`)."""
    if name == "csv":
        from mlwarden.masking.formats.delimited import DelimitedFormat

        return DelimitedFormat("csv", ",")
    if name == "tsv":
        from mlwarden.masking.formats.delimited import DelimitedFormat

        return DelimitedFormat("tsv", "\t")
    if name == "jsonl":
        from mlwarden.masking.formats.jsonl import JsonLinesFormat

        return JsonLinesFormat()
    if name == "parquet":
        from mlwarden.masking.formats.parquet import ParquetFormat

        return ParquetFormat()
    if name == "text":
        from mlwarden.masking.formats.text import PlainTextFormat

        return PlainTextFormat()
    raise UsageError("--format", f"unknown format {name!r}", f"use {', '.join(FORMAT_NAMES)}")


def choose_format(source: Path, requested: str | None) -> str:
    """``requested`` if given, else the format the file name says; checked against content."""
    suffix = source.suffix.lower()
    if requested is None and suffix in _COMPRESSED:
        raise UsageError(
            str(source), "compressed inputs are not read directly", "decompress the file first"
        )
    name = requested or _EXTENSIONS.get(suffix)
    if name is None:
        raise UsageError(
            str(source),
            f"cannot tell the format from the name ({suffix or 'no extension'})",
            f"pass --format ({', '.join(FORMAT_NAMES)})",
        )
    if name not in FORMAT_NAMES:
        raise UsageError("--format", f"unknown format {name!r}", f"use {', '.join(FORMAT_NAMES)}")
    if requested is not None:
        return name
    with source.open("rb") as fh:
        is_parquet = fh.read(4) == _PARQUET_MAGIC
    if is_parquet != (name == "parquet"):
        found = "Parquet" if is_parquet else "not Parquet"
        raise UsageError(
            str(source), f"the content is {found} but the format is {name}", "pass --format"
        )
    return name
