"""docs/attribution.md#rules, rule by rule, against the pure engine (ordertrail.rules).

Each test reads given / when / then. Unless a test says otherwise: the order is a TikTok Shop order by
buyer-1 for SKU-1 at ORDER_AT, the tenant has the default settings (14-day conversation window, 7-day click
and creator windows, priority coupon > conversation_hard > ad_click > creator_link > conversation_soft).
"""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from pydantic import ValidationError

from ordertrail.core.models import Conversation, Post
from ordertrail.core.rules import review
from ordertrail.core.tenant_settings import AttributionSettings
from tests.unit.attribution_builders import (
    ORDER_AT,
    ad_click,
    after,
    attribute_order,
    before,
    candidates,
    claim_by,
    comment,
    coupon_mapping,
    creator_click,
    dm,
    evidence_for,
    make_order,
    reasons,
    shop_link,
)

RULES = ["coupon", "conversation_hard", "ad_click", "creator_link", "conversation_soft"]
DAY = 86_400


# --- 1. coupon ---------------------------------------------------------------------------------------------


def test_mapped_coupon_wins_over_a_hard_conversation():
    """Given a coupon mapped to @maya's link AND a hard conversation match,
    when the order is attributed, then the coupon wins and the conversation is recorded as lower priority."""
    order = make_order(coupons=["MAYA10"])
    found = candidates(shop_link(at=before(days=1)), coupons=[coupon_mapping("MAYA10", creator="@maya", link_id="L-7")])

    result = attribute_order(order, found)

    assert (result.method, result.rule, result.coupon, result.creator, result.link_id) == ("coupon", "coupon", "MAYA10", "@maya", "L-7")
    assert result.review_status is None
    assert result.counts_as_attributed
    assert evidence_for(result, "coupon").matched
    assert evidence_for(result, "conversation_hard").reason == "lower_priority"
    assert result.claimed_shop_link_id is None  # the conversation did not credit this order


def test_coupon_time_to_order_runs_from_the_creators_click():
    """Given a mapped coupon and the buyer's click on that creator's link 2 hours before,
    then the time-to-order is measured from that click."""
    click = creator_click("cc-9", at=before(hours=2), creator="@maya")
    result = attribute_order(make_order(coupons=["MAYA10"]), candidates(click, coupons=[coupon_mapping("MAYA10")]))

    assert result.method == "coupon"
    assert result.touchpoint_ids == ["cc-9"]
    assert result.time_to_order_seconds == 2 * 3600


def test_unmapped_coupon_does_not_match():
    """Given an order with a coupon no creator link is mapped to, then coupon says coupon_not_mapped."""
    result = attribute_order(make_order(coupons=["SUMMER"]), candidates(coupons=[coupon_mapping("MAYA10")]))

    assert result.method == "organic"
    assert evidence_for(result, "coupon").reason == "coupon_not_mapped"


def test_order_without_coupon():
    """Given an order without a coupon code, then coupon says no_coupon."""
    result = attribute_order(make_order(), candidates(coupons=[coupon_mapping("MAYA10")]))

    assert evidence_for(result, "coupon").reason == "no_coupon"


def test_coupon_codes_compare_case_insensitively():
    """Given the coupon is mapped as 'Maya10' and the buyer typed ' maya10 ', then it matches (stored upper-case)."""
    result = attribute_order(make_order(coupons=[" maya10 "]), candidates(coupons=[coupon_mapping("Maya10")]))

    assert result.method == "coupon"
    assert result.coupon == "MAYA10"


def test_second_coupon_on_the_order_can_match():
    """Given an order with an unmapped coupon and a mapped one, then the mapped one attributes the order."""
    result = attribute_order(make_order(coupons=["SITEWIDE", "MAYA10"]), candidates(coupons=[coupon_mapping("MAYA10")]))

    assert (result.method, result.coupon) == ("coupon", "MAYA10")


# --- 2. conversation (hard) ---------------------------------------------------------------------------------


