"""Responses leave out optional members that have no value (docs/api.md#responses-without-nulls: a client
never sees `null`), and the OpenAPI document says so and declares every status a route answers."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ROOT, Pipeline
from tests.integration.senders import api_key, get_order, moment, order, send_orders, send_shopify_webhook, shopify_order, team_call

DOCUMENT = json.loads((ROOT / "layers" / "attribution" / "ordertrail" / "api" / "openapi.json").read_text())


def nulls(value: Any, path: str = "$") -> list[str]:
    """JSON paths of every null member in a document."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in ([f"{path}.{key}"] if item is None else nulls(item, f"{path}.{key}"))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in nulls(item, f"{path}[{index}]")]
    return []


def test_webhook_acknowledgements_and_batches_carry_no_null_members(pipeline: Pipeline) -> None:
    """Given a Shopify order webhook and a signed order, when acknowledged, then the bodies are `{"received": true}` and
    the batch counts: no `"stored": null`, no `"ignored": null`."""
    response = send_shopify_webhook(pipeline, "acme", shopify_order(930001, moment()))
    assert response.status == 200 and response.json() == {"received": True}

    batch = send_orders(pipeline, "acme", order("9301", "u-9301", moment()))
    assert batch.status == 202 and batch.json() == {"accepted": 1, "duplicates": 0, "errors": []}


def test_team_reads_carry_no_null_members_anywhere(pipeline: Pipeline) -> None:
    """Given an organic order with no buyer details and default settings, when the team reads the order, the settings and
    a report, then no member anywhere in those bodies is null (absent instead)."""
    assert send_orders(pipeline, "acme", order("9302", None, moment())).status == 202
    bodies = {
        "order": get_order(pipeline, "acme", "9302").json(),
        "settings": team_call(pipeline, "GET", "acme", "settings").json(),
        "posts": team_call(pipeline, "GET", "acme", "reports/posts").json(),
        "reviews": pipeline.call("GET", "/v1/acme/reviews", headers=api_key("acme")).json(),
    }
    assert bodies["order"]["order"]["id"] == "9302"
    assert {name: nulls(body) for name, body in bodies.items()} == {name: [] for name in bodies}


def test_the_openapi_document_declares_success_bodies_every_status_and_absent_nulls() -> None:
    """Given the committed OpenAPI document, then every operation declares its success status (with a body schema unless
    it is a 204) and the API's error statuses in the error shape, and a nullable member is optional and says it is left
    out when it has no value."""
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            # A success is a 2xx or, where there is none, a redirect (302: the OAuth authorize route, with no body).
            successes = [status for status in responses if status[0] == "2"] or [s for s in responses if s == "302"]
            assert len(successes) == 1, (method, path, sorted(responses))
            if successes[0] not in ("204", "302"):
                assert responses[successes[0]].get("content"), (method, path)
            errors = {status for status in responses if status[0] in "45"}
            # An operation open to anyone (security: [], TikTok's OAuth redirect) cannot answer 401.
            expected = {"400", "422"} if operation.get("security") == [] else {"400", "401", "422"}
            assert expected <= errors, (method, path, sorted(errors))
            for status in errors:
                (schema,) = [media["schema"] for media in responses[status]["content"].values()]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    received = DOCUMENT["components"]["schemas"]["Received"]
    assert "stored" not in received.get("required", [])
    assert "Left out of responses when it has no value" in received["properties"]["stored"]["description"]
    assert "never carry `null`" in DOCUMENT["info"]["description"]
