"""Charts as inline SVG, drawn on the server: no script, no CDN, readable offline and in print.

Two kinds: a line chart of series over periods (a suppressed or missing value is a gap in the
line, never a zero) and a grouped bar chart. Every mark carries ``data-*`` attributes and a
``<title>`` (the tooltip), so tests and screen readers can read the numbers back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44


@dataclass(frozen=True)
class Series:
    """A named row of values (None: suppressed or missing), drawn in the colour of ``css_class``."""

    name: str
    values: Sequence[float | None]
    css_class: str


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-12:
            return step * power
    return 10 * power


def _ticks(top: float, bottom: float = 0.0, step: float | None = None, count: int = 4) -> list[float]:
    step = step or (top - bottom) / count
    return [bottom + step * index for index in range(round((top - bottom) / step) + 1)]


def _fmt_default(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _frame(title: str, kind: str, top: float, fmt: Callable[[float], str], points: int,
           bottom: float = 0.0, step: float | None = None) -> list[str]:
    parts = [f'<svg class="chart" data-chart="{escape(kind)}" data-points="{points}" role="img" '
             f'aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    plot_h = HEIGHT - TOP - BOTTOM
    for tick in _ticks(top, bottom, step):
        y = TOP + plot_h - plot_h * (tick - bottom) / (top - bottom)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(tick))}</text>')
    return parts


def _x_labels(labels: Sequence[str], x_of: Callable[[int], float]) -> list[str]:
    every = max(1, math.ceil(len(labels) / 8))
    parts = []
    for index, label in enumerate(labels):
        if index % every == 0:
            parts.append(f'<text class="tick" x="{x_of(index):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    return parts


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series],
               fmt: Callable[[float], str] = _fmt_default, top: float | None = None) -> Markup:
    """A line per series over ``labels``; a None breaks the line; negative values extend the axis down."""
    values = [value for row in series for value in row.values if value is not None]
    top = top or nice_ceiling(max(values, default=0) * 1.05)
    lowest = min(values, default=0)
    bottom, tick_step = 0.0, None
    if lowest < 0:  # ticks at multiples of one nice step, so that zero is one of them
        tick_step = nice_ceiling((max(values) - lowest) * 1.05 / 4)
        bottom = -tick_step * math.ceil(-lowest / tick_step)
        top = tick_step * max(1, math.ceil(max(values) / tick_step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels) - 1)

    def x_of(index: int) -> float:
        return LEFT + (step * index if len(labels) > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return TOP + plot_h - plot_h * (min(value, top) - bottom) / (top - bottom)

    parts = _frame(title, "line", top, fmt, len(values), bottom, tick_step)
    parts += _x_labels(labels, x_of)
    for row in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(row.values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((x_of(index), y_of(value)))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline class="line {escape(row.css_class)}" points="{path}"/>')
        for index, value in enumerate(row.values):
            if value is not None:
                parts.append(f'<circle class="point {escape(row.css_class)}" cx="{x_of(index):.1f}" '
                             f'cy="{y_of(value):.1f}" r="3" data-series="{escape(row.name)}" '
                             f'data-label="{escape(labels[index])}" data-value="{value}">'
                             f"<title>{escape(row.name)}, {escape(labels[index])}: {escape(fmt(value))}</title></circle>")
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series],
              fmt: Callable[[float], str] = _fmt_default) -> Markup:
    """Bars grouped by category, one bar per series; a None leaves its slot empty (marked "s")."""
    values = [value for row in series for value in row.values if value is not None]
    top = nice_ceiling(max(values, default=0) * 1.05)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(1, len(categories))
    bar_w = group_w * 0.7 / max(1, len(series))
    parts = _frame(title, "bar", top, fmt, len(values))

    def centre(index: int) -> float:
        return LEFT + group_w * (index + 0.5)

    parts += _x_labels(categories, centre)
    for position, row in enumerate(series):
        for index, value in enumerate(row.values):
            x = LEFT + group_w * index + group_w * 0.15 + bar_w * position
            if value is None:
                parts.append(f'<text class="gap-mark" x="{x + bar_w / 2:.1f}" y="{TOP + plot_h - 4}" '
                             f'text-anchor="middle">s<title>{escape(row.name)}, {escape(categories[index])}: '
                             f"suppressed or no data</title></text>")
                continue
            height = plot_h * min(value, top) / top
            parts.append(f'<rect class="bar {escape(row.css_class)}" x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
                         f'width="{bar_w:.1f}" height="{height:.1f}" data-series="{escape(row.name)}" '
                         f'data-label="{escape(categories[index])}" data-value="{value}">'
                         f"<title>{escape(row.name)}, {escape(categories[index])}: {escape(fmt(value))}</title></rect>")
    parts.append("</svg>")
    return Markup("".join(parts))