def test_hard_conversation_match():
    """Given the buyer commented, got a DM and a shop link for SKU-1 a day before ordering SKU-1,
    then the order is attributed to that conversation with the comment and the link as its touchpoints."""
    found = candidates(comment("c-1", at=before(days=2)), dm(at=before(days=2), comment_id="c-1"), shop_link("sl-1", at=before(days=1)))

    result = attribute_order(make_order(), found)

    assert (result.method, result.rule, result.review_status) == ("conversation", "conversation_hard", None)
    assert result.conversation_id == "conv-1"
    assert result.touchpoint_ids == ["c-1", "sl-1"]
    assert result.claimed_shop_link_id == "sl-1"
    assert result.counts_as_attributed
    assert evidence_for(result, "conversation_hard").matched
    assert evidence_for(result, "conversation_soft").reason == "lower_priority"


def test_sku_overlap_through_the_product_id():
    """Given the shop link named only product P-1 and the order's line carries product P-1 (no SKU in common),
    then it is still a hard match."""
    found = candidates(shop_link(at=before(days=1), skus=(), product_ids=["P-1"]))

    result = attribute_order(make_order(skus=["SKU-OTHER"], product_ids=["P-1"]), found)

    assert result.method == "conversation"


def test_latest_matching_conversation_wins():
    """Given two conversations linked the ordered SKU, 10 days and 2 days before, then the latest one wins."""
    found = candidates(
        shop_link("sl-old", at=before(days=10), conversation="conv-A"), shop_link("sl-new", at=before(days=2), conversation="conv-B")
    )

    result = attribute_order(make_order(), found)

    assert (result.conversation_id, result.claimed_shop_link_id) == ("conv-B", "sl-new")


def test_a_later_link_without_the_sku_does_not_beat_an_earlier_one_with_it():
    """Given conv-A linked SKU-1 5 days before and conv-B linked another SKU 1 day before, when SKU-1 is ordered,
    then conv-A is the hard match (the latest *such* conversation)."""
    found = candidates(
        shop_link("sl-a", at=before(days=5), conversation="conv-A"),
        shop_link("sl-b", at=before(days=1), conversation="conv-B", skus=["SKU-2"]),
    )

    result = attribute_order(make_order(), found)

    assert (result.method, result.conversation_id) == ("conversation", "conv-A")


def test_conversation_window_is_inclusive_at_exactly_14_days():
    """Given the shop link was sent exactly 14 days before the order, then it still matches."""
    result = attribute_order(make_order(), candidates(shop_link(at=before(days=14))))

    assert result.method == "conversation"
    assert result.time_to_order_seconds == 14 * DAY


def test_conversation_window_expires_one_second_after_14_days():
    """Given the shop link was sent 14 days and 1 second before the order, then it never matches (window_expired),
    even though TTL has not deleted it yet."""
    result = attribute_order(make_order(), candidates(shop_link("sl-1", at=before(days=14, seconds=1))))

    assert result.method == "organic"
    assert evidence_for(result, "conversation_hard").reason == "window_expired"
    assert evidence_for(result, "conversation_hard").touchpoint_ids == ["sl-1"]
    assert evidence_for(result, "conversation_soft").reason == "window_expired"


def test_window_is_exact_time_across_time_zones():
    """Given an order stamped in UTC+8 and a shop link stamped in UTC exactly 14 days earlier, then it matches;
    one second more and it does not."""
    order = make_order(at=ORDER_AT.astimezone(timezone(timedelta(hours=8))))

    assert attribute_order(order, candidates(shop_link(at=before(days=14)))).method == "conversation"
    assert attribute_order(order, candidates(shop_link(at=before(days=14, seconds=1)))).method == "organic"


def test_shop_link_after_the_order_never_counts():
    """Given the only shop link arrived an hour after the order, then no conversation rule matches (touch_after_order)."""
    result = attribute_order(make_order(), candidates(shop_link("sl-late", at=after(hours=1))))

    assert result.method == "organic"
    assert evidence_for(result, "conversation_hard").reason == "touch_after_order"
    assert evidence_for(result, "conversation_soft").reason == "touch_after_order"


def test_shop_link_after_the_order_is_ignored_next_to_an_earlier_one():
    """Given one shop link a day before and another an hour after the order, then the earlier one credits it."""
    found = candidates(shop_link("sl-before", at=before(days=1)), shop_link("sl-after", at=after(hours=1), conversation="conv-2"))

    assert attribute_order(make_order(), found).claimed_shop_link_id == "sl-before"


def test_shop_link_at_exactly_the_order_time_matches():
    """Given the shop link carries exactly the order's timestamp, then it matches with a time-to-order of 0."""
    result = attribute_order(make_order(), candidates(shop_link(at=ORDER_AT)))

    assert result.method == "conversation"
    assert result.time_to_order_seconds == 0


