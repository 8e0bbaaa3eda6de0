"""The test oracle for ordertrail.core.credit: its exact Fraction implementation as it was, kept verbatim.

tests/unit/test_credit_property.py checks that the integer engine in `ordertrail.core.credit` gives identical credits
on random journeys. Everything below the docstring is the former module, unchanged: weights are `Fraction`s, money is
`Decimal` apportioned in integer minor units, time decay takes one float power per touch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Final, Literal, get_args

CreditModel = Literal["first_touch", "last_touch", "linear", "participation", "u_shaped", "time_decay"]
CREDIT_MODELS: Final[tuple[CreditModel, ...]] = get_args(CreditModel)
DEFAULT_MODEL: Final[CreditModel] = "participation"
DEFAULT_HALF_LIFE: Final = timedelta(days=7)

# U-shaped: the first and the last touch get 40% each, the touches between share the remaining 20%.
_U_END: Final = Fraction(2, 5)
_U_MIDDLE: Final = Fraction(1, 5)
_MICROSECOND: Final = timedelta(microseconds=1)


def _require_aware(name: str, value: datetime) -> None:
    """Refuse naive datetimes: comparing them with aware ones fails, and guessing their zone would move the window."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class Touch:
    """One touch on the reported dimension: when it happened, when OrderTrail received it, and the value it credits."""

    id: str
    at: datetime
    arrival: datetime  # when OrderTrail received it: the second tie-break after `at`
    value: str  # the value that receives credit, e.g. a ttclid for the export or a post id for a post report

    def __post_init__(self) -> None:
        """Check both times are aware."""
        _require_aware("at", self.at)
        _require_aware("arrival", self.arrival)


def tie_order(touch: Touch) -> tuple[datetime, datetime, str]:
    """Sort key for touches: (time, arrival, id), as docs/attribution.md#credit-models orders ties."""
    return (touch.at, touch.arrival, touch.id)


def eligible(touches: Iterable[Touch], order_time: datetime, window: timedelta) -> list[Touch]:
    """The touches that may share the order's credit, `order_time − window ≤ at ≤ order_time` (inclusive, exact), in tie order."""
    _require_aware("order_time", order_time)
    if window < timedelta(0):
        raise ValueError("window must not be negative")
    start = order_time - window
    # A touch after the order never counts, however close: it cannot have caused it.
    return sorted((t for t in touches if start <= t.at <= order_time), key=tie_order)


def weights(
    model: CreditModel, touches: Sequence[Touch], order_time: datetime, half_life: timedelta = DEFAULT_HALF_LIFE
) -> list[tuple[Touch, Fraction]]:
    """Each eligible touch's weight under `model`, in tie order (zero weights included).

    Every model but participation sums to exactly 1; participation gives every touch 1 and is never normalised.
    Time decay: `2^(−age/half_life)` with `age = order_time − at` in exact microseconds. The power is a float
    (irrational in general), taken relative to the youngest touch so it never underflows to zero; that common
    factor cancels when normalising. Each float weight is within one ulp (relative error ≈ 1e-16) of the true
    value and is then normalised exactly, so the weights sum to exactly 1 and an apportioned share is off by
    well under a minor unit for any real amount; ages that are whole multiples of the half-life are exact.
    """
    if model not in CREDIT_MODELS:
        raise ValueError(f"unknown credit model {model!r}")
    ordered = sorted(touches, key=tie_order)  # a no-op for eligible()'s output; makes first and last well defined
    n = len(ordered)
    if n == 0:
        return []
    if model == "participation":
        return [(t, Fraction(1)) for t in ordered]
    if model == "first_touch":
        return [(t, Fraction(int(i == 0))) for i, t in enumerate(ordered)]
    if model == "last_touch":
        return [(t, Fraction(int(i == n - 1))) for i, t in enumerate(ordered)]
    if model == "linear":
        return [(t, Fraction(1, n)) for t in ordered]
    if model == "u_shaped":
        return [(t, w) for t, w in zip(ordered, _u_shaped(n), strict=True)]
    return _time_decay(ordered, order_time, half_life)


def _u_shaped(n: int) -> list[Fraction]:
    """40/20/40 over n ≥ 1 touches: one touch 100%, two 50/50, otherwise the middle 20% split equally."""
    if n == 1:
        return [Fraction(1)]
    if n == 2:
        return [Fraction(1, 2), Fraction(1, 2)]
    middle = _U_MIDDLE / (n - 2)
    return [_U_END, *([middle] * (n - 2)), _U_END]


