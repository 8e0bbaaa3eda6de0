"""Multi-touch credit (docs/attribution.md#credit-models): touches and an amount in, credit per value out.

Pure and exact, in integers: each model's weights are whole numerators over one common denominator (cached per
journey length for the models whose weights depend only on it), money is `Decimal` apportioned in integer minor units
by the largest-remainder rule, so the shares of a normalised model add up to the amount to the last minor unit.
`weights` returns the same weights as `Fraction`s. Only time decay needs a float (for `2^x`); see `weights` for what
that costs in precision. No AWS here: the export and the channel reports gather the touches.

The results are identical, to the minor unit and in every tie-break, to the former all-`Fraction` implementation,
which tests/unit/credit_oracle.py keeps as the oracle of a property test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import lru_cache
from operator import attrgetter
from typing import Final, Literal, get_args

CreditModel = Literal["first_touch", "last_touch", "linear", "participation", "u_shaped", "time_decay"]
CREDIT_MODELS: Final[tuple[CreditModel, ...]] = get_args(CreditModel)
DEFAULT_MODEL: Final[CreditModel] = "participation"
DEFAULT_HALF_LIFE: Final = timedelta(days=7)

_MICROSECOND: Final = timedelta(microseconds=1)
_ZERO: Final = timedelta(0)
# The same key as tie_order, built in C: sorting is most of eligible()'s cost.
_TIE_KEY: Final = attrgetter("at", "arrival", "id")
_MODELS: Final = frozenset(CREDIT_MODELS)

# Numerators over one denominator; participation's are all 1 over 1 and are never normalised.
_Weights = tuple[Sequence[int], int]


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
    if window < _ZERO:
        raise ValueError("window must not be negative")
    start = order_time - window
    # A touch after the order never counts, however close: it cannot have caused it.
    return sorted([t for t in touches if start <= t.at <= order_time], key=_TIE_KEY)


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
    _check_model(model)
    ordered = sorted(touches, key=_TIE_KEY)  # a no-op for eligible()'s output; makes first and last well defined
    numerators, denominator = _weights(model, ordered, order_time, half_life)
    return [(t, Fraction(a, denominator)) for t, a in zip(ordered, numerators, strict=True)]


def _check_model(model: str) -> None:
    """Refuse a model name that is not one of CREDIT_MODELS (callers may pass settings read from storage)."""
    if model not in _MODELS:
        raise ValueError(f"unknown credit model {model!r}")


def _weights(model: CreditModel, ordered: Sequence[Touch], order_time: datetime, half_life: timedelta) -> _Weights:
    """The touches' weights (in tie order) as integer numerators over one denominator; the model is checked first."""
    _check_model(model)
    n = len(ordered)
    if n == 0:
        return (), 1
    if model == "time_decay":
        return _time_decay(ordered, order_time, half_life)
    return _by_length(model, n)


@lru_cache(maxsize=1024)
def _by_length(model: CreditModel, n: int) -> _Weights:
    """The weights of the models that depend only on the journey's length n ≥ 1 (cached: journeys repeat lengths)."""
    if model == "participation":
        return (1,) * n, 1
    if model == "first_touch":
        return (1,) + (0,) * (n - 1), 1
    if model == "last_touch":
        return (0,) * (n - 1) + (1,), 1
    if model == "linear":
        return (1,) * n, n
    # U-shaped, 40/20/40: one touch 100%, two 50/50, otherwise 2/5 at each end and 1/5 split over the n − 2 between,
    # which over the denominator 5(n − 2) is 2(n − 2) at each end and 1 for each touch between.
    if n == 1:
        return (1,), 1
    if n == 2:
        return (1, 1), 2
    return (2 * (n - 2),) + (1,) * (n - 2) + (2 * (n - 2),), 5 * (n - 2)


