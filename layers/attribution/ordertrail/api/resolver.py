"""HTTP plumbing shared by the API functions: the resolver with the error bodies of docs/api.md#error-shape, body limits, JSON parsing."""

from __future__ import annotations

import base64
import functools
import json
import re
from datetime import date
from importlib import resources
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from pydantic import BaseModel

from ordertrail.api.auth import header, require_key_tenant
from ordertrail.api.json_body import TOO_DEEP
from ordertrail.core.errors import (
    Conflict,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    OrderTrailError,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    UpstreamError,
    field_path,
)
from ordertrail.core.responses import ErrorBody
from ordertrail.runtime.observability import logger

TENANT_PATTERN = r"^[a-z0-9-]{1,40}$"
OPENAPI_PATH = "/v1/openapi.json"
# Requests of these methods carry a body (or should): a team route reads it as JSON.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
TenantId = Annotated[str, Path(pattern=TENANT_PATTERN, description="Tenant id: lower-case letters, digits and `-`, 1 to 40")]
# The day range of the report and CSV download routes.
FromDay = Annotated[date | None, Query(alias="from", description="First local day (yyyy-mm-dd), default 29 days before `to`")]
ToDay = Annotated[date | None, Query(description="Last local day, inclusive (default today in the tenant's zone)")]


ERROR_TEXTS: dict[int, str] = {
    400: "Malformed JSON or a wrong type",
    401: "Missing or bad signature or key",
    403: "A signature or key of another tenant (nothing is read or written)",
    404: "Nothing with this id for this tenant",
    409: "Conflicts with the current state",
    413: "Body over 1 MiB",
    415: "A content type the route does not read",
    422: "Valid JSON that breaks a rule",
    502: "An upstream API (TikTok Shop) failed: retry later",
}
# What every team route can answer whatever it does; routes with a body add BODY_ERRORS.
TEAM_ERRORS = (400, 401, 403, 422)
BODY_ERRORS = (*TEAM_ERRORS, 413, 415)


def documented(
    status: int,
    description: str,
    model: Any = None,
    *errors: int,
    media: str = "application/json",
    also: dict[int, OpenAPIResponse] | None = None,
) -> dict[int, OpenAPIResponse]:
    """A route's responses for the OpenAPI document: its success and every error status it can answer.

    The success carries its body's model (or, without one, a text media type); every error is the error body of docs/api.md#error-shape;
    `also` adds other answers (e.g. a redirect).
    """
    success: OpenAPIResponse = {"description": description}
    if model is not None:
        success["content"] = {media: {"model": model}}
    elif media != "application/json":
        success["content"] = {media: {"schema": {"type": "string"}}}
    declared: dict[int, OpenAPIResponse] = {status: success, **(also or {})}
    for error in sorted(set(errors)):
        declared[error] = {"description": ERROR_TEXTS[error], "content": {"application/json": {"model": ErrorBody}}}
    return declared


M = TypeVar("M", bound=BaseModel)


def json_response(status: int, body: M) -> Response[M]:
    """A JSON response carrying a model; Powertools validates it against the route's declared type and serialises it."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def error_response(error: OrderTrailError) -> Response[str]:
    """The error body of docs/api.md#error-shape with the error's status."""
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON, body=json.dumps(error.body()))


def without_nulls(value: Any) -> Any:
    """The value with every object member whose value is null left out, at any depth (list items are kept)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def response_json(body: Any) -> str:
    """Compact JSON of a response body without null members: an optional field with no value is absent, not `null`."""
    return json.dumps(without_nulls(body), separators=(",", ":"), cls=Encoder)


class DecodingResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver with path parameters percent-decoded, as API Gateway decodes them.

    Routes are matched on the raw path (so `%2F` inside an order id stays inside its segment); the values the handlers
    get are then decoded: `GET /orders/%231001` reads order `#1001`. tests/integration/test_bad_input.py guards it.
    """

    def _convert_matches_into_route_keys(self, match: re.Match[str]) -> dict[str, str]:
        """The route's path parameters, decoded."""
        return {name: unquote(value) for name, value in super()._convert_matches_into_route_keys(match).items()}


