"""POST /v1/{tenant}/touchpoints through the real HTTP API: signatures, tenants, de-duplication, errors as docs/api.md#touchpoints says."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.integration.senders import (
    ad_click,
    body_bytes,
    comment,
    journey,
    moment,
    send_signed_raw,
    send_touchpoints,
    stable_items,
)


def touchpoint_items(api) -> list[dict]:
    return [i for i in api.items() if i.get("type") == "touchpoint"]


# ------------------------------------------------------------------------------------- at-least-once delivery
def test_touchpoints_delivered_three_times_store_the_same_as_once_and_repeats_are_duplicates(pipeline):
    """Given a comment → DM → shop link batch, when it is sent three times,
    then the first is accepted, each repeat answers 3 duplicates, and the table is what one delivery left."""
    batch = {"touchpoints": [*journey("u1", moment()), ad_click("a1", "u1", moment(1), "E.C.P.x")]}

    first = send_touchpoints(pipeline, "acme", batch)
    assert first.status == 202, first.body
    assert first.json() == {"accepted": 4, "duplicates": 0, "errors": []}
    once = stable_items(pipeline)
    for _ in range(2):
        again = send_touchpoints(pipeline, "acme", batch)
        assert again.status == 202
        assert again.json() == {"accepted": 0, "duplicates": 4, "errors": []}

    assert stable_items(pipeline) == once


def test_a_repeated_id_with_different_content_is_a_duplicate_not_an_overwrite(pipeline):
    """Ids are unique per tenant: the first version stays."""
    at = moment()
    send_touchpoints(pipeline, "acme", comment("c1", "u1", at, post="v1"))
    repeat = send_touchpoints(pipeline, "acme", comment("c1", "u1", at, post="v2"))
    assert repeat.json() == {"accepted": 0, "duplicates": 1, "errors": []}
    stored = [i for i in touchpoint_items(pipeline) if i["SK"] == "TP"]
    assert len(stored) == 1 and '"id":"v1"' in stored[0]["data"]


def test_the_same_touchpoint_id_in_two_tenants_is_two_touchpoints(pipeline):
    at = moment()
    assert send_touchpoints(pipeline, "acme", comment("c1", "u1", at)).json()["accepted"] == 1
    assert send_touchpoints(pipeline, "globex", comment("c1", "u1", at)).json()["accepted"] == 1
    tenants = sorted(i["PK"].split("#")[1] for i in touchpoint_items(pipeline) if i["SK"] == "TP")
    assert tenants == ["acme", "globex"]


# ------------------------------------------------------------------------------------- signatures and tenants
def test_touchpoints_signed_with_another_tenants_secret_are_403_and_write_nothing(pipeline):
    """Given a batch signed with globex's secret, when it is sent to /v1/acme, then 403 wrong_tenant and nothing is stored."""
    response = send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", moment())}, signer="globex")
    assert response.status == 403, response.body
    assert response.json()["error"]["code"] == "wrong_tenant"
    assert pipeline.items() == []


def test_touchpoint_signature_over_another_body_is_401(pipeline):
    """A valid signature of a different body (a replayed header) does not verify."""
    from ordertrail.sources.signatures import sign_ordertrail
    from tests.conftest import TENANTS

    signed = body_bytes(comment("c1", "u1", moment()))
    sent = body_bytes(comment("c2", "u1", moment()))
    header = sign_ordertrail(TENANTS["acme"]["touchpoint_secret"], signed, int(time.time()))
    response = pipeline.call("POST", "/v1/acme/touchpoints", sent, {"Content-Type": "application/json", "X-OrderTrail-Signature": header})
    assert response.status == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert pipeline.items() == []


@pytest.mark.parametrize(("offset", "accepted"), [(-299, True), (-301, False), (299, True), (301, False)])
def test_signature_time_tolerance_is_300_seconds_both_ways(pipeline, offset, accepted):
    response = send_touchpoints(pipeline, "acme", comment("c1", "u1", moment()), at=int(time.time()) + offset)
    assert (response.status == 202) is accepted, response.body
    if not accepted:
        assert response.status == 401
        assert response.json()["error"]["code"] == "expired_signature"
        assert pipeline.items() == []


