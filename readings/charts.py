"""The history's stacked bar chart, drawn on the server as inline SVG.

The server draws the chart, so the page needs no JavaScript and no chart library
from a CDN, and it shows the same on a phone with scripts off. The markup is
written here rather than in a template: a template loop over 24 bars and their
segments cost more server time than the rest of the page.
"""

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from readings.periods import consumption_month

# Drawn for a phone's width: a wider screen scales it up (the CSS caps it), text included.
WIDTH = 400
HEIGHT = 220
# Room for the kWh labels of the axis, by their digits: a digit of the 14-unit text a phone shows
# (static/cabinet/cabinet.css) is about 8 units wide, and the labels end 4 units off the plot.
DIGIT = 8.5
LEFT_PAD = 6
BOTTOM = 22  # room for the month labels
TOP = 8
RIGHT = 20  # room for half of the last month's label
GAP = 0.25  # the share of a month's slot left empty between bars


@dataclass(frozen=True)
class Segment:
    zone: int  # 1, 2 or 3
    kwh: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    period: dt.date
    x: float
    width: float
    total: int
    segments: tuple[Segment, ...]
    label: str  # the consumption month, "11.26", under every third bar; "" under the others


@dataclass(frozen=True)
class Tick:
    kwh: int
    y: float


@dataclass(frozen=True)
class StackedChart:
    width: int
    height: int
    left: int
    baseline: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    zones: int  # the most zones any month has


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value`, at least 100: a round top for the axis.

    From 100 up, a quarter of it is a whole number, so every tick label is exact.
    """
    if value <= 100:
        return 100
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def stacked_chart(months: Sequence[tuple[dt.date, Sequence[int]]]) -> StackedChart:
    """Bars of kWh per month, zone 1 at the bottom, for (period, consumption per zone) pairs."""
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = HEIGHT - BOTTOM
    top = nice_ceiling(max((sum(consumption) for _, consumption in months), default=0))
    left = math.ceil(LEFT_PAD + DIGIT * len(str(top)))
    slot = (WIDTH - left - RIGHT) / max(1, len(months))
    bars = []
    for index, (period, consumption) in enumerate(months):
        y = float(baseline)
        segments = []
        for zone, kwh in enumerate(consumption, start=1):
            height = kwh / top * plot_height
            y -= height
            segments.append(Segment(zone=zone, kwh=kwh, y=round(y, 2), height=round(height, 2)))
        bars.append(
            Bar(
                period=period,
                x=round(left + index * slot + slot * GAP / 2, 2),
                width=round(slot * (1 - GAP), 2),
                total=sum(consumption),
                segments=tuple(segments),
                label=f"{consumption_month(period):%m.%y}" if (len(months) - 1 - index) % 3 == 0 else "",
            )
        )
    ticks = tuple(Tick(kwh=top * step // 4, y=round(baseline - plot_height * step / 4, 2)) for step in range(5))
    return StackedChart(
        width=WIDTH,
        height=HEIGHT,
        left=left,
        baseline=baseline,
        bars=tuple(bars),
        ticks=ticks,
        zones=max((len(consumption) for _, consumption in months), default=1) or 1,
    )


def svg(chart: StackedChart, *, titles: Sequence[str], labelled_by: str, description: str) -> SafeString:
    """The chart as an accessible <svg>: `titles` name each bar for screen readers and on hover."""
    parts = [
        format_html(
            '<svg viewBox="0 0 {} {}" role="img" aria-labelledby="{} chart-desc" focusable="false">'
            '<desc id="chart-desc">{}</desc>',
            chart.width,
            chart.height,
            labelled_by,
            description,
        )
    ]
    for tick in chart.ticks:
        parts.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                chart.left,
                chart.width - RIGHT,
                _n(tick.y),
                _n(tick.y),
                chart.left - 4,
                _n(tick.y),
                tick.kwh,
            )
        )
    for bar, title in zip(chart.bars, titles, strict=True):
        parts.append(
            format_html(
                '<g class="bar" data-period="{}" data-total="{}"><title>{}</title>',
                bar.period.isoformat(),
                bar.total,
                title,
            )
        )
        for segment in bar.segments:
            parts.append(
                format_html(
                    '<rect class="zone-{}" x="{}" y="{}" width="{}" height="{}"/>',
                    segment.zone,
                    _n(bar.x),
                    _n(segment.y),
                    _n(bar.width),
                    _n(segment.height),
                )
            )
        if bar.label:
            label = '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>'
            parts.append(format_html(label, _n(bar.x + bar.width / 2), chart.height - 5, bar.label))
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every part above went through format_html


def _n(value: float) -> str:
    """A coordinate as SVG reads it: a dot for the decimal point, whatever the page's language."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
