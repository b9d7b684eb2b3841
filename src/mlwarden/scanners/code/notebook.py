"""The parts of a Jupyter notebook that can hold a secret someone typed or printed.

A notebook is JSON: cells with their source and their outputs, plus metadata. Secrets
live in sources (``os.environ["HF_TOKEN"] = "hf_..."``) and in text outputs (a printed
config, a traceback showing a connection URL). Image outputs (base64 PNG/JPEG/SVG),
attachments, execution counts, cell ids and widget state are data that is full of
random-looking strings and is never judged by entropy: the notebook is split into parts,
and each part says whether the generic entropy check applies to it.

nbformat 4 is read as specified; nbformat 3 (``worksheets``, ``input``, ``pyout``,
``pyerr``) is tolerated. Anything that does not fit is collected as a problem, and the
rest of the notebook is still scanned.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from mlwarden.scanners.base import LimitExceeded, MalformedInput

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Output MIME types read with every detector, and those read for token formats only.
_TEXT_MIME = ("text/plain", "text/markdown", "text/x-python", "application/json")
_FORMAT_ONLY_MIME = ("text/html", "text/latex", "application/javascript")


@dataclass(frozen=True)
class NotebookPart:
    """A piece of notebook text and where it sits."""

    field: str
    """``cell N`` (1-based), ``cell N output M``, ``cell N metadata`` or ``metadata``."""
    text: str
    generic: bool
    """Whether the entropy check applies (sources and plain-text outputs only)."""


@dataclass
class ParsedNotebook:
    parts: list[NotebookPart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _text(value: object) -> str | None:
    """nbformat multiline strings: a string or a list of strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return None


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)


def _output_parts(cell_no: int, outputs: object, out: ParsedNotebook) -> None:
    if not isinstance(outputs, list):
        out.problems.append(f"cell {cell_no}: outputs is not a list")
        return
    for out_no, output in enumerate(outputs, 1):
        where = f"cell {cell_no} output {out_no}"
        if not isinstance(output, dict):
            out.problems.append(f"{where} is not an object")
            continue
        kind = output.get("output_type")
        if kind in ("error", "pyerr"):
            trace = output.get("traceback")
            lines = [t for t in trace if isinstance(t, str)] if isinstance(trace, list) else []
            header = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            text = _ANSI.sub("", "\n".join([header, *lines]))
            out.parts.append(NotebookPart(where, text, True))
            continue
        if kind == "stream" or "text" in output:
            stream = _text(output.get("text"))
            if stream is not None:
                out.parts.append(NotebookPart(where, _ANSI.sub("", stream), True))
        data = output.get("data")
        if isinstance(data, dict):
            for mime, value in data.items():
                if mime in _TEXT_MIME or mime in _FORMAT_ONLY_MIME:
                    shown = _text(value) if mime != "application/json" else _json_text(value)
                    if shown is not None:
                        out.parts.append(NotebookPart(where, shown, mime in _TEXT_MIME))
                # image/*, widget views and other binary-ish data are not text


def _cell_parts(cell_no: int, cell: object, out: ParsedNotebook) -> None:
    if not isinstance(cell, dict):
        out.problems.append(f"cell {cell_no} is not an object")
        return
    raw = cell.get("source", cell.get("input"))
    source = _text(raw) if raw is not None else ""
    if source is None:
        out.problems.append(f"cell {cell_no}: source is not text")
    elif source:
        out.parts.append(NotebookPart(f"cell {cell_no}", source, True))
    if "outputs" in cell:
        _output_parts(cell_no, cell["outputs"], out)
    metadata = cell.get("metadata")
    if isinstance(metadata, dict) and metadata:
        out.parts.append(NotebookPart(f"cell {cell_no} metadata", _json_text(metadata), False))


def _cells(document: dict[str, object], out: ParsedNotebook) -> list[object]:
    cells = document.get("cells")
    if isinstance(cells, list):
        return cells
    worksheets = document.get("worksheets")  # nbformat 3
    if isinstance(worksheets, list):
        flat: list[object] = []
        for sheet in worksheets:
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
                flat.extend(sheet["cells"])
        return flat
    out.problems.append("no cells list (nbformat 4) or worksheets (nbformat 3)")
    return []


def parse_notebook(data: bytes, *, max_bytes: int) -> ParsedNotebook:
    """Split a notebook into scannable parts.

    Raises :class:`MalformedInput` when ``data`` is not a JSON object (the caller may
    still scan it as plain text) and :class:`LimitExceeded` above ``max_bytes``. Smaller
    structural problems are returned in ``problems`` next to the parts that were read.
    """
    if len(data) > max_bytes:
        raise LimitExceeded(
            "notebook size", max_bytes, "raise the secrets scanner's max_notebook_bytes"
        )
    try:
        document = json.loads(data)
    except RecursionError:
        raise MalformedInput("notebook JSON nested too deeply") from None
    except (ValueError, TypeError) as exc:
        raise MalformedInput(f"notebook is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise MalformedInput("notebook is not a JSON object")
    out = ParsedNotebook()
    for cell_no, cell in enumerate(_cells(document, out), 1):
        _cell_parts(cell_no, cell, out)
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and metadata:
        out.parts.append(NotebookPart("metadata", _json_text(metadata), False))
    return out