def test_unknown_tenant_is_401(pipeline):
    response = send_touchpoints(pipeline, "acme", comment("c1", "u1", moment()))
    assert response.status == 202
    unknown = pipeline.call("POST", "/v1/initech/touchpoints", b"{}", {"X-OrderTrail-Signature": "t=1,v1=00"})
    assert unknown.status == 401


# ------------------------------------------------------------------------------------- errors
def test_malformed_json_is_400_malformed_json(pipeline):
    response = send_signed_raw(pipeline, "acme", "touchpoints", b'{"id": "c1", "kind": ')
    assert response.status == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert pipeline.items() == []


def test_empty_body_is_400_malformed_json(pipeline):
    response = send_signed_raw(pipeline, "acme", "touchpoints", b"")
    assert response.status == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_wrong_type_is_400_naming_the_field(pipeline):
    """Given a comment whose post id is a list, then 400 wrong_type with field post.id."""
    bad = comment("c1", "u1", moment())
    bad["post"]["id"] = ["v1"]
    response = send_touchpoints(pipeline, "acme", bad)
    assert response.status == 400, response.body
    assert response.json()["error"]["code"] == "wrong_type"
    assert response.json()["error"]["field"] == "post.id"
    assert pipeline.items() == []


def test_unknown_kind_is_422_naming_kind(pipeline):
    response = send_touchpoints(pipeline, "acme", {**comment("c1", "u1", moment()), "kind": "like"})
    assert response.status == 422, response.body
    assert response.json()["error"]["code"] == "unknown_kind"
    assert response.json()["error"]["field"] == "kind"
    assert pipeline.items() == []


def test_a_batch_stores_the_valid_items_and_reports_the_rest_by_index(pipeline):
    """Given a batch of four where #1 has an unknown kind and #3 a wrong type, then 202: two accepted,
    two errors naming touchpoints[1].kind and touchpoints[3].step, and only the two valid ones are stored."""
    at = moment()
    batch = {
        "touchpoints": [
            comment("c1", "u1", at),
            {**comment("c2", "u1", at), "kind": "like"},
            ad_click("a1", "u1", at, "E.C.P.1"),
            {"id": "f1", "kind": "flow_step", "occurred_at": at.isoformat(), "conversation_id": "k", "flow": {"id": "f"}, "step": "two"},
        ]
    }
    response = send_touchpoints(pipeline, "acme", batch)
    assert response.status == 202, response.body
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [(e["index"], e["code"], e["field"]) for e in body["errors"]] == [
        (1, "unknown_kind", "touchpoints[1].kind"),
        (3, "wrong_type", "touchpoints[3].step"),
    ]
    assert sorted(i["PK"].rsplit("#", 1)[1] for i in touchpoint_items(pipeline) if i["SK"] == "TP") == ["a1", "c1"]


def test_a_rule_broken_inside_one_item_is_422_naming_it(pipeline):
    """A shop link must link something: 422 naming the item."""
    link = {"id": "s1", "kind": "shop_link", "occurred_at": moment().isoformat(), "conversation_id": "k", "skus": []}
    response = send_touchpoints(pipeline, "acme", link)
    assert response.status == 422, response.body
    assert response.json()["error"]["code"] == "invalid_value"


def test_a_time_without_offset_is_refused(pipeline):
    tp = {**comment("c1", "u1", moment()), "occurred_at": "2026-11-20T15:00:00"}
    response = send_touchpoints(pipeline, "acme", tp)
    assert response.status in (400, 422)
    assert response.json()["error"]["field"] == "occurred_at"


