"""Time-to-order histogram (docs/reports.md#insights) against ordertrail.time_to_order.

Each test reads given / when / then; quantiles are worked out by hand with target = q × n and
value = lower + (target − count before the bucket) / count in the bucket × (upper − lower).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from ordertrail.tally.time_to_order import (
    BUCKET_EDGES,
    DAY,
    HOUR,
    MINUTE,
    bucket_bounds,
    bucket_field,
    bucket_index,
    bucket_label,
    change,
    summarise,
    weekly,
)


def fields_of(*seconds: int) -> dict[str, Decimal]:
    """Counter fields as the `attributed` counters sum them for orders with these times-to-order."""
    fields: dict[str, Decimal] = {"tto_orders": Decimal(len(seconds)), "tto_seconds": Decimal(sum(seconds))}
    fields.update({name: Decimal(count) for name, count in Counter(bucket_field(s) for s in seconds).items()})
    return fields


# 10 orders: 2 in 0–5 min (60 s, 240 s), 4 in 5–15 min (400, 500, 600, 700 s), 2 in 1–2 h (4000, 5000 s),
# 2 in 30 d+ (31 d, 40 d). Sum = 300 + 2200 + 9000 + (2 678 400 + 3 456 000) = 6 145 900 s.
TEN = fields_of(60, 240, 400, 500, 600, 700, 4000, 5000, 31 * DAY, 40 * DAY)


def test_bucket_edges() -> None:
    # given the edges, then a time falls in the bucket whose lower edge it has reached (upper edges are exclusive)
    assert (bucket_index(0), bucket_index(299), bucket_index(300), bucket_index(-5)) == (0, 0, 1, 0)
    assert (bucket_index(30 * DAY - 1), bucket_index(30 * DAY), bucket_index(400 * DAY)) == (16, 17, 17)
    assert bucket_field(HOUR) == "tto#04"
    # and bounds join up: each bucket's upper edge is the next one's lower edge, the last is open
    assert bucket_bounds(0) == (0, 5 * MINUTE) and bucket_bounds(4) == (HOUR, 2 * HOUR)
    assert bucket_bounds(len(BUCKET_EDGES) - 1) == (30 * DAY, None)
    assert all(bucket_bounds(i)[1] == bucket_bounds(i + 1)[0] for i in range(len(BUCKET_EDGES) - 1))
    with pytest.raises(IndexError):
        bucket_bounds(len(BUCKET_EDGES))


def test_bucket_labels() -> None:
    # then every bucket reads in the unit of its lower edge
    assert [bucket_label(i) for i in range(len(BUCKET_EDGES))] == [
        "0–5 min",
        "5–15 min",
        "15–30 min",
        "30–60 min",
        "1–2 h",
        "2–3 h",
        "3–6 h",
        "6–12 h",
        "12–24 h",
        "1–2 d",
        "2–3 d",
        "3–5 d",
        "5–7 d",
        "7–10 d",
        "10–14 d",
        "14–21 d",
        "21–30 d",
        "30 d+",
    ]


def test_quantiles_of_a_hand_made_histogram() -> None:
    # when the ten orders are summarised
    orders, mean, median, p25, p75, _ = summarise(TEN)
    # then n = 10 and:
    #   p25: target 2.5; 0–5 min holds 2 (< 2.5), 5–15 min reaches 6 → 300 + (2.5 − 2) / 4 × 600 = 375
    #   median: target 5; in 5–15 min → 300 + (5 − 2) / 4 × 600 = 750
    #   p75: target 7.5; 6 before 1–2 h, which reaches 8 → 3600 + (7.5 − 6) / 2 × 3600 = 6300
    assert orders == 10
    assert (p25, median, p75) == (375.0, 750.0, 6300.0)
    # and the mean is exact: 6 145 900 / 10 (the open bucket's real times count in full)
    assert mean == 614_590.0


def test_every_bucket_is_listed_with_empty_ones() -> None:
    # when summarised, then all 18 buckets appear in order, counts as given and zeros where nothing fell
    histogram = summarise(TEN).histogram
    assert len(histogram) == len(BUCKET_EDGES)
    assert [bucket.orders for bucket in histogram] == [2, 4, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert (histogram[1].label, histogram[1].from_seconds, histogram[1].to_seconds) == ("5–15 min", 300, 900)
    assert (histogram[-1].label, histogram[-1].from_seconds, histogram[-1].to_seconds) == ("30 d+", 30 * DAY, None)


def test_a_quantile_in_the_open_last_bucket_is_its_lower_edge() -> None:
    # given 1 order in 0–5 min and 3 past 30 days
    summary = summarise(fields_of(100, 31 * DAY, 35 * DAY, 60 * DAY))
    # then the median (target 2, past the first bucket's 1) is the open bucket's lower edge, 30 days;
    #   p25 (target 1) is at the top of the first bucket: 0 + 1 / 1 × 300 = 300
    assert summary.median == 30 * DAY and summary.p75 == 30 * DAY
    assert summary.p25 == 300.0


def test_no_orders() -> None:
    # given no time-to-order fields at all
    summary = summarise({})
    # then the figures are unknown, not 0, and the empty histogram still has every bucket
    assert (summary.orders, summary.mean, summary.median, summary.p25, summary.p75) == (0, None, None, None, None)
    assert [bucket.orders for bucket in summary.histogram] == [0] * len(BUCKET_EDGES)


def test_weekly_medians_and_change() -> None:
    # given four weeks: the ten orders (median 750); two orders in 5–15 min (target 1 → 300 + 1/2 × 600 = 600);
    # no orders; again the two orders (median 600)
    two = fields_of(400, 800)
    weeks = weekly([(date(2024, 3, 4), TEN), (date(2024, 3, 11), two), (date(2024, 3, 18), {}), (date(2024, 3, 25), two)])
    # then change = (600 − 750) / 750 = −0.2; unknown after or at a week without orders
    assert [(w.week_start, w.orders, w.median_seconds, w.change) for w in weeks] == [
        (date(2024, 3, 4), 10, 750.0, None),
        (date(2024, 3, 11), 2, 600.0, pytest.approx(-0.2)),
        (date(2024, 3, 18), 0, None, None),
        (date(2024, 3, 25), 2, 600.0, None),
    ]


def test_change_is_unknown_from_zero() -> None:
    # given a previous median of 0 or unknown, then there is no relative change; otherwise (m − prev) / prev
    assert change(600.0, 0.0) is None and change(600.0, None) is None and change(None, 600.0) is None
    assert change(900.0, 600.0) == 0.5
