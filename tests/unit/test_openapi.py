"""The OpenAPI document is generated from the handlers, committed, and served at /v1/openapi.json."""

from __future__ import annotations

import json
import re

from ordertrail_local.openapi import DOCUMENT_PATH, RAW_BODIES, build_document, render

ISSUE_ROUTES = {
    ("post", "/v1/{tenant}/webhooks/tiktok-shop"),
    ("post", "/v1/{tenant}/webhooks/shopify"),
    ("post", "/v1/{tenant}/orders"),
    ("post", "/v1/{tenant}/touchpoints"),
    ("get", "/v1/{tenant}/orders/{order_id}"),
    ("post", "/v1/{tenant}/orders/{order_id}/review"),
    ("get", "/v1/{tenant}/coupons"),
    ("put", "/v1/{tenant}/coupons/{code}"),
    ("delete", "/v1/{tenant}/coupons/{code}"),
    ("get", "/v1/{tenant}/settings"),
    ("put", "/v1/{tenant}/settings"),
}


def test_committed_document_is_not_stale() -> None:
    """Given the handlers as they are, when the document is regenerated, then it equals the committed file (run `make openapi`)."""
    assert DOCUMENT_PATH.read_text() == render(), "layers/attribution/ordertrail/api/openapi.json is stale: run `make openapi`"


def test_document_covers_every_route_with_bodies_and_auth() -> None:
    """Every route of this API is documented; signed routes show their body schema and signature header; team routes need a key."""
    document = build_document()
    operations = {(method, path): op for path, ops in document["paths"].items() for method, op in ops.items()}
    assert ISSUE_ROUTES <= set(operations)
    touchpoints = operations[("post", "/v1/{tenant}/touchpoints")]
    assert "requestBody" in touchpoints
    assert any(p["name"] == "X-OrderTrail-Signature" for p in touchpoints["parameters"])
    assert "CommentTouchpoint" in document["components"]["schemas"]
    assert operations[("get", "/v1/{tenant}/orders/{order_id}")]["security"] == [{"teamApiKey": []}]
    assert "security" not in operations[("post", "/v1/{tenant}/orders")]


def test_every_operation_has_a_unique_snake_case_operation_id() -> None:
    """Given the committed document, then every operation has an operationId that is snake_case and no other operation's
    (a generated client names its functions after them: `get_order`, `posts_report`)."""
    document = json.loads(DOCUMENT_PATH.read_text())
    ids = [op.get("operationId", "") for ops in document["paths"].values() for op in ops.values()]
    assert [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i)] == []
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_document_names_its_servers_and_how_each_operation_authenticates() -> None:
    """The document lists the deployed API and the local stack as servers; team operations need the bearer key (the
    dashboard page also a signed link); signed operations declare no security and say why in their description."""
    document = json.loads(DOCUMENT_PATH.read_text())
    assert [server["url"] for server in document["servers"]] == [
        "https://{api_id}.execute-api.{region}.amazonaws.com",
        "http://127.0.0.1:{port}",
    ]
    assert document["servers"][1]["variables"]["port"]["default"] == "3000"
    assert document["components"]["securitySchemes"]["teamApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A team API key of this tenant",
    }
    operations = {(method, path): op for path, ops in document["paths"].items() for method, op in ops.items()}
    for (method, path), operation in operations.items():
        if (method, path) in RAW_BODIES:  # the signed operations
            assert "security" not in operation, (method, path)
            assert "no `security`" in operation["description"], (method, path)
        elif (method, path) == ("get", "/v1/connections/tiktok-shop/callback"):  # TikTok's redirect: the signed state is the proof
            assert operation["security"] == [], (method, path)
        else:
            assert {"teamApiKey": []} in operation["security"], (method, path)
    for browser_route in ("/v1/{tenant}/dashboard", "/v1/{tenant}/connections/tiktok-shop/authorize"):
        assert operations[("get", browser_route)]["security"] == [{"teamApiKey": []}, {"dashboardLink": []}]


def test_document_is_served_by_the_api(pipeline) -> None:  # type: ignore[no-untyped-def]
    """When anyone GETs /v1/openapi.json (no key needed), then they receive the committed document."""
    response = pipeline.call("GET", "/v1/openapi.json")
    assert response.status == 200
    assert response.json() == json.loads(DOCUMENT_PATH.read_text())