def test_batch_over_500_is_422_and_stores_nothing(pipeline):
    at = moment()
    batch = {"touchpoints": [comment(f"c{i}", "u1", at) for i in range(501)]}
    response = send_touchpoints(pipeline, "acme", batch)
    assert response.status == 422, response.body
    assert response.json()["error"]["code"] == "batch_too_large"
    assert response.json()["error"]["field"] == "touchpoints"
    assert pipeline.items() == []


def test_body_over_one_mib_is_413(pipeline):
    tp = {**comment("c1", "u1", moment()), "text": "x" * (1024 * 1024 + 1)}
    response = send_touchpoints(pipeline, "acme", tp)
    assert response.status == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert pipeline.items() == []


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"null",
        b"42",
        b'{"touchpoints": {}}',
        b'{"touchpoints": []}',
        b'{"touchpoints": [null, "x", 3]}',
        b'{"id": "c1"}',
        b'{"kind": "comment"}',
        b'{"id": "", "kind": "comment", "occurred_at": "2026-01-01T00:00:00Z", "post": {"id": "v"}}',
        b'{"id": "c1", "kind": "comment", "occurred_at": "soon", "post": {"id": "v"}}',
        b'{"id": "c1", "kind": 7, "occurred_at": "2026-01-01T00:00:00Z"}',
        b'{"id": "c1", "kind": "comment", "occurred_at": "2026-01-01T00:00:00Z", "post": {"id": "v"}, "buyer": "u1"}',
        b'{"id": "c1", "kind": "comment", "occurred_at": "2026-01-01T00:00:00Z", "post": null}',
        b'{"id": "c1", "kind": "comment", "occurred_at": "9999-12-31T23:59:59Z", "post": {"id": "v"}, "buyer": {"user_id": "u"}}',
        b'{"id": "c1", "kind": "comment", "occurred_at": "0001-01-01T00:00:00+14:00", "post": {"id": "v"}, "buyer": {"user_id": "u"}}',
        b'{"id": "a1", "kind": "ad_click", "occurred_at": "2026-01-01T00:00:00Z", "ttclid": ""}',
        b'{"id": "s1", "kind": "shop_link", "occurred_at": "2026-01-01T00:00:00Z", "conversation_id": "k", "skus": "SKU-1"}',
        b'{"id": "x\\u0000y", "kind": "comment", "occurred_at": "2026-01-01T00:00:00Z", "post": {"id": "v"}}',
        b'\xef\xbb\xbf{"id": "c1"}',
        b"\xff\xfe\x00",
    ],
)
def test_bad_input_is_never_a_5xx(pipeline, body):
    """Given a correctly signed request, when the body is nonsense, then it is never a 5xx, and refusals use docs/api.md#error-shape."""
    response = send_signed_raw(pipeline, "acme", "touchpoints", body)
    assert response.status < 500, (response.status, response.body)
    if response.status >= 400:
        assert response.json()["error"]["code"]
    else:
        assert response.status == 202


def test_every_kind_is_accepted(pipeline):
    """The six kinds of docs/api.md#touchpoint-kinds, with their fields, are stored."""
    at = moment()
    batch = {
        "touchpoints": [
            *journey("u1", at),
            {
                "id": "fs1",
                "kind": "flow_step",
                "occurred_at": (at + timedelta(minutes=1)).isoformat(),
                "buyer": {"user_id": "u1"},
                "conversation_id": "conv-1",
                "flow": {"id": "f1", "name": "Glow flow"},
                "step": 2,
                "step_name": "Pick a shade",
            },
            {
                **ad_click("a1", "u1", at, "E.C.P.1"),
                "url": "https://glow.example/?ttclid=E.C.P.1",
                "ip": "203.0.113.9",
                "user_agent": "Mozilla/5.0",
                "campaign": {"id": "cmp1", "name": "Spring"},
            },
            {
                "id": "cc1",
                "kind": "creator_click",
                "occurred_at": at.isoformat(),
                "buyer": {"user_id": "u1"},
                "creator": "maya",
                "link_id": "lnk-1",
                "campaign": "spring",
                "token": "tok-1",
            },
        ]
    }
    response = send_touchpoints(pipeline, "acme", batch)
    assert response.json() == {"accepted": 6, "duplicates": 0, "errors": []}
    kinds = sorted(i["kind"] for i in touchpoint_items(pipeline) if i["SK"] == "TP")
    assert kinds == ["ad_click", "comment", "creator_click", "dm", "flow_step", "shop_link"]


