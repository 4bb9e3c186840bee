"""The thread page's charts as server-rendered SVG, from plain data (no Django, no JavaScript):
lines over days (yield, run time per operation), a Pareto of scrap by reason, and bars before
and after a change order. Every data point is an element with a <title> (its value, shown on
hover), so a chart is readable, testable and printable; the tables beside it carry the numbers
for those who prefer them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
PALETTE = ("#417690", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d")


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[date, Decimal | None]]


def _plot_box() -> tuple[float, float, float, float]:
    return LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def _svg(label: str, body: list[str]) -> str:
    return (f'<svg class="chart" role="img" aria-label="{escape(label)}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
            + "".join(body) + "</svg>")


def _number(value: Decimal, as_percent: bool) -> str:
    return f"{value * 100:.1f} %" if as_percent else f"{value.normalize():f}"


def line_chart(label: str, series: Sequence[Series], *, as_percent: bool = False,
               reference: Decimal | None = None, reference_label: str = "") -> str:
    """One line per series over the days any of them has; a dashed reference line (a target,
    the standard) where given. Days without a value break no line: the point is left out."""
    days = sorted({day for s in series for day, value in s.points if value is not None})
    values = [v for s in series for _, v in s.points if v is not None]
    if reference is not None:
        values.append(reference)
    if not days:
        return _svg(label, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                            'class="chart-empty">No data yet</text>'])
    x0, y0, width, height = _plot_box()
    low, high = min(values), max(values)
    if as_percent:
        low, high = min(low, Decimal(1)), Decimal(1)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * Decimal("0.08")
    # A yield stays within 0 to 100 %; other measures get a margin on both sides.
    low = max(low - pad, Decimal(0)) if as_percent else low - pad
    high = high if as_percent else high + pad

    def x(day: date) -> float:
        return x0 + (width * days.index(day) / (len(days) - 1) if len(days) > 1 else width / 2)

    def y(value: Decimal) -> float:
        return y0 + height - float((value - low) / (high - low)) * height

    body = [f'<line class="axis" x1="{x0}" y1="{y0 + height}" x2="{x0 + width}" '
            f'y2="{y0 + height}"/>',
            f'<line class="axis" x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + height}"/>']
    for value in (low, (low + high) / 2, high):
        body.append(f'<text class="tick" x="{x0 - 4}" y="{y(value) + 4:.1f}" '
                    f'text-anchor="end">{escape(_number(value, as_percent))}</text>')
    for day in (days[0], days[-1]) if len(days) > 1 else (days[0],):
        body.append(f'<text class="tick" x="{x(day):.1f}" y="{y0 + height + 16}" '
                    f'text-anchor="middle">{day.isoformat()}</text>')
    if reference is not None:
        body.append(f'<line class="reference" x1="{x0}" y1="{y(reference):.1f}" '
                    f'x2="{x0 + width}" y2="{y(reference):.1f}"><title>'
                    f'{escape(reference_label)} {escape(_number(reference, as_percent))}'
                    '</title></line>')
    for index, one in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = [(day, value) for day, value in one.points if value is not None]
        if len(points) > 1:
            path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in points)
            body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                        f'points="{path}"/>')
        for day, value in points:
            body.append(f'<circle class="point" data-series="{escape(one.name)}" '
                        f'cx="{x(day):.1f}" cy="{y(value):.1f}" r="3.5" fill="{color}">'
                        f'<title>{escape(one.name)} {day.isoformat()}: '
                        f'{escape(_number(value, as_percent))}</title></circle>')
        body.append(f'<text class="legend" x="{x0 + 8 + 110 * index}" y="{HEIGHT - 6}" '
                    f'fill="{color}">{escape(one.name)}</text>')
    return _svg(label, body)


def pareto_chart(label: str, bars: Sequence[tuple[str, Decimal, Decimal | None]]) -> str:
    """Bars largest first (code, quantity) and the cumulative share as a line (0 to 100 %)."""
    if not bars:
        return _svg(label, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                            'class="chart-empty">No scrap reported</text>'])
    x0, y0, width, height = _plot_box()
    top = max(quantity for _, quantity, _ in bars)
    slot = width / len(bars)
    body = [f'<line class="axis" x1="{x0}" y1="{y0 + height}" x2="{x0 + width}" '
            f'y2="{y0 + height}"/>',
            f'<text class="tick" x="{x0 - 4}" y="{y0 + 4}" text-anchor="end">'
            f'{escape(_number(top, False))}</text>']
    line = []
    for index, (code, quantity, share) in enumerate(bars):
        bar_height = float(quantity / top) * height if top else 0
        left = x0 + index * slot + slot * 0.15
        body.append(f'<rect class="bar" x="{left:.1f}" y="{y0 + height - bar_height:.1f}" '
                    f'width="{slot * 0.7:.1f}" height="{bar_height:.1f}" fill="{PALETTE[0]}">'
                    f'<title>{escape(code)}: {escape(_number(quantity, False))}</title></rect>')
        body.append(f'<text class="tick" x="{left + slot * 0.35:.1f}" y="{y0 + height + 16}" '
                    f'text-anchor="middle">{escape(code[:14])}</text>')
        if share is not None:
            line.append((left + slot * 0.35, y0 + height - float(share) * height, share))
    if line:
        body.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            PALETTE[1], " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in line)))
        body.extend(f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3" '
                    f'fill="{PALETTE[1]}"><title>cumulative {share * 100:.1f} %</title></circle>'
                    for px, py, share in line)
    return _svg(label, body)


def before_after_chart(label: str,
                       measures: Sequence[tuple[str, Decimal | None, Decimal | None]],
                       *, before: str, after: str) -> str:
    """Pairs of bars per measure (name, before, after), each scaled to the larger of its two:
    the measures have different units, so only each pair is comparable."""
    shown = [(name, old, new) for name, old, new in measures
             if old is not None or new is not None]
    if not shown:
        return _svg(label, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                            'class="chart-empty">No results on both sides yet</text>'])
    x0, y0, width, height = _plot_box()
    slot = width / len(shown)
    body = [f'<line class="axis" x1="{x0}" y1="{y0 + height}" x2="{x0 + width}" '
            f'y2="{y0 + height}"/>']
    for index, (name, old, new) in enumerate(shown):
        top = max(v for v in (old, new) if v is not None) or Decimal(1)
        for side, (value, color, who) in enumerate(((old, PALETTE[6], before),
                                                    (new, PALETTE[0], after))):
            if value is None:
                continue
            bar_height = float(value / top) * height * 0.9
            left = x0 + index * slot + slot * (0.12 + 0.38 * side)
            body.append(f'<rect class="bar" x="{left:.1f}" y="{y0 + height - bar_height:.1f}" '
                        f'width="{slot * 0.36:.1f}" height="{bar_height:.1f}" fill="{color}">'
                        f'<title>{escape(name)}, {escape(who)}: '
                        f'{escape(_number(value, False))}</title></rect>')
        body.append(f'<text class="tick" x="{x0 + (index + 0.5) * slot:.1f}" '
                    f'y="{y0 + height + 16}" text-anchor="middle">{escape(name)}</text>')
    body.append(f'<text class="legend" x="{x0 + 8}" y="{HEIGHT - 6}" fill="{PALETTE[6]}">'
                f'{escape(before)}</text><text class="legend" x="{x0 + 160}" y="{HEIGHT - 6}" '
                f'fill="{PALETTE[0]}">{escape(after)}</text>')
    return _svg(label, body)
