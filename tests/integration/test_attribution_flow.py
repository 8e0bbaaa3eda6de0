"""docs/attribution.md end to end: touchpoints and orders in through the HTTP API, the stream attributes, the team reads why."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.senders import (
    ad_click,
    attribution_of,
    evidence_of,
    get_order,
    journey,
    moment,
    order,
    send_orders,
    send_touchpoints,
    shop_link,
    team_call,
)

PRIORITY = ["coupon", "conversation_hard", "ad_click", "creator_link", "conversation_soft"]


def put_settings(api, **settings) -> None:
    response = team_call(api, "PUT", "acme", "settings", settings)
    assert response.status == 200, response.body


def review(api, order_id: str, decision: str):
    return team_call(api, "POST", "acme", f"orders/{order_id}/review", {"decision": decision})


# ------------------------------------------------------------------------------------- the explanation
def test_an_order_after_a_dm_is_explained_rule_by_rule(pipeline):
    """Given buyer u1 commented LINK on video v1, got a DM from the Glow flow and a shop link for SKU-1,
    when u1 orders SKU-1 an hour after the comment, then GET /orders/{id} says: conversation, from post v1,
    keyword LINK, flow Glow flow, 3600 s from comment to checkout, and why every other rule did not win, in priority order."""
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(hours=1)))

    doc = get_order(pipeline, "acme", "1001").json()
    attribution = doc["attribution"]
    assert attribution["method"] == "conversation"
    assert doc["counts_as_attributed"] is True
    assert attribution["post"]["id"] == "v1"
    assert attribution["keywords"] == ["LINK"]
    assert attribution["flow"]["name"] == "Glow flow"
    assert attribution["conversation_id"] == "conv-1"
    assert attribution["time_to_order_seconds"] == 3600
    assert set(attribution["touchpoint_ids"]) == {"c-u1", "s-u1"}
    assert [e["rule"] for e in attribution["evidence"]] == PRIORITY
    reasons = {e["rule"]: (e["matched"], e["reason"]) for e in attribution["evidence"]}
    assert reasons == {
        "coupon": (False, "no_coupon"),
        "conversation_hard": (True, "matched"),
        "ad_click": (False, "no_tracking_data"),
        "creator_link": (False, "no_tracking_data"),
        "conversation_soft": (False, "lower_priority"),
    }
    assert all(e["detail"] for e in attribution["evidence"])
    assert "store_url" not in doc  # not a TikTok Shop order


def test_an_order_without_touchpoints_is_organic_and_says_why(pipeline):
    send_orders(pipeline, "acme", order("1001", "u9", moment()))
    attribution = attribution_of(pipeline, "acme", "1001")
    assert attribution["method"] == "organic"
    assert doc_counts(pipeline, "1001") is False
    assert [e["rule"] for e in attribution["evidence"]] == PRIORITY
    assert not any(e["matched"] for e in attribution["evidence"])
    assert evidence_of(attribution)["conversation_hard"]["reason"] == "no_conversation"


def test_an_order_without_a_buyer_id_is_organic_with_no_user_id(pipeline):
    send_orders(pipeline, "acme", order("1001", None, moment()))
    assert evidence_of(attribution_of(pipeline, "acme", "1001"))["conversation_hard"]["reason"] == "no_user_id"


def doc_counts(api, order_id: str) -> bool:
    return bool(get_order(api, "acme", order_id).json()["counts_as_attributed"])


def test_a_shop_link_older_than_14_days_has_expired(pipeline):
    """Given the only shop link was sent 15 days before the order, then the order is organic: window_expired."""
    at = moment(days_ago=16)
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(days=15)))
    attribution = attribution_of(pipeline, "acme", "1001")
    assert attribution["method"] == "organic"
    assert evidence_of(attribution)["conversation_hard"]["reason"] == "window_expired"


def test_a_shop_link_14_days_before_is_still_inside_the_window(pipeline):
    """The window boundary is inclusive: exactly 14 days still counts."""
    at = moment(days_ago=15)
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(minutes=2) + timedelta(days=14)))
    assert attribution_of(pipeline, "acme", "1001")["method"] == "conversation"


# ------------------------------------------------------------------------------------- late touchpoints
def test_a_touchpoint_arriving_after_its_order_reattributes_it(pipeline):
    """Given u1's order arrived first and was organic (webhooks race), when the DM journey that preceded it
    arrives, then the order is re-attributed to the conversation."""
    at = moment()
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(hours=1)))
    assert attribution_of(pipeline, "acme", "1001")["method"] == "organic"

    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})

    attribution = attribution_of(pipeline, "acme", "1001")
    assert attribution["method"] == "conversation"
    assert attribution["post"]["id"] == "v1"
    assert attribution["time_to_order_seconds"] == 3600


def test_a_late_ad_click_reattributes_an_organic_order(pipeline):
    at = moment()
    send_orders(pipeline, "acme", order("1001", "u1", at))
    send_touchpoints(pipeline, "acme", ad_click("a1", "u1", at - timedelta(hours=3), "E.C.P.late"))
    attribution = attribution_of(pipeline, "acme", "1001")
    assert (attribution["method"], attribution["ttclid"]) == ("ad_click", "E.C.P.late")


def test_a_touchpoint_arriving_after_the_settle_period_does_not_reattribute(pipeline):
    """Given acme's settle period is 0 hours (so every received order is already settled), when a shop link
    that preceded an organic order arrives late, then the order stays organic."""
    put_settings(pipeline, settle_hours=0)
    at = moment()
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(hours=1)))
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    assert attribution_of(pipeline, "acme", "1001")["method"] == "organic"


def test_a_touchpoint_after_the_order_never_credits_it(pipeline):
    """Given u1's only shop link was sent five minutes after checkout, then the order is organic: touch_after_order."""
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at + timedelta(minutes=5))})
    send_orders(pipeline, "acme", order("1001", "u1", at))
    attribution = attribution_of(pipeline, "acme", "1001")
    assert attribution["method"] == "organic"
    assert evidence_of(attribution)["conversation_hard"]["reason"] == "touch_after_order"