# ------------------------------------------------------------------------------------- a DM before its comment
def posts_row(api, post: str) -> dict:
    """The posts report's row of one post (today and the days before, in the tenant's zone)."""
    from tests.integration.senders import team_call

    rows = team_call(api, "GET", "acme", "reports/posts").json()["rows"]
    return next((row for row in rows if row["post_id"] == post), {})


def keyword_dms(api, keyword: str) -> int:
    from tests.integration.senders import team_call

    rows = team_call(api, "GET", "acme", "reports/keywords").json()["rows"]
    return next((row["dms"] for row in rows if row["keyword"] == keyword.lower()), 0)


@pytest.mark.parametrize("order_of_arrival", ["comment first", "dm first", "dm first, comment twice"])
def test_a_dm_that_arrives_before_its_comment_counts_on_the_post_once_the_comment_arrives(pipeline, order_of_arrival):
    """Given a comment on post v7 and the DM it started (webhooks race, so either may come first), when both have
    arrived, then the post shows 1 comment and 1 DM, the keyword 1 DM, and an order after the conversation's shop link
    credits post v7, whatever the order of arrival; the comment delivered again changes nothing."""
    from tests.integration.senders import attribution_of, dm, order, send_orders, shop_link

    at = moment()
    the_comment = comment("c-v7", "u-v7", at, post="v7", keywords=("GLOW",))
    the_dm = dm("d-v7", "u-v7", at + timedelta(minutes=1), "conv-v7", comment_id="c-v7")
    sends = {
        "comment first": [the_comment, the_dm],
        "dm first": [the_dm, the_comment],
        "dm first, comment twice": [the_dm, the_comment, the_comment],
    }[order_of_arrival]
    for touchpoint in sends:
        assert send_touchpoints(pipeline, "acme", touchpoint).status == 202
    if order_of_arrival == "dm first":
        assert not [i for i in pipeline.items() if i["SK"] == "WAITING_DMS"], "the comment took the waiting DM over"

    row = posts_row(pipeline, "v7")
    assert (row.get("comments"), row.get("dms")) == (1, 1)
    assert keyword_dms(pipeline, "GLOW") == 1
    assert send_touchpoints(pipeline, "acme", shop_link("s-v7", "u-v7", at + timedelta(minutes=2), "conv-v7")).status == 202
    assert send_orders(pipeline, "acme", order("v7-1", "u-v7", at + timedelta(minutes=30))).status == 202
    attribution = attribution_of(pipeline, "acme", "v7-1")
    assert (attribution["method"], attribution["post"]["id"], attribution["keywords"]) == ("conversation", "v7", ["GLOW"])


def test_a_dm_waiting_for_a_comment_that_never_comes_still_counts_on_its_flow(pipeline):
    """Given a DM whose comment never arrives, then its flow counts it and no post does (there is none to name)."""
    from tests.integration.senders import dm, team_call

    at = moment()
    body = {**dm("d-lonely", "u-lonely", at, "conv-lonely", comment_id="c-never"), "flow": {"id": "f-lonely", "name": "Lonely"}}
    assert send_touchpoints(pipeline, "acme", body).status == 202
    flows = team_call(pipeline, "GET", "acme", "reports/flows").json()["rows"]
    assert [(row["flow_id"], row["dms"]) for row in flows] == [("f-lonely", 1)]
    assert all(row.get("dms", 0) == 0 for row in team_call(pipeline, "GET", "acme", "reports/posts").json()["rows"])
