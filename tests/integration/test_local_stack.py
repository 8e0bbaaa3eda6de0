"""The local stack's harness itself: API Gateway events and routing, stream filtering and retries, stand-ins, serve/run."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import TypeAdapter

from ordertrail.core.models import Order, Touchpoint
from ordertrail.sources.signatures import tiktok_api_sign
from ordertrail.sources.tiktok_shop import TikTokShopApiError, TikTokShopClient, TikTokShopCredentials
from ordertrail_local import load, sample_day
from ordertrail_local import template as tpl
from ordertrail_local.apigw import (
    MAX_PAYLOAD_BYTES,
    AuthorizerConfig,
    HttpApiGateway,
    HttpRequest,
    authorizer_config,
    build_event,
    match_route,
    response_from_result,
)
from ordertrail_local.dynamodb_local import DynamoDBLocal
from ordertrail_local.lambda_runtime import LambdaRuntime, module_name
from ordertrail_local.moto_backend import MotoBackend
from ordertrail_local.stack import DYNAMODB_BACKENDS, DYNAMODB_LOCAL, MOTO, LocalStack, sweep_stale_workdirs
from ordertrail_local.streams import RequestTraffic, StreamPump, StreamSource, matches_filters, matches_pattern, stream_source
from ordertrail_local.tiktok_shop_stand_in import ShopCredentials, TikTokShopStandIn, credentials_from_tenants
from tests.waits import WAIT_LIMIT, wait_until

ROOT = tpl.repo_root()
TEMPLATE = tpl.load_template()
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/attribution", "infra/local", "."))}


# ------------------------------------------------------------------------------------------------ API Gateway events
def test_event_has_route_key_path_parameters_query_and_plain_json_body() -> None:
    routes = tpl.http_routes(TEMPLATE)
    route, params = match_route(routes, "POST", "/v1/demo/orders") or (None, {})
    assert route is not None and route.function == "IngestOrderFunction"
    request = HttpRequest(
        "POST",
        "/v1/demo/orders",
        "a=1&b=two%20words&a=3",
        [("Content-Type", "application/json"), ("X-OrderTrail-Signature", "t=1,v1=ab"), ("Cookie", "s=1; t=2")],
        b'{"id": "1001"}',
        "10.1.2.3",
    )
    event = build_event(route, params, request)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/{tenant}/orders"
    assert event["rawPath"] == "/v1/demo/orders"
    assert event["rawQueryString"] == "a=1&b=two%20words&a=3"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "two words"}
    assert event["pathParameters"] == {"tenant": "demo"}
    assert event["headers"]["x-ordertrail-signature"] == "t=1,v1=ab"
    assert "cookie" not in event["headers"] and event["cookies"] == ["s=1", "t=2"]
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/v1/demo/orders",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.1.2.3",
        "userAgent": "",
    }
    assert event["requestContext"]["routeKey"] == "POST /v1/{tenant}/orders"
    assert event["isBase64Encoded"] is False and event["body"] == '{"id": "1001"}'


def test_binary_body_is_base64_and_empty_parts_are_left_out() -> None:
    route, params = match_route(tpl.http_routes(TEMPLATE), "POST", "/v1/demo/webhooks/shopify") or (None, {})
    raw = b"\xff\x00binary"
    event = build_event(
        route, params, HttpRequest("POST", "/v1/demo/webhooks/shopify", body=raw, headers=[("content-type", "application/octet-stream")])
    )
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == raw
    bare = build_event(route, params, HttpRequest("POST", "/v1/demo/webhooks/shopify"))
    assert "body" not in bare and "queryStringParameters" not in bare and "cookies" not in bare


def test_routes_match_like_api_gateway() -> None:
    routes = tpl.http_routes(TEMPLATE)
    found = match_route(routes, "GET", "/v1/demo/orders/576653688135258101")
    assert found is not None
    assert (found[0].function, found[0].path, found[1]) == (
        "ReportsFunction",
        "/v1/{tenant}/orders/{order_id}",
        {"tenant": "demo", "order_id": "576653688135258101"},
    )
    review = match_route(routes, "POST", "/v1/demo/orders/42/review")
    assert review is not None and review[0].path.endswith("/review")
    coupon = match_route(routes, "PUT", "/v1/demo/coupons/MAYA%2015")
    assert coupon is not None and coupon[1]["code"] == "MAYA 15"
    openapi = match_route(routes, "GET", "/v1/openapi.json")
    assert openapi is not None and openapi[0].authorized is False
    # Whatever no route takes goes to the $default route (ReportsFunction answers it in the API's error shape) ...
    for method, path in (("DELETE", "/v1/demo/orders"), ("GET", "/v1/demo/nothing/here"), ("GET", "/v1/demo/orders/1/review/extra")):
        unmatched = match_route(routes, method, path)
        assert unmatched is not None and (unmatched[0].path, unmatched[0].authorized, unmatched[1]) == ("$default", False, {})
    # ... and without one, nothing matches (API Gateway answers 404 itself).
    without_default = [route for route in routes if route.path != "$default"]
    assert match_route(without_default, "DELETE", "/v1/demo/orders") is None
    assert match_route(without_default, "GET", "/v1/demo/nothing/here") is None


def test_v2_responses_map_back() -> None:
    plain = response_from_result({"statusCode": 201, "headers": {"X-A": "1"}, "body": '{"ok":true}', "cookies": ["a=1"]})
    assert (plain.status, plain.headers, plain.json(), plain.cookies) == (201, {"x-a": "1"}, {"ok": True}, ["a=1"])
    binary = response_from_result({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True})
    assert binary.body == b"\x00\x01"
    inferred = response_from_result({"received": True})
    assert inferred.status == 200 and inferred.json() == {"received": True}


# ------------------------------------------------------------------------------------------------ gateway with fake handlers
ECHO = """
import json
def lambda_handler(event, context):
    if event.get("rawPath", "").endswith("/boom"):
        raise RuntimeError("boom")
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"event": event, "function": context.function_name, "left": context.get_remaining_time_in_millis()})}
"""
AUTHORIZER = """
CALLS = []
def lambda_handler(event, context):
    CALLS.append(event)
    key = event["headers"].get("authorization", "")
    return {"isAuthorized": key != "Bearer bad", "context": {"tenant": "demo" if key == "Bearer good" else ""}}