def test_no_shop_link_at_all():
    """Given the buyer has no shop link, then the conversation rules say no_conversation."""
    result = attribute_order(make_order(), candidates(comment(at=before(days=1))))

    assert evidence_for(result, "conversation_hard").reason == "no_conversation"


# --- first order only ---------------------------------------------------------------------------------------


def test_conversation_already_credited_an_earlier_order():
    """Given the shop link already credited the buyer's order of 2 days ago, when the buyer orders again,
    then this order is organic: not_first_order."""
    first = make_order("o-0", at=before(days=2))
    found = candidates(shop_link("sl-1", at=before(days=3)), claims=[claim_by(first, "sl-1")])

    result = attribute_order(make_order("o-1"), found)

    assert result.method == "organic"
    assert evidence_for(result, "conversation_hard").reason == "not_first_order"
    assert evidence_for(result, "conversation_soft").reason == "not_first_order"
    assert result.claimed_shop_link_id is None


def test_claim_held_by_this_same_order_is_fine():
    """Given the shop link's claim is held by this very order (re-attribution), then it still matches."""
    order = make_order("o-1")
    found = candidates(shop_link("sl-1", at=before(days=1)), claims=[claim_by(order, "sl-1")])

    result = attribute_order(order, found)

    assert (result.method, result.claimed_shop_link_id) == ("conversation", "sl-1")


def test_earlier_order_takes_over_a_claim_held_by_a_later_one():
    """Given a later order (arrived first, webhooks race) holds the claim, when the earlier order is attributed,
    then the earlier order gets the conversation (the first order counts)."""
    later = make_order("o-2", at=after(hours=3))
    found = candidates(shop_link("sl-1", at=before(days=1)), claims=[claim_by(later, "sl-1")])

    result = attribute_order(make_order("o-1"), found)

    assert (result.method, result.claimed_shop_link_id) == ("conversation", "sl-1")


def test_new_shop_link_after_the_first_order_credits_the_second():
    """Given sl-1 credited the first order 3 days ago and the conversation then sent a new shop link sl-2,
    when the buyer orders again, then sl-2 credits this second order."""
    first = make_order("o-0", at=before(days=3))
    found = candidates(shop_link("sl-1", at=before(days=4)), shop_link("sl-2", at=before(days=1)), claims=[claim_by(first, "sl-1")])

    result = attribute_order(make_order("o-1"), found)

    assert (result.method, result.claimed_shop_link_id) == ("conversation", "sl-2")


def test_older_unclaimed_link_sent_before_the_first_order_does_not_credit_a_later_order():
    """Given the conversation sent sl-1 (5 days ago) and sl-2 (4 days ago), and the first order 3 days ago was
    credited by sl-2, when the buyer orders again with no new shop link, then this order is organic:
    the conversation credits only the first order in its window (sl-1 is no 'new DM')."""
    first = make_order("o-0", at=before(days=3))
    found = candidates(shop_link("sl-1", at=before(days=5)), shop_link("sl-2", at=before(days=4)), claims=[claim_by(first, "sl-2")])

    result = attribute_order(make_order("o-1"), found)

    assert result.method == "organic"
    assert evidence_for(result, "conversation_hard").reason == "not_first_order"


def test_returning_buyer_is_not_credited_by_another_conversation_that_preceded_the_first_order():
    """Given conv-A sent a link 6 days ago and conv-B one 4 days ago, and the first order 3 days ago was credited
    by conv-B, when the buyer orders again with no new DM, then conv-A does not credit it either: its first order
    in the window was the earlier one (a returning buyer outside a DM is organic)."""
    first = make_order("o-0", at=before(days=3))
    found = candidates(
        shop_link("sl-a", at=before(days=6), conversation="conv-A"),
        shop_link("sl-b", at=before(days=4), conversation="conv-B"),
        claims=[claim_by(first, "sl-b")],
    )

    result = attribute_order(make_order("o-1"), found)

    assert result.method == "organic"
    assert evidence_for(result, "conversation_hard").reason == "not_first_order"


