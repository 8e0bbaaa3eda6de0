"""Net receipts, as the insights count them: goods + tax + customer-paid shipping − coupons and credits."""

from __future__ import annotations

from decimal import Decimal

from ordertrail.core.models import Order
from ordertrail.tally.counters import counts_in_reports, net_receipts


def api_md_order(**changes: object) -> Order:
    """The example order of docs/api.md#order (subtotal 24.00 before a 3.00 discount, tax 1.98, shipping 4.99, total 27.97)."""
    return Order.model_validate(
        {
            "id": "1001",
            "source": "tiktok_shop",
            "status": "paid",
            "created_at": "2026-11-02T10:00:00Z",
            "updated_at": "2026-11-02T10:00:00Z",
            "subtotal": "24.00",
            "tax": "1.98",
            "shipping": "4.99",
            "discounts": "3.00",
            "credits": "0.00",
            "total": "27.97",
            **changes,
        }
    )


def test_api_md_example_nets_to_its_total() -> None:
    """Given docs/api.md#order's example, when its net receipts are computed, then 24.00 + 1.98 + 4.99 − 3.00 = 27.97, its total."""
    assert net_receipts(api_md_order()) == Decimal("27.97")


def test_store_credit_comes_off_too() -> None:
    """Given 5.00 paid with store credit, then net receipts are 22.97."""
    assert net_receipts(api_md_order(credits="5.00")) == Decimal("22.97")


def test_cancelled_orders_and_connector_copies_never_count() -> None:
    """Given a cancelled order and a Shopify connector copy of a TikTok order, then neither enters the figures."""
    assert counts_in_reports(api_md_order())
    assert not counts_in_reports(api_md_order(status="CANCEL"))
    assert not counts_in_reports(api_md_order(source="shopify", connector_copy_of="576653688135258178"))
