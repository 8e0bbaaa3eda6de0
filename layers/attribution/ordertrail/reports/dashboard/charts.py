"""The dashboard's building blocks: the one number formatter, figure attributes, and small server-rendered SVG charts.

Every number on the page is a `Datum`: its `data-figure` name is a path into the dashboard data's JSON
(`posts.rows[0].driven_revenue.USD`), its `data-value` is the value exactly as the API's JSON shows it (decimals as
strings, numbers as JSON numbers, null), and its text comes from `fmt`. Money is a map per currency in the JSON, so a
money figure is one Datum per currency, printed with its code ("USD 93.67"); an empty map is one Datum printed as a
dash. Charts are plain SVG: no script, no links; a chart never puts two currencies on one scale (each currency is its
own series, scaled to itself).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any, Literal
from zoneinfo import ZoneInfo

Kind = Literal["count", "credit", "money", "share", "change", "duration", "date", "day", "datetime"]
MISSING = "—"
SERIES = 4  # series colours in the style sheet (s0..s3): one per currency
_PATH_TOKEN = re.compile(r"[^.\[\]]+|\[\d+\]")


def esc(text: object) -> str:
    """Text (often from users: comments, names, URLs) made safe for HTML text and attribute values."""
    return escape(str(text), quote=True)


def lookup(doc: Any, path: str) -> Any:
    """The value at a figure path such as `posts.rows[0].driven_revenue` in a JSON document."""
    for token in _PATH_TOKEN.findall(path):
        doc = doc[int(token[1:-1])] if token.startswith("[") else doc[token]
    return doc


def raw(value: Any) -> str:
    """A JSON value as `data-value` holds it: a string as it is, anything else as its JSON text."""
    return value if isinstance(value, str) else json.dumps(value)


def numeric(value: Any) -> float | None:
    """A JSON value as a number for scaling charts (None when it is not one)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(Decimal(value) if isinstance(value, str) else value)
    except (ArithmeticError, ValueError, TypeError):
        return None


def _signed(text: str, negative: bool) -> str:
    """A typographic minus in front of a formatted magnitude when negative."""
    return f"−{text}" if negative else text


def _percent(value: float) -> str:
    """A share as a percentage: one decimal under 10 %, whole numbers above."""
    pct = abs(value) * 100
    return f"{pct:.1f}%" if 0 < pct < 10 and round(pct, 1) != round(pct) else f"{pct:.0f}%"


def _duration(seconds: float) -> str:
    """Seconds as people read them: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    whole = round(abs(seconds))
    minutes = round(whole / 60)
    if whole < 60:
        return f"{whole} s"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(round(whole / 3600), 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _when(value: Any, kind: Kind, zone: str | None) -> str:
    """A day as "Jun 2", a date as "Jun 2, 2025", a moment as "Jun 2, 2025 14:05" in the tenant's zone."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        local = value.astimezone(ZoneInfo(zone)) if zone and value.tzinfo else value
        return f"{local:%b} {local.day}, {local.year} {local:%H:%M}"
    return f"{value:%b} {value.day}" if kind == "day" else f"{value:%b} {value.day}, {value.year}"


def fmt(value: Any, kind: Kind, zone: str | None = None) -> str:
    """Every number and date printed on the dashboard goes through here (None prints as a dash)."""
    if value is None:
        return MISSING
    if kind in ("date", "day", "datetime"):
        return _when(value, kind, zone)
    number = Decimal(value) if isinstance(value, str) else value
    if kind == "money":
        return _signed(f"{abs(Decimal(number)).quantize(Decimal('0.01')):,}", number < 0)
    if kind == "credit":
        # Orders a model credits: fractions of orders, shown to 1/100 (the JSON keeps 1/10,000), whole ones bare.
        text = f"{abs(Decimal(number)).quantize(Decimal('0.01')):,}".removesuffix(".00")
        return _signed(text, number < 0)
    if kind == "share":
        return _signed(_percent(float(number)), number < 0)
    if kind == "change":
        return ("+" if number > 0 else "−" if number < 0 else "±") + _percent(float(number))
    if kind == "duration":
        return _duration(float(number))
    return _signed(f"{abs(int(number)):,}", number < 0)


