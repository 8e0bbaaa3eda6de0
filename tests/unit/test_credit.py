"""Multi-touch credit (docs/attribution.md#credit-models) against ordertrail.credit.

Each test reads given / when / then, and every expected amount is worked out by hand in the test. Unless a test
says otherwise: the order is at ORDER_AT, the lookback window is 7 days, money has 2 minor units (cents), and
each touch's value is its own id (so "credit per value" is credit per touch).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from ordertrail.core.credit import (
    CREDIT_MODELS,
    DEFAULT_HALF_LIFE,
    DEFAULT_MODEL,
    Touch,
    credit,
    credit_for_touches,
    eligible,
    weights,
)

ORDER_AT = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def touch(id: str, *, days: float = 0, seconds: float = 0, value: str | None = None, arrival: datetime | None = None) -> Touch:
    """A touch `days` + `seconds` before the order (negative: after it), received when it happened unless told."""
    at = ORDER_AT - timedelta(days=days, seconds=seconds)
    return Touch(id=id, at=at, arrival=arrival or at, value=value or id)


def three() -> list[Touch]:
    """A, B, C touched 3, 2 and 1 days before the order."""
    return [touch("A", days=3), touch("B", days=2), touch("C", days=1)]


def D(text: str) -> Decimal:
    return Decimal(text)


# --- the models ----------------------------------------------------------------------------------------------


def test_participation_is_the_default_model():
    """Given nothing chosen, then the model is participation (docs/attribution.md#rules)."""
    assert DEFAULT_MODEL == "participation"
    assert DEFAULT_HALF_LIFE == timedelta(days=7)


def test_first_touch_gives_everything_to_the_first():
    """Given A, B, C, when 30.00 is credited first-touch, then A gets 30.00 and B and C are not credited."""
    assert credit("first_touch", three(), ORDER_AT, WEEK, D("30.00")) == {"A": D("30.00")}


def test_last_touch_gives_everything_to_the_last():
    """Given A, B, C, when 30.00 is credited last-touch, then C gets 30.00."""
    assert credit("last_touch", three(), ORDER_AT, WEEK, D("30.00")) == {"C": D("30.00")}


def test_linear_splits_equally_and_the_extra_cent_goes_to_the_first_by_tie_order():
    """Given A, B, C, when 10.00 is credited linearly, then 1000/3 = 333⅓ cents each: floors 333+333+333 = 999,
    1 cent left; the three fractional parts are equal (⅓), so the tie order decides and A gets it."""
    result = credit("linear", three(), ORDER_AT, WEEK, D("10.00"))

    assert result == {"A": D("3.34"), "B": D("3.33"), "C": D("3.33")}
    assert list(result) == ["A", "B", "C"]  # in first-touch order


def test_linear_remainder_goes_to_the_largest_fraction_before_tie_order():
    """Given A touched once and then B twice, when 10.00 is credited linearly, then A's weight is ⅓ (333.33 cents)
    and B's ⅔ (666.67 cents): floors 333 + 666 = 999, and the spare cent goes to B, whose fraction .67 beats A's .33
    although A was touched first."""
    touches = [touch("t1", days=3, value="A"), touch("t2", days=2, value="B"), touch("t3", days=1, value="B")]

    assert credit("linear", touches, ORDER_AT, WEEK, D("10.00")) == {"A": D("3.33"), "B": D("6.67")}


def test_a_values_touches_are_added_up_before_rounding():
    """Given A, B, A, when 10.00 is credited linearly, then A holds ⅔ = 666.67 cents → 6.67 and B ⅓ → 3.33,
    one share for A rather than two rounded ones."""
    touches = [touch("t1", days=3, value="A"), touch("t2", days=2, value="B"), touch("t3", days=1, value="A")]

    assert credit("linear", touches, ORDER_AT, WEEK, D("10.00")) == {"A": D("6.67"), "B": D("3.33")}


def test_participation_gives_each_distinct_value_the_full_amount_once():
    """Given two touches on ttclid clk-1 and one on clk-2, when 50.00 is credited by participation, then clk-1 and clk-2
    each get the full 50.00 (clk-1 once, not twice), and the total 100.00 exceeds the order: never normalised."""
    touches = [touch("t1", days=3, value="clk-1"), touch("t2", days=2, value="clk-2"), touch("t3", days=1, value="clk-1")]

    result = credit("participation", touches, ORDER_AT, WEEK, D("50.00"))

    assert result == {"clk-1": D("50.00"), "clk-2": D("50.00")}
    assert sum(result.values()) == D("100.00")


def test_u_shaped_one_touch_gets_everything():
    """Given only A, when 10.00 is credited U-shaped, then A gets 100%."""
    assert credit("u_shaped", [touch("A", days=1)], ORDER_AT, WEEK, D("10.00")) == {"A": D("10.00")}


def test_u_shaped_two_touches_split_50_50():
    """Given A then B, when 25.01 is credited U-shaped, then each is owed 1250.5 cents: floors 1250 + 1250 = 2500,
    the spare cent goes by tie order (equal fractions .5) to A: 12.51 and 12.50."""
    touches = [touch("A", days=2), touch("B", days=1)]

    assert credit("u_shaped", touches, ORDER_AT, WEEK, D("25.01")) == {"A": D("12.51"), "B": D("12.50")}


def test_u_shaped_four_touches_40_10_10_40():
    """Given A, B, C, D, when 100.00 is credited U-shaped, then 40% to A and D, and the middle 20% split in two: 10.00 each."""
    touches = [touch("A", days=4), touch("B", days=3), touch("C", days=2), touch("D", days=1)]

    assert credit("u_shaped", touches, ORDER_AT, WEEK, D("100.00")) == {
        "A": D("40.00"),
        "B": D("10.00"),
        "C": D("10.00"),
        "D": D("40.00"),
    }


def test_u_shaped_five_touches_gives_the_middle_remainder_by_tie_order():
    """Given A..E, when 100.00 is credited U-shaped, then A and E get 4000 cents each and B, C, D 2000/3 = 666⅔ each:
    floors 4000 + 666×3 + 4000 = 9998, 2 cents left; the middle fractions are all ⅔ (A's and E's are 0), so the
    tie order gives them to B and C, the two earliest: 6.67, 6.67, 6.66 (not 6.67/6.66/6.67)."""
    touches = [touch("A", days=5), touch("B", days=4), touch("C", days=3), touch("D", days=2), touch("E", days=1)]

    result = credit("u_shaped", touches, ORDER_AT, WEEK, D("100.00"))

    assert result == {"A": D("40.00"), "B": D("6.67"), "C": D("6.67"), "D": D("6.66"), "E": D("40.00")}
    assert sum(result.values()) == D("100.00")


def test_time_decay_halves_each_half_life():
    """Given touches 14, 7 and 0 days old, when 70.00 is credited by time decay (half-life 7 days), then the weights are
    ¼, ½, 1 → normalised 1/7, 2/7, 4/7 → 10.00, 20.00, 40.00 (exact: no remainder)."""
    touches = [touch("old", days=14), touch("mid", days=7), touch("new", days=0)]

    result = credit("time_decay", touches, ORDER_AT, timedelta(days=14), D("70.00"))

    assert result == {"old": D("10.00"), "mid": D("20.00"), "new": D("40.00")}


def test_time_decay_uses_continuous_age():
    """Given touches 3.5 days and 0 days old, when 100.00 is credited by time decay, then the weights are 2^-½ = 1/√2 and 1,
    normalised: new = 1/(1 + 1/√2) = 2 − √2 = 0.585786… → 5857.86 cents, old = √2 − 1 = 0.414214… → 4142.14 cents.
    Floors 5857 + 4142 = 9999; the spare cent goes to new (.86 > .14): 58.58 and 41.42."""
    touches = [touch("old", days=3.5), touch("new", days=0)]

    assert credit("time_decay", touches, ORDER_AT, WEEK, D("100.00")) == {"old": D("41.42"), "new": D("58.58")}


def test_time_decay_half_life_is_a_parameter():
    """Given touches 1 day and 0 days old and a 1-day half-life, when 3.00 is credited by time decay, then ½ : 1 → ⅓, ⅔ → 1.00, 2.00."""
    touches = [touch("old", days=1), touch("new", days=0)]

    result = credit("time_decay", touches, ORDER_AT, WEEK, D("3.00"), half_life=timedelta(days=1))

    assert result == {"old": D("1.00"), "new": D("2.00")}


def test_weights_per_model_are_exact_fractions():
    """Given A, B, C (3, 2, 1 days old), when each model weighs them, then the weights are docs/attribution.md#credit-models' fractions."""
    f = Fraction
    expected = {
        "first_touch": [f(1), f(0), f(0)],
        "last_touch": [f(0), f(0), f(1)],
        "linear": [f(1, 3), f(1, 3), f(1, 3)],
        "u_shaped": [f(2, 5), f(1, 5), f(2, 5)],
        "participation": [f(1), f(1), f(1)],  # not normalised: sums to 3
    }
    for model, want in expected.items():
        assert [w for _, w in weights(model, three(), ORDER_AT)] == want, model

    # Time decay: 2^(-1/7), 2^(-2/7)... relative to the youngest; normalised, they sum to exactly 1 and decrease with age.
    decay = [w for _, w in weights("time_decay", three(), ORDER_AT)]
    assert sum(decay) == 1
    assert decay[0] < decay[1] < decay[2]
    assert float(decay[1] / decay[2]) == pytest.approx(2 ** (-1 / 7), rel=1e-15)


def test_weights_put_touches_in_tie_order_and_handle_none():
    """Given touches out of order, when weighed first-touch, then the earliest gets 1; given none, then no weights."""
    shuffled = [touch("C", days=1), touch("A", days=3), touch("B", days=2)]

    assert [(t.id, w) for t, w in weights("first_touch", shuffled, ORDER_AT)] == [("A", 1), ("B", 0), ("C", 0)]
    assert weights("linear", [], ORDER_AT) == []


def test_u_shaped_weights_for_four():
    """Given four touches, when weighed U-shaped, then 2/5, 1/10, 1/10, 2/5."""
    touches = [touch(str(i), days=4 - i) for i in range(4)]

    assert [w for _, w in weights("u_shaped", touches, ORDER_AT)] == [Fraction(2, 5), Fraction(1, 10), Fraction(1, 10), Fraction(2, 5)]


# --- eligibility and tie order -----------------------------------------------------------------------------------


def test_the_window_is_inclusive_at_both_ends_and_exact():
    """Given touches exactly at the window's start, exactly at the order, 1 s before the start, 1 s and 1 µs after the
    order, when eligibility is checked for a 7-day window, then only the two on the boundaries count."""
    touches = [
        touch("at-start", days=7),
        touch("at-order", days=0),
        touch("1s-too-early", days=7, seconds=1),
        touch("1s-after", seconds=-1),
        touch("1us-after", seconds=-0.000001),
    ]

    assert [t.id for t in eligible(touches, ORDER_AT, WEEK)] == ["at-start", "at-order"]


def test_touches_outside_the_window_get_no_credit():
    """Given a touch 1 s before the window and one 1 s after the order, when 10.00 is credited by participation, then nothing."""
    touches = [touch("early", days=7, seconds=1), touch("late", seconds=-1)]

    assert credit("participation", touches, ORDER_AT, WEEK, D("10.00")) == {}


def test_a_touch_after_the_order_does_not_become_last_touch():
    """Given A 1 day before the order and B 1 s after it, when 10.00 is credited last-touch, then A gets it all."""
    touches = [touch("A", days=1), touch("B", seconds=-1)]

    assert credit("last_touch", touches, ORDER_AT, WEEK, D("10.00")) == {"A": D("10.00")}


def test_window_works_across_offsets():
    """Given a touch stamped in UTC+9 at exactly the window start, when checked against a UTC order, then it counts."""
    tokyo = timezone(timedelta(hours=9))
    start = (ORDER_AT - WEEK).astimezone(tokyo)
    t = Touch(id="A", at=start, arrival=start, value="A")

    assert eligible([t], ORDER_AT, WEEK) == [t]


def test_ties_are_ordered_by_time_then_arrival_then_id():
    """Given X, Y, Z at the same moment (Y and Z received together, X 5 s later) and W 1 s earlier but received last,
    when ordered, then W first (time), Y and Z before X (arrival), and Y before Z (id)."""
    same = ORDER_AT - timedelta(days=1)
    x = Touch(id="X", at=same, arrival=same + timedelta(seconds=5), value="x")
    z = Touch(id="Z", at=same, arrival=same, value="z")
    y = Touch(id="Y", at=same, arrival=same, value="y")
    earlier = Touch(id="W", at=same - timedelta(seconds=1), arrival=same + timedelta(hours=1), value="w")

    assert [t.id for t in eligible([x, z, y, earlier], ORDER_AT, WEEK)] == ["W", "Y", "Z", "X"]


def test_tie_order_decides_first_touch_and_the_remainder():
    """Given B and A at the same moment, B received first, when 10.00 is credited first-touch, then B (earlier arrival)
    wins; and linearly over B, A and C (1000/3 each), the spare cent goes to B, first in tie order."""
    same = ORDER_AT - timedelta(days=1)
    b = Touch(id="B", at=same, arrival=same, value="B")
    a = Touch(id="A", at=same, arrival=same + timedelta(seconds=1), value="A")
    c = touch("C", days=0)

    assert credit("first_touch", [a, b], ORDER_AT, WEEK, D("10.00")) == {"B": D("10.00")}
    assert credit("linear", [a, b, c], ORDER_AT, WEEK, D("10.00")) == {"B": D("3.34"), "A": D("3.33"), "C": D("3.33")}


# --- money --------------------------------------------------------------------------------------------------------


def test_zero_minor_unit_currency():
    """Given a JPY order of ¥1001 (0 minor units) and A, B, C, D, when credited U-shaped, then 40% = 400.4, 10% = 100.1:
    floors 400 + 100 + 100 + 400 = 1000, one yen left; the largest fractions are A's and D's (.4), and the tie order
    gives it to A: 401, 100, 100, 400."""
    touches = [touch("A", days=4), touch("B", days=3), touch("C", days=2), touch("D", days=1)]

    result = credit("u_shaped", touches, ORDER_AT, WEEK, D("1001"), minor_units=0)

    assert result == {"A": D("401"), "B": D("100"), "C": D("100"), "D": D("400")}
    assert [str(v) for v in result.values()] == ["401", "100", "100", "400"]  # whole yen, no decimal places


def test_linear_yen_over_three():
    """Given ¥1000 and A, B, C, when credited linearly, then 333⅓ each → 334, 333, 333 (spare yen to A by tie order)."""
    assert credit("linear", three(), ORDER_AT, WEEK, D("1000"), minor_units=0) == {"A": D("334"), "B": D("333"), "C": D("333")}


def test_three_minor_unit_currency():
    """Given 1.000 KWD (3 minor units) and A, B, C, when credited linearly, then 0.334, 0.333, 0.333."""
    result = credit("linear", three(), ORDER_AT, WEEK, D("1.000"), minor_units=3)

    assert [str(v) for v in result.values()] == ["0.334", "0.333", "0.333"]


def test_credits_carry_exactly_the_currency_places():
    """Given 9.90 over A, B, C linearly, then each gets 3.30 written with two places (not 3.3)."""
    assert [str(v) for v in credit("linear", three(), ORDER_AT, WEEK, D("9.9")).values()] == ["3.30", "3.30", "3.30"]


def test_sub_minor_digits_are_rounded_half_to_even_first():
    """Given 10.005 and 10.015 (more places than cents), when credited to one touch, then 1000.5 → 1000 and 1001.5 → 1002 cents."""
    one = [touch("A", days=1)]

    assert credit("linear", one, ORDER_AT, WEEK, D("10.005")) == {"A": D("10.00")}
    assert credit("linear", one, ORDER_AT, WEEK, D("10.015")) == {"A": D("10.02")}


@pytest.mark.parametrize("amount", ["0", "0.00", "-25.00"])
@pytest.mark.parametrize("model", CREDIT_MODELS)
def test_zero_or_negative_amount_credits_zero(model, amount):
    """Given a zero or negative amount (a free order, a refund), when credited by any model, then every credited value gets 0.00."""
    result = credit(model, three(), ORDER_AT, WEEK, D(amount))

    assert result
    assert all(v == 0 and str(v) == "0.00" for v in result.values())


@pytest.mark.parametrize("model", CREDIT_MODELS)
def test_no_eligible_touches_credits_nothing(model):
    """Given no touches at all, when credited by any model, then the result is empty."""
    assert credit(model, [], ORDER_AT, WEEK, D("10.00")) == {}


def test_rounding_adds_up_exactly_over_many_random_cases():
    """Given 2,000 random orders (fixed seed): 1-12 touches at random times inside and outside the window, with shared values,
    random amounts and 0-3 minor units, when credited by every model, then normalised models add up to exactly the amount,
    each value is within one minor unit of its exact share, and participation gives each distinct value the full amount."""
    rng = random.Random(20240310)
    for _ in range(2_000):
        n = rng.randint(1, 12)
        touches = [touch(f"t{i}", seconds=rng.randint(-3_600, 9 * 86_400), value=f"v{rng.randint(0, 4)}") for i in range(n)]
        minor = rng.randint(0, 3)
        amount = D(rng.randint(1, 10**9)).scaleb(-minor)
        unit = D(1).scaleb(-minor)
        counted = eligible(touches, ORDER_AT, WEEK)
        values = list(dict.fromkeys(t.value for t in counted))
        for model in CREDIT_MODELS:
            result = credit(model, touches, ORDER_AT, WEEK, amount, minor_units=minor)
            if not counted:
                assert result == {}
                continue
            if model == "participation":
                assert result == dict.fromkeys(values, amount)
                continue
            assert sum(result.values()) == amount, (model, amount, touches)
            exact: dict[str, Fraction] = {}
            for t, w in weights(model, counted, ORDER_AT):
                exact[t.value] = exact.get(t.value, Fraction(0)) + w
            for value, money in result.items():
                assert abs(Fraction(money) - exact[value] * Fraction(amount)) < Fraction(unit)
                assert money.as_tuple().exponent == -minor
            assert set(result) == {v for v, w in exact.items() if w > 0}


# --- per touch and validation ------------------------------------------------------------------------------------


def test_credit_for_touches_splits_per_touch():
    """Given two touches on clk-1 and one on clk-2, when 10.00 is credited per touch, then linear gives 3.34/3.33/3.33
    by tie order, and participation gives every touch the full 10.00 (clk-1 twice, unlike credit())."""
    touches = [touch("t1", days=3, value="clk-1"), touch("t2", days=2, value="clk-2"), touch("t3", days=1, value="clk-1")]

    linear = credit_for_touches("linear", touches, ORDER_AT, WEEK, D("10.00"))
    everyone = credit_for_touches("participation", touches, ORDER_AT, WEEK, D("10.00"))

    assert [(t.id, v) for t, v in linear] == [("t1", D("3.34")), ("t2", D("3.33")), ("t3", D("3.33"))]
    assert [(t.id, v) for t, v in everyone] == [("t1", D("10.00")), ("t2", D("10.00")), ("t3", D("10.00"))]


def test_credit_for_touches_keeps_zero_weight_touches():
    """Given A, B, C, when 10.00 is credited last-touch per touch, then A and B are listed with 0.00."""
    result = credit_for_touches("last_touch", three(), ORDER_AT, WEEK, D("10.00"))

    assert [(t.id, str(v)) for t, v in result] == [("A", "0.00"), ("B", "0.00"), ("C", "10.00")]


def test_bad_inputs_are_refused():
    """Given naive times, a negative window, a non-positive half-life, an unknown model, a non-finite amount or negative
    minor units, then each is refused with a ValueError rather than a silently wrong credit."""
    naive = datetime(2024, 3, 9, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        Touch(id="A", at=naive, arrival=ORDER_AT, value="A")
    with pytest.raises(ValueError, match="timezone-aware"):
        eligible(three(), naive, WEEK)
    with pytest.raises(ValueError, match="window"):
        eligible(three(), ORDER_AT, -WEEK)
    with pytest.raises(ValueError, match="half_life"):
        weights("time_decay", three(), ORDER_AT, half_life=timedelta(0))
    with pytest.raises(ValueError, match="unknown credit model"):
        weights("position", three(), ORDER_AT)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        credit("linear", three(), ORDER_AT, WEEK, D("NaN"))
    with pytest.raises(ValueError, match="minor_units"):
        credit("linear", three(), ORDER_AT, WEEK, D("1.00"), minor_units=-1)