"""


@pytest.fixture
def fake_gateway(tmp_path: Path) -> Iterator[tuple[HttpApiGateway, str]]:
    package = f"fakefns_{uuid.uuid4().hex[:8]}"
    for name, source in (("echo", ECHO), ("auth", AUTHORIZER)):
        (tmp_path / package / name).mkdir(parents=True)
        (tmp_path / package / name / "app.py").write_text(source)
    routes = [
        tpl.HttpRoute("POST", "/v1/{tenant}/orders", "EchoFunction", f"{package}/echo", False),
        tpl.HttpRoute("GET", "/v1/{tenant}/orders/{order_id}", "EchoFunction", f"{package}/echo", True),
        tpl.HttpRoute("GET", "/v1/{tenant}/boom", "EchoFunction", f"{package}/echo", False),
    ]
    runtime = LambdaRuntime(tmp_path, timeouts={"EchoFunction": 10})
    gateway = HttpApiGateway(routes, runtime, AuthorizerConfig("AuthFunction", f"{package}/auth", ("authorization",), 300))
    yield gateway, package
    if str(tmp_path.resolve()) in sys.path:  # only there once a handler was loaded
        sys.path.remove(str(tmp_path.resolve()))


FLAKY_FUNCTION = """
import os
def lambda_handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"pid": os.getpid(), "name": context.function_name, "echo": event["n"]}
"""


def test_a_function_process_runs_events_in_its_own_process_and_reports_errors(tmp_path: Path) -> None:
    """Given a function started in its own process, when it is invoked, then the result comes from another process; a
    raised error comes back as FunctionProcessError naming it; after stop() an invoke fails instead of hanging."""
    from ordertrail_local.function_process import FunctionProcess, FunctionProcessError

    package = f"fakeproc_{uuid.uuid4().hex[:8]}"
    (tmp_path / package / "fn").mkdir(parents=True)
    (tmp_path / package / "fn" / "app.py").write_text(FLAKY_FUNCTION)
    process = FunctionProcess(tmp_path, "FlakyFunction", f"{package}/fn").start()
    try:
        answer = process.invoke({"n": 7})
        assert answer["echo"] == 7 and answer["name"] == "FlakyFunction" and answer["pid"] != os.getpid()
        with pytest.raises(FunctionProcessError, match="FlakyFunction failed: ValueError: asked to fail"):
            process.invoke({"fail": True})
        assert process.invoke({"n": 8})["echo"] == 8  # an error does not end the process
    finally:
        process.stop()
    with pytest.raises(FunctionProcessError, match="not running"):
        process.invoke({"n": 9})


def test_unknown_route_is_404_and_huge_body_is_413(fake_gateway: tuple[HttpApiGateway, str]) -> None:
    gateway, _ = fake_gateway
    missing = gateway.handle(HttpRequest("GET", "/v1/demo/unknown"))
    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})
    wrong_method = gateway.handle(HttpRequest("PUT", "/v1/demo/orders"))
    assert wrong_method.status == 404
    huge = gateway.handle(HttpRequest("POST", "/v1/demo/orders", body=b"x" * (MAX_PAYLOAD_BYTES + 1)))
    assert (huge.status, huge.json()) == (413, {"message": "Request Entity Too Large"})


def test_function_gets_the_event_and_a_context(fake_gateway: tuple[HttpApiGateway, str]) -> None:
    gateway, _ = fake_gateway
    answer = gateway.handle(HttpRequest("POST", "/v1/demo/orders", "x=1", [("content-type", "application/json")], b"{}"))
    assert answer.status == 200
    seen = answer.json()
    assert seen["function"] == "EchoFunction" and 0 < seen["left"] <= 10_000
    assert seen["event"]["routeKey"] == "POST /v1/{tenant}/orders" and seen["event"]["body"] == "{}"
    assert "authorizer" not in seen["event"]["requestContext"]


def test_function_error_is_500(fake_gateway: tuple[HttpApiGateway, str]) -> None:
    gateway, _ = fake_gateway
    answer = gateway.handle(HttpRequest("GET", "/v1/demo/boom"))
    assert (answer.status, answer.json()) == (500, {"message": "Internal Server Error"})


def test_authorizer_runs_for_authorized_routes_and_is_cached(fake_gateway: tuple[HttpApiGateway, str]) -> None:
    gateway, package = fake_gateway
    no_key = gateway.handle(HttpRequest("GET", "/v1/demo/orders/1"))
    assert (no_key.status, no_key.json()) == (401, {"message": "Unauthorized"})  # identity source missing: no call
    denied = gateway.handle(HttpRequest("GET", "/v1/demo/orders/1", headers=[("Authorization", "Bearer bad")]))
    assert (denied.status, denied.json()) == (403, {"message": "Forbidden"})
    calls = sys.modules[f"{package}.auth.app"].CALLS
    assert (
        calls is not None
        and len(calls) == 1
        and calls[0]["type"] == "REQUEST"
        and calls[0]["routeKey"] == "GET /v1/{tenant}/orders/{order_id}"
    )
    for _ in range(2):
        ok = gateway.handle(HttpRequest("GET", "/v1/demo/orders/1", headers=[("Authorization", "Bearer good")]))
        assert ok.status == 200
        assert ok.json()["event"]["requestContext"]["authorizer"] == {"lambda": {"tenant": "demo"}}
    assert len(calls) == 2  # the second "good" request reused the cached answer (ReauthorizeEvery)


def test_authorizer_without_identity_source_runs_every_time(fake_gateway: tuple[HttpApiGateway, str]) -> None:
    gateway, package = fake_gateway
    gateway.authorizer = AuthorizerConfig("AuthFunction", f"{package}/auth", (), 0)
    for _ in range(2):
        answer = gateway.handle(HttpRequest("GET", "/v1/demo/orders/1", headers=[("Authorization", "Bearer good")]))
        assert answer.status == 200
    calls = sys.modules[f"{package}.auth.app"].CALLS
    assert len(calls) == 2 and calls[0]["identitySource"] == []


def test_authorizer_config_comes_from_the_template() -> None:
    config = authorizer_config(TEMPLATE)
    api = next(r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi")
    declared = next(iter(api["Properties"]["Auth"]["Authorizers"].values()))
    headers = tuple(h.lower() for h in (declared.get("Identity") or {}).get("Headers") or [])
    assert config is not None
    assert (config.function, config.code_dir, config.identity_headers) == ("AuthorizerFunction", tpl.authorizer_code_dir(TEMPLATE), headers)
    assert config.ttl_seconds == (int(declared["Identity"].get("ReauthorizeEvery", 300)) if headers else 0)


def test_module_names_follow_the_code_dir() -> None:
    assert module_name("functions/ingest_order/") == "functions.ingest_order.app"
    assert module_name("functions/reports", "handler.main") == "functions.reports.handler"


# ------------------------------------------------------------------------------------------------ stream filters
def _record(event_name: str, sk: str, kind: str | None = None) -> dict[str, Any]:
    dynamodb: dict[str, Any] = {"Keys": {"PK": {"S": "T#demo#O#x"}, "SK": {"S": sk}}}
    if kind is not None:
        dynamodb["NewImage"] = {"kind": {"S": kind}}
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


@pytest.mark.parametrize(
    ("event_name", "sk", "kind", "wanted"),
    [
        ("INSERT", "ORDER", None, True),
        ("MODIFY", "ORDER", None, True),
        ("REMOVE", "ORDER", None, False),
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1", "shop_link", True),
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1", "ad_click", True),
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1", "creator_click", True),
        # Comments, DMs and flow steps only add context: they wake no attribution.
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1", "comment", False),
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1", "dm", False),
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1", "flow_step", False),
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1", None, False),
        ("MODIFY", "TP#2025-06-12T10:00:00Z#tp-1", "shop_link", False),
        ("REMOVE", "TP#2025-06-12T10:00:00Z#tp-1", "shop_link", False),
        ("INSERT", "ATTR", None, False),
        ("INSERT", "ORDERS", None, False),
        ("INSERT", "XTP#1", "shop_link", False),
    ],
)
def test_template_filters_select_orders_and_new_decisive_touchpoints(event_name: str, sk: str, kind: str | None, wanted: bool) -> None:
    assert matches_filters(tpl.stream_filters(TEMPLATE), _record(event_name, sk, kind)) is wanted


def test_filter_rules_subset() -> None:
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "touchpoint"}}}}
    assert matches_pattern({"dynamodb": {"NewImage": {"type": {"S": [{"exists": True}]}}}}, record)
    assert matches_pattern({"dynamodb": {"OldImage": [{"exists": False}]}}, record)
    assert not matches_pattern({"dynamodb": {"OldImage": {"x": ["y"]}}}, record)
    # A nested `exists: false` holds where the object above it is absent too (the ORDER filter's `backfilled_at`).
    assert matches_pattern({"dynamodb": {"NewImage": {"backfilled_at": {"S": [{"exists": False}]}}}}, record)
    marked = {"eventName": "MODIFY", "dynamodb": {"NewImage": {"backfilled_at": {"S": "2026-12-03T00:00:00.000000Z"}}}}
    assert not matches_pattern({"dynamodb": {"NewImage": {"backfilled_at": {"S": [{"exists": False}]}}}}, marked)
    assert matches_pattern({"eventName": [{"anything-but": ["REMOVE"]}]}, record)
    assert not matches_pattern({"eventName": [{"anything-but": "INSERT"}]}, record)
    assert matches_pattern({"eventName": [{"equals-ignore-case": "insert"}]}, record)
    assert matches_filters([], record)


def test_stream_source_reads_the_template() -> None:
    source = stream_source(TEMPLATE)
    assert source.batch_size == 25 and source.maximum_retry_attempts == 5
    assert source.bisect_on_error and source.report_batch_item_failures
    assert source.filters == tpl.stream_filters(TEMPLATE)


# ------------------------------------------------------------------------------------------------ stream pump on moto
@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoBackend]:
    backend = MotoBackend(table_name=f"harness-{uuid.uuid4().hex[:6]}", template=TEMPLATE).start()
    yield backend
    backend.stop()


@pytest.fixture(params=DYNAMODB_BACKENDS)
def stream_server(request: pytest.FixtureRequest) -> MotoBackend | DynamoDBLocal:
    """Where a pump test's table lives: the module's moto server, or the session's DynamoDB Local."""
    fixture = "moto_server" if request.param == MOTO else "dynamodb_local"
    server: MotoBackend | DynamoDBLocal = request.getfixturevalue(fixture)
    return server


