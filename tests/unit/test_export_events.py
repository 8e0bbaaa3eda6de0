"""Which conversions become events, with which value, and why the others are skipped (docs/attribution.md#conversion-events)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.core.conversions import Conversion, ConversionTouch, conversion_for
from ordertrail.core.models import AdClickTouchpoint, Attribution, Buyer, Client, Landing, LineItem, Order
from ordertrail.core.tenant_settings import ExportSettings
from ordertrail.export.events import ExportPlan, PlanMemory, plan_events

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ORDER_AT = NOW - timedelta(days=2)


def click(ttclid: str, days_before: float, touch_id: str | None = None, base: datetime = ORDER_AT) -> ConversionTouch:
    at = base - timedelta(days=days_before)
    return ConversionTouch(id=touch_id or f"click-{ttclid}", kind="ad_click", at=at, arrival=at, ttclid=ttclid, ip="1.2.3.4")


def other(kind: str, days_before: float) -> ConversionTouch:
    at = ORDER_AT - timedelta(days=days_before)
    return ConversionTouch(id=f"{kind}-{days_before}", kind=kind, at=at, arrival=at)


def conversion(
    order_id: str, touches: list[ConversionTouch], *, at: datetime = ORDER_AT, user: str = "tt-1", counts: bool = True, value: str = "40.00"
) -> Conversion:
    return Conversion(
        order_id=order_id,
        source="tiktok_shop",
        ordered_at=at,
        currency="USD",
        value=Decimal(value),
        method="ad_click",
        counts=counts,
        user_id=user,
        email="Buyer@Example.com",
        touches=touches,
        contents=[{"content_id": "P1", "name": "Lip oil", "price": Decimal("20.00"), "quantity": 2}],
    )


def test_participation_sends_the_full_value_for_each_ttclid_with_a_deterministic_id() -> None:
    """Given an order with an ad click and a comment in the 7-day lookback, then one event carries the full 40.00."""
    plan = plan_events([conversion("o1", [click("T1", 1), other("comment", 2)])], ExportSettings(), NOW, frozenset(), {})
    (event,) = plan.outgoing
    assert event.event_id == f"T1_{ORDER_AT.date().isoformat()}"
    assert event.value == Decimal("40.00")
    assert event.event["properties"]["value"] == 40
    assert event.event["user"]["ttclid"] == "T1"
    assert event.event["event_time"] == int(ORDER_AT.timestamp())


def test_linear_credits_the_ad_click_its_share_only() -> None:
    """Given linear credit over an ad click and a comment, then the event's value is half the order (20.00)."""
    plan = plan_events([conversion("o1", [click("T1", 1), other("comment", 2)])], ExportSettings(model="linear"), NOW, frozenset(), {})
    assert [e.value for e in plan.outgoing] == [Decimal("20.00")]


def test_a_click_outside_the_lookback_gives_no_ttclid() -> None:
    plan = plan_events([conversion("o1", [click("T1", 8)])], ExportSettings(), NOW, frozenset(), {})
    assert [(s.conversion.order_id, s.reason) for s in plan.skipped] == [("o1", "no_ttclid")]


def test_too_old_pending_and_not_first_are_skipped_with_their_reason() -> None:
    eight_days_ago = NOW - timedelta(days=8)
    old = conversion("old", [click("T0", 1, "c0", base=eight_days_ago)], at=eight_days_ago, user="tt-9")
    pending = conversion("soft", [click("T2", 1, "c2")], user="tt-2", counts=False)
    first = conversion("first", [click("T3", 1, "c3")], user="tt-3", at=ORDER_AT - timedelta(hours=1))
    second = conversion("second", [click("T4", 1, "c4")], user="tt-3")
    plan = plan_events([second, pending, old, first], ExportSettings(), NOW, frozenset(), {})
    assert sorted((s.conversion.order_id, s.reason) for s in plan.skipped) == [
        ("old", "too_old"),
        ("second", "not_first_conversion"),
        ("soft", "pending_review"),
    ]
    assert [e.conversion.order_id for e in plan.outgoing] == ["first"]
    assert set(plan.first_claims) == {"tt-3"}


def test_a_user_whose_first_conversion_was_recorded_earlier_is_skipped() -> None:
    plan = plan_events([conversion("o2", [click("T1", 1)])], ExportSettings(), NOW, frozenset(), {"tt-1": "tiktok_shop#o1"})
    assert [s.reason for s in plan.skipped] == ["not_first_conversion"]
    plan = plan_events(
        [conversion("o2", [click("T1", 1)])], ExportSettings(only_first_conversion=False), NOW, frozenset(), {"tt-1": "tiktok_shop#o1"}
    )
    assert len(plan.outgoing) == 1


