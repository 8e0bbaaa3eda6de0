"""The batch credit engine (ordertrail.core.credit_batch) gives exactly `credit.credit`'s credits, conversion by conversion.

Random batches (hypothesis), in the style of test_credit_property.py: every model, 0-8 conversions of 0-60 touches at
random times with ties in `at`, `arrival` and id, values shared between touches and between conversions, times in
several UTC offsets, touches inside, on the edges of and outside the window, random windows and half-lives, and
amounts in minor units for JPY (0 places) and USD (2), zero, negative and beyond the vectorised path's bounds (so
the fallback to `credit.credit` is checked too). Identical means the same values in the same order and the same
minor units; `totals` must be those credits added up per value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordertrail.core import credit as engine
from ordertrail.core import credit_batch as batch
from tests.unit.test_credit_property import DAY_US, OFFSETS, ORDER_AT, half_lives, touch_rows, windows

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Minor units, with the vectorised path's edges: 2^46 (float estimate) and int64 (the arrays).
minor_amounts = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**7),
    st.sampled_from([0, 1, -1, 2**46 - 1, 2**46, 2**62, 2**63 - 1, 2**63, 10**30]),
    st.integers(min_value=0, max_value=2**70),
)
conversion = st.tuples(
    st.lists(touch_rows, max_size=60),
    st.integers(min_value=-DAY_US, max_value=DAY_US),  # the order's time, relative to ORDER_AT
    minor_amounts,
    st.sampled_from([0, 2]),  # JPY or USD: the minor units the amount is expressed in
)


def touches(rows: list[tuple[str, int, int, str, Any]], order_time: datetime) -> list[engine.Touch]:
    """The journey's touches, ages counted back from its order's time."""
    made = []
    for id_, age_us, arrival_us, value, zone in rows:
        at = (order_time - timedelta(microseconds=age_us)).astimezone(zone)
        made.append(engine.Touch(id=id_, at=at, arrival=at + timedelta(microseconds=arrival_us), value=value))
    return made


def one_by_one(model, journeys, window, half_life) -> list[dict[str, int]]:
    """`credit.credit` per conversion, in minor units (credits are Decimals with `minor_units` places)."""
    credited = []
    for listed, order_time, units, minor_units in journeys:
        amount = Decimal(units).scaleb(-minor_units)
        got = engine.credit(model, listed, order_time, window, amount, minor_units=minor_units, half_life=half_life)
        credited.append({value: int(money.scaleb(minor_units)) for value, money in got.items()})
    return credited


def batched(journeys) -> batch.Conversions:
    """The same conversions as batch columns."""
    return batch.from_touches((listed, order_time, units) for listed, order_time, units, _ in journeys)


def make(drawn) -> list[tuple[list[engine.Touch], datetime, int, int]]:
    """Journeys from drawn (rows, order offset, amount, minor units)."""
    journeys = []
    for rows, offset_us, units, minor_units in drawn:
        order_time = ORDER_AT + timedelta(microseconds=offset_us)
        journeys.append((touches(rows, order_time), order_time, units, minor_units))
    return journeys


def summed(credited: list[dict[str, int]]) -> dict[str, int]:
    """Credits added up per value."""
    total: defaultdict[str, int] = defaultdict(int)
    for credits in credited:
        for value, units in credits.items():
            total[value] += units
    return dict(total)


@PROPERTY
@given(
    model=st.sampled_from(engine.CREDIT_MODELS),
    drawn=st.lists(conversion, max_size=8),
    window=windows,
    half_life=half_lives,
)
def test_batch_credit_is_identical_to_credit_per_conversion(model, drawn, window, half_life):
    """Given random conversions, when credited in one batch and one by one, then every credit is identical, in order."""
    journeys = make(drawn)

    got = batch.credit(model, batched(journeys), window, half_life)
    want = one_by_one(model, journeys, window, half_life)

    assert [list(c.items()) for c in got.per_conversion()] == [list(c.items()) for c in want]
    assert batch.totals(model, batched(journeys), window, half_life) == summed(want)


@PROPERTY
@given(
    model=st.sampled_from(("linear", "u_shaped", "time_decay")),
    rows=st.lists(touch_rows, min_size=33, max_size=70),
    copies=st.integers(min_value=1, max_value=4),
    units=st.integers(min_value=1, max_value=10**7),
)
def test_long_journeys_repeated_in_one_batch(model, rows, copies, units):
    """Given long journeys (sorted slots, beyond 32 touches) repeated in a batch, when credited, then identical to one by one."""
    journeys = make([(rows, 0, units + k, 2) for k in range(copies)])

    got = batch.credit(model, batched(journeys), timedelta(days=28))
    want = one_by_one(model, journeys, timedelta(days=28), engine.DEFAULT_HALF_LIFE)

    assert [list(c.items()) for c in got.per_conversion()] == [list(c.items()) for c in want]


def at_days(*days: float, values: tuple[str, ...] | None = None) -> list[engine.Touch]:
    """Touches `days` before ORDER_AT, ids t0, t1, ..., each its own value unless `values` says otherwise."""
    made = []
    for k, age in enumerate(days):
        at = ORDER_AT - timedelta(days=age)
        made.append(engine.Touch(id=f"t{k}", at=at, arrival=at, value=values[k] if values else f"t{k}"))
    return made


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=-1100.0, max_value=0.0, allow_nan=False), min_size=1, max_size=200))
def test_numpy_float_power_is_math_pow_bit_for_bit(exponents):
    """Given any time-decay exponents (down to past the subnormals), then np.float_power(2, x) is math.pow(2, x) to the
    last bit: the batch engine's time-decay weights rest on it (np.power may be a SIMD pow that differs)."""
    got = np.float_power(2.0, np.array(exponents, dtype=np.float64))
    assert got.tolist() == [math.pow(2.0, x) for x in exponents]
    assert got.view(np.int64).tolist() == np.array([math.pow(2.0, x) for x in exponents]).view(np.int64).tolist()


