"""The dashboard's charts as SVG drawn here, on the server: the daily intake bars and the grid map coloured
by counts. Plain markup with the labels as text (the browser's CJK fonts draw the Chinese), each shape
with a <title> for its exact figure; no script, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import Markup, escape

from routing.gridmap import GridMapLayer

# Sequential blues (ColorBrewer Blues, 5 classes) from few to many cases; grey for none.
SHADES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
NONE_SHADE = "#f2f2f2"


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    exp = 10 ** int(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return int(step * exp)
    return value


def daily_bars(series: Sequence[tuple[date, int]], width: int = 720, height: int = 200) -> Markup:
    """Cases opened per day: a bar each, the y axis in round numbers, a date label every few days."""
    left, bottom, top = 44, 24, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max((n for _, n in series), default=0))
    n = max(len(series), 1)
    slot = plot_w / n
    every = max(1, math.ceil(n / 10))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="每日受理量" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(5):
        value = peak * i // 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{value}</text>')
    for i, (day, count) in enumerate(series):
        h = plot_h * count / peak if peak else 0
        x = left + i * slot + slot * 0.15
        y = top + plot_h - h
        label = f"{day.month}月{day.day}日：受理 {count} 件"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(label)}</title></rect>"
        )
        if i % every == 0 or i == n - 1:
            cx = left + i * slot + slot / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{height - 6}" text-anchor="middle" class="axis">{day.month}/{day.day}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def shade_bins(peak: int) -> list[tuple[int, int]]:
    """The legend's ranges: five classes from 1 to the busiest grid's count (inclusive bounds)."""
    if peak <= 0:
        return []
    bounds = sorted({max(1, math.ceil(peak * k / 5)) for k in range(1, 6)})
    out, low = [], 1
    for high in bounds:
        if high >= low:
            out.append((low, high))
            low = high + 1
    return out


def shade(count: int, bins: Sequence[tuple[int, int]]) -> str:
    if count <= 0 or not bins:
        return NONE_SHADE
    for i, (_low, high) in enumerate(bins):
        if count <= high:
            return SHADES[min(i + len(SHADES) - len(bins), len(SHADES) - 1)]
    return SHADES[-1]


def grid_map(layer: GridMapLayer, counts: Mapping[str, int], period: str, width: int = 560) -> Markup:
    """The grid layer projected onto the page (longitude scaled by the cosine of the latitude, north up),
    each grid filled by its count in the period, named in its <title>; a legend below."""
    outlines = list(layer.outlines.values())
    if not outlines:
        return Markup('<p class="muted">网格图层没有形状数据（hotline grids import）。</p>')
    xs = [x for o in outlines for ring in o.rings for x, _ in ring]
    ys = [y for o in outlines for ring in o.rings for _, y in ring]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    kx = math.cos(math.radians((min_y + max_y) / 2))
    span_x, span_y = max((max_x - min_x) * kx, 1e-9), max(max_y - min_y, 1e-9)
    pad = 8
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale + 2 * pad)

    def point(x: float, y: float) -> str:
        return f"{pad + (x - min_x) * kx * scale:.1f},{pad + (max_y - y) * scale:.1f}"

    bins = shade_bins(max(counts.values(), default=0))
    parts = [
        f'<svg class="gridmap" viewBox="0 0 {width} {height + 36}" role="img" '
        f'aria-label="网格受理量分布图（{escape(period)}）" xmlns="http://www.w3.org/2000/svg">'
    ]
    for o in sorted(outlines, key=lambda o: o.code):
        n = counts.get(o.code, 0)
        fill = shade(n, bins)
        path = " ".join("M" + " L".join(point(x, y) for x, y in ring) + " Z" for ring in o.rings)
        parts.append(
            f'<path d="{path}" fill="{fill}" class="grid-cell" data-grid="{escape(o.code)}" data-count="{n}">'
            f"<title>{escape(o.name)}：{n} 件（{escape(period)}）</title></path>"
        )
        lx, ly = point(*o.label).split(",")
        tone = " on-dark" if fill in SHADES[3:] else ""
        parts.append(f'<text x="{lx}" y="{ly}" text-anchor="middle" class="cell-count{tone}">{n}</text>')
    y = height + 8
    parts.append(f'<text x="{pad}" y="{y + 12}" class="axis">图例（件）</text>')
    legend = [(NONE_SHADE, "0")]
    legend += [(shade(high, bins), f"{low}–{high}" if low != high else f"{low}") for low, high in bins]
    for i, (colour, label) in enumerate(legend):
        x = pad + 70 + i * 86
        parts.append(f'<rect x="{x}" y="{y}" width="16" height="16" fill="{colour}" class="legend-swatch"/>')
        parts.append(f'<text x="{x + 22}" y="{y + 12}" class="axis">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