class Collector:
    """A fake AttributeFunction: records batches, fails what a test tells it to."""

    def __init__(self, fail: Any = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.succeeded: list[str] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any]) -> Any:
        batch = event["Records"]
        self.batches.append(batch)
        result = self.fail(batch, len(self.batches)) if self.fail else {"batchItemFailures": []}
        self.succeeded += [r["dynamodb"]["Keys"]["PK"]["S"] for r in batch]
        return result


def _pump(server: MotoBackend | DynamoDBLocal, handler: Collector, **source: Any) -> tuple[StreamPump, Any, str]:
    client = server.client("dynamodb")
    table = f"pump-{uuid.uuid4().hex[:8]}"
    arn = tpl.create_table(client, table, TEMPLATE)
    settings = {"filters": tpl.stream_filters(TEMPLATE), "batch_size": 10, "maximum_retry_attempts": 2, **source}
    return StreamPump(server.client("dynamodbstreams"), arn, handler, StreamSource(**settings)), client, table


def _put(client: Any, table: str, pk: str, sk: str, **extra: str) -> None:
    client.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": sk}, **{k: {"S": v} for k, v in extra.items()}})


def test_pump_delivers_filtered_records_in_lambda_shape(stream_server: MotoBackend | DynamoDBLocal) -> None:
    handler = Collector()
    pump, client, table = _pump(stream_server, handler)
    _put(client, table, "T#demo#O#1", "ORDER", status="paid")
    _put(client, table, "T#demo#O#1", "ATTR", method="organic")  # the function's own write: filtered out
    _put(client, table, "T#demo#B#u1", "TP#2025-06-12T10:00:00Z#tp-1", kind="shop_link")
    _put(client, table, "T#demo#B#u1", "TP#2025-06-12T10:01:00Z#tp-2", kind="comment")  # context only: filtered out
    _put(client, table, "T#demo#O#1", "ORDER", status="cancelled")  # MODIFY
    client.delete_item(TableName=table, Key={"PK": {"S": "T#demo#O#1"}, "SK": {"S": "ORDER"}})  # REMOVE: filtered out
    assert pump.drain() == 6
    records = [r for batch in handler.batches for r in batch]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in records] == [
        ("INSERT", "ORDER"),
        ("INSERT", "TP#2025-06-12T10:00:00Z#tp-1"),
        ("MODIFY", "ORDER"),
    ]
    first = records[0]
    assert first["eventSource"] == "aws:dynamodb" and first["awsRegion"] == "us-east-1"
    assert first["eventSourceARN"] == pump.stream_arn and first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert first["dynamodb"]["NewImage"]["status"] == {"S": "paid"}
    assert records[2]["dynamodb"]["OldImage"]["status"] == {"S": "paid"}
    json.dumps(handler.batches)  # the event is plain JSON, like Lambda's
    assert pump.drain() == 0 and len(handler.batches) == 1 and pump.filtered_out == 3