def test_numpy_float_power_matches_math_pow_on_a_million_random_decays():
    """Given a million random exponents of a 28-day window at a 7-day half-life, then not one power differs from math.pow's."""
    exponents = -np.random.default_rng(11).random(1_000_000) * 4.0
    expected = np.fromiter(map(math.pow, [2.0] * len(exponents), exponents.tolist()), np.float64, len(exponents))
    assert int((np.float_power(2.0, exponents).view(np.int64) != expected.view(np.int64)).sum()) == 0


def test_u_shaped_gives_40_20_40_on_five_touches_of_100():
    """Given 5 touches and 100.00, when credited U-shaped, then 40.00 to each end and 6.66/6.67 between, summing to 100.00."""
    conversions = batch.from_touches([(at_days(5, 4, 3, 2, 1), ORDER_AT, 10_000)])

    got = batch.credit("u_shaped", conversions, timedelta(days=7)).per_conversion()

    # 20% over 3 middle touches is 666.67 cents each: the spare cent goes to the earliest middle touch.
    assert got == [{"t0": 4_000, "t1": 667, "t2": 667, "t3": 666, "t4": 4_000}]
    assert sum(got[0].values()) == 10_000


def test_linear_remainder_goes_to_the_earlier_value():
    """Given 3 touches and 1.00 linearly, then 0.34 to the first value and 0.33 to the others (ties to the earlier)."""
    conversions = batch.from_touches([(at_days(3, 2, 1), ORDER_AT, 100)])

    got = batch.credit("linear", conversions, timedelta(days=7)).per_conversion()

    assert got == [{"t0": 34, "t1": 33, "t2": 33}]


def test_repeated_value_is_credited_once_in_first_touch_order():
    """Given values b, a, b, when credited linearly 3 yen, then b (touched first) gets 2 and a gets 1, b listed first."""
    conversions = batch.from_touches([(at_days(3, 2, 1, values=("b", "a", "b")), ORDER_AT, 3)])

    got = batch.credit("linear", conversions, timedelta(days=7)).per_conversion()

    assert [list(c.items()) for c in got] == [[("b", 2), ("a", 1)]]


def test_refund_and_empty_journey():
    """Given a refund and a journey with no eligible touch, then the refund's values get 0 and the other conversion {}."""
    conversions = batch.from_touches([(at_days(2, 1), ORDER_AT, -500), (at_days(9), ORDER_AT, 500)])

    got = batch.credit("time_decay", conversions, timedelta(days=7)).per_conversion()

    assert got == [{"t0": 0, "t1": 0}, {}]
    assert batch.totals("time_decay", conversions, timedelta(days=7)) == {"t0": 0, "t1": 0}


def test_totals_add_up_per_channel_across_conversions():
    """Given two conversions sharing a channel, when totalled last touch, then each channel sums its conversions' credits."""
    first = at_days(2, 1, values=("ad", "dm"))
    second = at_days(3, 1, values=("dm", "ad"))
    conversions = batch.from_touches([(first, ORDER_AT, 1_000), (second, ORDER_AT, 250)])

    assert batch.totals("last_touch", conversions, timedelta(days=7)) == {"dm": 1_000, "ad": 250}


@pytest.mark.parametrize(
    ("model", "window", "half_life", "message"),
    [
        ("linear", -timedelta(days=1), engine.DEFAULT_HALF_LIFE, "window must not be negative"),
        ("position", timedelta(days=7), engine.DEFAULT_HALF_LIFE, "unknown credit model 'position'"),
        ("time_decay", timedelta(days=7), timedelta(0), "half_life must be positive"),
    ],
)
def test_bad_inputs_fail_like_credit(model, window, half_life, message):
    """Given a negative window, an unknown model or a zero half-life, then the batch refuses it as credit.credit does."""
    conversions = batch.from_touches([(at_days(1), ORDER_AT, 100)])
    with pytest.raises(ValueError, match=message):
        batch.credit(model, conversions, window, half_life)
    with pytest.raises(ValueError, match=message):
        engine.credit(model, at_days(1), ORDER_AT, window, Decimal(1), half_life=half_life)


def test_times_outside_datetime_range_are_refused():
    """Given a touch time beyond year 9999, when building columns, then it is refused (credit.credit could not take it)."""
    with pytest.raises(ValueError, match="at_us must be within"):
        batch.from_columns([1], [2**62], [0], ["a"], ["v"], [0], [1])


def test_offsets_in_the_zone_do_not_matter():
    """Given the same instants in three UTC offsets, when credited by time decay, then the credits are the same."""
    journeys = [
        ([t.__class__(t.id, t.at.astimezone(zone), t.arrival, t.value) for t in at_days(6, 3, 0.5)], ORDER_AT, 9_999) for zone in OFFSETS
    ]

    got = batch.credit("time_decay", batch.from_touches(journeys), timedelta(days=7)).per_conversion()

    assert (
        got[0] == got[1] == got[2] == one_by_one("time_decay", [(*j, 0) for j in journeys], timedelta(days=7), engine.DEFAULT_HALF_LIFE)[0]
    )
    assert ORDER_AT.tzinfo is UTC