def create_resolver() -> APIGatewayHttpResolver:
    """An HTTP API resolver with validation on, and every error in docs/api.md#error-shape (never a 5xx for bad input)."""
    app = DecodingResolver(enable_validation=True, serializer=response_json)

    @app.exception_handler(OrderTrailError)
    def _known(error: OrderTrailError) -> Response[str]:
        logger.info("request refused", extra={"code": error.code, "status": error.status, "field": error.field})
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response[str]:
        return error_response(from_request_validation(error))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[str]:
        return error_response(UnsupportedMediaType("this route reads JSON: send Content-Type: application/json", field="Content-Type"))

    # Powertools decodes a team route's JSON body itself: a body that is not UTF-8, or nested deeper than the parser
    # recurses, fails there before any of our code runs.
    @app.exception_handler(UnicodeDecodeError)
    def _not_text(_: UnicodeDecodeError) -> Response[str]:
        return error_response(MalformedRequest("the body is not UTF-8 text; send JSON", code="malformed_json"))

    @app.exception_handler(RecursionError)
    def _too_deep(_: RecursionError) -> Response[str]:
        return error_response(MalformedRequest(TOO_DEEP, code="malformed_json"))

    @app.exception_handler(UpstreamError)
    def _upstream(error: UpstreamError) -> Response[str]:
        # Not the caller's fault: a 502 makes the platform retry the webhook later.
        logger.warning("upstream API failed", extra={"error": str(error)})
        body = {"error": {"code": "upstream_unavailable", "message": f"an upstream API failed: {error}"}}
        return Response(status_code=502, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _in_progress(_: IdempotencyAlreadyInProgressError) -> Response[str]:
        # The same webhook is being processed right now; a non-2xx makes the platform retry after it finished.
        return error_response(Conflict("this delivery is already being processed; retry later", code="delivery_in_progress"))

    @app.not_found
    def _missing(_: Exception) -> Response[str]:
        event = app.current_event
        refusal, allowed = unmatched(event.http_method, event.path)
        response = error_response(refusal)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    return app


def unmatched(method: str, path: str) -> tuple[OrderTrailError, tuple[str, ...]]:
    """What a request no route takes gets: 405 (and the methods to Allow) for a path the API has, else 404.

    API Gateway's $default route brings every such request to ReportsFunction; both answers are in the error shape of
    docs/api.md#error-shape.
    """
    allowed = methods_of(path)
    if allowed and method.upper() not in allowed:
        return MethodNotAllowed(f"{method.upper()} is not allowed here; use {', '.join(allowed)}"), allowed
    return NotFound(f"no route {method.upper()} {path}", code="route_not_found"), ()


@functools.cache
def _route_patterns() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """Every path of the API (from the committed OpenAPI document, generated from the handlers) with its methods."""
    document = json.loads(resources.files("ordertrail.api").joinpath("openapi.json").read_text())
    # The document itself is served, though not listed in itself.
    patterns = [(re.compile(f"^{re.escape(OPENAPI_PATH)}$"), ("GET",))]
    for path, operations in document["paths"].items():
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"
        patterns.append((re.compile(regex), tuple(sorted(method.upper() for method in operations))))
    return tuple(patterns)


def methods_of(path: str) -> tuple[str, ...]:
    """The methods the API answers on this path (empty when it has no such path)."""
    return next((methods for pattern, methods in _route_patterns() if pattern.match(path)), ())


def from_request_validation(error: RequestValidationError) -> OrderTrailError:
    """Map Powertools' validation errors (path, query, body) to a 400 or 422 naming the field."""
    first = next(iter(error.errors()))
    loc = tuple(first.get("loc", ()))
    where = loc[1:] if loc and loc[0] in ("path", "query", "body", "header") else loc
    field = field_path(where)
    kind = str(first.get("type", ""))
    message = f"{field or 'request'}: {first.get('msg', 'is invalid')}"
    if kind == "json_invalid" or kind.endswith(("_type", "_parsing")):
        return MalformedRequest(message, field=field or None, code="wrong_type")
    return Unprocessable(message, field=field or None, code="missing_field" if kind == "missing" else "invalid_value")


def resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any, max_bytes: int, *, team: bool = False) -> dict[str, Any]:
    """Resolve an HTTP API event; what can be refused without reading the body is refused first.

    Team routes (`team`) check the key (401/403) before anything else, then the media type (415); every route answers
    413 for a body over `max_bytes` before it is parsed.
    """
    refusal = _team_refusal(event) if team else None
    allowed: tuple[str, ...] = ()
    if event.get("routeKey") == "$default":
        # API Gateway found no route: never dispatch it to a route of the code, whose authorizer did not run (a route
        # in the code but missing from template.yaml would be open to anyone).
        http = (event.get("requestContext") or {}).get("http") or {}
        refusal, allowed = unmatched(str(http.get("method", "GET")), str(event.get("rawPath") or http.get("path") or "/"))
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if refusal is None and size > max_bytes:
        refusal = PayloadTooLarge(f"the body is about {size} bytes; the limit is {max_bytes}", code="body_too_large")
    sends_body = bool(body) or str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper() in BODY_METHODS
    if refusal is None and team and sends_body and not _is_json(header(event.get("headers"), "Content-Type")):
        refusal = UnsupportedMediaType("this route reads JSON: send Content-Type: application/json", field="Content-Type")
    if refusal is not None:
        headers = {"Content-Type": content_types.APPLICATION_JSON, **({"Allow": ", ".join(allowed)} if allowed else {})}
        return {"statusCode": refusal.status, "headers": headers, "body": json.dumps(refusal.body())}
    return app.resolve(event, context)


def _team_refusal(event: dict[str, Any]) -> OrderTrailError | None:
    """401/403 when the authorizer's key tenant is not the path's tenant (routes without a tenant need no key)."""
    path_tenant = (event.get("pathParameters") or {}).get("tenant")
    if path_tenant is None:
        return None
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    try:
        require_key_tenant(path_tenant, (authorizer.get("lambda") or {}).get("tenant") or None)
    except OrderTrailError as error:
        return error
    return None


def _is_json(content_type: str | None) -> bool:
    """A JSON media type (`application/json`, `application/*+json`, with parameters), or none given at all."""
    if content_type is None or not content_type.strip():
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def raw_body(app: APIGatewayHttpResolver) -> bytes:
    """The exact request bytes (signatures are computed over them).

    Decoded here, not with `decoded_body`: that one turns a base64 body into `str` and raises on bytes that are not
    UTF-8, which would make a bad body a 500 instead of the 400 of docs/api.md#errors.
    """
    event = app.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        return base64.b64decode(body)
    return body.encode()