def test_batch_item_failures_redeliver_from_the_first_failed_record(stream_server: MotoBackend | DynamoDBLocal) -> None:
    def fail_second_once(batch: list[dict[str, Any]], call: int) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": batch[1]["dynamodb"]["SequenceNumber"]}]} if call == 1 else {}

    handler = Collector(fail_second_once)
    pump, client, table = _pump(stream_server, handler)
    for n in range(3):
        _put(client, table, f"T#demo#O#{n}", "ORDER")
    pump.drain()
    keys = [[r["dynamodb"]["Keys"]["PK"]["S"] for r in batch] for batch in handler.batches]
    assert keys == [["T#demo#O#0", "T#demo#O#1", "T#demo#O#2"], ["T#demo#O#1", "T#demo#O#2"]]
    assert pump.dead_letters == []


def test_records_that_keep_failing_go_to_the_dead_letter_list(stream_server: MotoBackend | DynamoDBLocal) -> None:
    def always_fail_second(batch: list[dict[str, Any]], call: int) -> dict[str, Any]:
        bad = [r for r in batch if r["dynamodb"]["Keys"]["PK"]["S"] == "T#demo#O#1"]
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in bad]}

    handler = Collector(always_fail_second)
    pump, client, table = _pump(stream_server, handler)
    for n in range(3):
        _put(client, table, f"T#demo#O#{n}", "ORDER")
    pump.drain()
    assert len(handler.batches) == 1 + 2  # first try + maximum_retry_attempts
    assert len(pump.dead_letters) == 1
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in pump.dead_letters[0].records] == ["T#demo#O#1", "T#demo#O#2"]
    _put(client, table, "T#demo#O#9", "ORDER")
    pump.drain()  # the stream moved on: nothing is retried forever
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in handler.batches[-1]] == ["T#demo#O#9"]


def test_function_errors_bisect_the_batch(stream_server: MotoBackend | DynamoDBLocal) -> None:
    def raise_on_poison(batch: list[dict[str, Any]], call: int) -> dict[str, Any]:
        if any(r["dynamodb"]["Keys"]["PK"]["S"] == "T#demo#O#poison" for r in batch):
            raise RuntimeError("poison")
        return {}

    handler = Collector(raise_on_poison)
    pump, client, table = _pump(stream_server, handler)
    for name in ("a", "poison", "b", "c"):
        _put(client, table, f"T#demo#O#{name}", "ORDER")
    pump.drain()
    assert [[r["dynamodb"]["Keys"]["PK"]["S"] for r in d.records] for d in pump.dead_letters] == [["T#demo#O#poison"]]
    assert sorted(handler.succeeded) == ["T#demo#O#a", "T#demo#O#b", "T#demo#O#c"]


def test_background_mode_delivers_without_drain(stream_server: MotoBackend | DynamoDBLocal) -> None:
    handler = Collector()
    pump, client, table = _pump(stream_server, handler)
    pump.start(interval=0.05)
    try:
        _put(client, table, "T#demo#O#bg", "ORDER")
        wait_until(lambda: handler.batches, "the background pump delivers the record")
    finally:
        pump.stop()
    assert handler.batches and handler.batches[0][0]["dynamodb"]["Keys"]["PK"]["S"] == "T#demo#O#bg"


def test_wait_idle_returns_once_everything_written_before_it_was_delivered(stream_server: MotoBackend | DynamoDBLocal) -> None:
    """Given a background pump and 30 orders just written, when wait_idle() is called, then it returns True only after
    all 30 were delivered, and again at once when nothing new was written."""
    handler = Collector()
    pump, client, table = _pump(stream_server, handler)
    pump.start(interval=0.05)
    try:
        for n in range(30):
            _put(client, table, f"T#demo#O#idle{n}", "ORDER")
        assert pump.wait_idle(WAIT_LIMIT)
        assert len(handler.succeeded) == 30
        assert pump.wait_idle(WAIT_LIMIT) and len(handler.succeeded) == 30
    finally:
        assert pump.stop()


