"""No key and no item can outgrow DynamoDB's limits, whatever a request carries within the bounds of docs/api.md#limits: partition keys
at most 2,048 bytes, sort keys at most 1,024, items at most 400 KB (DynamoDB counts UTF-8 bytes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ordertrail.core import refs
from ordertrail.core.conversions import conversion_for
from ordertrail.core.models import (
    MAX_KEYWORD_LENGTH,
    MAX_LINE_ITEMS,
    MAX_ORDER_BYTES,
    AdClickTouchpoint,
    Attribution,
    Buyer,
    Landing,
    LineItem,
    Order,
    RuleOutcome,
    check_storable,
)
from ordertrail.storage import keys
from ordertrail.storage.attributions import conversion_item

PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024
ITEM_BYTES = 400 * 1024
AT = datetime(2026, 11, 30, 18, 5, tzinfo=UTC)
TENANT = "t" * 40  # the longest tenant id ([a-z0-9-]{1,40})
# The worst text of each bound: 4-byte characters (UTF-8), or `#`, which key escaping turns into `%23`.
WIDE = "😀"
ESCAPED = "#"


def worst(length: int, ascii_only: bool = False) -> list[str]:
    """The longest values of a field in bytes once escaped into a key: `#` (3 bytes each in a key) and, unless the field is
    printable ASCII only, 4-byte characters."""
    return [ESCAPED * length] if ascii_only else [ESCAPED * length, WIDE * length]


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def key_cases() -> list[tuple[str, dict[str, str]]]:
    """Every key format of keys.py, built from the longest values the models accept."""
    cases: list[tuple[str, dict[str, str]]] = []
    for ident in worst(200):  # ids, buyers, SKUs, posts, flows, creators: at most 200 characters
        cases += [
            ("buyer touchpoint", keys.buyer_touchpoint_key(TENANT, ident, AT, ident)),
            ("touchpoint", keys.touchpoint_key(TENANT, ident)),
            ("comment waiters", keys.comment_waiters_key(TENANT, ident)),
            ("conversation", keys.conversation_key(TENANT, ident)),
            ("claim", keys.claim_key(TENANT, ident)),
            ("order", keys.order_key(TENANT, "tiktok_shop", ident)),
            ("attribution", keys.attribution_key(TENANT, "tiktok_shop", ident)),
            ("buyer orders", keys.buyer_orders_gsi(TENANT, ident, AT, "tiktok_shop", ident)),
            ("order day", keys.order_day_gsi(TENANT, AT, "tiktok_shop", ident)),
            # The longest IANA zone name there is.
            ("touchpoint day", keys.touchpoint_day_gsi(TENANT, AT, ident, "America/Argentina/ComodRivadavia")),
            ("review", keys.review_gsi(TENANT, "confirmed", AT, "tiktok_shop", ident)),
            ("conversion", keys.conversion_key(TENANT, AT, "tiktok_shop", ident)),
            ("counter", keys.counter_key(TENANT, "post", "2026-11-30", ident)),
            ("customer", keys.customer_key(TENANT, ident)),
            ("customers", keys.customers_gsi(TENANT, AT, ident)),
            ("flow step", keys.flow_step_marker_key(TENANT, ident, ident, 1000)),
            ("first conversion", keys.first_conversion_key(TENANT, ident)),
        ]
    for code in worst(100):  # coupon codes
        cases += [("coupon", keys.coupon_key(TENANT, code)), ("coupons", keys.coupons_gsi(TENANT, code))]
    for keyword in worst(MAX_KEYWORD_LENGTH):
        cases.append(("keyword counter", keys.counter_key(TENANT, "keyword", "ALL", keyword)))
    for email in worst(320):  # the first-conversion key of a buyer known by email only
        cases.append(("first conversion by email", keys.first_conversion_key(TENANT, f"email:{email}")))
    for token in worst(500, ascii_only=True):  # ttclids and cart tokens are printable ASCII
        event = f"{token}_2026-11-30"
        cases += [
            ("click", keys.click_key(TENANT, token)),
            ("token click", keys.creator_token_key(TENANT, token)),
            ("event ledger", keys.event_ledger_key(TENANT, event)),
        ]
        for order_id in worst(200):
            cases.append(("run results", keys.run_results_key(TENANT, "r" * 80, 12, event, refs.order_ref("tiktok_shop", order_id))))
    return cases


@pytest.mark.parametrize(("name", "key"), key_cases(), ids=lambda value: value if isinstance(value, str) else "")
def test_every_key_fits_dynamodb_limits_with_the_longest_values_allowed(name: str, key: dict[str, str]) -> None:
    """Given the longest values a request may carry (4-byte characters, or characters the key escaping triples), when they
    make a key, then its partition parts are at most 2,048 bytes and its sort parts at most 1,024."""
    for attribute in ("PK", "GSI1PK", "GSI2PK"):
        if attribute in key:
            assert size(key[attribute]) <= PARTITION_KEY_BYTES, (name, attribute, size(key[attribute]))
    for attribute in ("SK", "GSI1SK", "GSI2SK"):
        if attribute in key:
            assert size(key[attribute]) <= SORT_KEY_BYTES, (name, attribute, size(key[attribute]))


def largest_order() -> Order:
    """An order with every list full and every text at its longest, in 4-byte characters."""
    line = LineItem(
        sku=WIDE * 200, variant_id=WIDE * 200, product_id=WIDE * 200, name=WIDE * 500, quantity=100_000, unit_price=Decimal("9" * 12)
    )
    return Order(
        id=WIDE * 200,
        source="shopify",
        status="paid",
        created_at=AT,
        updated_at=AT,
        buyer=Buyer(user_id="u" * 200, customer_id=WIDE * 200, email=WIDE * 320, phone="1" * 64, name=WIDE * 200),
        line_items=[line] * MAX_LINE_ITEMS,
        coupon_codes=[f"{n:02d}" + WIDE * 98 for n in range(50)],
        landing=Landing(url="https://x.example/" + "u" * 3900, ttclid="E" * 500, creator=WIDE * 200, link_id=WIDE * 200, token="T" * 500),
    )


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size, near enough: attribute names plus values as UTF-8 (numbers as their text)."""
    return sum(size(name) + (size(value) if isinstance(value, str) else len(str(value))) for name, value in item.items())


