"""Batch credit (docs/attribution.md#credit-models): many conversions per call, vectorised with numpy, identical to `credit.credit`.

For the callers that credit thousands of conversions at once (the channel reports, bench/credit_speed.py): the
touches arrive as flat columns (`Conversions`, built by `from_columns` or `from_touches`), conversions are grouped by
their number of eligible touches, and each group is one set of `G × n` integer matrices: tie order, distinct values in
first-touch order, weights, floor division, remainders and the ranks of the largest-remainder rule. The credits are
those of `credit.credit` to the minor unit and in every tie-break (tests/unit/test_credit_batch.py proves it on random
journeys); `totals` adds them up per value without building per-conversion results.

Exactness. Every model but time decay has small integer weights, so int64 is exact (a conversion whose amount × the
denominator would not fit falls back). Time decay needs the very floats of `credit._time_decay`, i.e. `math.pow`'s:
numpy's own `power` may use a different (SIMD) implementation that differs in the last bit, so the powers are taken
with `np.float_power`, whose loop calls the C library's `pow` per element, as `math.pow` does (tests prove the two equal
bit for bit); the rest is exact integer work on their bits.
Its weights are then up to 53 + R bits (R: the spread of the powers' binary exponents, 4 for 28 days at a 7-day
half-life) and the products amount × weight do not fit in int64, so each share is estimated in floats, rounded down
by a margin larger than the estimate's error, and corrected with the exact remainder computed modulo 2^64 (exact
because it lies in [0, 2W) with W < 2^63). Conversions outside those bounds (W ≥ 2^63, an amount ≥ 2^46 minor units,
times more than 2^53 µs apart, a half-life over 2^53 µs) are credited by `credit.credit` itself: rare, never wrong.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ordertrail.core import credit as single
from ordertrail.core.credit import DEFAULT_HALF_LIFE, CreditModel, Touch

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
# datetime's whole range in µs from the epoch (years 1-9999), within ±2^59: sums and differences of two stay in int64.
_MIN_US: Final = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // _US
_MAX_US: Final = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - EPOCH) // _US
# Wider than any span of datetimes: clipping a window to it changes no eligibility and keeps `order − window` in int64.
_WINDOW_CAP: Final = 1 << 61
_INT64_MAX: Final = (1 << 63) - 1
_FLOAT_EXACT: Final = 1 << 53  # integers below this convert to float64 exactly
_FLOAT_AMOUNT_LIMIT: Final = 1 << 46  # keeps the float estimate of a share within 1 of the truth (see _divide_wide)
_FLOAT_MARGIN: Final = 2.0**-48  # relative margin, 8× the estimate's worst relative error (4 roundings of 2^-53)
_EQ_MAX_LENGTH: Final = 32  # up to this length distinct values are found by an n × n comparison, beyond by sorting


def _int64(values: Any) -> Ints:
    """A contiguous int64 array of `values` (OverflowError for an integer beyond int64)."""
    return np.ascontiguousarray(np.asarray(values, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class Conversions:
    """Many conversions' touches as flat columns: touch k of conversion c is row `offsets[c] + k` of the touch columns."""

    offsets: Ints  # conversions + 1 bounds into the touch columns
    conversion: Ints  # per touch: its conversion
    at_us: Ints  # per touch: µs since the Unix epoch (UTC)
    arrival_us: Ints  # per touch: when OrderTrail received it, µs since the epoch: the second tie-break
    id_rank: Ints  # per touch: its id's rank in str order (equal ids, equal ranks): the third tie-break
    value_code: Ints  # per touch: the index of its value in `values`
    order_us: Ints  # per conversion: the order's time, µs since the epoch
    amount_units: Ints  # per conversion: the amount in minor units (clipped when beyond int64: see big_amounts)
    ids: tuple[str, ...]  # per touch: its id, for the conversions credited by credit.credit
    values: tuple[str, ...]  # the distinct values, in order of first appearance
    big_amounts: dict[int, int] = field(default_factory=dict)  # conversion → its amount, where beyond int64

    @property
    def count(self) -> int:
        """The number of conversions."""
        return len(self.order_us)


