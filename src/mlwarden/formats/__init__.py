"""Renderers: turn a scan report into text. They read reports; they never compute them."""

from __future__ import annotations

from collections.abc import Callable

from mlwarden.findings import Report

Renderer = Callable[[Report], str]


def get_renderer(name: str) -> Renderer:
    """The renderer for ``table``, ``json`` or ``sarif``; raise KeyError otherwise."""
    if name == "json":
        from mlwarden.formats.json_report import render_json

        return render_json
    if name == "sarif":
        from mlwarden.formats.sarif import render_sarif

        return render_sarif
    if name == "table":
        from mlwarden.formats.table import render_table

        return render_table
    raise KeyError(name)


FORMATS = ("table", "json", "sarif")