# ------------------------------------------------------------------------------------- first order only
def test_a_conversation_credits_only_the_first_order(pipeline):
    """Given one shop link to u1, when u1 orders twice, then the first is conversation and the second organic
    (not_first_order); after a new shop link, the next order is credited again."""
    at = moment(days_ago=3)
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(hours=1)))
    send_orders(pipeline, "acme", order("1002", "u1", at + timedelta(hours=5)))

    assert attribution_of(pipeline, "acme", "1001")["method"] == "conversation"
    second = attribution_of(pipeline, "acme", "1002")
    assert second["method"] == "organic"
    assert evidence_of(second)["conversation_hard"]["reason"] == "not_first_order"

    send_touchpoints(pipeline, "acme", shop_link("s-new", "u1", at + timedelta(days=1), "conv-2"))
    send_orders(pipeline, "acme", order("1003", "u1", at + timedelta(days=1, hours=1)))
    third = attribution_of(pipeline, "acme", "1003")
    assert (third["method"], third["conversation_id"]) == ("conversation", "conv-2")


def test_the_earlier_order_takes_the_credit_even_when_it_arrives_second(pipeline):
    """Given the later order arrived first and took the conversation, when the earlier order arrives,
    then the earlier one is the conversation's first order and the later one becomes organic."""
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    send_orders(pipeline, "acme", order("later", "u1", at + timedelta(hours=5)))
    assert attribution_of(pipeline, "acme", "later")["method"] == "conversation"

    send_orders(pipeline, "acme", order("earlier", "u1", at + timedelta(hours=1)))

    assert attribution_of(pipeline, "acme", "earlier")["method"] == "conversation"
    later = attribution_of(pipeline, "acme", "later")
    assert later["method"] == "organic"
    assert evidence_of(later)["conversation_hard"]["reason"] == "not_first_order"


# ------------------------------------------------------------------------------------- coupons
def test_a_mapped_coupon_wins_at_once(pipeline):
    """Given MAYA15 is mapped to creator maya, when u1 (who also got a shop link) orders with maya15,
    then the order is attributed to the coupon and creator maya."""
    assert team_call(pipeline, "PUT", "acme", "coupons/MAYA15", {"creator": "maya", "link_id": "lnk-1"}).status == 200
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(hours=1), coupon_codes=["maya15"]))

    attribution = attribution_of(pipeline, "acme", "1001")
    assert (attribution["method"], attribution["coupon"], attribution["creator"], attribution["link_id"]) == (
        "coupon",
        "MAYA15",
        "maya",
        "lnk-1",
    )
    assert evidence_of(attribution)["conversation_hard"]["reason"] == "lower_priority"


def test_an_unmapped_coupon_says_so(pipeline):
    send_orders(pipeline, "acme", order("1001", "u1", moment(), coupon_codes=["SPRING10"]))
    attribution = attribution_of(pipeline, "acme", "1001")
    assert attribution["method"] == "organic"
    assert evidence_of(attribution)["coupon"]["reason"] == "coupon_not_mapped"


def test_a_coupon_mapped_in_another_tenant_does_not_count(pipeline):
    assert team_call(pipeline, "PUT", "globex", "coupons/MAYA15", {"creator": "maya"}).status == 200
    send_orders(pipeline, "acme", order("1001", "u1", moment(), coupon_codes=["MAYA15"]))
    assert attribution_of(pipeline, "acme", "1001")["method"] == "organic"


# ------------------------------------------------------------------------------------- soft matches
def soft_order(api, user: str, order_id: str, at=None) -> dict:
    """u got a shop link for SKU-1 and ordered SKU-9 two hours later: a soft match."""
    at = at or moment()
    send_touchpoints(api, "acme", {"touchpoints": journey(user, at)})
    send_orders(api, "acme", order(order_id, user, at + timedelta(hours=2), skus=("SKU-9",)))
    return attribution_of(api, "acme", order_id)