def test_the_pump_lets_api_requests_go_first_but_never_waits_past_its_limit(stream_server: MotoBackend | DynamoDBLocal) -> None:
    """Given a background pump that yields to the API and a record on the stream, when a request stays in flight, then
    the record is not delivered while the request is served (for up to the longest wait), and it is delivered once the
    request ends; a request that never ends holds the stream back by the longest wait only."""
    handler = Collector()
    pump, client, table = _pump(stream_server, handler)
    pump.traffic = RequestTraffic(quiet=0.05, longest_wait=30.0)
    pump.start(interval=0.05)
    try:
        with pump.traffic.serving():
            _put(client, table, "T#demo#O#yield", "ORDER")
            time.sleep(1.0)  # a served request's time: the pump has read the record and waits for a quiet moment
            assert handler.batches == []
        wait_until(lambda: handler.batches, "the pump delivers once the request ended")
        pump.traffic.longest_wait = 0.2
        with pump.traffic.serving():
            _put(client, table, "T#demo#O#busy", "ORDER")
            wait_until(lambda: len(handler.batches) == 2, "the pump delivers after the longest wait though a request is in flight")
    finally:
        assert pump.stop()


def test_stop_comes_between_batches_and_a_later_drain_resumes_after_the_last_delivered(
    stream_server: MotoBackend | DynamoDBLocal,
) -> None:
    """Given 30 orders on the stream (batches of 10) and a function that asks the pump to stop while it handles the first
    batch, when the pump drains, then only that batch is delivered; a drain after stop() delivers the other 20, once each."""
    pump_box: list[StreamPump] = []

    def stop_during_first(batch: list[dict[str, Any]], call: int) -> dict[str, Any]:
        if call == 1:
            pump_box[0].request_stop()
        return {}

    handler = Collector(stop_during_first)
    pump, client, table = _pump(stream_server, handler)
    pump_box.append(pump)
    for n in range(30):
        _put(client, table, f"T#demo#O#s{n:02d}", "ORDER")
    pump.drain()
    assert [len(b) for b in handler.batches] == [10]
    assert pump.stop()  # not started: clears the flag, so in-process drains deliver again
    pump.drain()
    assert sorted(handler.succeeded) == sorted(f"T#demo#O#s{n:02d}" for n in range(30))


# ------------------------------------------------------------------------------------------------ TikTok Shop stand-in
@pytest.fixture
def stand_in() -> Iterator[TikTokShopStandIn]:
    tenants = json.loads((ROOT / "events" / "tenants.local.json").read_text())
    server = TikTokShopStandIn(credentials_from_tenants(tenants), sample_day.load().tiktok_orders).start()
    yield server
    server.stop()


def _demo_credentials() -> TikTokShopCredentials:
    tenants = json.loads((ROOT / "events" / "tenants.local.json").read_text())
    return TikTokShopCredentials.model_validate(tenants["tenants"]["demo"]["tiktok_shop"])


def test_stand_in_serves_orders_to_a_correctly_signed_client(stand_in: TikTokShopStandIn) -> None:
    client = TikTokShopClient(stand_in.url, _demo_credentials())
    orders = client.fetch_orders(["576653688135258101", "576653688135258103", "999"])
    assert [o["id"] for o in orders] == ["576653688135258101", "576653688135258103"]
    assert orders[1]["status"] == "CANCELLED"


def test_stand_in_rejects_bad_tokens_and_signatures(stand_in: TikTokShopStandIn) -> None:
    creds = _demo_credentials()
    with pytest.raises(TikTokShopApiError) as bad_token:
        TikTokShopClient(stand_in.url, creds.model_copy(update={"access_token": "wrong"})).fetch_orders(["576653688135258101"])
    assert bad_token.value.code == 105002
    query = {"app_key": creds.app_key, "timestamp": str(int(time.time())), "shop_cipher": creds.shop_cipher, "ids": "576653688135258101"}
    query["sign"] = tiktok_api_sign("not-the-secret", "/order/202309/orders", query)
    answer = requests.get(
        stand_in.url + "/order/202309/orders", params=query, headers={"x-tts-access-token": creds.access_token}, timeout=WAIT_LIMIT
    )
    assert answer.status_code == 401 and answer.json()["code"] != 0
    stale = {**query, "timestamp": str(int(time.time()) - 3600)}
    stale["sign"] = tiktok_api_sign(creds.app_secret, "/order/202309/orders", {k: v for k, v in stale.items() if k != "sign"})
    answer = requests.get(
        stand_in.url + "/order/202309/orders", params=stale, headers={"x-tts-access-token": creds.access_token}, timeout=WAIT_LIMIT
    )
    assert answer.status_code == 401


def test_stand_in_only_knows_configured_apps() -> None:
    server = TikTokShopStandIn([ShopCredentials("k", "s", "t", "c")])
    status, body = server.answer("GET", "/order/202309/orders?app_key=other&timestamp=1&sign=x&ids=1", {})
    assert status == 401 and body["code"] == 106001


# ------------------------------------------------------------------------------------------------ the sample day
def test_sample_day_is_shifted_to_end_just_before_now() -> None:
    now = time.time()
    sample = sample_day.load(end=now)
    latest = max(sample_day._times([sample.touchpoints, sample.tiktok_orders, sample.tiktok_notifications, sample.shopify_orders]))
    assert now - 300 < latest <= now


