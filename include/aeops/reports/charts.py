"""Charts as inline SVG: drawn on the server, no JavaScript, nothing fetched (reports open offline and in a
strict Content-Security-Policy). Each function returns safe markup for a template (``{{ chart }}``).

Every bar carries a ``<title>`` (the browser's tooltip) and the chart an ``aria-label``, so the numbers are
readable without seeing the colours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

TONES = {"bad": "#c0392b", "warn": "#d68910", "ok": "#1e8449", "info": "#2e86c1", "muted": "#95a5a6"}
# Codes are grouped by what a person fixes; each group keeps one hue in stacked charts.
SERIES = ("#c0392b", "#2e86c1", "#d68910", "#8e44ad", "#16a085", "#7f8c8d", "#e74c3c", "#f1c40f", "#34495e",
          "#27ae60")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tone: str = "info"
    note: str = ""  # shown right of the value (e.g. the share)


def bar_chart(bars: Sequence[Bar], *, title: str, width: int = 640, bar_height: int = 22,
              label_width: int = 190) -> Markup:
    """Horizontal bars, largest first as given; an empty list draws nothing."""
    if not bars:
        return Markup("")
    top = max(b.value for b in bars) or 1
    gap = 6
    height = len(bars) * (bar_height + gap) + gap
    plot = width - label_width - 90
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for i, bar in enumerate(bars):
        y = gap + i * (bar_height + gap)
        length = max(2.0, plot * bar.value / top) if bar.value else 0.0
        colour = TONES.get(bar.tone, TONES["info"])
        value = f"{bar.value:g}" + (f" {bar.note}" if bar.note else "")
        parts.append(
            f'<g class="bar"><title>{escape(bar.label)}: {escape(value)}</title>'
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
            f'font-size="12">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" rx="3" fill="{colour}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12">'
            f"{escape(value)}</text></g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_columns(columns: Sequence[tuple[str, Mapping[str, float]]], *, title: str, width: int = 720,
                    height: int = 220, series_order: Sequence[str] | None = None) -> Markup:
    """One column per entry (e.g. a run, oldest left), stacked by series (e.g. finding codes), with a legend."""
    if not columns:
        return Markup("")
    order = list(series_order or sorted({k for _, values in columns for k in values}))
    colour = {name: SERIES[i % len(SERIES)] for i, name in enumerate(order)}
    legend_rows = (len(order) + 4) // 5
    chart_h = height - 28 - legend_rows * 18
    top = max((sum(values.values()) for _, values in columns), default=0) or 1
    step = (width - 50) / len(columns)
    col_w = max(3.0, step * 0.7)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>",
             f'<line x1="40" y1="{chart_h}" x2="{width - 5}" y2="{chart_h}" stroke="#999"/>',
             f'<text x="35" y="12" text-anchor="end" font-size="11">{top:g}</text>',
             f'<text x="35" y="{chart_h}" text-anchor="end" font-size="11">0</text>']
    for i, (label, values) in enumerate(columns):
        x = 45 + i * step
        y = float(chart_h)
        total = sum(values.values())
        tip = f"{label}: {total:g}" + "".join(f", {k} {v:g}" for k, v in values.items() if v)
        parts.append(f'<g class="column"><title>{escape(tip)}</title>')
        for name in order:
            value = values.get(name, 0)
            if not value:
                continue
            h = (chart_h - 16) * value / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                         f'fill="{colour[name]}"/>')
        if not total:
            parts.append(f'<rect x="{x:.1f}" y="{chart_h - 1}" width="{col_w:.1f}" height="1" fill="#bbb"/>')
        parts.append("</g>")
    for i, name in enumerate(order):
        lx = 45 + (i % 5) * ((width - 50) / 5)
        ly = chart_h + 20 + (i // 5) * 18
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="10" height="10" fill="{colour[name]}"/>'
                     f'<text x="{lx + 14:.1f}" y="{ly}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