def test_a_soft_match_waits_for_review_and_counts_once_confirmed(pipeline):
    """Given a recent shop link without the ordered SKU, then the order is conversation_soft, pending, not yet
    counted, and listed for review; when a person confirms it, it counts as attributed."""
    attribution = soft_order(pipeline, "u1", "1001")
    assert (attribution["method"], attribution["review_status"]) == ("conversation_soft", "pending")
    assert evidence_of(attribution)["conversation_hard"]["reason"] == "no_sku_overlap"
    assert doc_counts(pipeline, "1001") is False
    pending = team_call(pipeline, "GET", "acme", "reviews", query="status=pending").json()
    assert [i["order_id"] for i in pending["items"]] == ["1001"]

    confirmed = review(pipeline, "1001", "confirm")
    assert confirmed.status == 200, confirmed.body
    assert confirmed.json()["review_status"] == "confirmed"
    doc = get_order(pipeline, "acme", "1001").json()
    assert (doc["attribution"]["method"], doc["attribution"]["review_status"]) == ("conversation_soft", "confirmed")
    assert doc["counts_as_attributed"] is True
    assert team_call(pipeline, "GET", "acme", "reviews").json()["items"] == []
    listed = team_call(pipeline, "GET", "acme", "reviews", query="status=confirmed").json()["items"]
    assert [i["order_id"] for i in listed] == ["1001"]


def test_a_rejected_soft_match_becomes_organic(pipeline):
    soft_order(pipeline, "u2", "2002")
    rejected = review(pipeline, "2002", "reject")
    assert rejected.status == 200, rejected.body
    doc = get_order(pipeline, "acme", "2002").json()
    assert (doc["attribution"]["method"], doc["attribution"]["review_status"]) == ("organic", "rejected")
    assert doc["counts_as_attributed"] is False
    listed = team_call(pipeline, "GET", "acme", "reviews", query="status=rejected").json()
    assert [i["order_id"] for i in listed["items"]] == ["2002"]
    assert team_call(pipeline, "GET", "acme", "reviews", query="status=pending").json()["items"] == []


def test_a_review_decision_survives_an_order_update(pipeline):
    """A confirmed soft match stays confirmed when the store later updates the order (re-attribution)."""
    at = moment()
    soft_order(pipeline, "u1", "1001", at)
    review(pipeline, "1001", "confirm")
    send_orders(
        pipeline, "acme", order("1001", "u1", at + timedelta(hours=2), skus=("SKU-9",), status="shipped", updated_at=at + timedelta(days=1))
    )
    doc = get_order(pipeline, "acme", "1001").json()
    assert doc["order"]["status"] == "shipped"
    assert doc["attribution"]["review_status"] == "confirmed"


def test_reviewing_an_order_that_is_not_a_soft_match_is_409(pipeline):
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(hours=1)))
    send_orders(pipeline, "acme", order("1002", "u3", at))
    for order_id in ("1001", "1002"):
        response = review(pipeline, order_id, "confirm")
        assert response.status == 409, response.body
        assert response.json()["error"]["code"] == "not_a_soft_match"
    assert attribution_of(pipeline, "acme", "1001")["method"] == "conversation"


def test_changing_a_review_decision_is_409_and_repeating_it_is_harmless(pipeline):
    soft_order(pipeline, "u1", "1001")
    assert review(pipeline, "1001", "confirm").status == 200
    assert review(pipeline, "1001", "confirm").status == 200
    changed = review(pipeline, "1001", "reject")
    assert changed.status == 409
    assert changed.json()["error"]["code"] == "already_reviewed"


def test_a_review_decision_must_be_confirm_or_reject(pipeline):
    soft_order(pipeline, "u1", "1001")
    response = review(pipeline, "1001", "maybe")
    assert response.status == 422, response.body
    assert response.json()["error"]["field"] == "decision"
    assert attribution_of(pipeline, "acme", "1001")["review_status"] == "pending"


def test_reviewing_an_unknown_order_is_404(pipeline):
    response = review(pipeline, "nope", "confirm")
    assert response.status == 404
    assert response.json()["error"]["code"] == "order_not_found"


# ------------------------------------------------------------------------------------- priority
def test_putting_ad_click_first_changes_the_method_of_the_next_order(pipeline):
    """Given u1 has a DM shop link for SKU-1 AND an ad click, the default priority credits the conversation;
    when acme puts ad_click first, then the next such order is credited to the ad click."""
    at = moment()
    for user, order_id in (("u1", "1001"), ("u2", "1002")):
        send_touchpoints(pipeline, "acme", {"touchpoints": [*journey(user, at), ad_click(f"a-{user}", user, at, f"E.C.P.{user}")]})
        if user == "u2":
            put_settings(pipeline, priority=["ad_click", "coupon", "conversation_hard", "creator_link", "conversation_soft"])
        send_orders(pipeline, "acme", order(order_id, user, at + timedelta(hours=1)))

    assert attribution_of(pipeline, "acme", "1001")["method"] == "conversation"
    second = attribution_of(pipeline, "acme", "1002")
    assert second["method"] == "ad_click"
    assert second["evidence"][0]["rule"] == "ad_click"
    assert evidence_of(second)["conversation_hard"]["reason"] == "lower_priority"
