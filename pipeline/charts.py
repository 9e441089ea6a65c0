"""Small inline-SVG charts for the static HTML report.

The report machine is offline and the pages must open from a file share, so charts are
drawn here as plain SVG markup (no JavaScript library, no CDN). Each function returns a
:class:`markupsafe.Markup` string ready to drop into a Jinja template.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

_FONT = 'font-family="system-ui,sans-serif" font-size="11"'
ACCENT = "#2f6fb3"
WARN = "#c0392b"
MUTED = "#9aa5b1"


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _svg(width: int, height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def histogram(
    values: Sequence[float],
    *,
    bins: Sequence[float] = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.0001),
    threshold: float | None = None,
    width: int = 520,
    height: int = 200,
    title: str = "Score distribution",
) -> Markup:
    """Counts of ``values`` per bin; bars below ``threshold`` (the pass mark) are red."""
    counts = [0] * (len(bins) - 1)
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        for i in range(len(counts)):
            if bins[i] <= v < bins[i + 1]:
                counts[i] += 1
                break
    left, bottom, top = 30, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(counts) if counts and max(counts) > 0 else 1
    bar_w = plot_w / len(counts)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#555"/>']
    for i, c in enumerate(counts):
        h = plot_h * c / peak
        x = left + i * bar_w
        colour = WARN if threshold is not None and bins[i + 1] <= threshold + 1e-9 else ACCENT
        body.append(
            f'<rect x="{_fmt(x + 1)}" y="{_fmt(top + plot_h - h)}" width="{_fmt(bar_w - 2)}" '
            f'height="{_fmt(h)}" fill="{colour}"><title>{bins[i]:.0f}–{min(bins[i + 1], 100):.0f}: {c}</title></rect>'
        )
        if c:
            body.append(f'<text x="{_fmt(x + bar_w / 2)}" y="{_fmt(top + plot_h - h - 2)}" text-anchor="middle" {_FONT}>{c}</text>')
        body.append(f'<text x="{_fmt(x)}" y="{height - 8}" {_FONT}>{bins[i]:.0f}</text>')
    body.append(f'<text x="{width - 30}" y="{height - 8}" {_FONT}>100</text>')
    return _svg(width, height, body, title)


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    max_value: float = 100.0,
    low: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
    value_format: str = "{:.1f}",
    muted: Sequence[bool] | None = None,
    width: int = 520,
    bar_h: int = 20,
    title: str = "",
) -> Markup:
    """Horizontal bars with optional error whiskers (``low``/``high``, e.g. a 95% CI)."""
    # Room for the longest label (CJK glyphs are about twice as wide as Latin ones).
    longest = max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(label)) for label in labels), default=4)
    label_w, right = min(220, max(60, 7 * longest + 10)), 50
    plot_w = width - label_w - right
    height = max(1, len(labels)) * (bar_h + 6) + 10
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + i * (bar_h + 6)
        v = 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        w = plot_w * max(0.0, min(v, max_value)) / max_value if max_value else 0
        colour = MUTED if muted is not None and muted[i] else ACCENT
        body.append(f'<text x="{label_w - 6}" y="{y + bar_h * 0.7}" text-anchor="end" {_FONT}>{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y}" width="{_fmt(w)}" height="{bar_h}" fill="{colour}"/>')
        if low is not None and high is not None:
            lo, hi = low[i], high[i]
            if lo is not None and hi is not None and not (math.isnan(lo) or math.isnan(hi)):
                x1 = label_w + plot_w * max(0.0, lo) / max_value
                x2 = label_w + plot_w * min(hi, max_value) / max_value
                mid = y + bar_h / 2
                body.append(f'<line x1="{_fmt(x1)}" y1="{_fmt(mid)}" x2="{_fmt(x2)}" y2="{_fmt(mid)}" stroke="#222"/>')
                for x in (x1, x2):
                    body.append(f'<line x1="{_fmt(x)}" y1="{y + 4}" x2="{_fmt(x)}" y2="{y + bar_h - 4}" stroke="#222"/>')
        # Values sit in a column right of the plot so whiskers never cover them.
        body.append(f'<text x="{label_w + plot_w + 6}" y="{y + bar_h * 0.7}" {_FONT}>{escape(value_format.format(v))}</text>')
    return _svg(width, height, body, title)


def line_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    min_value: float = 0.0,
    max_value: float = 100.0,
    threshold: float | None = None,
    width: int = 520,
    height: int = 200,
    title: str = "Trend",
) -> Markup:
    """A line with dots over ordered periods; a dashed line marks ``threshold``."""
    left, bottom, top, right = 34, 26, 10, 26
    plot_w, plot_h = width - left - right, height - bottom - top

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - min_value) / (max_value - min_value))

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#555"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#555"/>',
    ]
    for tick in (min_value, (min_value + max_value) / 2, max_value):
        body.append(f'<text x="{left - 4}" y="{_fmt(y_of(tick) + 4)}" text-anchor="end" {_FONT}>{tick:.0f}</text>')
    if threshold is not None:
        ty = y_of(threshold)
        body.append(f'<line x1="{left}" y1="{_fmt(ty)}" x2="{width - right}" y2="{_fmt(ty)}" stroke="{WARN}" stroke-dasharray="4 3"/>')
    n = len(values)
    step = plot_w / max(1, n - 1)
    points = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        x = left + (i * step if n > 1 else plot_w / 2)
        points.append((x, y_of(float(v)), float(v), labels[i]))
    if len(points) > 1:
        path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y, _, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for x, y, v, label in points:
        body.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="3.5" fill="{ACCENT}"><title>{escape(label)}: {v:.1f}</title></circle>')
    every = max(1, math.ceil(n / 8))
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + (i * step if n > 1 else plot_w / 2)
            body.append(f'<text x="{_fmt(x)}" y="{height - 8}" text-anchor="middle" {_FONT}>{escape(label)}</text>')
    return _svg(width, height, body, title)