@dataclass(frozen=True)
class Datum:
    """One figure: its data-figure name (a JSON path), its raw JSON value, how it is formatted, and a label.

    `currency` is the code a money figure (or a per-currency share) is in, printed before it. `shown` is False for a
    series point whose currency the JSON lacks (no order in it that day): it is drawn as `value` but names no figure.
    """

    name: str
    value: Any
    kind: Kind
    label: str = ""
    currency: str | None = None
    shown: bool = True

    @property
    def text(self) -> str:
        """The value as the page prints it, after its currency code when it has one; an empty money map is a dash."""
        if isinstance(self.value, dict):
            return MISSING
        text = fmt(self.value, self.kind)
        return f"{self.currency} {text}" if self.currency and self.value is not None else text

    @property
    def number(self) -> float | None:
        """The value as a number for scaling (None when missing)."""
        return None if isinstance(self.value, dict) else numeric(self.value)

    @property
    def attrs(self) -> str:
        """The machine-readable attributes every figure element carries (none for a point the JSON does not hold)."""
        if not self.shown:
            return ""
        return f' data-figure="{esc(self.name)}" data-value="{esc(raw(self.value))}"'

    def span(self, cls: str = "num") -> str:
        """The figure as an inline element."""
        return f'<span class="{cls}"{self.attrs}>{esc(self.text)}</span>'


@dataclass
class Sheet:
    """The dashboard data as the API's JSON, from which every Datum is read by its path."""

    doc: dict[str, Any]
    zone: str | None = None

    def at(self, path: str, kind: Kind, label: str = "", currency: str | None = None) -> Datum:
        """The figure at a path."""
        return Datum(path, lookup(self.doc, path), kind, label, currency)

    def codes(self, path: str) -> list[str]:
        """The currency codes of the money map at a path, in the JSON's order."""
        return list(lookup(self.doc, path))

    def money(self, path: str, kind: Kind = "money", order: list[str] | None = None) -> list[Datum]:
        """One figure per currency of the map at a path (in `order` when given); an empty map is one dash figure."""
        amounts: dict[str, Any] = lookup(self.doc, path)
        if not amounts:
            return [Datum(path, amounts, kind)]
        codes = [code for code in order if code in amounts] if order is not None else list(amounts)
        codes += [code for code in amounts if code not in codes]
        return [Datum(f"{path}.{code}", amounts[code], kind, currency=code) for code in codes]

    def point(self, path: str, code: str, kind: Kind, label: str, absent: Any) -> Datum:
        """A series point in one currency; a point without that currency is drawn as `absent` and names no figure."""
        amounts: dict[str, Any] = lookup(self.doc, path)
        if code in amounts:
            return Datum(f"{path}.{code}", amounts[code], kind, label, code)
        return Datum(f"{path}.{code}", absent, kind, label, code, shown=False)

    def when(self, value: Any, kind: Kind = "date") -> str:
        """A date or moment formatted (escaped) in the tenant's zone."""
        return esc(fmt(value, kind, self.zone))


def spans(figures: list[Datum], cls: str = "num") -> str:
    """Figures inline, one after the other (a money figure's currencies side by side, never added)."""
    return " · ".join(figure.span(cls) for figure in figures)


@dataclass
class BarRow:
    """One row of a horizontal bar list: a label, its main figures (a bar each: one per currency), secondary figures, flags."""

    label: str
    values: list[Datum]
    sub: str = ""
    extras: list[tuple[Datum, str]] = field(default_factory=list, repr=False)  # (figure, what it counts)
    badge: str = ""
    hot: bool = False


def empty(message: str) -> str:
    """A friendly "nothing yet" state."""
    return f'<p class="empty">{esc(message)}</p>'


def svg(width: float, height: float, label: str, body: str, cls: str = "chart", aspect: str = "xMidYMid meet") -> str:
    """An accessible inline SVG (role img, aria-label and a title); aspect "none" stretches it to its box (bars)."""
    return (
        f'<svg class="{cls}" role="img" aria-label="{esc(label)}" viewBox="0 0 {width:g} {height:g}" '
        f'preserveAspectRatio="{aspect}"><title>{esc(label)}</title>{body}</svg>'
    )


