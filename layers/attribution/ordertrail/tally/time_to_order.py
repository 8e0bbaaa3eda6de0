"""Time-to-order: the fixed histogram buckets counters are kept in, and the quantiles read back from them.

Counters keep, per day, the number of driven orders with a time-to-order (`tto_orders`), the exact sum of those
times (`tto_seconds`) and a count per bucket (`tto#NN`). The mean is therefore exact; the median and quartiles are
estimates within one bucket, by linear interpolation in the grouped histogram.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ordertrail.core.report_models import HistogramBucket, WeeklyTimeToOrder

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# Lower edges, in seconds, of the buckets; the last one is open-ended. Finer where most orders happen (the first
# hours), so a median read from the histogram is within a few minutes there and within a day past a week.
BUCKET_EDGES: tuple[int, ...] = (
    0,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    5 * DAY,
    7 * DAY,
    10 * DAY,
    14 * DAY,
    21 * DAY,
    30 * DAY,
)


def bucket_index(seconds: int) -> int:
    """The index of the bucket a time-to-order falls into."""
    return max(bisect_right(BUCKET_EDGES, max(seconds, 0)) - 1, 0)


def bucket_field(seconds: int) -> str:
    """The counter field that counts orders in this time-to-order's bucket."""
    return f"tto#{bucket_index(seconds):02d}"


def bucket_bounds(index: int) -> tuple[int, int | None]:
    """A bucket's lower edge and upper edge (exclusive) in seconds; the upper is None for the last, open one."""
    if not 0 <= index < len(BUCKET_EDGES):
        raise IndexError(f"there is no time-to-order bucket {index}")
    upper = BUCKET_EDGES[index + 1] if index + 1 < len(BUCKET_EDGES) else None
    return BUCKET_EDGES[index], upper


def _in_unit(seconds: int, unit: int) -> str:
    """Seconds as a whole (or, if need be, decimal) number of the unit."""
    value = Decimal(seconds) / unit
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else f"{value.normalize():f}"


def bucket_label(index: int) -> str:
    """A bucket as people read it: "0–5 min", "1–2 h", "2–3 d", "30 d+" (unit chosen by the lower edge)."""
    lower, upper = bucket_bounds(index)
    unit, name = (MINUTE, "min") if lower < HOUR else (HOUR, "h") if lower < DAY else (DAY, "d")
    if upper is None:
        return f"{_in_unit(lower, unit)} {name}+"
    return f"{_in_unit(lower, unit)}–{_in_unit(upper, unit)} {name}"


def histogram_counts(fields: Mapping[str, Decimal]) -> list[int]:
    """The order count of every bucket, from a counter's `tto#NN` fields (0 for a bucket it lacks)."""
    return [int(fields.get(f"tto#{index:02d}", Decimal(0))) for index in range(len(BUCKET_EDGES))]


def quantile(counts: list[int], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) estimated from bucket counts; None when there are no orders.

    target = q × n; in the first bucket whose cumulative count reaches the target, the value is
    lower + (target − cumulative before it) / its count × (upper − lower). In the open last bucket it is its lower
    edge. The estimate is exact only to within the bucket that holds it.
    """
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    total = sum(counts)
    if total <= 0:
        return None
    target = q * total
    before = 0
    for index, count in enumerate(counts):
        if count > 0 and before + count >= target:
            lower, upper = bucket_bounds(index)
            if upper is None:
                return float(lower)
            return lower + (target - before) / count * (upper - lower)
        before += count
    return None  # pragma: no cover - the last bucket with orders always reaches q × n


class Summary(NamedTuple):
    """Time-to-order over some days: count, exact mean, estimated median and quartiles, and the histogram."""

    orders: int
    mean: float | None
    median: float | None
    p25: float | None
    p75: float | None
    histogram: list[HistogramBucket]


def summarise(fields: Mapping[str, Decimal]) -> Summary:
    """Orders, mean, median, p25, p75 (seconds) and every bucket (empty ones too) from summed counter fields.

    The mean is exact (`tto_seconds` / `tto_orders`); the median and quartiles are estimates within one bucket
    (quantile()). Everything but the histogram is None when there are no orders.
    """
    # Here, not at the top: the counters (every handler that stores orders) need only bucket_field, the reports this.
    from ordertrail.core.report_models import HistogramBucket

    orders = int(fields.get("tto_orders", Decimal(0)))
    seconds = fields.get("tto_seconds", Decimal(0))
    counts = histogram_counts(fields)
    histogram = [
        HistogramBucket(label=bucket_label(index), from_seconds=bucket_bounds(index)[0], to_seconds=bucket_bounds(index)[1], orders=count)
        for index, count in enumerate(counts)
    ]
    mean = float(Decimal(seconds) / orders) if orders > 0 else None
    return Summary(orders, mean, quantile(counts, 0.5), quantile(counts, 0.25), quantile(counts, 0.75), histogram)


def change(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / previous; None when either is unknown or the previous is 0."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def weekly(week_fields: list[tuple[date, Mapping[str, Decimal]]]) -> list[WeeklyTimeToOrder]:
    """Per local week (oldest first): orders, the estimated median, and its change from the week before."""
    from ordertrail.core.report_models import WeeklyTimeToOrder  # only the reports call this (see summarise)

    weeks: list[WeeklyTimeToOrder] = []
    previous: float | None = None
    for week_start, fields in week_fields:
        summary = summarise(fields)
        weeks.append(
            WeeklyTimeToOrder(
                week_start=week_start, orders=summary.orders, median_seconds=summary.median, change=change(summary.median, previous)
            )
        )
        previous = summary.median
    return weeks
