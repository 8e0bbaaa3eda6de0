"""Errors the resolver maps that no bad input can trigger on purpose: they still answer in docs/api.md#error-shape, never a 500."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from ordertrail.api.resolver import create_resolver
from ordertrail.core.errors import UpstreamError


def _event(path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"}, "stage": "$default"},
        "isBase64Encoded": False,
    }


def test_a_delivery_still_in_progress_is_a_409_the_platform_retries() -> None:
    """Given a duplicate webhook arriving while the first copy is processed, then it gets 409 delivery_in_progress."""
    app = create_resolver()

    @app.get("/busy")
    def busy() -> None:
        raise IdempotencyAlreadyInProgressError("in progress")

    response = app.resolve(_event("/busy"), None)
    assert response["statusCode"] == 409
    assert json.loads(response["body"])["error"]["code"] == "delivery_in_progress"


def test_an_upstream_failure_is_a_502_naming_the_cause() -> None:
    """Given TikTok Shop's API failing, then the webhook gets 502 upstream_unavailable so TikTok retries it."""
    app = create_resolver()

    @app.get("/upstream")
    def upstream() -> None:
        raise UpstreamError("TikTok Shop answered HTTP 503")

    response = app.resolve(_event("/upstream"), None)
    assert response["statusCode"] == 502
    assert json.loads(response["body"])["error"]["code"] == "upstream_unavailable"


def test_an_unknown_route_is_a_404_in_the_api_shape() -> None:
    response = create_resolver().resolve(_event("/nowhere"), None)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "route_not_found"