def from_columns(
    lengths: Sequence[int] | Ints,
    at_us: Sequence[int] | Ints,
    arrival_us: Sequence[int] | Ints,
    ids: Sequence[str],
    values: Sequence[str],
    order_us: Sequence[int] | Ints,
    amounts: Sequence[int] | Ints,
) -> Conversions:
    """Conversions from flat touch columns (`lengths[c]` touches per conversion, times in µs since the epoch) and amounts in minor units."""
    sizes = _int64(lengths)
    if (sizes < 0).any():
        raise ValueError("lengths must not be negative")
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    touches = int(offsets[-1])
    at, arrival, orders = _int64(at_us), _int64(arrival_us), _int64(order_us)
    if not (len(at) == len(arrival) == len(ids) == len(values) == touches) or len(orders) != len(sizes):
        raise ValueError("every touch column needs one entry per touch, order times one per conversion")
    for name, column in (("at_us", at), ("arrival_us", arrival), ("order_us", orders)):
        if len(column) and (int(np.min(column)) < _MIN_US or int(np.max(column)) > _MAX_US):
            raise ValueError(f"{name} must be within datetime's range")
    units, big = _amounts(amounts, len(sizes))
    # Ranks keep str order (object arrays compare with Python's `<`): only order within a conversion matters.
    ranks = np.unique(np.array(ids, dtype=object), return_inverse=True)[1].astype(np.int64) if touches else np.zeros(0, np.int64)
    codes: dict[str, int] = {}
    value_code = np.fromiter((codes.setdefault(v, len(codes)) for v in values), dtype=np.int64, count=touches)
    return Conversions(
        offsets=offsets,
        conversion=np.repeat(np.arange(len(sizes), dtype=np.int64), sizes),
        at_us=at,
        arrival_us=arrival,
        id_rank=np.ascontiguousarray(ranks.reshape(-1)),
        value_code=value_code,
        order_us=orders,
        amount_units=units,
        ids=tuple(ids),
        values=tuple(codes),
        big_amounts=big,
    )


def _amounts(amounts: Sequence[int] | Ints, count: int) -> tuple[Ints, dict[int, int]]:
    """Amounts as int64, with those beyond int64 kept exactly apart (and clipped in the array, so they fall back)."""
    if isinstance(amounts, np.ndarray):
        units = _int64(amounts)
        big: dict[int, int] = {}
    else:
        exact = [int(a) for a in amounts]
        big = {c: a for c, a in enumerate(exact) if not -_INT64_MAX <= a <= _INT64_MAX}
        units = _int64([max(-_INT64_MAX, min(a, _INT64_MAX)) for a in exact] if big else exact)
    if len(units) != count:
        raise ValueError("amounts needs one entry per conversion")
    return units, big


def to_us(moment: datetime) -> int:
    """An aware datetime as whole µs since the Unix epoch (exact)."""
    single._require_aware("order_time", moment)
    return (moment - EPOCH) // _US


