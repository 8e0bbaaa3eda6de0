"""A local stand-in for API Gateway HTTP API: route matching, payload v2.0 events, the Lambda authorizer, responses."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from ordertrail_local.lambda_runtime import ACCOUNT_ID, InvocationError, LambdaRuntime
from ordertrail_local.loopback import HttpResponse, json_response
from ordertrail_local.template import HttpRoute

log = logging.getLogger("ordertrail_local.apigw")

# HTTP API refuses request payloads over 10 MB before any integration runs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
API_ID = "local"
DEFAULT_ROUTE = "$default"
STAGE = "$default"

_TEXT_TYPES = re.compile(r"^(text/|application/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded|csv))", re.IGNORECASE)


@dataclass
class HttpRequest:
    """An incoming HTTP request as the local server or a test gives it (headers may repeat)."""

    method: str
    path: str
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class AuthorizerConfig:
    """The HTTP API's Lambda authorizer as template.yaml configures it."""

    function: str
    code_dir: str
    identity_headers: tuple[str, ...] = ("authorization",)
    ttl_seconds: int = 300
    simple_responses: bool = True


def message_response(status: int, message: str) -> HttpResponse:
    """API Gateway's own error shape: {"message": "..."}."""
    return json_response(status, {"message": message})


def authorizer_config(template: dict[str, Any]) -> AuthorizerConfig | None:
    """The default authorizer of the template's HttpApi (function, identity headers, cache TTL), if any."""
    resources = template.get("Resources") or {}
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::HttpApi":
            continue
        auth = (resource.get("Properties") or {}).get("Auth") or {}
        authorizers = auth.get("Authorizers") or {}
        config = authorizers.get(auth.get("DefaultAuthorizer")) or next(iter(authorizers.values()), None)
        if not config:
            continue
        arn = config.get("FunctionArn") or {}
        function = (arn.get("Fn::GetAtt") or [None])[0] if isinstance(arn, dict) else None
        if not function or function not in resources:
            continue
        code_dir = str((resources[function].get("Properties") or {}).get("CodeUri", "")).rstrip("/")
        identity = config.get("Identity") or {}
        # Without an identity source API Gateway calls the authorizer on every request and caches nothing.
        headers = tuple(str(h).lower() for h in identity.get("Headers") or [])
        return AuthorizerConfig(
            function=function,
            code_dir=code_dir,
            identity_headers=headers,
            ttl_seconds=int(identity.get("ReauthorizeEvery", 300)) if headers else 0,
            simple_responses=bool(config.get("EnableSimpleResponses", True)),
        )
    return None


# ------------------------------------------------------------------------------------------------ routes
def _segments(path: str) -> list[str]:
    """Split a path into its segments (no empty leading one)."""
    return path.strip("/").split("/") if path.strip("/") else []


def _match(route_path: str, path: str) -> dict[str, str] | None:
    """Path parameters when `path` fits the route's template (`{name}` one segment, `{name+}` the rest)."""
    wanted, given = _segments(route_path), _segments(path)
    params: dict[str, str] = {}
    for index, part in enumerate(wanted):
        if part.startswith("{") and part.endswith("+}"):
            if index >= len(given):
                return None
            params[part[1:-2]] = unquote("/".join(given[index:]))
            return params
        if index >= len(given):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not given[index]:
                return None
            params[part[1:-1]] = unquote(given[index])
        elif part != unquote(given[index]):
            return None
    return params if len(wanted) == len(given) else None


def _specificity(route: HttpRoute) -> tuple[tuple[int, ...], int]:
    """Sort key: literal segments beat variables, variables beat greedy ones, a method beats ANY."""
    parts = tuple(2 if p.endswith("+}") else 1 if p.startswith("{") else 0 for p in _segments(route.path))
    return parts, 1 if route.method == "ANY" else 0


