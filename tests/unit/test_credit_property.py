"""The integer credit engine (ordertrail.core.credit) gives exactly the former Fraction engine's credits (credit_oracle).

Random journeys (hypothesis): every model, 0-60 touches at random times with ties in `at`, `arrival` and id, values
shared between touches, times in several UTC offsets, touches inside, on the edges of and outside the window, random
windows and half-lives, and amounts with 0-4 places credited in currencies of 0-4 minor units (zero and negative
amounts included). Identical means the same values in the same order, and the same Decimal to the digit and exponent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordertrail.core import credit as engine
from tests.unit import credit_oracle as oracle

ORDER_AT = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
DAY_US = 86_400_000_000
OFFSETS = [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Microseconds before the order: a few fixed instants so that touches tie, the window's edges, and anything in 10 days.
ages = st.one_of(
    st.sampled_from([0, 1, 3_600_000_000, DAY_US, 7 * DAY_US, 7 * DAY_US + 1, 3 * DAY_US // 2]),
    st.integers(min_value=-DAY_US, max_value=10 * DAY_US),
)
touch_rows = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]) | st.text(min_size=1, max_size=3),  # ids, often repeated
    ages,
    st.sampled_from([0, 0, 1, 1_000_000]) | st.integers(min_value=-DAY_US, max_value=DAY_US),  # arrival after `at`
    st.sampled_from(["clk-1", "clk-2", "clk-3"]) | st.text(max_size=4),  # values, often shared
    st.sampled_from(OFFSETS),
)
windows = st.one_of(
    st.sampled_from([timedelta(0), timedelta(days=1), timedelta(days=7), timedelta(days=28)]),
    st.integers(min_value=0, max_value=12 * DAY_US).map(lambda us: timedelta(microseconds=us)),
)
half_lives = st.one_of(
    st.sampled_from([engine.DEFAULT_HALF_LIFE, timedelta(days=1), timedelta(hours=1), timedelta(microseconds=1)]),
    st.integers(min_value=1, max_value=30 * DAY_US).map(lambda us: timedelta(microseconds=us)),
)
amounts = st.tuples(
    st.one_of(st.integers(min_value=-(10**6), max_value=10**12), st.integers(min_value=0, max_value=10**32)),
    st.integers(min_value=0, max_value=4),
).map(lambda pair: Decimal(pair[0]).scaleb(-pair[1]))


def journey(rows: list[tuple[str, int, int, str, Any]]) -> tuple[list[engine.Touch], list[oracle.Touch]]:
    """The same touches for the engine and for the oracle (each has its own Touch class)."""
    ours, theirs = [], []
    for id_, age_us, arrival_us, value, zone in rows:
        at = (ORDER_AT - timedelta(microseconds=age_us)).astimezone(zone)
        arrival = at + timedelta(microseconds=arrival_us)
        ours.append(engine.Touch(id=id_, at=at, arrival=arrival, value=value))
        theirs.append(oracle.Touch(id=id_, at=at, arrival=arrival, value=value))
    return ours, theirs


def exact(credits: dict[str, Decimal]) -> list[tuple[str, tuple[Any, ...]]]:
    """Credits with their order and each Decimal's digits and exponent (3.30 is not 3.3 here)."""
    return [(value, tuple(money.as_tuple())) for value, money in credits.items()]


def per_touch(rows: list[tuple[Any, Decimal]]) -> list[tuple[Any, ...]]:
    """Per-touch credits as comparable tuples: the touch's fields, then the Decimal's digits and exponent."""
    return [(t.id, t.at, t.arrival, t.value, tuple(money.as_tuple())) for t, money in rows]


@PROPERTY
@given(
    model=st.sampled_from(engine.CREDIT_MODELS),
    rows=st.lists(touch_rows, max_size=60),
    window=windows,
    half_life=half_lives,
    amount=amounts,
    minor_units=st.integers(min_value=0, max_value=4),
)
def test_credit_is_identical_to_the_fraction_oracle(model, rows, window, half_life, amount, minor_units):
    """Given a random journey, when credited by the engine and the oracle, then the credits are identical to the digit."""
    ours, theirs = journey(rows)

    got = engine.credit(model, ours, ORDER_AT, window, amount, minor_units=minor_units, half_life=half_life)
    want = oracle.credit(model, theirs, ORDER_AT, window, amount, minor_units=minor_units, half_life=half_life)

    assert exact(got) == exact(want)


