"""Money per currency (ordertrail.money) and the counters that keep it: nothing ever adds two currencies.

Each test reads given / when / then. Counter fields hold an amount per currency as `<name>#<code>` beside a count per
currency; a bare field is an amount or a count written before currencies were kept apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordertrail.core import money
from ordertrail.core.models import Attribution, Buyer, LineItem, Order, Post
from ordertrail.tally import counters
from ordertrail.tally.counters import CounterKey
from ordertrail.tally.order_tally import ReportState, tally_order

D = Decimal
ZONE = "UTC"
WEEK = timedelta(days=7)  # the channel lookback (no touchpoints here: no channel credit)
AT = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
DAY = "2026-11-10"
POST = CounterKey("post", "v1", DAY)
TIKTOK = CounterKey("orders", "tiktok_shop", DAY)


def order(currency: str, total: str = "30.00", *, updated: int = 0) -> Order:
    """TikTok order o-1 by tt-ava: one lip oil at the total, in a currency (updated `updated` minutes after it was placed)."""
    return Order.model_validate(
        {
            "id": "o-1",
            "source": "tiktok_shop",
            "status": "AWAITING_SHIPMENT",
            "created_at": AT,
            "updated_at": AT.replace(minute=updated),
            "buyer": Buyer(user_id="tt-ava"),
            "currency": currency,
            "line_items": [LineItem(product_id="P-LIP", name="Lip oil", quantity=1, unit_price=D(total))],
            "subtotal": D(total),
            "total": D(total),
        }
    )


def attribution(of: Order) -> Attribution:
    """A hard conversation match of the order on post v1."""
    return Attribution(
        order_id=of.id,
        source=of.source,
        method="conversation",
        rule="conversation_hard",
        post=Post(id="v1"),
        ordered_at=of.ordered_at,
        attributed_at=AT,
        revenue=of.total,
        currency=of.currency,
    )


def test_amounts_counts_and_the_reported_map() -> None:
    """Given counter fields in USD and CAD, when read, then each currency is apart, codes in order, none added."""
    values = {"orders": D(3), "orders#USD": D(2), "orders#CAD": D(1), "revenue#USD": D("40.00"), "revenue#CAD": D("12.00")}
    assert money.amounts(values, "revenue") == {"USD": D("40.00"), "CAD": D("12.00")}
    assert money.counts(values, "orders") == {"USD": D(2), "CAD": D(1)}
    assert list(money.reported(values, "revenue", "orders").items()) == [("CAD", D("12.00")), ("USD", D("40.00"))]
    # a currency whose orders were all cancelled (count and amount back to 0) is not shown; a free order is, at 0
    assert money.reported({"orders#CAD": D(0), "revenue#CAD": D(0)}, "revenue", "orders") == {}
    assert money.reported({"orders": D(1), "orders#JPY": D(1), "revenue#JPY": D(0)}, "revenue", "orders") == {"JPY": D(0)}
    assert money.add({"USD": D(1)}, {"CAD": D(2), "USD": D(3)}) == {"CAD": D(2), "USD": D(4)}


def test_the_main_currency_has_the_most_orders_and_ties_go_by_code() -> None:
    """Given orders per currency, when currencies are ranked, then most orders first, ties by code, then the rest."""
    assert money.currency_order({"USD": D(3), "CAD": D(5)}, ["EUR"]) == ["CAD", "USD", "EUR"]
    assert money.currency_order({"USD": D(2), "CAD": D(2)}) == ["CAD", "USD"]
    assert money.main_currency({}) is None
    assert money.descending({"USD": D(5)}, ["CAD", "USD"]) == (D(0), D(-5))


def test_bare_fields_written_before_currencies_read_as_usd() -> None:
    """Given a counter holding bare `revenue` 47.00 over 2 orders and, since, 1 CAD order, when read, then the bare
    amount and the 2 orders without a per-currency count are USD's."""
    values = {"orders": D(3), "revenue": D("47.00"), "orders#CAD": D(1), "revenue#CAD": D("12.00")}
    assert money.reported(values, "revenue", "orders") == {"CAD": D("12.00"), "USD": D("47.00")}
    assert money.counts(values, "orders") == {"CAD": D(1), "USD": D(2)}


def test_an_order_adds_its_money_in_its_own_currency() -> None:
    """Given a CAD order attributed to post v1, when its contribution is computed, then every amount is in CAD fields,
    with a count in CAD beside each, and the plain counts are as before."""
    cad = order("CAD")
    counts = counters.order_contribution(cad, attribution(cad), ZONE).counts
    assert counts[POST] == {"orders": D(1), "orders#CAD": D(1), "revenue#CAD": D("30.00")}
    assert counts[TIKTOK] == {"orders": D(1), "orders#CAD": D(1), "net#CAD": D("30.00"), "total#CAD": D("30.00"), "units": D(1)}
    assert counts[CounterKey("product", "P-LIP", DAY)] == {"units": D(1), "sales#CAD": D("30.00")}
    assert not any(name in values for values in counts.values() for name in ("revenue", "net", "sales", "total"))


def test_an_order_whose_currency_changes_moves_its_money_from_one_currency_to_the_other() -> None:
    """Given an order counted in USD, when its next state says CAD, then the change takes the USD amounts and counts
    out and puts them in CAD; plain counts do not move; delivering the CAD state again writes nothing."""
    usd, cad = order("USD"), order("CAD", updated=5)
    first = tally_order(usd, attribution(usd), ReportState(), ZONE, None, (), WEEK)
    changed = tally_order(
        cad, attribution(cad), ReportState(contribution=first.contribution, customer=first.customer), ZONE, None, (), WEEK
    )
    assert changed.delta[POST] == {"orders#CAD": D(1), "orders#USD": D(-1), "revenue#CAD": D("30.00"), "revenue#USD": D("-30.00")}
    assert changed.delta[TIKTOK] == {
        "net#CAD": D("30.00"),
        "net#USD": D("-30.00"),
        "orders#CAD": D(1),
        "orders#USD": D(-1),
        "total#CAD": D("30.00"),
        "total#USD": D("-30.00"),
    }
    again = tally_order(
        cad, attribution(cad), ReportState(contribution=changed.contribution, customer=changed.customer), ZONE, None, (), WEEK
    )
    assert again.delta == {}


def test_a_contribution_stored_before_currencies_moves_to_the_orders_currency_when_the_order_changes() -> None:
    """Given an attribution whose stored contribution has bare fields (written before currencies), when its order is
    attributed again, then the bare amounts are taken out and put under the order's currency, counts unchanged."""
    cad = order("CAD")
    legacy = {POST: {"orders": D(1), "revenue": D("30.00")}}
    moved = tally_order(cad, attribution(cad), ReportState(contribution=legacy), ZONE, None, (), WEEK).delta[POST]
    assert moved == {"orders#CAD": D(1), "revenue": D("-30.00"), "revenue#CAD": D("30.00")}
    # the counter it lands on reads correctly afterwards: the legacy USD reading of the bare amount is gone
    stored = {"orders": D(1), "revenue": D("30.00")}
    after = {name: stored.get(name, D(0)) + moved.get(name, D(0)) for name in set(stored) | set(moved)}
    assert money.reported(after, "revenue", "orders") == {"CAD": D("30.00")}