def match_route(routes: list[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The most specific route for method + path, as API Gateway chooses it, with its path parameters.

    A request no route matches goes to the `$default` route, when the API has one.
    """
    found: list[tuple[HttpRoute, dict[str, str]]] = []
    for route in routes:
        if route.path == DEFAULT_ROUTE or route.method not in (method.upper(), "ANY"):
            continue
        params = _match(route.path, path)
        if params is not None:
            found.append((route, params))
    if not found:
        default = next((route for route in routes if route.path == DEFAULT_ROUTE), None)
        return (default, {}) if default is not None else None
    return min(found, key=lambda pair: _specificity(pair[0]))


# ------------------------------------------------------------------------------------------------ events
def _is_text(content_type: str | None, body: bytes) -> bool:
    """Text bodies are passed as they are; anything else (or not UTF-8) is base64-encoded."""
    if not content_type or not _TEXT_TYPES.match(content_type.strip()):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _joined_headers(request: HttpRequest) -> tuple[dict[str, str], list[str]]:
    """Headers lower-cased with repeated values comma-joined (payload v2.0), and cookies split out."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in request.headers:
        name = key.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    """queryStringParameters: decoded, repeated keys comma-joined, as API Gateway v2 does."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def _request_context(request: HttpRequest, route_key: str, headers: dict[str, str], request_id: str) -> dict[str, Any]:
    """RequestContext of payload v2.0."""
    now = datetime.now(UTC)
    host = headers.get("host", "localhost")
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": unquote(request.path),
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }


def build_event(
    route: HttpRoute | None, path_parameters: dict[str, str], request: HttpRequest, request_id: str | None = None
) -> dict[str, Any]:
    """The API Gateway HTTP API payload v2.0 event for a request on a matched route."""
    route_key = DEFAULT_ROUTE if route is None or route.path == DEFAULT_ROUTE else f"{route.method} {route.path}"
    headers, cookies = _joined_headers(request)
    request_id = request_id or str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": _request_context(request, route_key, headers, request_id),
        "isBase64Encoded": False,
    }
    # API Gateway leaves these keys out entirely when there is nothing to put in them.
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(request.query)
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if request.body:
        if _is_text(headers.get("content-type"), request.body):
            event["body"] = request.body.decode("utf-8")
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def build_authorizer_event(
    route: HttpRoute, path_parameters: dict[str, str], request: HttpRequest, identity: list[str], request_id: str
) -> dict[str, Any]:
    """The payload v2.0 REQUEST authorizer event (the request without its body, plus routeArn and identitySource)."""
    event = build_event(route, path_parameters, request, request_id)
    event.pop("body", None)
    event.pop("isBase64Encoded", None)
    event["type"] = "REQUEST"
    event["routeArn"] = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{API_ID}/{STAGE}/{route.method}{route.path}"
    event["identitySource"] = identity
    return event


def response_from_result(result: Any) -> HttpResponse:
    """Turn a payload v2.0 Lambda result into the HTTP response API Gateway would send."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # v2.0 infers a 200 JSON response from anything that is not a {"statusCode": ...} object.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, {"content-type": "application/json"}, text.encode("utf-8"))
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(key).lower()] = ",".join(str(v) for v in values)
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = str(raw).encode("utf-8")
    return HttpResponse(int(result["statusCode"]), headers, body, [str(c) for c in result.get("cookies") or []])


# ------------------------------------------------------------------------------------------------ gateway
class HttpApiGateway:
    """Routes requests to handlers the way the deployed HTTP API does, authorizer and error shapes included."""

    def __init__(self, routes: list[HttpRoute], runtime: LambdaRuntime, authorizer: AuthorizerConfig | None = None) -> None:
        self.routes = list(routes)
        self.runtime = runtime
        self.authorizer = authorizer
        self._auth_cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request: 413 / 404 / authorizer / function, exactly in API Gateway's order."""
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return message_response(413, "Request Entity Too Large")
        matched = match_route(self.routes, request.method, request.path)
        if matched is None:
            return message_response(404, "Not Found")
        route, params = matched
        request_id = str(uuid.uuid4())
        event = build_event(route, params, request, request_id)
        if route.authorized and self.authorizer is not None:
            denied, context = self._authorize(route, params, request, request_id)
            if denied is not None:
                return denied
            event["requestContext"]["authorizer"] = {"lambda": context}
        try:
            result = self.runtime.invoke(route.function, route.code_dir, event)
        except InvocationError:
            return message_response(500, "Internal Server Error")
        try:
            return response_from_result(result)
        except (TypeError, ValueError, KeyError):
            log.exception("%s returned a response API Gateway cannot map", route.function)
            return message_response(500, "Internal Server Error")

    def _authorize(
        self, route: HttpRoute, params: dict[str, str], request: HttpRequest, request_id: str
    ) -> tuple[HttpResponse | None, dict[str, Any]]:
        """Run (or reuse the cached answer of) the Lambda authorizer; return a denial response or the context."""
        assert self.authorizer is not None
        config = self.authorizer
        identity = [request.header(name) for name in config.identity_headers]
        if any(value is None or value == "" for value in identity):
            # API Gateway answers 401 itself, without calling the authorizer, when an identity source is missing.
            return message_response(401, "Unauthorized"), {}
        values = [str(value) for value in identity]
        key = tuple(values)
        cached = self._auth_cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            answer = cached[1]
        else:
            event = build_authorizer_event(route, params, request, values, request_id)
            try:
                answer = self.runtime.invoke(config.function, config.code_dir, event)
            except InvocationError:
                return message_response(500, "Internal Server Error"), {}
            if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
                log.error("%s returned %r, not a simple response {isAuthorized, context}", config.function, answer)
                return message_response(500, "Internal Server Error"), {}
            if config.ttl_seconds > 0:
                self._auth_cache[key] = (time.monotonic() + config.ttl_seconds, answer)
        if not answer["isAuthorized"]:
            return message_response(403, "Forbidden"), {}
        context = answer.get("context") or {}
        return None, dict(context) if isinstance(context, dict) else {}
