"""The seller's team API (Bearer API key): who may read what, order lookups, coupons and settings."""

from __future__ import annotations

import pytest

from tests.integration.senders import (
    get_order,
    moment,
    order,
    send_orders,
    send_shopify_webhook,
    shopify_order,
    team_call,
)

DEFAULT_PRIORITY = ["coupon", "conversation_hard", "ad_click", "creator_link", "conversation_soft"]


def items_of_type(api, kind: str) -> list[dict]:
    return [i for i in api.items() if i.get("type") == kind]


# ------------------------------------------------------------------------------------- API keys
def test_another_tenants_key_is_403(pipeline):
    """Given acme has order 1001, when globex's key asks for it under /v1/acme, then 403 wrong_tenant, no order data."""
    send_orders(pipeline, "acme", order("1001", "u1", moment()))
    response = get_order(pipeline, "acme", "1001", key_of="globex")
    assert response.status == 403, response.body
    assert response.json()["error"]["code"] == "wrong_tenant"
    assert "order" not in response.json()


def test_no_key_is_401_naming_authorization(pipeline):
    response = pipeline.call("GET", "/v1/acme/orders/1001")
    assert response.status == 401, response.body
    assert response.json()["error"]["field"] == "Authorization"


@pytest.mark.parametrize("header", ["Bearer not-a-key", "Bearer ", "acme-team-key", "Basic YWNtZTprZXk=", "Bearer acme-team-key-2"])
def test_an_unknown_or_malformed_key_is_401(pipeline, header):
    response = pipeline.call("GET", "/v1/acme/settings", headers={"Authorization": header})
    assert response.status == 401, response.body
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_the_key_works_whatever_the_header_case(pipeline):
    response = pipeline.call("GET", "/v1/acme/settings", headers={"authorization": "bearer acme-team-key"})
    assert response.status == 200, response.body


@pytest.mark.parametrize(
    ("method", "rest", "body"),
    [
        ("PUT", "coupons/MAYA15", {"creator": "mallory"}),
        ("DELETE", "coupons/MAYA15", None),
        ("PUT", "settings", {"settle_hours": 0}),
        ("POST", "orders/1001/review", {"decision": "reject"}),
        ("GET", "coupons", None),
        ("GET", "reviews", None),
    ],
)
def test_another_tenants_key_never_writes(pipeline, method, rest, body):
    """Given acme's coupon and settings, when globex's key tries to change them under /v1/acme, then 403 and nothing changes."""
    team_call(pipeline, "PUT", "acme", "coupons/MAYA15", {"creator": "maya"})
    before = pipeline.items()
    response = team_call(pipeline, method, "acme", rest, body, key_of="globex")
    assert response.status == 403, response.body
    assert pipeline.items() == before


def test_a_tenant_sees_only_its_own_orders(pipeline):
    """The same order id in two tenants: each key sees its own."""
    send_orders(pipeline, "acme", order("1001", "u1", moment(), total="10.00"))
    send_orders(pipeline, "globex", order("1001", "u1", moment(), total="99.00"))
    assert get_order(pipeline, "acme", "1001").json()["order"]["total"] == "10.00"
    assert get_order(pipeline, "globex", "1001").json()["order"]["total"] == "99.00"


def test_openapi_is_served_without_a_key(pipeline):
    response = pipeline.call("GET", "/v1/openapi.json")
    assert response.status == 200
    assert response.json()["openapi"].startswith("3.")
    assert "/v1/{tenant}/touchpoints" in response.json()["paths"]


# ------------------------------------------------------------------------------------- orders
def test_an_unknown_order_is_404(pipeline):
    response = get_order(pipeline, "acme", "nope")
    assert response.status == 404
    assert response.json()["error"] == {**response.json()["error"], "code": "order_not_found", "field": "order_id"}


