"""Every key format of the single table, one test per access pattern, and docs/data-model.md's table rendered from code."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

from ordertrail.storage import keys
from ordertrail_local.template import repo_root

AT = datetime(2026, 11, 20, 15, 4, 5, 123456, tzinfo=UTC)


def test_store_a_touchpoint_once() -> None:
    assert keys.touchpoint_key("acme", "c-1") == {"PK": "T#acme#TP#c-1", "SK": "TP"}


def test_buyer_touchpoints_in_a_window_sort_by_time() -> None:
    key = keys.buyer_touchpoint_key("acme", "tt-9", AT, "c-1")
    assert key == {"PK": "T#acme#B#tt-9", "SK": "TP#2026-11-20T15:04:05.123456Z#c-1"}
    low, high = keys.buyer_touchpoint_range(AT - timedelta(days=14), AT)
    assert low <= key["SK"] <= high, "a touch at exactly the order time is inside the inclusive range"
    earlier = keys.buyer_touchpoint_key("acme", "tt-9", AT - timedelta(seconds=1), "z")["SK"]
    assert earlier < key["SK"], "key order is time order"


def test_times_in_other_offsets_are_keyed_in_utc() -> None:
    local = AT.astimezone(timezone(timedelta(hours=-8)))
    assert keys.buyer_touchpoint_key("acme", "b", local, "x") == keys.buyer_touchpoint_key("acme", "b", AT, "x")


def test_ad_click_by_ttclid() -> None:
    assert keys.click_key("acme", "E.C.P.x") == {"PK": "T#acme#CLK#E.C.P.x", "SK": "CLICK"}


def test_creator_click_by_cart_token() -> None:
    assert keys.creator_token_key("acme", "tok-1") == {"PK": "T#acme#TOK#tok-1", "SK": "CREATOR_CLICK"}


def test_conversation_context() -> None:
    assert keys.conversation_key("acme", "conv-1") == {"PK": "T#acme#CONV#conv-1", "SK": "CONV"}


def test_shop_link_claim() -> None:
    assert keys.claim_key("acme", "sl-1") == {"PK": "T#acme#CLAIM#sl-1", "SK": "CLAIM"}


def test_order_and_its_attribution_share_a_partition() -> None:
    assert keys.order_key("acme", "tiktok_shop", "5766") == {"PK": "T#acme#O#tiktok_shop#5766", "SK": "ORDER"}
    assert keys.attribution_key("acme", "tiktok_shop", "5766") == {"PK": "T#acme#O#tiktok_shop#5766", "SK": "ATTR"}


def test_buyer_orders_in_a_window() -> None:
    gsi = keys.buyer_orders_gsi("acme", "tt-9", AT, "shopify", "1001")
    assert gsi == {"GSI1PK": "T#acme#B#tt-9#ORDERS", "GSI1SK": "O#2026-11-20T15:04:05.123456Z#shopify#1001"}
    pk, low, high = keys.buyer_orders_range("acme", "tt-9", AT, AT)
    assert pk == gsi["GSI1PK"] and low <= gsi["GSI1SK"] <= high


def test_soft_matches_by_review_status() -> None:
    assert keys.review_gsi("acme", "pending", AT, "other", "7") == {
        "GSI1PK": "T#acme#REVIEW#pending",
        "GSI1SK": "2026-11-20T15:04:05.123456Z#other#7",
    }
    assert keys.review_pk("acme", "pending") == "T#acme#REVIEW#pending"


def test_coupon_mapping_by_code_is_case_insensitive() -> None:
    assert keys.coupon_key("acme", "maya15") == {"PK": "T#acme#COUPON#MAYA15", "SK": "COUPON"}
    assert keys.coupons_gsi("acme", "maya15") == {"GSI1PK": "T#acme#COUPONS", "GSI1SK": "MAYA15"}


def test_tenant_settings() -> None:
    assert keys.settings_key("acme") == {"PK": "T#acme#SETTINGS", "SK": "SETTINGS"}


def test_tenants_with_the_daily_export_on() -> None:
    assert keys.exporting_tenants_gsi("acme") == {"GSI1PK": "EXPORT#ENABLED", "GSI1SK": "acme"}


def test_conversions_are_bucketed_by_utc_day_and_sorted_by_time() -> None:
    late_evening_pacific = datetime(2026, 11, 20, 23, 30, tzinfo=timezone(timedelta(hours=-8)))
    key = keys.conversion_key("acme", late_evening_pacific, "tiktok_shop", "5766")
    assert key == {"PK": "T#acme#CONVERSIONS#2026-11-21", "SK": "2026-11-21T07:30:00.000000Z#tiktok_shop#5766"}


def test_export_watermark() -> None:
    assert keys.watermark_key("acme") == {"PK": "T#acme#EXPORT", "SK": "WATERMARK"}


def test_the_export_lease_sits_beside_the_watermark() -> None:
    """Given a tenant, when its export lease is keyed, then it is one item per tenant in the watermark's partition."""
    assert keys.export_lease_key("acme") == {"PK": "T#acme#EXPORT", "SK": "LEASE"}
    assert keys.export_lease_key("acme")["PK"] == keys.watermark_key("acme")["PK"]


def test_an_export_run_holds_its_chunks_and_event_results() -> None:
    assert keys.run_key("acme", "r1") == {"PK": "T#acme#EXPORT#RUN#r1", "SK": "RUN"}
    assert keys.chunk_key("acme", "r1", 3) == {"PK": "T#acme#EXPORT#RUN#r1", "SK": "CHUNK#0003"}
    digest = hashlib.sha256(b"T1_2026-11-20\ntiktok_shop#5766").hexdigest()[:32]
    assert keys.run_results_key("acme", "r1", 3, "T1_2026-11-20", "tiktok_shop#5766") == {
        "PK": "T#acme#EXPORT#RUN#r1",
        "SK": f"RESULTS#0003#{digest}",
    }


def test_latest_outcome_of_an_event_id() -> None:
    assert keys.event_ledger_key("acme", "T1_2026-11-20") == {"PK": "T#acme#EXPORT#EVENT#T1_2026-11-20", "SK": "EVENT"}


def test_a_users_first_conversion() -> None:
    assert keys.first_conversion_key("acme", "tt-9") == {"PK": "T#acme#EXPORT#USER#tt-9", "SK": "FIRST"}


def test_an_id_containing_hash_cannot_forge_another_key() -> None:
    """Given a buyer id crafted to look like another key, when keyed, then `#` is escaped and stays inside its part."""
    forged = keys.buyer_touchpoint_key("acme", "x#TP#2020", AT, "a#b")
    assert forged["PK"] == "T#acme#B#x%23TP%232020"
    assert forged["SK"].endswith("#a%23b")


def test_every_access_pattern_is_documented_in_the_data_model() -> None:
    """docs/data-model.md's access-pattern table is exactly the one rendered from keys.ACCESS_PATTERNS."""
    readme = (repo_root() / "docs" / "data-model.md").read_text()
    section = readme.split("<!-- access-patterns:start -->\n", 1)[1].split("<!-- access-patterns:end -->", 1)[0]
    assert section.strip() == keys.access_pattern_table()
    assert len(keys.ACCESS_PATTERNS) == 41