def describe(title: str, points: list[Datum]) -> str:
    """A chart's spoken description: its title and every labelled value."""
    listed = ", ".join(f"{p.label} {p.text}" for p in points)
    return f"{title}: {listed}" if listed else f"{title}: no data"


def _tip(point: Datum) -> str:
    """A point's hover text: its label and its value."""
    return f"<title>{esc(point.label)}: {esc(point.text)}</title>"


def _scale(points: list[Datum]) -> float:
    """The largest value of a series (at least a tiny positive number, so nothing divides by zero)."""
    return max([0.0, *(p.number or 0.0 for p in points)]) or 1e-9


def _share(point: Datum, top: float) -> float:
    """A point's value as a share of the largest, 0 to 1 (missing and negative values sit on the baseline)."""
    return max(point.number or 0.0, 0.0) / top


def _xs(count: int, left: float, width: float) -> list[float]:
    """Evenly spread x positions between the margins (one point sits in the middle)."""
    if count == 1:
        return [width / 2]
    return [left + i * (width - 2 * left) / (count - 1) for i in range(count)]


def _segments(xs: list[float], ys: list[float | None]) -> list[str]:
    """Polyline point lists of a series, broken where a value is missing."""
    segments, current = [], []
    for x, y in zip(xs, ys, strict=True):
        if y is not None:
            current.append(f"{x:.1f},{y:.1f}")
        elif current:
            segments.append(" ".join(current))
            current = []
    return [*segments, " ".join(current)] if current else segments


def sparkline(title: str, points: list[Datum], width: float = 140, height: float = 36, series: int = 0) -> str:
    """A small line of a series for an insight card (`series` picks its colour); each known point is a circle."""
    if not points:
        return ""
    top, xs = _scale(points), _xs(len(points), 4, width)
    ys = [None if p.number is None else height - 4 - _share(p, top) * (height - 8) for p in points]
    lines = "".join(f'<polyline class="spark-line" points="{segment}"/>' for segment in _segments(xs, ys))
    radius = 2.6 if len(points) <= 16 else 1.6
    dots = "".join(
        f'<circle class="spark-dot" cx="{x:.1f}" cy="{y:.1f}" r="{radius}"{p.attrs}>{_tip(p)}</circle>'
        for x, y, p in zip(xs, ys, points, strict=True)
        if y is not None
    )
    return svg(width, height, describe(title, points), lines + dots, f"spark s{series % SERIES}")


def bar_rows(title: str, rows: list[BarRow]) -> str:
    """A ranked list of horizontal bars; each currency (or the count) is its own series, in its own colour.

    A bar's length is its value over its own series' largest, so bars of two currencies are never measured together.
    """
    series = list(dict.fromkeys(value.currency for row in rows for value in row.values))
    tops = {key: _scale([v for row in rows for v in row.values if v.currency == key]) for key in series}
    items = "".join(_bar_row(title, row, tops, series) for row in rows)
    return f'<ol class="bars">{items}</ol>'


def _bar_row(title: str, row: BarRow, tops: dict[str | None, float], series: list[str | None]) -> str:
    """One bar list row: label, one SVG bar and value per figure, secondary figures and a badge."""
    bars, values = [], []
    for value in row.values:
        width = _share(value, tops[value.currency]) * 100
        label = f"{title}, {row.label}: {value.text}"
        rect = f'<rect x="0" y="0" width="{width:.2f}" height="10"/>'
        bars.append(svg(100, 10, label, rect, f"bar s{series.index(value.currency) % SERIES}", "none"))
        values.append(value.span("amount"))
    extras = " · ".join(f"{d.span('extra')} {esc(unit)}" for d, unit in row.extras)
    badge = f'<span class="badge">{esc(row.badge)}</span>' if row.badge else ""
    sub = f'<span class="sub">{esc(row.sub)}</span>' if row.sub else ""
    return (
        f'<li class="{"bar-row hot" if row.hot else "bar-row"}">'
        f'<div class="bar-label"><span class="name">{esc(row.label)}</span>{badge}{sub}</div>'
        f'<div class="bar-track">{"".join(bars)}</div><div class="bar-value">{"".join(values)}</div>'
        f'<div class="bar-extra">{extras}</div></li>'
    )