def test_first_order_only_applies_to_soft_matches_too():
    """Given the shop link already credited an earlier order (by SKU), when the buyer orders another SKU,
    then no soft match either: not_first_order."""
    first = make_order("o-0", at=before(days=2))
    found = candidates(shop_link("sl-1", at=before(days=3)), claims=[claim_by(first, "sl-1")])

    result = attribute_order(make_order("o-1", skus=["SKU-9"]), found)

    assert (result.method, evidence_for(result, "conversation_soft").reason) == ("organic", "not_first_order")


# --- 3. ad_click --------------------------------------------------------------------------------------------


def test_ttclid_on_the_order_matches_and_times_from_the_click():
    """Given the order carries ttclid tt-9 and the click with tt-9 landed 3 hours before,
    then it is an ad_click order timed from the click."""
    click = ad_click("ad-9", at=before(hours=3), ttclid="tt-9")

    result = attribute_order(make_order(ttclid="tt-9"), candidates(click=click))

    assert (result.method, result.rule, result.ttclid) == ("ad_click", "ad_click", "tt-9")
    assert result.touchpoint_ids == ["ad-9"]
    assert result.time_to_order_seconds == 3 * 3600
    assert result.counts_as_attributed


def test_ttclid_on_the_order_matches_even_without_a_recorded_click():
    """Given the order carries a ttclid nobody recorded a click for, then it is still ad_click (no time-to-order)."""
    result = attribute_order(make_order(ttclid="tt-9"))

    assert (result.method, result.ttclid, result.time_to_order_seconds) == ("ad_click", "tt-9", None)


def test_buyer_ad_click_within_7_days():
    """Given no ttclid on the order but the buyer clicked an ad exactly 7 days before, then it is ad_click."""
    result = attribute_order(make_order(), candidates(ad_click("ad-1", at=before(days=7), ttclid="tt-1")))

    assert (result.method, result.ttclid, result.touchpoint_ids) == ("ad_click", "tt-1", ["ad-1"])
    assert result.time_to_order_seconds == 7 * DAY


def test_buyer_ad_click_expires_one_second_after_7_days():
    """Given the buyer's only ad click was 7 days and 1 second before, then ad_click says window_expired."""
    result = attribute_order(make_order(), candidates(ad_click("ad-1", at=before(days=7, seconds=1))))

    assert result.method == "organic"
    assert evidence_for(result, "ad_click").reason == "window_expired"
    assert evidence_for(result, "ad_click").touchpoint_ids == ["ad-1"]


def test_expired_ad_click_evidence_names_the_expired_click_not_a_later_one():
    """Given an expired ad click 8 days before and another click after the order, then ad_click says window_expired
    and points at the expired click (the one that explains the reason)."""
    found = candidates(ad_click("ad-old", at=before(days=8)), ad_click("ad-late", at=after(hours=1)))

    outcome = evidence_for(attribute_order(make_order(), found), "ad_click")

    assert (outcome.reason, outcome.touchpoint_ids) == ("window_expired", ["ad-old"])


def test_ad_click_after_the_order_does_not_count():
    """Given the buyer's only ad click came after the order, then ad_click says touch_after_order."""
    result = attribute_order(make_order(), candidates(ad_click("ad-1", at=after(minutes=5))))

    assert result.method == "organic"
    assert evidence_for(result, "ad_click").reason == "touch_after_order"


def test_latest_ad_click_in_window_is_used():
    """Given two ad clicks in the window, then the latest one is the touch and the time-to-order runs from it."""
    found = candidates(ad_click("ad-1", at=before(days=5), ttclid="tt-1"), ad_click("ad-2", at=before(days=1), ttclid="tt-2"))

    result = attribute_order(make_order(), found)

    assert (result.touchpoint_ids, result.ttclid, result.time_to_order_seconds) == (["ad-2"], "tt-2", DAY)


# --- 4. creator_link ----------------------------------------------------------------------------------------


def test_creator_link_data_on_the_order():
    """Given the order's landing data names creator @maya and link L-3, then it is a creator_link order."""
    result = attribute_order(make_order(creator="@maya", link_id="L-3"))

    assert (result.method, result.creator, result.link_id) == ("creator_link", "@maya", "L-3")
    assert result.counts_as_attributed