@PROPERTY
@given(
    model=st.sampled_from(engine.CREDIT_MODELS),
    rows=st.lists(touch_rows, max_size=60),
    window=windows,
    half_life=half_lives,
    amount=amounts,
    minor_units=st.integers(min_value=0, max_value=4),
)
def test_credit_for_touches_and_weights_are_identical_to_the_fraction_oracle(model, rows, window, half_life, amount, minor_units):
    """Given a random journey, when credited per touch and weighed, then the engine and the oracle agree exactly."""
    ours, theirs = journey(rows)
    counted_ours = engine.eligible(ours, ORDER_AT, window)
    counted_theirs = oracle.eligible(theirs, ORDER_AT, window)

    got = engine.credit_for_touches(model, ours, ORDER_AT, window, amount, minor_units=minor_units, half_life=half_life)
    want = oracle.credit_for_touches(model, theirs, ORDER_AT, window, amount, minor_units=minor_units, half_life=half_life)

    assert per_touch(got) == per_touch(want)
    assert [(t.id, w) for t, w in engine.weights(model, counted_ours, ORDER_AT, half_life)] == [
        (t.id, w) for t, w in oracle.weights(model, counted_theirs, ORDER_AT, half_life)
    ]


@PROPERTY
@given(rows=st.lists(touch_rows, min_size=1, max_size=60), amount=amounts, minor_units=st.integers(min_value=0, max_value=4))
def test_u_shaped_and_time_decay_on_long_journeys_at_one_instant(rows, amount, minor_units):
    """Given every touch at the same instant (ties everywhere), when credited U-shaped and by time decay, then identical."""
    same = [(id_, DAY_US, arrival, value, zone) for id_, _, arrival, value, zone in rows]
    ours, theirs = journey(same)
    for model in ("u_shaped", "time_decay", "linear"):
        got = engine.credit(model, ours, ORDER_AT, timedelta(days=7), amount, minor_units=minor_units)
        want = oracle.credit(model, theirs, ORDER_AT, timedelta(days=7), amount, minor_units=minor_units)
        assert exact(got) == exact(want), model


@pytest.mark.parametrize(
    ("call", "touches"),
    [
        (lambda m, t: m.credit("linear", t, ORDER_AT, timedelta(days=7), Decimal("NaN")), True),
        (lambda m, t: m.credit("linear", t, ORDER_AT, timedelta(days=7), Decimal("NaN")), False),
        (lambda m, t: m.credit("linear", t, ORDER_AT, timedelta(days=7), Decimal("1"), minor_units=-1), False),
        (lambda m, t: m.credit("position", t, ORDER_AT, timedelta(days=7), Decimal("NaN")), True),
        (lambda m, t: m.credit("time_decay", t, ORDER_AT, timedelta(days=7), Decimal("1"), half_life=timedelta(0)), True),
        (lambda m, t: m.credit("first_touch", t, ORDER_AT, -timedelta(days=7), Decimal("1")), True),
        (lambda m, t: m.credit("last_touch", t, ORDER_AT.replace(tzinfo=None), timedelta(days=7), Decimal("1")), True),
        (lambda m, t: m.credit_for_touches("u_shaped", t, ORDER_AT, timedelta(days=7), Decimal("Infinity")), False),
    ],
)
def test_bad_inputs_fail_the_same_way(call, touches):
    """Given a bad amount, minor unit, model, half-life, window or order time, then both refuse it with the same error."""
    rows = [("a", DAY_US, 0, "clk-1", UTC)] if touches else []
    ours, theirs = journey(rows)
    with pytest.raises(ValueError) as got:
        call(engine, ours)
    with pytest.raises(ValueError) as want:
        call(oracle, theirs)
    assert str(got.value) == str(want.value)
