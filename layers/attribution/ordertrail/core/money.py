"""Money per currency: how counters store amounts and the one shape every amount in a report has. Pure: no AWS.

Nothing ever adds two currencies. A counter keeps each amount per currency in its own field, `<name>#<ISO-4217>`
(`revenue#USD`, `net#CAD`), beside a count per currency (`orders#USD`) wherever a ratio or a ranking needs one;
plain counts (`orders`, `comments`, ...) stay as they are. Reports show every amount as a map from currency code to
a decimal, `{"CAD": Decimal("12.00"), "USD": Decimal("93.67")}`, codes in alphabetical order, empty for none.

Written before currencies: counters and the contributions stored beside attributions held bare fields (`revenue`,
`net`, `sales`, `other_net`). Contributions are differenced field by field, so the next change of such an order
subtracts its bare amount and adds it under the order's currency, which is known then. What a counter still holds
bare belongs to orders not seen since, whose currency no counter records: it is read as LEGACY_CURRENCY.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

Money = dict[str, Decimal]
# Before currencies were kept apart every order that named none was USD (models.Order's default), and every figure
# was labelled USD; amounts whose order has not been seen since are read in it.
LEGACY_CURRENCY = "USD"
SEPARATOR = "#"
_CODE = re.compile(r"[A-Z]{3}")
ZERO = Decimal(0)


def currency_field(name: str, currency: str) -> str:
    """The counter field holding `name` in one currency: `revenue#USD`."""
    return f"{name}{SEPARATOR}{currency}"


def _tagged(values: Mapping[str, Decimal], name: str) -> Money:
    """The `name#CUR` fields of a counter, by currency."""
    found: Money = {}
    prefix = f"{name}{SEPARATOR}"
    for key, value in values.items():
        code = key[len(prefix) :]
        if key.startswith(prefix) and _CODE.fullmatch(code):
            found[code] = found.get(code, ZERO) + Decimal(value)
    return found


def amounts(values: Mapping[str, Decimal], name: str) -> Money:
    """An amount field per currency; a bare `name` (stored before currencies) counts as LEGACY_CURRENCY's."""
    found = _tagged(values, name)
    if name in values:
        found[LEGACY_CURRENCY] = found.get(LEGACY_CURRENCY, ZERO) + Decimal(values[name])
    return found


def counts(values: Mapping[str, Decimal], name: str) -> Money:
    """A count field per currency; what the bare count holds beyond its per-currency fields is LEGACY_CURRENCY's.

    The bare count counts every order; only orders counted before currencies lack a per-currency field.
    """
    found = _tagged(values, name)
    untagged = Decimal(values.get(name, ZERO)) - sum(found.values(), ZERO)
    if untagged:
        found[LEGACY_CURRENCY] = found.get(LEGACY_CURRENCY, ZERO) + untagged
    return found


def reported(values: Mapping[str, Decimal], amount: str, count: str | None = None) -> Money:
    """An amount as reports show it: every currency with a non-zero amount or an order in it, by code.

    With `count`, a currency whose orders sum to 0 (a free order) still shows, at 0.
    """
    sums = amounts(values, amount)
    counted = counts(values, count) if count else {}
    return {
        code: sums.get(code, ZERO) for code in sorted(set(sums) | set(counted)) if sums.get(code, ZERO) != 0 or counted.get(code, ZERO) != 0
    }


def add(*parts: Mapping[str, Decimal]) -> Money:
    """Several amounts summed currency by currency (never across), in alphabetical order."""
    total: Money = {}
    for part in parts:
        for code, value in part.items():
            total[code] = total.get(code, ZERO) + value
    return dict(sorted(total.items()))


def currency_order(orders: Mapping[str, Decimal], codes: Iterable[str] = ()) -> list[str]:
    """Currencies for ranking: those with orders, most orders first (ties by code), then any other code by code.

    The first is the main currency: ranking by revenue compares rows in it first, then in each other currency.
    """
    counted = sorted((code for code, number in orders.items() if number > 0), key=lambda code: (-orders[code], code))
    return [*counted, *sorted(set(codes) - set(counted))]


def main_currency(orders: Mapping[str, Decimal]) -> str | None:
    """The currency with the most orders (ties by code); None when there are none."""
    ranked = currency_order(orders)
    return ranked[0] if ranked else None


def descending(amount: Mapping[str, Decimal], currencies: Iterable[str]) -> tuple[Decimal, ...]:
    """A sort key putting larger amounts first, compared currency by currency in the order given."""
    return tuple(-amount.get(code, ZERO) for code in currencies)