def test_cart_token_matches_the_creator_click_that_issued_it():
    """Given the order's cart token tok-1 came from @maya's link click a day before, then it is creator_link,
    timed from that click."""
    token_click = creator_click("cc-1", at=before(days=1), creator="@maya", link_id="L-1", token="tok-1")

    result = attribute_order(make_order(token="tok-1"), candidates(token_click=token_click))

    assert (result.method, result.creator, result.link_id, result.touchpoint_ids) == ("creator_link", "@maya", "L-1", ["cc-1"])
    assert result.time_to_order_seconds == DAY


def test_creator_click_within_window():
    """Given no link data on the order but the buyer clicked @ana's link exactly 7 days before, then creator_link."""
    result = attribute_order(make_order(), candidates(creator_click("cc-1", at=before(days=7), creator="@ana")))

    assert (result.method, result.creator, result.touchpoint_ids) == ("creator_link", "@ana", ["cc-1"])
    assert result.time_to_order_seconds == 7 * DAY


def test_creator_click_expires_one_second_after_7_days():
    """Given the buyer's only creator click was 7 days and 1 second before, then creator_link says window_expired."""
    result = attribute_order(make_order(), candidates(creator_click(at=before(days=7, seconds=1))))

    assert result.method == "organic"
    assert evidence_for(result, "creator_link").reason == "window_expired"


def test_creator_click_after_the_order_does_not_count():
    """Given the buyer's only creator click came after the order, then creator_link says touch_after_order."""
    result = attribute_order(make_order(), candidates(creator_click(at=after(seconds=1))))

    assert evidence_for(result, "creator_link").reason == "touch_after_order"


@pytest.mark.parametrize("landing", [{"link_id": "L-9"}, {"token": "tok-unknown"}])
def test_link_data_without_a_creator_is_link_without_integration(landing):
    """Given the order carries a link id or cart token that no creator link or click explains,
    then creator_link says link_without_integration."""
    result = attribute_order(make_order(**landing))

    assert result.method == "organic"
    assert evidence_for(result, "creator_link").reason == "link_without_integration"


def test_no_tracking_data():
    """Given no ttclid, no link data and no clicks, then ad_click and creator_link say no_tracking_data."""
    result = attribute_order(make_order())

    assert evidence_for(result, "ad_click").reason == "no_tracking_data"
    assert evidence_for(result, "creator_link").reason == "no_tracking_data"


# --- 5. conversation (soft) ---------------------------------------------------------------------------------


def soft_candidates(**kwargs):
    """A recent shop link in conv-1 that linked SKU-2 while the order is for SKU-1."""
    return candidates(shop_link("sl-1", at=before(days=3), skus=["SKU-2"]), **kwargs)


def test_recent_conversation_without_sku_overlap_is_soft_and_pending():
    """Given a shop link 3 days before the order but for another SKU, then the order is soft-attributed to the
    conversation, pending review, and does not count as attributed yet."""
    result = attribute_order(make_order(), soft_candidates())

    assert (result.method, result.rule, result.review_status) == ("conversation_soft", "conversation_soft", "pending")
    assert (result.conversation_id, result.claimed_shop_link_id) == ("conv-1", "sl-1")
    assert not result.counts_as_attributed
    assert evidence_for(result, "conversation_hard").reason == "no_sku_overlap"
    assert evidence_for(result, "conversation_soft").matched


def test_confirming_a_soft_match_counts_it_as_attributed():
    """Given a pending soft match, when a person confirms it, then it is confirmed and counts as attributed."""
    pending = attribute_order(make_order(), soft_candidates())

    confirmed = review(pending, "confirm", after(days=1))

    assert (confirmed.method, confirmed.review_status) == ("conversation_soft", "confirmed")
    assert confirmed.counts_as_attributed
    assert confirmed.attributed_at == after(days=1)


def test_rejecting_a_soft_match_makes_it_organic():
    """Given a pending soft match, when a person rejects it, then the order is organic, does not count, and no
    longer holds the conversation's credit (the same result re-attribution gives)."""
    pending = attribute_order(make_order(), soft_candidates())

    rejected = review(pending, "reject", after(days=1))

    assert (rejected.method, rejected.review_status) == ("organic", "rejected")
    assert not rejected.counts_as_attributed
    assert rejected.claimed_shop_link_id is None
    rerun = attribute_order(make_order(), soft_candidates(previous=rejected))
    assert (rerun.method, rerun.review_status, rerun.claimed_shop_link_id) == ("organic", "rejected", None)


