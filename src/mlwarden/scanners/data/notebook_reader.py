"""Jupyter notebooks (``.ipynb``): the text of every cell's source and outputs.

Outputs matter as much as sources: a notebook that printed ``df.head()`` carries the
first rows of the data in its ``text/plain`` and ``text/html`` outputs. Cells are
numbered from 1 in notebook order (``field="cell 3"``), which is what a user counts in
Jupyter (execution counts change on every run). nbformat 4 and the older ``worksheets``
layout (nbformat 3) are both read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from mlwarden.scanners.base import Buffer, LimitExceeded, MalformedInput
from mlwarden.scanners.data.text_stream import guess_encoding

_TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


@dataclass(frozen=True)
class CellText:
    """One piece of text in a notebook."""

    cell: int
    """1-based cell number in notebook order."""
    part: str
    """``source`` or ``output``."""
    text: str

    @property
    def field(self) -> str:
        return f"cell {self.cell}"


def _joined(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    if isinstance(value, dict | int | float):
        return json.dumps(value)[:1_000_000]
    return ""


def _cells(doc: object) -> list[object]:
    if not isinstance(doc, dict):
        raise MalformedInput("a notebook is a JSON object; this is not")
    cells = doc.get("cells")
    if cells is None and isinstance(doc.get("worksheets"), list):
        cells = [c for ws in doc["worksheets"] if isinstance(ws, dict) for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise MalformedInput("no 'cells' list: not a Jupyter notebook")
    return cells


def read_cells(data: Buffer, max_bytes: int) -> Iterator[CellText]:
    """Texts of the notebook, cell by cell. Raises :class:`MalformedInput` for invalid
    JSON and :class:`LimitExceeded` for a notebook over ``max_bytes``."""
    if len(data) > max_bytes:
        raise LimitExceeded(
            "notebook size", max_bytes, "raise limits.max_metadata_bytes for larger notebooks"
        )
    raw = bytes(memoryview(data))
    try:
        doc = json.loads(raw.decode(guess_encoding(raw[:65536]), errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise MalformedInput(f"invalid notebook JSON: {str(exc)[:200]}") from None
    for number, cell in enumerate(_cells(doc), start=1):
        if not isinstance(cell, dict):
            continue
        source = _joined(cell.get("source", cell.get("input", "")))
        if source:
            yield CellText(number, "source", source)
        outputs = cell.get("outputs")
        if not isinstance(outputs, list):
            continue
        for output in outputs:
            if not isinstance(output, dict):
                continue
            pieces = [_joined(output.get("text", ""))]
            bundle = output.get("data")
            if isinstance(bundle, dict):
                # The same rows appear as text/plain and text/html: read one rendering.
                rendered = (_joined(bundle.get(mime, "")) for mime in _TEXT_MIMES)
                pieces.append(next((r for r in rendered if r), ""))
            pieces.append(_joined(output.get("traceback", "")))
            text = "\n".join(p for p in pieces if p)
            if text:
                yield CellText(number, "output", text)