def test_an_order_too_large_for_one_item_is_refused_and_one_just_under_fits() -> None:
    """Given an order with 250 lines and every text at its longest in 4-byte characters (over 1 MB stored), then it is
    refused before it is stored; the largest order that is accepted is under DynamoDB's 400 KB with room to spare."""
    with pytest.raises(ValueError, match="at most 300,000 fit"):
        check_storable(largest_order())
    fitting = largest_order()
    while True:
        try:
            check_storable(fitting)
            break
        except ValueError:
            fitting.line_items = fitting.line_items[:-1]
    assert 0 < len(fitting.line_items) < MAX_LINE_ITEMS
    assert size(fitting.model_dump_json(exclude_none=True)) <= MAX_ORDER_BYTES < ITEM_BYTES * 0.75


def test_a_conversion_of_a_buyer_with_hundreds_of_long_clicks_stays_under_400_kb() -> None:
    """Given the largest order and a buyer with 300 ad clicks whose URLs and user agents are as long as allowed, when its
    conversion is built, then the item keeps at most 100 touches (browser details on the last 10) and is under 400 KB."""
    order = largest_order()
    clicks = [
        AdClickTouchpoint(
            kind="ad_click",
            id=f"{n:03d}" + WIDE * 197,
            occurred_at=AT - timedelta(minutes=n),
            ttclid="E" * 499 + str(n % 10),
            url="https://x.example/" + "u" * 3980,
            ip="2001:db8::1",
            user_agent="a" * 1000,
        )
        for n in range(300)
    ]
    attribution = Attribution(order_id=order.id, source=order.source, method="ad_click", ordered_at=AT, attributed_at=AT)
    conversion = conversion_for(order, attribution, clicks, None)
    assert conversion is not None
    item = conversion_item(TENANT, conversion)
    assert len(conversion.touches) == 100 and sum(1 for t in conversion.touches if t.url) == 10
    assert len(conversion.contents) == 50
    assert item_bytes(item) < ITEM_BYTES, item_bytes(item)


def test_evidence_names_at_most_20_touchpoints_per_rule() -> None:
    """Given a rule that looked at 1,000 shop links, then its evidence keeps the 20 most recent (the attribution item
    stays small whatever a buyer did)."""
    ids = [str(n) for n in range(1000)]
    outcome = RuleOutcome(rule="conversation_hard", matched=False, reason="no_sku_overlap", detail="d", touchpoint_ids=ids)
    assert outcome.touchpoint_ids == [str(n) for n in range(980, 1000)]
    assert json.loads(outcome.model_dump_json())["touchpoint_ids"][0] == "980"
