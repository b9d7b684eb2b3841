"""Plot a robustness result: accuracy against epsilon, one line per attack.

With matplotlib installed the figure is a PNG; without it, a hand-written SVG (no
dependency). Either way an HTML page embedding the figure (self-contained: the PNG as a
data URI, the SVG inline) and the table is written beside it.
"""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from mlwarden.errors import UsageError
from mlwarden.ml.base import CheckResult

_W, _H = 640, 400
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 150, 30, 50
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _curves(result: CheckResult) -> dict[str, list[tuple[float, float]]]:
    cols = result.scores.columns
    if not {"attack", "epsilon", "robust_accuracy"} <= set(cols):
        raise UsageError(
            f"{result.check} result", "has no robustness table", "pass a RobustnessCheck result"
        )
    curves: dict[str, list[tuple[float, float]]] = {}
    for attack, eps, acc in zip(
        cols["attack"], cols["epsilon"], cols["robust_accuracy"], strict=True
    ):
        curves.setdefault(str(attack), []).append((float(eps), float(acc)))
    return {k: sorted(v) for k, v in curves.items()}


def robustness_svg(result: CheckResult) -> str:
    """The accuracy-vs-epsilon chart as a standalone SVG document."""
    curves = _curves(result)
    eps_max = max((e for pts in curves.values() for e, _ in pts), default=1.0) or 1.0
    pw, ph = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def sx(e: float) -> float:
        return _LEFT + pw * e / eps_max

    def sy(a: float) -> float:
        return _TOP + ph * (1 - a)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{_W}" height="{_H}" fill="white"/>',
    ]
    for tick in np.linspace(0, 1, 6):
        y = sy(float(tick))
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + pw}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{tick:.1f}</text>'
        )
    for tick in np.linspace(0, eps_max, 5):
        x = sx(float(tick))
        parts.append(
            f'<text x="{x:.1f}" y="{_TOP + ph + 18}" text-anchor="middle">{tick:.3g}</text>'
        )
    parts.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>'
        f'<text x="{_LEFT + pw / 2}" y="{_H - 10}" text-anchor="middle">epsilon</text>'
        f'<text x="15" y="{_TOP + ph / 2}" text-anchor="middle" '
        f'transform="rotate(-90 15 {_TOP + ph / 2})">robust accuracy</text>'
    )
    for i, (attack, pts) in enumerate(curves.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        coords = " ".join(f"{sx(e):.1f},{sy(a):.1f}" for e, a in pts)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for e, a in pts:
            parts.append(f'<circle cx="{sx(e):.1f}" cy="{sy(a):.1f}" r="3" fill="{colour}"/>')
        ly = _TOP + 15 + 18 * i
        parts.append(
            f'<line x1="{_LEFT + pw + 12}" y1="{ly}" x2="{_LEFT + pw + 32}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{_LEFT + pw + 38}" y="{ly + 4}">{html.escape(attack)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _png(result: CheckResult) -> bytes | None:
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for attack, pts in _curves(result).items():
        ax.plot([e for e, _ in pts], [a for _, a in pts], marker="o", label=attack)
    ax.set_xlabel("epsilon")
    ax.set_ylabel("robust accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    # Temp file in the same folder, fsync, rename: a reader never sees half a report.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table(result: CheckResult) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(r['key']))}</td><td>{r['epsilon']:g}</td>"
        f"<td>{r['robust_accuracy']:.3f}</td></tr>"
        for r in result.scores.to_rows()
    )
    return (
        "<table><tr><th>attack@epsilon</th><th>epsilon</th><th>robust accuracy</th></tr>"
        f"{rows}</table>"
    )


def plot_robustness(result: CheckResult, path: str | Path) -> tuple[Path, Path]:
    """Write the chart of a :class:`RobustnessCheck` result and an HTML page showing it.

    The image goes to ``path`` with suffix ``.png`` (matplotlib installed) or ``.svg``
    (otherwise); the page to ``path`` with suffix ``.html``. Returns ``(image, page)``.
    Raises :class:`UsageError` if the folder does not exist or ``result`` has no
    robustness table.
    """
    base = Path(path)
    if not base.parent.is_dir():
        raise UsageError(str(base), "its folder does not exist", "create the folder first")
    png = _png(result)
    if png is not None:
        image = base.with_suffix(".png")
        _write(image, png)
        encoded = base64.b64encode(png).decode()
        figure = f'<img alt="robust accuracy" src="data:image/png;base64,{encoded}">'
    else:
        image = base.with_suffix(".svg")
        svg = robustness_svg(result)
        _write(image, svg.encode())
        figure = svg
    findings = "".join(
        f"<li>{html.escape(f.rule_id)}: {html.escape(f.evidence)}</li>" for f in result.findings
    )
    page = base.with_suffix(".html")
    verdict = "passed" if result.passed else "failed"
    document = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Robustness report</title>'
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 10px;"
        "text-align:right}</style></head><body>"
        f"<h1>Adversarial robustness ({verdict})</h1>{figure}{_table(result)}"
        f"<ul>{findings}</ul></body></html>"
    )
    _write(page, document.encode())
    return image, page
