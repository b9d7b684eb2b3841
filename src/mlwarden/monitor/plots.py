"""Self-contained SVG charts and an HTML page for drift over windows and score
histograms (no plotting library; every label is XML-escaped)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from mlwarden.ml.base import CheckResult

_W, _H, _PAD = 640, 260, 40
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
MAX_SERIES = 20
"""Features drawn in the drift chart (the most drifted first)."""


def drift_history_svg(results: Sequence[CheckResult], alpha: float = 0.05) -> str:
    """Per-feature drift score (-log10 adjusted p) across windows, with the alarm line."""
    if not results:
        return _frame("drift over windows", "<text x='50' y='120'>no windows</text>")
    keys = [str(k) for k in results[0].scores.keys]
    matrix = np.array([np.asarray(r.scores.columns["score"], dtype=float) for r in results])
    order = np.argsort(-matrix.max(axis=0))[:MAX_SERIES]
    top = max(float(matrix.max()), -np.log10(alpha)) * 1.1
    n = len(results)

    def point(i: int, value: float) -> str:
        x = _PAD + (_W - 2 * _PAD) * (i / max(1, n - 1))
        y = _H - _PAD - (_H - 2 * _PAD) * min(value, top) / top
        return f"{x:.1f},{y:.1f}"

    parts = []
    for rank, j in enumerate(order):
        colour = _COLOURS[rank % len(_COLOURS)]
        points = " ".join(point(i, float(matrix[i, j])) for i in range(n))
        parts.append(
            f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{points}'>"
            f"<title>{html.escape(keys[j])}</title></polyline>"
        )
        parts.append(
            f"<text x='{_W - _PAD + 4}' y='{_PAD + 12 * rank}' font-size='10' "
            f"fill='{colour}'>{html.escape(keys[j][:20])}</text>"
        )
    y_alarm = point(0, -np.log10(alpha)).split(",")[1]
    parts.append(
        f"<line x1='{_PAD}' x2='{_W - _PAD}' y1='{y_alarm}' y2='{y_alarm}' stroke='#999' "
        f"stroke-dasharray='4 3'><title>alarm level (alpha={alpha})</title></line>"
    )
    return _frame("drift score (-log10 adjusted p) per window", "".join(parts), n_x=n)


def histogram_svg(
    values: npt.ArrayLike, *, title: str, threshold: float | None = None, bins: int = 30
) -> str:
    """Histogram of per-sample scores, with an optional threshold line."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return _frame(title, "<text x='50' y='120'>no scores</text>")
    counts, edges = np.histogram(data, bins=bins)
    low, high = float(edges[0]), float(edges[-1])
    span = high - low or 1.0
    width = (_W - 2 * _PAD) / bins
    peak = max(1, int(counts.max()))
    parts = []
    for i, count in enumerate(counts):
        height = (_H - 2 * _PAD) * count / peak
        parts.append(
            f"<rect x='{_PAD + i * width:.1f}' y='{_H - _PAD - height:.1f}' "
            f"width='{width - 1:.1f}' height='{height:.1f}' fill='#1f77b4'>"
            f"<title>{edges[i]:.3g} to {edges[i + 1]:.3g}: {count}</title></rect>"
        )
    if threshold is not None and low <= threshold <= high:
        x = _PAD + (_W - 2 * _PAD) * (threshold - low) / span
        parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{_PAD}' y2='{_H - _PAD}' stroke='#d62728'/>"
        )
    parts.append(f"<text x='{_PAD}' y='{_H - 8}' font-size='10'>{low:.3g}</text>")
    parts.append(f"<text x='{_W - _PAD - 30}' y='{_H - 8}' font-size='10'>{high:.3g}</text>")
    return _frame(title, "".join(parts))


def html_page(title: str, charts: Sequence[str]) -> str:
    """One standalone HTML page holding the given SVG charts."""
    body = "\n".join(f"<figure>{chart}</figure>" for chart in charts)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body style='font-family:sans-serif'>"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _frame(title: str, content: str, n_x: int | None = None) -> str:
    axis = (
        f"<line x1='{_PAD}' y1='{_H - _PAD}' x2='{_W - _PAD}' y2='{_H - _PAD}' stroke='#333'/>"
        f"<line x1='{_PAD}' y1='{_PAD}' x2='{_PAD}' y2='{_H - _PAD}' stroke='#333'/>"
    )
    label = f"<text x='{_PAD}' y='{_H - 8}' font-size='10'>window 1..{n_x}</text>" if n_x else ""
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W + 80}' height='{_H}' "
        f"viewBox='0 0 {_W + 80} {_H}'><text x='{_PAD}' y='20' font-size='13'>"
        f"{html.escape(title)}</text>{axis}{content}{label}</svg>"
    )