def test_sample_payloads_are_valid_and_consistent() -> None:
    sample = sample_day.load()
    touchpoints = [TypeAdapter(Touchpoint).validate_python(t) for phase in sample.touchpoints.values() for t in phase]
    assert 30 <= len(touchpoints) <= 70
    assert len({t.id for t in touchpoints}) == len(touchpoints)
    for order in sample.other_orders:
        Order.model_validate(order)
    orders = sample.tiktok_orders
    assert 15 <= len(orders) + len(sample.shopify_orders) + len(sample.other_orders) <= 25
    order_skus = {item["seller_sku"] for o in orders for item in o["line_items"]}
    for link in sample.touchpoints["shop_links"]:
        assert set(link["skus"]) <= order_skus | {"BLUSH-PEACH"}
    buyers = {o["user_id"] for o in orders}
    linked = {t["buyer"]["user_id"] for t in sample.touchpoints["shop_links"]}
    assert len(linked & buyers) >= 5  # hard matches need the same user id on both sides
    assert {n["data"]["order_id"] for n in sample.tiktok_notifications} == {o["id"] for o in orders}
    assert any(n["data"]["order_status"] == "CANCEL" for n in sample.tiktok_notifications)
    assert any("*" in o["user_id"] for o in orders)
    assert any(a["name"] == "TikTok Order ID" for o in sample.shopify_orders for a in o["note_attributes"])
    assert set(sample.replay["late_touchpoints"]) <= {t.id for t in touchpoints}


# ------------------------------------------------------------------------------------------------ in-process stacks
@pytest.mark.slow
def test_two_stacks_in_one_process_each_reach_their_own_moto() -> None:
    from ordertrail.sources.signatures import sign_ordertrail
    from ordertrail_local.stack import LocalStack

    tenants = json.loads((ROOT / "events" / "tenants.local.json").read_text())["tenants"]
    key = {"authorization": f"Bearer {tenants['demo']['api_keys'][0]}", "content-type": "application/json"}
    for round_ in range(2):
        with LocalStack() as stack:
            code = f"ROUND{round_}"
            put = stack.request("PUT", f"/v1/demo/coupons/{code}", json.dumps({"creator": "maya.makeup"}), key)
            assert put.status < 300, put.text
            listed = stack.request("GET", "/v1/demo/coupons", headers=key)
            assert listed.status == 200 and code in listed.text and (round_ == 0 or "ROUND0" not in listed.text)
            body = json.dumps({"id": f"tp-{round_}", "kind": "ad_click", "occurred_at": "2025-06-12T10:00:00Z", "ttclid": "E.C.P.x"})
            signed = {
                "content-type": "application/json",
                "x-ordertrail-signature": sign_ordertrail(tenants["demo"]["touchpoint_secret"], body.encode(), int(time.time())),
            }
            posted = stack.request("POST", "/v1/demo/touchpoints", body, signed)
            assert posted.status == 202 and posted.json()["accepted"] == 1, posted.text
            assert stack.dead_letters == []


@pytest.fixture(params=DYNAMODB_BACKENDS)
def stack_dynamodb(request: pytest.FixtureRequest) -> tuple[str, DynamoDBLocal | None]:
    """A LocalStack's DynamoDB backend and, for DynamoDB Local, the session's JVM to share."""
    if request.param == MOTO:
        return MOTO, None
    server: DynamoDBLocal = request.getfixturevalue("dynamodb_local")
    return DYNAMODB_LOCAL, server


@pytest.mark.slow
def test_served_requests_answer_before_the_stream_is_delivered(stack_dynamodb: tuple[str, DynamoDBLocal | None]) -> None:
    """Given a served stack whose AttributeFunction delivery is held back, when an order is POSTed over HTTP, then the 202
    comes back while the delivery is still held; once released, wait_for_stream() returns and the order has its attribution."""
    from ordertrail_local.stack import LocalStack

    backend, server = stack_dynamodb
    tenants = json.loads((ROOT / "events" / "tenants.local.json").read_text())["tenants"]
    with LocalStack(preload=False, dynamodb=backend, dynamodb_local=server) as stack:
        stack.serve(0)
        assert stack.pump is not None
        held, entered = threading.Event(), threading.Event()
        deliver = stack.pump.deliver

        def held_back(event: dict[str, Any]) -> Any:
            entered.set()
            assert held.wait(WAIT_LIMIT), "the test never released the stream"
            return deliver(event)

        stack.pump.deliver = held_back
        (order,) = load.orders(1, "http")
        body, headers = load.signed_request("orders", [order], tenants["demo"]["touchpoint_secret"])
        answer = requests.post(f"{stack.url}/v1/demo/orders", data=body, headers=headers, timeout=WAIT_LIMIT)
        assert answer.status_code == 202 and answer.json()["accepted"] == 1, answer.text
        assert entered.wait(WAIT_LIMIT) and not held.is_set()  # answered while the pump sits in the delivery
        held.set()
        assert stack.wait_for_stream(WAIT_LIMIT)
        read = stack.dynamodb_client().get_item(TableName=stack.table_name, Key=load.attribution_key("demo", order))
        assert read.get("Item", {}).get("method") == {"S": "organic"}
        assert stack.dead_letters == []