def test_confirmed_decision_survives_re_attribution():
    """Given a person confirmed the soft match, when the order is attributed again (late data, settings re-run),
    then it stays confirmed."""
    confirmed = review(attribute_order(make_order(), soft_candidates()), "confirm", after(days=1))

    rerun = attribute_order(make_order(), soft_candidates(previous=confirmed), now=after(days=2))

    assert (rerun.method, rerun.review_status) == ("conversation_soft", "confirmed")
    assert rerun.counts_as_attributed


def test_rejected_decision_survives_re_attribution():
    """Given a person rejected the soft match, when the order is attributed again, then it stays organic/rejected
    and the evidence says a person rejected it."""
    rejected = review(attribute_order(make_order(), soft_candidates()), "reject", after(days=1))

    rerun = attribute_order(make_order(), soft_candidates(previous=rejected), now=after(days=2))

    assert (rerun.method, rerun.review_status) == ("organic", "rejected")
    assert "rejected" in evidence_for(rerun, "conversation_soft").detail


def test_rejection_evidence_lands_on_the_soft_rule_whatever_the_priority():
    """Given a tenant priority with conversation_soft before creator_link and a rejected soft match,
    when re-attributed, then the rejection note is on conversation_soft's evidence, not on another rule's."""
    settings = AttributionSettings(priority=["coupon", "conversation_hard", "conversation_soft", "ad_click", "creator_link"])
    rejected = review(attribute_order(make_order(), soft_candidates(), settings), "reject", after(days=1))

    rerun = attribute_order(make_order(), soft_candidates(previous=rejected), settings)

    assert "rejected" in evidence_for(rerun, "conversation_soft").detail
    assert "rejected" not in evidence_for(rerun, "creator_link").detail


def test_decision_on_another_conversation_does_not_carry_over():
    """Given a person confirmed a soft match on conv-1, when the order now soft-matches conv-2 (a newer link),
    then the new match is pending again."""
    confirmed = review(attribute_order(make_order(), soft_candidates()), "confirm", after(days=1))
    found = candidates(
        shop_link("sl-1", at=before(days=3), skus=["SKU-2"]),
        shop_link("sl-2", at=before(days=1), conversation="conv-2", skus=["SKU-3"]),
        previous=confirmed,
    )

    rerun = attribute_order(make_order(), found)

    assert (rerun.conversation_id, rerun.review_status) == ("conv-2", "pending")


def test_soft_match_that_becomes_hard_loses_the_review():
    """Given a person confirmed a soft match, when re-attribution finds a hard match, then it is a plain
    conversation order with no review status."""
    confirmed = review(attribute_order(make_order(), soft_candidates()), "confirm", after(days=1))
    found = candidates(shop_link("sl-1", at=before(days=3), skus=["SKU-2"]), shop_link("sl-2", at=before(days=1)), previous=confirmed)

    rerun = attribute_order(make_order(), found)

    assert (rerun.method, rerun.review_status) == ("conversation", None)


# --- 6. organic ---------------------------------------------------------------------------------------------


def test_organic_order_explains_every_rule():
    """Given nothing at all about the buyer, then the order is organic, excluded from OrderTrail revenue,
    and the evidence lists every rule, in priority order, each with its reason."""
    result = attribute_order(make_order())

    assert (result.method, result.rule, result.review_status, result.time_to_order_seconds) == ("organic", None, None, None)
    assert not result.counts_as_attributed
    assert reasons(result) == {
        "coupon": "no_coupon",
        "conversation_hard": "no_conversation",
        "ad_click": "no_tracking_data",
        "creator_link": "no_tracking_data",
        "conversation_soft": "no_conversation",
    }
    assert [e.rule for e in result.evidence] == RULES
    assert not any(e.matched for e in result.evidence)
    assert all(e.detail for e in result.evidence)


def test_order_without_a_buyer_user_id_cannot_match_a_conversation():
    """Given a hard-looking shop link but an order without a buyer user id, then the conversation rules say
    no_user_id and the order is organic."""
    result = attribute_order(make_order(user_id=None), candidates(shop_link(at=before(days=1))))

    assert result.method == "organic"
    assert evidence_for(result, "conversation_hard").reason == "no_user_id"
    assert evidence_for(result, "conversation_soft").reason == "no_user_id"