def from_touches(journeys: Iterable[tuple[Iterable[Touch], datetime, int]]) -> Conversions:
    """Conversions from `(touches, order_time, amount in minor units)` triples, as `credit.credit` takes them one by one."""
    lengths: list[int] = []
    at: list[int] = []
    arrival: list[int] = []
    ids: list[str] = []
    values: list[str] = []
    orders: list[int] = []
    amounts: list[int] = []
    for touches, order_time, amount in journeys:
        listed = list(touches)
        lengths.append(len(listed))
        for touch in listed:
            at.append((touch.at - EPOCH) // _US)
            arrival.append((touch.arrival - EPOCH) // _US)
            ids.append(touch.id)
            values.append(touch.value)
        orders.append(to_us(order_time))
        amounts.append(amount)
    return from_columns(lengths, at, arrival, ids, values, orders, amounts)


@dataclass(frozen=True, eq=False)
class Credits:
    """Credits in minor units, one row per credited value of each conversion: by conversion, then first-touch order."""

    count: int  # the number of conversions
    conversion: Ints  # per row: the conversion
    value: Ints  # per row: the value's index in `values`
    units: npt.NDArray[Any]  # per row: minor units (int64; object ints only if a fallback credit is beyond int64)
    values: tuple[str, ...]

    def per_conversion(self) -> list[dict[str, int]]:
        """Each conversion's credits as `credit.credit` orders them, in minor units ({} where nothing was eligible)."""
        result: list[dict[str, int]] = [{} for _ in range(self.count)]
        for conversion, value, units in zip(self.conversion.tolist(), self.value.tolist(), self.units.tolist(), strict=True):
            result[conversion][self.values[value]] = units
        return result


@dataclass(frozen=True, eq=False)
class _Part:
    """One length group's credits: slot j of row i is credited `units[i, j]` to `value[i, j]` where `mask[i, j]`."""

    rows: Ints
    value: Ints
    units: Ints
    mask: Bools


def credit(model: CreditModel, conversions: Conversions, window: timedelta, half_life: timedelta = DEFAULT_HALF_LIFE) -> Credits:
    """Every conversion's credit per distinct value in minor units, exactly as `credit.credit` gives it for that conversion."""
    parts, fallback = _run(model, conversions, window, half_life)
    count = conversions.count
    per_conversion = np.zeros(count, dtype=np.int64)
    for part in parts:
        per_conversion[part.rows] = part.mask.sum(axis=1)
    codes = {value: code for code, value in enumerate(conversions.values)}
    for c, credited in fallback.items():
        per_conversion[c] = len(credited)
    starts = np.cumsum(per_conversion) - per_conversion
    total = int(per_conversion.sum())
    out_conversion = np.empty(total, dtype=np.int64)
    out_value = np.empty(total, dtype=np.int64)
    out_units = np.empty(total, dtype=np.int64)
    for part in parts:
        # A credited slot's row within its conversion: how many credited slots precede it (slots are in first-touch order).
        where = (starts[part.rows][:, None] + np.cumsum(part.mask, axis=1) - 1)[part.mask]
        out_conversion[where] = np.broadcast_to(part.rows[:, None], part.mask.shape)[part.mask]
        out_value[where] = part.value[part.mask]
        out_units[where] = part.units[part.mask]
    units: npt.NDArray[Any] = out_units
    if any(not -_INT64_MAX <= u <= _INT64_MAX for credited in fallback.values() for u in credited.values()):
        units = out_units.astype(object)
    for c, credited in fallback.items():
        for k, (value, money) in enumerate(credited.items()):
            out_conversion[starts[c] + k] = c
            out_value[starts[c] + k] = codes[value]
            units[starts[c] + k] = money
    return Credits(count=count, conversion=out_conversion, value=out_value, units=units, values=conversions.values)


def totals(model: CreditModel, conversions: Conversions, window: timedelta, half_life: timedelta = DEFAULT_HALF_LIFE) -> dict[str, int]:
    """The sum of `credit`'s credits per value over all conversions, in minor units (values credited at least once, even zero)."""
    parts, fallback = _run(model, conversions, window, half_life)
    size = len(conversions.values)
    seen = np.zeros(size, dtype=bool)
    # int64 sums are exact while no total can reach 2^63; the bound is taken in floats, generously.
    bound = sum(float(np.abs(part.units[part.mask].astype(np.float64)).sum()) for part in parts)
    if bound < 2.0**62:
        summed = np.zeros(size, dtype=np.int64)
        for part in parts:
            np.add.at(summed, part.value[part.mask], part.units[part.mask])
            seen[part.value[part.mask]] = True
        result = dict.fromkeys((conversions.values[i] for i in np.flatnonzero(seen)), 0)
        for i in np.flatnonzero(seen).tolist():
            result[conversions.values[i]] = int(summed[i])
    else:
        result = {}
        for part in parts:
            for value, units in zip(part.value[part.mask].tolist(), part.units[part.mask].tolist(), strict=True):
                name = conversions.values[value]
                result[name] = result.get(name, 0) + units
    for credited in fallback.values():
        for name, money in credited.items():
            result[name] = result.get(name, 0) + money
    return result


def _run(model: CreditModel, batch: Conversions, window: timedelta, half_life: timedelta) -> tuple[list[_Part], dict[int, dict[str, int]]]:
    """The credits of every length group, and those of the conversions credited by `credit.credit` (by conversion)."""
    if window < timedelta(0):
        raise ValueError("window must not be negative")  # credit.eligible's check, first as there
    single._check_model(model)
    window_us = min(window // _US, _WINDOW_CAP)
    conversion, at = batch.conversion, batch.at_us
    order_of_touch = batch.order_us[conversion]
    # Eligibility exactly as credit.eligible: order_time − window ≤ at ≤ order_time, inclusive, in exact µs.
    eligible_mask = (at >= order_of_touch - window_us) & (at <= order_of_touch)
    if eligible_mask.all():
        eligible = np.arange(len(at), dtype=np.int64)
        counts = np.diff(batch.offsets)
    else:
        eligible = np.flatnonzero(eligible_mask).astype(np.int64)
        counts = np.bincount(conversion[eligible], minlength=batch.count).astype(np.int64)
    half_life_us = half_life // _US
    if model == "time_decay" and half_life_us <= 0 and counts.any():
        raise ValueError("half_life must be positive")
    starts = np.cumsum(counts) - counts
    by_length = np.argsort(counts, kind="stable")
    lengths = counts[by_length]
    bounds = [0, *(np.flatnonzero(np.diff(lengths)) + 1).tolist(), len(lengths)]
    parts: list[_Part] = []
    fallback_rows: list[Ints] = []
    for lo, hi in itertools.pairwise(bounds):
        n = int(lengths[lo]) if hi > lo else 0
        if n == 0:
            continue
        rows = by_length[lo:hi]
        if batch.big_amounts:
            # An amount beyond int64 cannot enter the arrays: credit.credit credits it.
            big = np.isin(rows, list(batch.big_amounts))
            fallback_rows.append(rows[big])
            rows = rows[~big]
            if not len(rows):
                continue
        touch = _tie_ordered(batch, eligible[starts[rows][:, None] + np.arange(n)])
        part, rejected = _group(model, batch, rows, touch, half_life_us)
        if part is not None:
            parts.append(part)
        if len(rejected):
            fallback_rows.append(rejected)
    fallback: dict[int, dict[str, int]] = {}
    for c in np.concatenate(fallback_rows).tolist() if fallback_rows else []:
        chosen = eligible[starts[c] : starts[c] + counts[c]]
        fallback[c] = _fallback(model, batch, c, chosen, half_life)
    return parts, fallback


def _tie_ordered(batch: Conversions, touch: Ints) -> Ints:
    """Each row's touches (in input order) sorted by (at, arrival, id), stably like `sorted`; rows already in order are kept."""
    n = touch.shape[1]
    if n == 1:
        return touch
    at, arrival, rank = batch.at_us[touch], batch.arrival_us[touch], batch.id_rank[touch]
    a0, a1, r0, r1, i0, i1 = at[:, :-1], at[:, 1:], arrival[:, :-1], arrival[:, 1:], rank[:, :-1], rank[:, 1:]
    # Input order already breaks full ties (sorted() is stable), so a pair is in order when its keys do not decrease.
    in_order = (a1 > a0) | ((a1 == a0) & ((r1 > r0) | ((r1 == r0) & (i1 >= i0))))
    bad = np.flatnonzero(~in_order.all(axis=1))
    if len(bad):
        position = np.broadcast_to(np.arange(n), (len(bad), n))
        order = np.lexsort((position, rank[bad], arrival[bad], at[bad]), axis=-1)
        touch = touch.copy()
        touch[bad] = np.take_along_axis(touch[bad], order, axis=1)
    return touch


def _first_slots(value: Ints) -> tuple[Ints, Bools]:
    """Per touch, the position of the first touch with its value in its row; and which touches are those firsts."""
    g, n = value.shape
    positions = np.arange(n)
    if n == 1:
        return np.zeros((g, 1), dtype=np.int64), np.ones((g, 1), dtype=bool)
    if n <= _EQ_MAX_LENGTH:
        first = (value[:, :, None] == value[:, None, :]).argmax(axis=2)  # the first equal value, itself at worst
    else:
        order = np.argsort(value, axis=1, kind="stable")  # stable: within a run of equal values, the first touch leads
        ordered = np.take_along_axis(value, order, axis=1)
        starts_run = np.ones((g, n), dtype=bool)
        starts_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        run_start = np.maximum.accumulate(np.where(starts_run, positions, 0), axis=1)
        first = np.empty((g, n), dtype=np.int64)
        np.put_along_axis(first, order, np.take_along_axis(order, run_start, axis=1), axis=1)
    first = first.astype(np.int64)
    return first, first == positions


def _group(model: CreditModel, batch: Conversions, rows: Ints, touch: Ints, half_life_us: int) -> tuple[_Part | None, Ints]:
    """The credits of conversions with the same number n of eligible touches (`touch`: G × n, tie order); the rows left to credit.credit."""
    g, n = touch.shape
    value = batch.value_code[touch]
    amount = batch.amount_units[rows]
    whole = np.maximum(amount, 0)  # zero or negative amounts earn zero credit, never a negative split
    nothing = np.zeros(0, dtype=np.int64)
    if model == "first_touch" or model == "last_touch":
        # One touch holds the whole weight: its value gets the whole amount (credit.credit's shortcut).
        column = 0 if model == "first_touch" else n - 1
        return _Part(rows, value[:, column : column + 1], whole[:, None], np.ones((g, 1), dtype=bool)), nothing
    first, is_first = _first_slots(value)
    if model == "participation":
        # The full amount once per distinct value, however often it was touched.
        return _Part(rows, value, np.broadcast_to(whole[:, None], (g, n)), is_first), nothing
    flat_slots = (np.arange(g)[:, None] * n + first).reshape(-1)
    if model == "time_decay":
        weights, ok = _decay_weights(batch, rows, touch, half_life_us)
        ok &= amount < _FLOAT_AMOUNT_LIMIT
        summed = np.zeros(g * n, dtype=np.int64)
        np.add.at(summed, flat_slots, weights.reshape(-1))  # int64: exact, W < 2^63 where ok
        summed = summed.reshape(g, n)
        denominator = summed.sum(axis=1)
        keep = np.flatnonzero(ok)
        rejected = rows[~ok]
        if not len(keep):
            return None, rejected
        rows, value, amount, summed, denominator, is_first = (
            rows[keep],
            value[keep],
            amount[keep],
            summed[keep],
            denominator[keep],
            is_first[keep],
        )
        positive = np.maximum(amount, 0)
        floors, remainders = _divide_wide(positive, summed, denominator)
    else:
        numerators, denom = single._by_length(model, n)  # linear or u_shaped: the very weights credit.credit uses
        # Small integers: the float sums of bincount are exact, far below 2^53.
        summed = np.bincount(flat_slots, weights=np.tile(np.asarray(numerators, dtype=np.float64), g), minlength=g * n)
        summed = summed.astype(np.int64).reshape(g, n)
        fits = amount <= _INT64_MAX // denom
        rejected = rows[~fits]
        if not fits.all():
            keep = np.flatnonzero(fits)
            rows, value, amount, summed, is_first = rows[keep], value[keep], amount[keep], summed[keep], is_first[keep]
        positive = np.maximum(amount, 0)
        product = positive[:, None] * summed
        floors, remainders = product // denom, product % denom
    if not len(rows):
        return None, rejected
    units = _largest_remainder(positive, floors, remainders)
    return _Part(rows, value, units, is_first), rejected


def _decay_weights(batch: Conversions, rows: Ints, touch: Ints, half_life_us: int) -> tuple[Ints, Bools]:
    """Time-decay numerators (G × n) with the ratios of `credit._time_decay`, and which rows fit the exact int64 path.

    The same floats as credit._time_decay: the exponent −(age − youngest) / half_life is one correctly rounded division
    of integers below 2^53 (as Python's int / int is), and the power is libm's `pow`, as `math.pow`'s is. A positive
    normal float is M · 2^(E − 1075) with M < 2^53 its significand; scaled by 2^(1075 − min E) every weight of a row is
    the integer M << (E − min E). That common factor leaves the normalised weights (and so every share) unchanged.
    """
    g, n = touch.shape
    age = batch.order_us[rows][:, None] - batch.at_us[touch]  # ≥ 0: every touch is eligible
    offset = age - age.min(axis=1)[:, None]
    ok = (offset.max(axis=1) < _FLOAT_EXACT) & (half_life_us < _FLOAT_EXACT)
    exponent = -(offset.astype(np.float64) / float(half_life_us))
    power = np.ones(g * n, dtype=np.float64)  # the youngest touch: math.pow(2.0, -0.0) == 1.0
    needed = np.flatnonzero(offset.reshape(-1))
    # float_power, not power: numpy may dispatch power to a SIMD pow whose last bit differs from libm's (see the docstring).
    power[needed] = np.float_power(2.0, exponent.reshape(-1)[needed])
    bits = power.view(np.int64).reshape(g, n)
    biased = bits >> 52  # the sign bit is 0: powers are positive
    significand = (bits & ((1 << 52) - 1)) | (1 << 52)
    low = biased.min(axis=1)
    spread = biased.max(axis=1) - low
    # Each weight < 2^(53 + spread), n of them: W < 2^63 needs 53 + spread + ⌈log2 n⌉ ≤ 63. Subnormals and 0 fall back.
    ok &= (low >= 1) & (spread <= 10 - (n - 1).bit_length())
    shift = np.where(ok[:, None], biased - low[:, None], 0)
    return np.where(ok[:, None], significand << shift, 1), ok


def _divide_wide(amount: Ints, numerators: Ints, denominator: Ints) -> tuple[Ints, Ints]:
    """Exact floor and remainder of amount · numerator / denominator with amount < 2^46 and denominator < 2^63.

    The float quotient is within a relative 4 · 2^-53 of the truth; lowered by a relative 2^-48 and floored it is the
    true floor or one less. The remainder against it, amount · numerator − estimate · denominator, then lies in
    [0, 2 · denominator) ⊂ [0, 2^64): uint64 arithmetic, exact modulo 2^64, gives it exactly, and one comparison
    corrects the estimate.
    """
    a = amount[:, None]
    quotient = a.astype(np.float64) * numerators.astype(np.float64) / denominator[:, None].astype(np.float64)
    estimate = np.maximum(np.floor(quotient - quotient * _FLOAT_MARGIN), 0).astype(np.int64)
    d = denominator[:, None].astype(np.uint64)
    rest = a.astype(np.uint64) * numerators.astype(np.uint64) - estimate.astype(np.uint64) * d
    over = rest >= d
    return estimate + over, (rest - over * d).astype(np.int64)


def _largest_remainder(amount: Ints, floors: Ints, remainders: Ints) -> Ints:
    """Floors plus one unit each to the largest remainders of each row, ties to the earlier slot (credit._apportion's rule)."""
    spare = amount - floors.sum(axis=1)
    n = floors.shape[1]
    if ((spare < 0) | (spare >= n)).any():
        raise AssertionError("the floors must leave fewer spare units than shares")  # a bug here, never a data problem
    if not spare.any():
        return floors
    # Slots that are not a value's first touch hold remainder 0 and never get a unit: fewer units are spare than
    # there are positive remainders. A stable sort on −remainder keeps equal remainders in first-touch order.
    order = np.argsort(-remainders, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n), order.shape), axis=1)
    return floors + (rank < spare[:, None])


def _fallback(model: CreditModel, batch: Conversions, c: int, chosen: Ints, half_life: timedelta) -> dict[str, int]:
    """One conversion credited by `credit.credit` itself, in minor units (amount as whole units, 0 places)."""
    order_us = int(batch.order_us[c])
    touches = [
        Touch(
            id=batch.ids[i],
            at=EPOCH + timedelta(microseconds=int(batch.at_us[i])),
            arrival=EPOCH + timedelta(microseconds=int(batch.arrival_us[i])),
            value=batch.values[int(batch.value_code[i])],
        )
        for i in chosen.tolist()
    ]
    # Every touch passed is eligible: the window from the earliest of them says so without datetime overflow.
    window = timedelta(microseconds=order_us - min(int(batch.at_us[i]) for i in chosen.tolist()))
    amount = batch.big_amounts.get(c, int(batch.amount_units[c]))
    order_time = EPOCH + timedelta(microseconds=order_us)
    credited = single.credit(model, touches, order_time, window, Decimal(amount), 0, half_life)
    return {value: int(money) for value, money in credited.items()}