def test_an_event_tiktok_already_accepted_is_never_sent_again() -> None:
    event_id = f"T1_{ORDER_AT.date().isoformat()}"
    plan = plan_events([conversion("o1", [click("T1", 1)])], ExportSettings(), NOW, frozenset({event_id}), {})
    assert plan.outgoing == []
    assert [(s.reason, s.event_id) for s in plan.skipped] == [("already_accepted", event_id)]


def test_two_orders_with_one_ttclid_on_one_day_send_one_event() -> None:
    """TikTok de-duplicates on the event id (ttclid + date), so the second is recorded as a duplicate, not sent."""
    a = conversion("a", [click("T1", 1)], user="u-a", at=ORDER_AT - timedelta(hours=2))
    b = conversion("b", [click("T1", 1)], user="u-b")
    plan = plan_events([a, b], ExportSettings(), NOW, frozenset(), {})
    assert [e.conversion.order_id for e in plan.outgoing] == ["a"]
    assert [(s.conversion.order_id, s.reason) for s in plan.skipped] == [("b", "duplicate_event_id")]


def test_identifiers_are_hashed_and_ip_stays_plain() -> None:
    (event,) = plan_events([conversion("o1", [click("T1", 1)])], ExportSettings(), NOW, frozenset(), {}).outgoing
    user = event.event["user"]
    assert user["email"] == [hashlib.sha256(b"buyer@example.com").hexdigest()]
    assert user["external_id"] == [hashlib.sha256(b"tt-1").hexdigest()]
    assert user["ip"] == "1.2.3.4"


# ------------------------------------------------------------------------------------ a chunk planned page by page
def decided(plans: list[ExportPlan]) -> tuple[list[tuple[str, str, Decimal]], list[tuple[str, str, str]], dict[str, str]]:
    """What a user of the export sees of some plans: events sent, skips with their reason, and first claims."""
    sent = [(o.conversion.order_id, o.event_id, o.value) for p in plans for o in p.outgoing]
    skipped = [(s.conversion.order_id, s.reason, s.event_id) for p in plans for s in p.skipped]
    claims = {user: c.order_id for p in plans for user, c in p.first_claims.items()}
    return sent, skipped, claims


journey = st.tuples(
    st.sampled_from(["u1", "u2", "u3"]),  # few buyers: repeat conversions
    st.lists(st.sampled_from(["T1", "T2", "T3", "T4"]), min_size=0, max_size=2, unique=True),  # few ttclids: shared event ids
    st.booleans(),  # counts (a soft match does not)
    st.integers(min_value=0, max_value=9 * 24),  # hours before ORDER_AT: some beyond the 7-day maximum event age
)


@settings(max_examples=150, deadline=None)
@given(journeys=st.lists(journey, min_size=1, max_size=12), cuts=st.lists(st.integers(min_value=0, max_value=12), max_size=4))
def test_a_chunk_planned_page_by_page_decides_exactly_as_planned_at_once(journeys: list, cuts: list[int]) -> None:
    """Given random conversions (repeat buyers, shared ttclids, soft matches, too-old ones) cut into pages in time order,
    when each page is planned with the same memory, then the events, skips and first claims equal one plan of them all."""
    conversions = sorted(
        (
            conversion(
                f"o{i}",
                [click(t, 0.5, f"c{i}-{t}", base=ORDER_AT - timedelta(hours=h)) for t in ttclids],
                at=ORDER_AT - timedelta(hours=h, seconds=i),
                user=user,
                counts=counts,
            )
            for i, (user, ttclids, counts, h) in enumerate(journeys)
        ),
        key=lambda c: (c.ordered_at, c.source, c.order_id),
    )
    bounds = [0, *sorted(min(c, len(conversions)) for c in cuts), len(conversions)]
    pages = [conversions[a:b] for a, b in itertools.pairwise(bounds)]
    memory = PlanMemory()
    paged = [plan_events(page, ExportSettings(), NOW, frozenset(), {}, memory) for page in pages]
    assert decided(paged) == decided([plan_events(conversions, ExportSettings(), NOW, frozenset(), {})])


