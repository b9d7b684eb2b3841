"""Which files the secrets scanners read: text (sources, configs) and Jupyter notebooks.

Content decides, as everywhere in mlwarden; the name only breaks ties. Both functions
look at the first bytes of a file (``head``; 8 KiB is plenty) and cost microseconds.
"""

from __future__ import annotations

import re

SNIFF_BYTES = 8192
"""How many leading bytes the sniffers need."""

_BOMS = (b"\xef\xbb\xbf",)
# Bytes that never occur in text: C0 controls other than tab, newlines, form feed, escape.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_NOTEBOOK_KEYS = re.compile(rb'"(?:cells|nbformat|nbformat_minor|worksheets)"\s*:')


def _strip_bom(head: bytes) -> bytes:
    for bom in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :]
    return head


def _utf8_prefix_ok(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the head is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def looks_like_source(name: str, head: bytes) -> bool:
    """True when ``head`` is UTF-8 (or ASCII) text with almost no control bytes.

    Covers source code, shell, ``.env``, INI/TOML/YAML/JSON, Terraform, Dockerfiles,
    SQL, Markdown and plain text alike. Empty files and NUL-bearing files are not text;
    notebooks are left to :func:`looks_like_notebook` (call it first).
    """
    del name  # content decides; kept for a uniform sniffer signature
    body = _strip_bom(head[:SNIFF_BYTES])
    if not body or b"\x00" in body:
        return False
    if not _utf8_prefix_ok(body):
        return False
    controls = sum(body.count(bytes([c])) for c in _CONTROL)
    # Logs and terminal captures carry a few stray controls; binaries carry many.
    return controls * 100 <= len(body)


def looks_like_notebook(name: str, head: bytes) -> bool:
    """True for a Jupyter notebook: a JSON object with notebook keys near its start, or a
    ``.ipynb`` name on anything that starts like a JSON object (so a damaged notebook is
    still read as one and reported as malformed)."""
    body = _strip_bom(head[:SNIFF_BYTES]).lstrip()
    if not body.startswith(b"{"):
        return False
    return name.lower().endswith(".ipynb") or _NOTEBOOK_KEYS.search(body) is not None