def _time_decay(ordered: Sequence[Touch], order_time: datetime, half_life: timedelta) -> _Weights:
    """Weights `2^(−age/half_life)` as integers: each float power is a dyadic rational, so a power of 2 is a common denominator.

    The floats are exactly those of `Fraction(math.pow(2.0, -float(Fraction(age - youngest, half_life_us))))`:
    an int divided by an int is correctly rounded in Python, as `float(Fraction)` is, so the exponents are the same
    floats, and `as_integer_ratio` keeps each power's value exactly. Scaled to the largest denominator they become
    integers whose sum is the normaliser: the normalised weights are exact, like the Fractions they replace.
    """
    _require_aware("order_time", order_time)
    half_life_us = half_life // _MICROSECOND
    if half_life_us <= 0:
        raise ValueError("half_life must be positive")
    ages_us = [(order_time - t.at) // _MICROSECOND for t in ordered]
    youngest = min(ages_us)
    ratios = [math.pow(2.0, -((age - youngest) / half_life_us)).as_integer_ratio() for age in ages_us]
    # Every denominator is a power of 2: the largest is a multiple of every other.
    shift = max(d for _, d in ratios).bit_length() - 1
    numerators = [a << (shift - d.bit_length() + 1) for a, d in ratios]
    return numerators, sum(numerators)


def _to_minor(amount: Decimal, minor_units: int) -> int:
    """The amount in whole minor units; sub-minor digits are rounded half to even (Decimal's own default)."""
    if minor_units < 0:
        raise ValueError("minor_units must not be negative")
    if not amount.is_finite():
        raise ValueError("amount must be a finite number")
    return int(amount.scaleb(minor_units).to_integral_value(rounding=ROUND_HALF_EVEN))


def to_minor(amount: Decimal, minor_units: int) -> int:
    """The amount in whole minor units, as `credit` apportions it (for callers that credit in minor units themselves)."""
    return _to_minor(amount, minor_units)


def _from_minor(units: int, minor_units: int) -> Decimal:
    """A whole number of minor units as a Decimal with exactly `minor_units` places (3.30, not 3.3)."""
    return Decimal(units).scaleb(-minor_units)


def _apportion(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Split `total` minor units by `numerators / denominator` (summing to 1): floor each, then one unit each to the largest fractions.

    The fractional parts share the denominator, so comparing their remainders compares them exactly. Ties between
    equal fractional parts go to the earlier share (the caller lists shares in tie order): the sort is stable.
    """
    if sum(numerators) != denominator:
        raise AssertionError("normalised weights must sum to 1")  # a bug in _weights(), never a data problem
    split = [divmod(numerator * total, denominator) for numerator in numerators]
    floors = [floor for floor, _ in split]
    spare = total - sum(floors)  # the sum of the fractional parts: a whole number below len(numerators)
    if spare:
        for i in sorted(range(len(split)), key=lambda i: -split[i][1])[:spare]:
            floors[i] += 1
    return floors


def _shares(model: CreditModel, numerators: Sequence[int], denominator: int, amount: Decimal, minor_units: int) -> list[Decimal]:
    """Turn weights (in tie order) into amounts: the full amount each for participation, else an exact apportionment."""
    total = _to_minor(amount, minor_units)
    if not numerators:
        return []
    if total <= 0:
        # A zero or negative amount (a refund, a free order) earns no credit: every share is zero, not a negative split.
        return [_from_minor(0, minor_units)] * len(numerators)
    if model == "participation":
        return [_from_minor(total, minor_units)] * len(numerators)
    places = -minor_units
    return [Decimal(units).scaleb(places) for units in _apportion(total, numerators, denominator)]  # _from_minor, inlined


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
    ordered = eligible(touches, order_time, window)
    numerators, denominator = _weights(model, ordered, order_time, half_life)
    if model == "first_touch" or model == "last_touch":
        # One touch holds the whole weight, so its value gets the whole amount (or zero) and every other value nothing.
        total = _to_minor(amount, minor_units)
        if not ordered:
            return {}
        return {ordered[0 if model == "first_touch" else -1].value: _from_minor(max(total, 0), minor_units)}
    values: Sequence[str]
    if model == "participation":
        # Once per distinct value, however often it was touched, with the full amount each.
        values = list(dict.fromkeys(t.value for t in ordered))
        numerators = [1] * len(values)
    else:
        by_value: dict[str, int] = {}  # insertion order = first-touch order, the tie-break
        for touch, numerator in zip(ordered, numerators, strict=True):
            by_value[touch.value] = by_value.get(touch.value, 0) + numerator
        values, numerators = list(by_value), list(by_value.values())
    # Apportion over every value so the shares sum to 1, then drop those the model gave nothing.
    amounts = _shares(model, numerators, denominator, amount, minor_units)
    return {value: money for value, weight, money in zip(values, numerators, amounts, strict=True) if weight > 0}


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
    ordered = eligible(touches, order_time, window)
    numerators, denominator = _weights(model, ordered, order_time, half_life)
    amounts = _shares(model, numerators, denominator, amount, minor_units)
    return list(zip(ordered, amounts, strict=True))