def test_masked_buyer_user_id_never_matches():
    """Given the platform masked the buyer's user id ('bu***1'), then it is treated as no user id."""
    result = attribute_order(make_order(user_id="bu***1"), candidates(shop_link(at=before(days=1))))

    assert result.method == "organic"
    assert evidence_for(result, "conversation_hard").reason == "no_user_id"
    assert "masked" in evidence_for(result, "conversation_hard").detail


def test_without_a_user_id_a_ttclid_still_attributes():
    """Given no buyer user id but a ttclid on the order, then it is still an ad_click order."""
    assert attribute_order(make_order(user_id=None, ttclid="tt-1")).method == "ad_click"


# --- priority -----------------------------------------------------------------------------------------------


def test_priority_is_configurable():
    """Given a tenant that puts ad_click first and an order with a ttclid AND a hard conversation,
    then it is ad_click, and the conversation's evidence says lower_priority."""
    settings = AttributionSettings(priority=["ad_click", "coupon", "conversation_hard", "creator_link", "conversation_soft"])

    result = attribute_order(make_order(ttclid="tt-1"), candidates(shop_link(at=before(days=1))), settings)

    assert result.method == "ad_click"
    assert result.claimed_shop_link_id is None
    outcome = evidence_for(result, "conversation_hard")
    assert (outcome.matched, outcome.reason) == (False, "lower_priority")
    assert [e.rule for e in result.evidence] == settings.priority


def test_default_priority_puts_the_conversation_before_the_ad_click():
    """Given the default priority and an order with both a ttclid and a hard conversation, then conversation wins."""
    result = attribute_order(make_order(ttclid="tt-1"), candidates(shop_link(at=before(days=1))))

    assert result.method == "conversation"
    assert evidence_for(result, "ad_click").reason == "lower_priority"


def test_ad_click_beats_creator_link_by_default():
    """Given a ttclid and creator link data on the order, then ad_click wins and creator_link is lower_priority."""
    result = attribute_order(make_order(ttclid="tt-1", creator="@maya"))

    assert result.method == "ad_click"
    assert evidence_for(result, "creator_link").reason == "lower_priority"


# --- time-to-order ------------------------------------------------------------------------------------------


def test_time_to_order_runs_from_the_original_comment_via_the_dm():
    """Given the buyer commented 3 days before, the DM (pointing at that comment) started a minute later and the
    shop link came a day before the order, then the time-to-order is from the comment, and the attribution
    carries the comment's post, text, keywords and the flow."""
    found = candidates(
        comment("c-1", at=before(days=3), post="post-7", text="LINK pls", keywords=["LINK"]),
        dm("dm-1", at=before(days=3) + timedelta(minutes=1), comment_id="c-1", flow="flow-2"),
        shop_link("sl-1", at=before(days=1)),
    )

    result = attribute_order(make_order(), found)

    assert result.time_to_order_seconds == 3 * DAY
    assert result.first_touch_at == before(days=3)
    assert (result.comment_id, result.comment_text, result.keywords) == ("c-1", "LINK pls", ["LINK"])
    assert result.post is not None and result.post.id == "post-7"
    assert result.flow is not None and result.flow.id == "flow-2"


def test_time_to_order_from_the_stored_conversation_context():
    """Given the conversation's stored context says its comment was 5 days before (the comment touchpoint itself
    is no longer among the candidates), then the time-to-order is 5 days."""
    context = Conversation(conversation_id="conv-1", comment_id="c-1", comment_at=before(days=5), post=Post(id="post-1"))

    result = attribute_order(make_order(), candidates(shop_link(at=before(days=1)), conversations=[context]))

    assert result.time_to_order_seconds == 5 * DAY
    assert result.comment_id == "c-1"


def test_time_to_order_for_a_soft_match_also_runs_from_the_comment():
    """Given a soft match whose conversation started from a comment 4 days before, then time-to-order is 4 days."""
    found = candidates(
        comment("c-1", at=before(days=4)), dm(at=before(days=4), comment_id="c-1"), shop_link("sl-1", at=before(days=3), skus=["SKU-2"])
    )

    result = attribute_order(make_order(), found)

    assert (result.method, result.time_to_order_seconds) == ("conversation_soft", 4 * DAY)


def test_time_to_order_without_a_known_comment_runs_from_the_shop_link():
    """Given no comment or DM is known for the conversation, then time-to-order runs from the shop link."""
    result = attribute_order(make_order(), candidates(shop_link(at=before(hours=6))))

    assert result.time_to_order_seconds == 6 * 3600