def test_an_id_in_two_stores_needs_a_source(pipeline):
    """Given order 5001 exists from Shopify and from another store, when read without ?source=, then 409
    naming `source`; with ?source=shopify the Shopify one is shown."""
    send_shopify_webhook(pipeline, "acme", shopify_order(5001, moment()))
    send_orders(pipeline, "acme", order("5001", "u1", moment()))

    ambiguous = get_order(pipeline, "acme", "5001")
    assert ambiguous.status == 409, ambiguous.body
    assert ambiguous.json()["error"]["code"] == "ambiguous_order"
    assert ambiguous.json()["error"]["field"] == "source"

    shopify = get_order(pipeline, "acme", "5001", source="shopify")
    assert shopify.status == 200
    assert shopify.json()["order"]["source"] == "shopify"
    assert get_order(pipeline, "acme", "5001", source="other").json()["order"]["source"] == "other"
    assert get_order(pipeline, "acme", "5001", source="tiktok_shop").status == 404


def test_an_unknown_source_is_refused_naming_it(pipeline):
    response = get_order(pipeline, "acme", "5001", source="amazon")
    assert response.status == 422, response.body
    assert response.json()["error"]["field"] == "source"


def test_an_order_shows_when_it_was_received(pipeline):
    send_orders(pipeline, "acme", order("1001", "u1", moment()))
    doc = get_order(pipeline, "acme", "1001").json()
    assert doc["received_at"]
    assert doc["order"]["id"] == "1001"
    assert doc["attribution"]["order_id"] == "1001"


# ------------------------------------------------------------------------------------- coupons
def test_coupon_mappings_can_be_created_listed_and_deleted(pipeline):
    """PUT maps a code (case-insensitively) to a creator link, GET lists it, DELETE removes it, a second DELETE is 404."""
    put = team_call(pipeline, "PUT", "acme", "coupons/maya15", {"creator": "maya", "link_id": "lnk-1"})
    assert put.status == 200, put.body
    assert put.json() == {"code": "MAYA15", "creator": "maya", "link_id": "lnk-1"}
    team_call(pipeline, "PUT", "acme", "coupons/JO10", {"creator": "jo"})

    listed = team_call(pipeline, "GET", "acme", "coupons").json()["coupons"]
    assert {c["code"]: c["creator"] for c in listed} == {"JO10": "jo", "MAYA15": "maya"}
    assert team_call(pipeline, "GET", "globex", "coupons").json()["coupons"] == []

    replaced = team_call(pipeline, "PUT", "acme", "coupons/MAYA15", {"creator": "maya", "link_id": "lnk-2"})
    assert replaced.status == 200
    assert [c["link_id"] for c in team_call(pipeline, "GET", "acme", "coupons").json()["coupons"] if c["code"] == "MAYA15"] == ["lnk-2"]

    assert team_call(pipeline, "DELETE", "acme", "coupons/MAYA15").status == 204
    again = team_call(pipeline, "DELETE", "acme", "coupons/MAYA15")
    assert again.status == 404
    assert again.json()["error"]["code"] == "coupon_not_found"
    assert [c["code"] for c in team_call(pipeline, "GET", "acme", "coupons").json()["coupons"]] == ["JO10"]


def test_a_coupon_needs_a_creator(pipeline):
    response = team_call(pipeline, "PUT", "acme", "coupons/MAYA15", {"link_id": "lnk-1"})
    assert response.status == 422, response.body
    assert response.json()["error"]["field"] == "creator"
    assert items_of_type(pipeline, "coupon") == []


def test_a_coupon_with_a_wrong_type_is_400(pipeline):
    response = team_call(pipeline, "PUT", "acme", "coupons/MAYA15", {"creator": ["maya"]})
    assert response.status == 400, response.body
    assert response.json()["error"]["field"] == "creator"


def test_a_coupon_code_with_odd_characters_is_refused(pipeline):
    response = team_call(pipeline, "PUT", "acme", "coupons/MAYA%2315", {"creator": "maya"})
    assert response.status == 422, response.body
    assert response.json()["error"]["field"] == "code"