def test_an_unknown_dynamodb_backend_is_refused_with_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given ORDERTRAIL_DYNAMODB=dynamo, when the stack is built or serve starts, then it refuses naming both valid values
    (serve exits with status 2 before starting anything)."""
    from ordertrail_local import serve
    from ordertrail_local.stack import LocalStack, dynamodb_backend

    monkeypatch.setenv("ORDERTRAIL_DYNAMODB", "dynamo")
    with pytest.raises(ValueError, match=r"ORDERTRAIL_DYNAMODB='dynamo'.*moto, dynamodb-local"):
        LocalStack(preload=False)
    assert serve.main(["--port", "0"]) == 2
    assert "use one of: moto, dynamodb-local" in capsys.readouterr().err
    assert dynamodb_backend(" DynamoDB-Local ") == DYNAMODB_LOCAL and dynamodb_backend("moto") == MOTO


# ------------------------------------------------------------------------------------------------ DynamoDB Local install
def _fake_java(tmp_path: Path, version_line: str) -> dict[str, str]:
    """An environment whose `java -version` prints version_line (a script first on PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    (bin_dir / "java").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_the_install_script_skips_without_java_17(tmp_path: Path) -> None:
    """Given a java 11 first on PATH, when install_dynamodb_local.sh runs, then it says it skipped and exits 0."""
    done = subprocess.run(
        [str(ROOT / "infra/local/install_dynamodb_local.sh")],
        env=_fake_java(tmp_path, 'openjdk version "11.0.22" 2024-01-16'),
        capture_output=True,
        text=True,
        timeout=WAIT_LIMIT,
    )
    assert done.returncode == 0 and "skipped, java is version 11" in done.stderr


def test_java_versions_are_read_old_and_new_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a java that prints "1.8.0_392", then its major version is 8 and DynamoDB Local is unavailable, saying why."""
    from ordertrail_local import dynamodb_local

    monkeypatch.setenv("PATH", _fake_java(tmp_path, 'java version "1.8.0_392"')["PATH"])
    assert dynamodb_local.java_major_version() == 8
    assert dynamodb_local.unavailable_reason() == "DynamoDB Local needs Java 17+ and java is version 8"


def test_a_missing_jar_names_the_make_target(tmp_path: Path) -> None:
    """Given Java 17+ and an empty install folder, then the reason DynamoDB Local is unavailable names `make dynamodb-local`."""
    from ordertrail_local import dynamodb_local

    if (dynamodb_local.java_major_version() or 0) < dynamodb_local.MIN_JAVA:
        pytest.skip("no Java 17+ here")
    assert dynamodb_local.find_jar(tmp_path) is None
    assert "make dynamodb-local" in (dynamodb_local.unavailable_reason(tmp_path) or "")


def test_the_install_script_is_quick_and_silent_when_installed(dynamodb_local: DynamoDBLocal) -> None:
    """Given DynamoDB Local installed, when install_dynamodb_local.sh runs again, then it prints nothing and exits 0 at once."""
    started = time.monotonic()
    done = subprocess.run([str(ROOT / "infra/local/install_dynamodb_local.sh")], capture_output=True, text=True, timeout=WAIT_LIMIT)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert time.monotonic() - started < 30  # no npm call: only `java -version` and a glob


def test_make_test_requires_dynamodb_local_when_java_is_here() -> None:
    """Given Java on PATH, when `make -n test` lists what it would run, then the dynamodb-local install comes first and
    pytest runs with ORDERTRAIL_REQUIRE_DYNAMODB_LOCAL=1."""
    if shutil.which("java") is None or shutil.which("make") is None:
        pytest.skip("needs java and make")
    done = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_LIMIT)
    assert done.returncode == 0, done.stderr
    assert "infra/local/install_dynamodb_local.sh" in done.stdout
    assert "ORDERTRAIL_REQUIRE_DYNAMODB_LOCAL=1" in next(line for line in done.stdout.splitlines() if "-m pytest" in line)


# ------------------------------------------------------------------------------------------------ processes
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until(process: subprocess.Popen[str], needle: str, timeout: float = WAIT_LIMIT, stderr: Path | None = None) -> list[str]:
    """Lines of stdout up to the first one containing needle (fails after timeout, or at once when stdout ends first)."""
    lines: list[str] = []
    finished = threading.Event()  # the needle came, or stdout ended (the process exited)

    def reader() -> None:
        # Read to the end even after the needle: a full pipe would block the server's next print.
        assert process.stdout is not None
        for line in process.stdout:
            if not finished.is_set():
                lines.append(line)
            if needle in line:
                finished.set()
        finished.set()

    threading.Thread(target=reader, daemon=True).start()
    if not finished.wait(timeout) or not any(needle in line for line in lines):
        process.kill()
        errors = stderr.read_text(errors="replace")[-2000:] if stderr is not None else ""
        pytest.fail(f"no {needle!r} within {timeout} s; stdout so far: {''.join(lines)[-2000:]}; stderr: {errors}")
    return lines


@pytest.mark.slow
def test_serve_prints_ready_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:  # a file, not a pipe: nobody reads it while the server runs
        process = subprocess.Popen(
            [sys.executable, "-m", "ordertrail_local.serve", "--port", str(port)],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        lines = _read_until(process, "ready", stderr=log)
        assert "all data lives in memory and is gone when this process exits" in lines[0]
        missing = requests.get(f"http://127.0.0.1:{port}/v1/demo/nope", timeout=WAIT_LIMIT)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "route_not_found")
        openapi = requests.get(f"http://127.0.0.1:{port}/v1/openapi.json", timeout=WAIT_LIMIT)
        assert openapi.status_code == 200 and "paths" in openapi.json()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_LIMIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT_LIMIT)


FILLED_ITEMS = 20_000
BUSY_ORDERS = 200


@pytest.mark.slow
def test_serve_exits_within_5_s_of_sigterm_with_a_large_table_and_a_busy_stream(
    stack_dynamodb: tuple[str, DynamoDBLocal | None], tmp_path: Path
) -> None:
    """Given `python -m ordertrail_local.serve` on each DynamoDB backend with 20,000 items put straight into its table and
    200 signed orders POSTed whose attributions the pump is still delivering, when it gets SIGTERM, then it exits with
    status 0 within 5 s and says the pump was busy."""
    backend, _ = stack_dynamodb  # the served process starts its own DynamoDB Local; the fixture only checks it can run
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "ordertrail_local.serve", "--port", "0"],
            cwd=ROOT,
            env={**ENV, "ORDERTRAIL_DYNAMODB": backend, "POWERTOOLS_LOG_LEVEL": "ERROR"},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        served = load.parse_served(_read_until(process, "ready", stderr=log))
        assert served.backend == backend
        client = _client(served.dynamodb_endpoint)
        assert load.fill_table(client, served.table, FILLED_ITEMS) == FILLED_ITEMS
        secret = json.loads((ROOT / "events" / "tenants.local.json").read_text())["tenants"]["demo"]["touchpoint_secret"]
        posted = load.orders(BUSY_ORDERS, "busy")
        with requests.Session() as session:
            for batch in load.batches(posted, 100):
                body, headers = load.signed_request("orders", batch, secret)
                answer = session.post(f"{served.url}/v1/demo/orders", data=body, headers=headers, timeout=WAIT_LIMIT)
                assert answer.status_code == 202 and answer.json()["accepted"] == len(batch), answer.text
        # Busy: the first order is attributed (the pump got past the filler) and the last one is not yet.
        wait_until(
            lambda: "Item" in client.get_item(TableName=served.table, Key=load.attribution_key("demo", posted[0])), "first attribution"
        )
        assert "Item" not in client.get_item(TableName=served.table, Key=load.attribution_key("demo", posted[-1]))
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=WAIT_LIMIT)
        took = time.monotonic() - signalled
        errors = log.read_text(errors="replace")
        assert status == 0 and took <= 5.0, f"status {status} after {took:.1f} s: {errors[-2000:]}"
        assert "stopped (the stream pump was busy" in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT_LIMIT)


def _client(endpoint: str) -> Any:
    """boto3 DynamoDB client for a served stack's table."""
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.mark.slow
def test_run_connects_the_shop_imports_six_weeks_and_replays_the_sample_day_with_every_method() -> None:
    """Given a fresh `make run`, then the demo shop connects through OAuth, six weeks of history come in by the import on
    connect (TikTok Shop) and POST /imports (Shopify), today is replayed with every attribution method, the weekly
    series shows every week, and the export succeeds."""
    done = subprocess.run(
        [sys.executable, "-m", "ordertrail_local.run", "--no-serve"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=WAIT_LIMIT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "all data lives in memory and is gone when this process exits" in done.stdout.splitlines()[0]
    assert "Connected the demo TikTok Shop through OAuth (authorize, consent, callback): 6demoappkey01 shop (connected)" in done.stdout
    imported = {
        found.group(1): (found.group(2), int(found.group(3)))
        for found in re.finditer(r"history import (\w+) \((\w+), .*?\): succeeded, .*? (\d+) orders imported, 0 duplicates", done.stdout)
    }
    assert imported.keys() == {"tiktok_shop", "shopify"}, done.stdout
    assert imported["tiktok_shop"][0] == "connect" and imported["tiktok_shop"][1] > 100 and imported["shopify"][1] > 0
    weekly = done.stdout.split("weekly orders (customers): ", 1)[1].splitlines()[0]
    assert len(weekly.split("  ")) >= 6 and all(int(week.split(": ")[1].split(" ")[0]) > 0 for week in weekly.split("  ")), weekly
    assert re.search(r"Crossover: [1-9]\d* of", done.stdout), done.stdout
    methods = done.stdout.split("Orders by attribution method", 1)[1]
    for method in ("coupon", "conversation", "ad_click", "creator_link", "conversation_soft", "organic"):
        assert f"\n  {method} " in methods, done.stdout
    assert "(cancelled)" in done.stdout and "(connector copy)" in done.stdout
    assert "Attributed revenue" in done.stdout and "Top posts" in done.stdout
    assert "was organic before they arrived, conversation after" in done.stdout  # the late touchpoint re-attributed
    # The demo ends with an export run through the API and the real state machine, every request schema-checked.
    export = done.stdout.split("Conversion export to TikTok's Events API", 1)[1]
    assert "status succeeded" in export and "3 accepted, 0 rejected" in export, export
    assert "skipped: no_ttclid" in export and "pending_review 1" in export
    assert "; 0 refused" not in export and "refused" not in export
    tenants_file = ROOT / "events" / "tenants.local.json"
    assert "demo-events-api-token" not in tenants_file.read_text(), "the committed demo tenants file is never written"


def _serve_tenants_copy(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """`python -m ordertrail_local.serve` started, with the path of its working copy of the tenants file."""
    log = tmp_path / f"stderr-{uuid.uuid4().hex}.txt"
    with log.open("w") as stderr:
        command = [sys.executable, "-m", "ordertrail_local.serve", "--port", "0"]
        process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines = _read_until(process, "ready", stderr=log)
    found = re.search(r"tenants from (\S+?);", lines[-1])
    assert found, lines[-1]
    return process, Path(found.group(1))


@pytest.mark.slow
def test_the_local_copy_of_every_tenant_secret_is_private_and_never_outlives_its_stack(tmp_path: Path) -> None:
    """Given `make serve`, then its working copy of the tenants file (every secret in plain text) can be read by its user
    only (file 0600 in a 0700 folder); when it stops on SIGTERM the copy is gone; when it is killed outright (SIGKILL, no
    chance to clean up) the copy stays only until the next stack starts, which removes it."""
    process, copy = _serve_tenants_copy(tmp_path)
    try:
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_LIMIT) == 0
        assert not copy.exists() and not copy.parent.exists()
    finally:
        if process.poll() is None:
            process.kill()

    killed, left = _serve_tenants_copy(tmp_path)
    killed.kill()
    killed.wait(timeout=WAIT_LIMIT)
    assert left.exists()
    assert left.parent in sweep_stale_workdirs()
    assert not left.parent.exists()


def test_a_code_route_missing_from_the_template_is_never_served_through_the_default_route(tmp_path: Path) -> None:
    """Given a template without the channel report's route (the code still has it), when it is asked for without a key,
    then the $default route answers 404 in the error shape instead of serving the report past the authorizer; a route
    the template has still asks for the key."""
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    route = "        ChannelsReport:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n"
    route += "            Method: GET\n            Path: /v1/{tenant}/reports/channels\n"
    assert route in text
    (tmp_path / "template.yaml").write_text(text.replace(route, ""), encoding="utf-8")
    with LocalStack(template_path=tmp_path / "template.yaml") as stack:
        missing = stack.request("GET", "/v1/demo/reports/channels", query="dimension=post")
        assert missing.status == 404 and json.loads(missing.body)["error"]["code"] == "route_not_found"
        assert stack.request("GET", "/v1/demo/reports/posts").status == 401
        wrong = stack.request("DELETE", "/v1/demo/reports/posts")
        assert wrong.status == 405 and wrong.headers.get("allow") == "GET"