# --- order status -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["CANCEL", "CANCELLED", "Canceled", "cancelled"])
def test_cancelled_orders_leave_the_metrics(status):
    """Given TikTok reports the order as CANCEL or CANCELLED (or spelled another way), then the attribution is
    marked cancelled and the order does not count, even though a rule matched."""
    result = attribute_order(make_order(status=status), candidates(shop_link(at=before(days=1))))

    assert result.method == "conversation"
    assert result.cancelled
    assert not result.counts_as_attributed


def test_open_order_is_not_cancelled():
    """Given an order awaiting shipment, then it is not cancelled."""
    assert not attribute_order(make_order(status="AWAITING_SHIPMENT")).cancelled


# --- ties ---------------------------------------------------------------------------------------------------


def test_identical_times_are_ordered_by_arrival_then_the_latest_wins():
    """Given two conversations sent shop links at the same instant, and conv-Z's link arrived first,
    then the ordering is (time, arrival, id): conv-A's link (arrived later) is the latest and wins, even though
    its id sorts first."""
    found = candidates(
        shop_link("sl-a", at=before(days=1), conversation="conv-A", received_at=before(days=1) + timedelta(seconds=5)),
        shop_link("sl-z", at=before(days=1), conversation="conv-Z", received_at=before(days=1) + timedelta(seconds=1)),
    )

    assert attribute_order(make_order(), found).claimed_shop_link_id == "sl-a"


def test_identical_times_and_arrivals_are_ordered_by_id():
    """Given two shop links with the same time and arrival, then the higher id is the latest and wins,
    whatever order the repository returned them in."""
    arrived = before(days=1) + timedelta(seconds=2)
    link_b = shop_link("sl-b", at=before(days=1), conversation="conv-B", received_at=arrived)
    link_a = shop_link("sl-a", at=before(days=1), conversation="conv-A", received_at=arrived)

    assert attribute_order(make_order(), candidates(link_b, link_a)).claimed_shop_link_id == "sl-b"
    assert attribute_order(make_order(), candidates(link_a, link_b)).claimed_shop_link_id == "sl-b"


# --- settings -----------------------------------------------------------------------------------------------


def test_settings_defaults_are_the_spec_windows():
    """Given a tenant with no settings, then the windows are 14 / 7 / 7 days and the priority is docs/attribution.md#rules'."""
    settings = AttributionSettings()

    assert (settings.conversation_window_days, settings.click_window_days, settings.creator_window_days) == (14, 7, 7)
    assert settings.priority == RULES


@pytest.mark.parametrize(
    "priority",
    [
        ["coupon", "conversation_hard", "ad_click", "creator_link"],
        ["coupon", "coupon", "conversation_hard", "ad_click", "creator_link", "conversation_soft"],
        ["coupon", "coupon", "ad_click", "creator_link", "conversation_soft"],
        [],
    ],
    ids=["missing-rule", "duplicate-extra", "duplicate-instead", "empty"],
)
def test_priority_must_list_each_rule_exactly_once(priority):
    """Given a priority that misses or repeats a rule, then the settings are rejected."""
    with pytest.raises(ValidationError, match="exactly once"):
        AttributionSettings(priority=priority)


def test_priority_rejects_an_unknown_rule():
    """Given a priority naming a rule that does not exist, then the settings are rejected."""
    with pytest.raises(ValidationError):
        AttributionSettings(priority=["coupon", "conversation_hard", "ad_click", "creator_link", "utm"])


def test_unknown_time_zone_is_rejected():
    """Given a time zone the IANA database does not know, then the settings are rejected; a known one is kept."""
    with pytest.raises(ValidationError, match="unknown time zone"):
        AttributionSettings(time_zone="Mars/Olympus_Mons")
    assert AttributionSettings(time_zone="America/New_York").time_zone == "America/New_York"


def test_custom_window_is_used_by_the_engine():
    """Given a tenant with a 3-day conversation window, then a shop link 4 days before no longer matches."""
    settings = AttributionSettings(conversation_window_days=3)

    result = attribute_order(make_order(), candidates(shop_link(at=before(days=4))), settings)

    assert evidence_for(result, "conversation_hard").reason == "window_expired"