@dataclass
class Panel:
    """One small multiple: its title, its total, and one figure per row (the rows are the same in every panel)."""

    title: str
    total: Datum
    values: list[Datum]


def small_multiples(title: str, rows: list[str], panels: list[Panel], standing_out: set[int] | None = None) -> str:
    """One small bar chart per panel, side by side, with the same rows in the same order and ONE scale for all panels.

    So a row's bars can be compared across panels at a glance; rows in `standing_out` are highlighted. Every bar has a
    hover title with its row, panel and exact value, and its figure is printed beside it.
    """
    top = _scale([v for panel in panels for v in panel.values])
    hot = standing_out or set()
    figures = []
    for panel in panels:
        items = []
        for index, (row, value) in enumerate(zip(rows, panel.values, strict=True)):
            label = f"{title}, {panel.title}, {row}: {value.text}"
            tip = _tip(Datum(value.name, value.value, value.kind, f"{row}, {panel.title}"))
            rect = f'<rect x="0" y="0" width="{_share(value, top) * 100:.2f}" height="10">{tip}</rect>'
            items.append(
                f'<li class="{"mrow hot" if index in hot else "mrow"}"><span class="mname">{esc(row)}</span>'
                f"{svg(100, 10, label, rect, 'bar', 'none')}{value.span('mvalue')}</li>"
            )
        caption = f"<figcaption>{esc(panel.title)} · {panel.total.span()}</figcaption>"
        figures.append(f'<figure class="multiple">{caption}<ol class="mrows">{"".join(items)}</ol></figure>')
    return f'<div class="multiples">{"".join(figures)}</div>'


def _two_lines(label: str, x: float, y: float) -> str:
    """An axis label split at its last space onto two lines ("15–30" over "min")."""
    head, _, tail = label.rpartition(" ")
    if not head:
        return f'<text class="axis" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{esc(label)}</text>'
    return (
        f'<text class="axis" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{esc(head)}<tspan x="{x:.1f}" dy="11">{esc(tail)}</tspan></text>'
    )


def column_chart(title: str, points: list[Datum], col: float = 44, height: float = 150) -> str:
    """Vertical columns (a histogram): the count above each column, its label below."""
    top, plot = _scale(points), height - 46
    parts = []
    for i, p in enumerate(points):
        h = _share(p, top) * plot
        x, y = i * col + 4, 16 + plot - h
        parts.append(f'<rect class="col" x="{x:.1f}" y="{y:.1f}" width="{col - 8:.1f}" height="{h:.1f}">{_tip(p)}</rect>')
        parts.append(f'<text class="val" x="{x + (col - 8) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle"{p.attrs}>{esc(p.text)}</text>')
        parts.append(_two_lines(p.label, x + (col - 8) / 2, height - 18))
    return svg(len(points) * col, height, describe(title, points), "".join(parts))


def line_chart(title: str, points: list[Datum], width: float = 640, height: float = 170) -> str:
    """A line over weeks: gaps where a value is missing, the value above each point, the week below."""
    if not points:
        return ""
    top, plot, xs = _scale(points), height - 52, _xs(len(points), 28, width)
    ys = [None if p.number is None else 20 + plot - _share(p, top) * plot for p in points]
    parts = [f'<line class="base" x1="18" x2="{width - 18:g}" y1="{20 + plot:g}" y2="{20 + plot:g}"/>']
    parts += [f'<polyline class="line" points="{segment}"/>' for segment in _segments(xs, ys)]
    every = max(1, round(len(points) / 8))
    for i, (x, y, p) in enumerate(zip(xs, ys, points, strict=True)):
        if y is not None:
            parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5">{_tip(p)}</circle>')
            parts.append(f'<text class="val" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle"{p.attrs}>{esc(p.text)}</text>')
        if (len(points) - 1 - i) % every == 0:  # counted from the latest week, which is always labelled
            parts.append(f'<text class="axis" x="{x:.1f}" y="{height - 14:.1f}" text-anchor="middle">{esc(p.label)}</text>')
    return svg(width, height, describe(title, points), "".join(parts))
