"""Charts drawn on the server, no JavaScript, nothing fetched (reports open offline and in a strict
Content-Security-Policy). Each function returns safe markup for a template (``{{ chart }}``).

- :func:`bar_chart`: horizontal bars as HTML (a label, a bar, the value): labels are text of the page, so they wrap
  and never get clipped, and read at the page's own size on a phone (stacked above their bar below 640 px, by
  the pages' stylesheet ``_style.css``).
- :func:`stacked_columns`: columns stacked by series as inline SVG (shapes only: it scales to any width), with its
  legend and its first and last column's label as HTML under it, readable at 100% zoom.

Every bar and column carries a tooltip (``title``) and each chart an ``aria-label``, so the numbers are readable
without seeing the colours.
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
    """One bar of a chart: label, value, tone, a note and the label's name in the reader's language."""
    label: str  # shown as code (e.g. a finding code)
    value: float
    tone: str = "info"
    note: str = ""  # shown right of the value (e.g. the share)
    name: str = ""  # shown after the label, in the reader's language (e.g. the code's short name)


def _number(value: float) -> str:
    return f"{value:g}"


def bar_chart(bars: Sequence[Bar], *, title: str) -> Markup:
    """Horizontal bars, largest first as given; an empty list draws nothing."""
    if not bars:
        return Markup("")
    top = max(b.value for b in bars) or 1
    rows = []
    for bar in bars:
        share = 100 * bar.value / top if bar.value else 0.0
        value = _number(bar.value) + (f" {bar.note}" if bar.note else "")
        name = f' <span class="bar-name">{escape(bar.name)}</span>' if bar.name else ""
        tip = f"{bar.label} {bar.name}".strip() + f": {value}"
        rows.append(
            f'<div class="bar" title="{escape(tip)}"><span class="bar-label"><code>{escape(bar.label)}</code>{name}'
            f'</span><span class="bar-track"><span class="bar-fill" style="width:{max(share, 1.0):.1f}%;'
            f'background:{TONES.get(bar.tone, TONES["info"])}"></span></span>'
            f'<span class="bar-value">{escape(value)}</span></div>')
    return Markup(f'<div class="chart bars" role="img" aria-label="{escape(title)}">{"".join(rows)}</div>')


def stacked_columns(columns: Sequence[tuple[str, Mapping[str, float]]], *, title: str, width: int = 720,
                    height: int = 180, series_order: Sequence[str] | None = None,
                    names: Mapping[str, str] | None = None) -> Markup:
    """One column per entry (e.g. a run, oldest left), stacked by series (e.g. finding codes); its legend (each
    series with its name from ``names``) and the first and last column's label under it."""
    if not columns:
        return Markup("")
    order = list(series_order or sorted({k for _, values in columns for k in values}))
    colour = {name: SERIES[i % len(SERIES)] for i, name in enumerate(order)}
    top = max((sum(values.values()) for _, values in columns), default=0) or 1
    base = height - 2
    step = (width - 40) / len(columns)
    col_w = max(3.0, step * 0.7)
    parts = [f'<svg class="columns" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="30" y1="{base}" x2="{width}" y2="{base}" stroke="#999"/>']
    for i, (label, values) in enumerate(columns):
        x = 35 + i * step
        y = float(base)
        total = sum(values.values())
        tip = f"{label}: {total:g}" + "".join(f", {k} {v:g}" for k, v in values.items() if v)
        parts.append(f'<g class="column"><title>{escape(tip)}</title>')
        for name in order:
            value = values.get(name, 0)
            if not value:
                continue
            h = (base - 8) * value / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                         f'fill="{colour[name]}"/>')
        if not total:
            parts.append(f'<rect x="{x:.1f}" y="{base - 1}" width="{col_w:.1f}" height="1" fill="#bbb"/>')
        parts.append("</g>")
    parts.append("</svg>")
    axis = f'<div class="columns-axis"><span>{escape(columns[0][0])}</span><span>{escape(columns[-1][0])}</span></div>'
    legend = "".join(f'<li><span class="swatch" style="background:{colour[name]}"></span><code>{escape(name)}</code>'
                     + (f' <span class="bar-name">{escape(names[name])}</span>' if names and names.get(name) else "")
                     + "</li>" for name in order)
    return Markup(f'<div class="chart stacked">{"".join(parts)}{axis}<ul class="legend">{legend}</ul></div>')