# ------------------------------------------------------------------------------------------------ from the order itself
def order_with(**overrides: object) -> Order:
    """A Shopify order with a ttclid on its landing, placed at ORDER_AT."""
    fields: dict[str, object] = {
        "id": "5001",
        "source": "shopify",
        "status": "paid",
        "created_at": ORDER_AT,
        "updated_at": ORDER_AT,
        "buyer": Buyer(customer_id="7012345678901", email="jane@example.com"),
        "line_items": [
            LineItem(
                sku="LIPOIL-ROSE", variant_id="44123", product_id="8123", name="Glow Lip Oil", quantity=2, unit_price=Decimal("12.00")
            ),
            LineItem(variant_id="44124", product_id="8124", name="Mint Balm", quantity=1, unit_price=Decimal("8.50")),
            LineItem(name="Gift wrap", quantity=1, unit_price=Decimal("0")),
        ],
        "subtotal": Decimal("32.50"),
        "total": Decimal("32.50"),
        "landing": Landing(ttclid="E.C.P.landing", url="https://glowhouse.myshopify.com/products/glow?ttclid=E.C.P.landing"),
        "client": Client(ip="203.0.113.42", user_agent="Mozilla/5.0 (iPhone)"),
        **overrides,
    }
    return Order.model_validate(fields)


def event_for(order: Order, touchpoints: list[AdClickTouchpoint] | None = None) -> dict[str, object]:
    """The one event the export sends for an ad-attributed order."""
    attribution = Attribution(
        order_id=order.id, source=order.source, method="ad_click", rule="ad_click", ordered_at=ORDER_AT, attributed_at=ORDER_AT
    )
    converted = conversion_for(order, attribution, touchpoints or [], None)
    assert converted is not None
    (outgoing,) = plan_events([converted], ExportSettings(), NOW, frozenset(), {}).outgoing
    return outgoing.event


def test_a_ttclid_on_the_order_carries_the_checkout_browser_landing_page_skus_and_customer() -> None:
    """Given a Shopify order with a ttclid on its landing, client_details, SKUs (one line with only a variant, one with no
    id) and a customer without a TikTok user id, when exported, then the event has the checkout ip and user agent, the
    full landing URL, one content per identified line by SKU (else variant) with name, price and quantity, and the
    customer's hashed store id as external_id."""
    event = event_for(order_with())

    assert event["user"] == {
        "ttclid": "E.C.P.landing",
        "email": [hashlib.sha256(b"jane@example.com").hexdigest()],
        "external_id": [hashlib.sha256(b"7012345678901").hexdigest()],
        "ip": "203.0.113.42",
        "user_agent": "Mozilla/5.0 (iPhone)",
    }
    assert event["page"] == {"url": "https://glowhouse.myshopify.com/products/glow?ttclid=E.C.P.landing"}
    properties = event["properties"]
    assert isinstance(properties, dict)
    assert properties["contents"] == [
        {"content_id": "LIPOIL-ROSE", "content_name": "Glow Lip Oil", "price": 12, "quantity": 2},
        {"content_id": "44124", "content_name": "Mint Balm", "price": 8.5, "quantity": 1},
    ]


def test_a_tiktok_user_id_wins_over_the_store_customer_id() -> None:
    """Given a buyer with both a TikTok user id and a store customer id, then external_id is the TikTok user id, hashed."""
    event = event_for(order_with(buyer=Buyer(user_id="tt-7", customer_id="7012345678901")))
    user = event["user"]
    assert isinstance(user, dict) and user["external_id"] == [hashlib.sha256(b"tt-7").hexdigest()]


def test_a_click_without_browser_details_falls_back_to_the_orders_and_keeps_its_own_page() -> None:
    """Given the order's ttclid was seen as an ad click with a landing URL but no ip or user agent, then the event takes
    the page from the click and the ip and user agent from the order's checkout."""
    clicked = AdClickTouchpoint(
        kind="ad_click",
        id="clk-1",
        occurred_at=ORDER_AT - timedelta(hours=1),
        ttclid="E.C.P.landing",
        url="https://glow.example/lp?ttclid=E.C.P.landing",
    )
    event = event_for(order_with(), [clicked])
    user = event["user"]
    assert isinstance(user, dict) and (user["ip"], user["user_agent"]) == ("203.0.113.42", "Mozilla/5.0 (iPhone)")
    assert event["page"] == {"url": "https://glow.example/lp?ttclid=E.C.P.landing"}


def test_a_landing_that_is_only_a_path_sends_no_page() -> None:
    """Given a landing URL that is a bare path (no shop domain was known), then the event has no `page` at all."""
    event = event_for(order_with(landing=Landing(ttclid="E.C.P.landing", url="/products/glow?ttclid=E.C.P.landing")))
    assert "page" not in event