def _time_decay(ordered: list[Touch], order_time: datetime, half_life: timedelta) -> list[tuple[Touch, Fraction]]:
    """Weights `2^(−age/half_life)`, normalised exactly (see `weights` for precision)."""
    _require_aware("order_time", order_time)
    half_life_us = half_life // _MICROSECOND
    if half_life_us <= 0:
        raise ValueError("half_life must be positive")
    ages_us = [(order_time - t.at) // _MICROSECOND for t in ordered]
    youngest = min(ages_us)
    # Exact rational exponent, one float power each; Fraction(float) keeps the float's value exactly.
    raw = [Fraction(math.pow(2.0, -float(Fraction(age - youngest, half_life_us)))) for age in ages_us]
    total = sum(raw, Fraction(0))
    return [(t, w / total) for t, w in zip(ordered, raw, strict=True)]


def _to_minor(amount: Decimal, minor_units: int) -> int:
    """The amount in whole minor units; sub-minor digits are rounded half to even (Decimal's own default)."""
    if minor_units < 0:
        raise ValueError("minor_units must not be negative")
    if not amount.is_finite():
        raise ValueError("amount must be a finite number")
    return int(amount.scaleb(minor_units).to_integral_value(rounding=ROUND_HALF_EVEN))


def _from_minor(units: int, minor_units: int) -> Decimal:
    """A whole number of minor units as a Decimal with exactly `minor_units` places (3.30, not 3.3)."""
    return Decimal(units).scaleb(-minor_units)


def _apportion(total: int, shares: Sequence[Fraction]) -> list[int]:
    """Split `total` minor units by `shares` (summing to 1): floor each, then one unit each to the largest fractions.

    Ties between equal fractional parts go to the earlier share (the caller lists shares in tie order).
    """
    exact = [share * total for share in shares]
    floors = [math.floor(x) for x in exact]
    remainder = total - sum(floors)  # the sum of the fractional parts: a whole number below len(shares)
    by_fraction = sorted(range(len(shares)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_fraction[:remainder]:
        floors[i] += 1
    return floors


def _share_out(model: CreditModel, grouped: Sequence[Fraction], amount: Decimal, minor_units: int) -> list[Decimal]:
    """Turn weights (in tie order) into amounts: the full amount each for participation, else an exact apportionment."""
    total = _to_minor(amount, minor_units)
    if not grouped:
        return []
    if total <= 0:
        # A zero or negative amount (a refund, a free order) earns no credit: every share is zero, not a negative split.
        return [_from_minor(0, minor_units)] * len(grouped)
    if model == "participation":
        return [_from_minor(total, minor_units)] * len(grouped)
    if sum(grouped, Fraction(0)) != 1:
        raise AssertionError("normalised weights must sum to 1")  # a bug in weights(), never a data problem
    return [_from_minor(units, minor_units) for units in _apportion(total, grouped)]


def credit(
    model: CreditModel,
    touches: Iterable[Touch],
    order_time: datetime,
    window: timedelta,
    amount: Decimal,
    minor_units: int = 2,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> dict[str, Decimal]:
    """Credit per distinct touch value, for the eligible touches, in the order each value was first touched.

    A value's weight is the sum of its touches' weights; values the model gives no weight (e.g. all but the first
    under first touch) are left out. Participation gives each distinct value the full amount once (totals exceed
    the amount, never normalised). Other models apportion the amount in minor units (`minor_units`: 2 for USD,
    0 for JPY): each value's share is floored and the remainder goes one unit at a time to the largest
    fractional parts, ties to the value touched first, so the credits add up exactly to the amount (rounded
    half to even to the minor unit first if it has more places). No eligible touches → {}. A zero or negative
    amount → every credited value gets zero.
    """
    weighted = weights(model, eligible(touches, order_time, window), order_time, half_life)
    by_value: dict[str, Fraction] = {}  # insertion order = first-touch order, the tie-break
    for touch, weight in weighted:
        by_value[touch.value] = by_value.get(touch.value, Fraction(0)) + weight
    if model == "participation":
        by_value = dict.fromkeys(by_value, Fraction(1))  # once per distinct value, however often it was touched
    # Apportion over every value so the shares sum to 1, then drop those the model gave nothing.
    amounts = _share_out(model, list(by_value.values()), amount, minor_units)
    return {value: money for (value, weight), money in zip(by_value.items(), amounts, strict=True) if weight > 0}


def credit_for_touches(
    model: CreditModel,
    touches: Iterable[Touch],
    order_time: datetime,
    window: timedelta,
    amount: Decimal,
    minor_units: int = 2,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> list[tuple[Touch, Decimal]]:
    """Credit per eligible touch, in tie order, rounded like `credit` (zero-weight touches included, with zero).

    Participation gives every touch the full amount (a value touched twice appears twice here; `credit` counts it once).
    """
    weighted = weights(model, eligible(touches, order_time, window), order_time, half_life)
    amounts = _share_out(model, [w for _, w in weighted], amount, minor_units)
    return [(touch, money) for (touch, _), money in zip(weighted, amounts, strict=True)]