def test_malformed_json_on_a_team_route_is_400(pipeline):
    response = pipeline.call(
        "PUT", "/v1/acme/coupons/MAYA15", b'{"creator": ', {"Authorization": "Bearer acme-team-key", "Content-Type": "application/json"}
    )
    assert response.status == 400, response.body
    assert response.json()["error"]["code"] in ("malformed_json", "wrong_type")


# ------------------------------------------------------------------------------------- settings
def test_settings_default_to_the_spec(pipeline):
    """Windows 14/7/7 days, settle 24 h, the documented priority (docs/attribution.md#rules), UTC."""
    response = team_call(pipeline, "GET", "acme", "settings")
    assert response.status == 200, response.body
    settings = response.json()
    assert (settings["conversation_window_days"], settings["click_window_days"], settings["creator_window_days"]) == (14, 7, 7)
    assert settings["settle_hours"] == 24
    assert settings["priority"] == DEFAULT_PRIORITY
    assert settings["time_zone"] == "UTC"


def test_settings_can_be_replaced_per_tenant(pipeline):
    new = {
        "conversation_window_days": 10,
        "priority": ["ad_click", *[r for r in DEFAULT_PRIORITY if r != "ad_click"]],
        "time_zone": "America/Los_Angeles",
    }
    put = team_call(pipeline, "PUT", "acme", "settings", new)
    assert put.status == 200, put.body
    got = team_call(pipeline, "GET", "acme", "settings").json()
    assert {k: got[k] for k in new} == new
    assert got["click_window_days"] == 7
    assert team_call(pipeline, "GET", "globex", "settings").json()["priority"] == DEFAULT_PRIORITY


@pytest.mark.parametrize(
    "priority",
    [
        ["coupon", "ad_click"],
        [*DEFAULT_PRIORITY, "coupon"],
        ["coupon", "conversation_hard", "ad_click", "creator_link", "organic"],
        [],
    ],
)
def test_an_invalid_priority_is_422_naming_priority(pipeline, priority):
    response = team_call(pipeline, "PUT", "acme", "settings", {"priority": priority})
    assert response.status == 422, response.body
    assert response.json()["error"]["field"].startswith("priority")
    assert team_call(pipeline, "GET", "acme", "settings").json()["priority"] == DEFAULT_PRIORITY


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"conversation_window_days": "two weeks"}, 400, "conversation_window_days"),
        ({"conversation_window_days": 0}, 422, "conversation_window_days"),
        ({"click_window_days": 91}, 422, "click_window_days"),
        ({"time_zone": "Mars/Olympus"}, 422, "time_zone"),
        ({"settle_hours": -1}, 422, "settle_hours"),
        ({"colour": "blue"}, 422, "colour"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(pipeline, body, status, field):
    response = team_call(pipeline, "PUT", "acme", "settings", body)
    assert response.status == status, response.body
    assert response.json()["error"]["field"] == field
    assert items_of_type(pipeline, "settings") == []


# ------------------------------------------------------------------------------------- routes the API does not have
def test_an_unknown_route_is_404_and_a_known_path_with_another_method_is_405_in_the_error_shape(pipeline):
    """Given the HTTP API, when a request names a path it does not have, then it is 404 route_not_found in docs/api.md#error-shape
    (API Gateway's $default route brings it to the API, which needs no key for that); when the path exists with other
    methods, then it is 405 method_not_allowed with an Allow header naming them."""
    missing = pipeline.call("GET", "/v1/acme/nothing/here")
    assert missing.status == 404 and missing.json()["error"]["code"] == "route_not_found"

    for method, path, allowed in (
        ("DELETE", "/v1/acme/orders", "POST"),
        ("GET", "/v1/acme/touchpoints", "POST"),
        ("PATCH", "/v1/acme/settings", "GET, PUT"),
        ("POST", "/v1/openapi.json", "GET"),
    ):
        wrong = pipeline.call(method, path, headers={"Authorization": "Bearer acme-team-key"})
        assert wrong.status == 405, (method, path, wrong.body)
        assert wrong.json()["error"]["code"] == "method_not_allowed"
        assert wrong.headers["allow"] == allowed
