"""Fuzzing the four signed routes (docs/api.md#errors): bodies that are correctly signed but malformed never get a 5xx,
every refusal is in the error shape of docs/api.md#error-shape and names the field at fault, a refused request writes nothing, and whatever
is accepted can be attributed (no stream record fails).

Each example mutates a real-shaped payload (events/contract/ and docs/api.md#touchpoint-kinds): a field replaced by a
value of another JSON type (or an absurd one: negative money, numbers as times, huge or control-character strings), a
field removed or added, nested deeper; or the body is not JSON at all. `ORDERTRAIL_FUZZ_EXAMPLES` sets the examples per
route (default 120; the seed is fixed, so CI repeats the same cases).
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordertrail.storage.keys import order_key
from ordertrail_local.loopback import HttpResponse
from tests.conftest import ROOT, Pipeline
from tests.integration.senders import TIKTOK_ORDERS_URL, send_signed_raw

EXAMPLES = int(os.environ.get("ORDERTRAIL_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Codes of refusals that are about one field: those must name it.
FIELD_CODES = frozenset({"wrong_type", "invalid_value", "missing_field", "unknown_kind", "empty_batch", "batch_too_large"})
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
CONTRACT = ROOT / "events" / "contract"

AT = "2026-11-30T18:05:00Z"
TOUCHPOINTS: list[dict[str, Any]] = [
    {"id": "c-1", "kind": "comment", "occurred_at": AT, "buyer": {"user_id": "u-1"}, "post": {"id": "v1", "url": "https://t.example/v1"},
     "text": "link please", "keywords": ["LINK"]},
    {"id": "d-1", "kind": "dm", "occurred_at": AT, "buyer": {"user_id": "u-1"}, "conversation_id": "conv-1", "comment_id": "c-1",
     "flow": {"id": "f1", "name": "Lip oil flow"}},
    {"id": "f-1", "kind": "flow_step", "occurred_at": AT, "buyer": {"user_id": "u-1"}, "conversation_id": "conv-1",
     "flow": {"id": "f1"}, "step": 2, "step_name": "Offer"},
    {"id": "s-1", "kind": "shop_link", "occurred_at": AT, "buyer": {"user_id": "u-1"}, "conversation_id": "conv-1", "skus": ["SKU-1"],
     "product_ids": ["P1"], "url": "https://shop.example/p1"},
    {"id": "a-1", "kind": "ad_click", "occurred_at": AT, "buyer": {"user_id": "u-1"}, "ttclid": "E.C.P.1", "url": "https://shop.example/?ttclid=E.C.P.1",
     "ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "campaign": {"id": "cmp1", "name": "Spring"}},
    {"id": "k-1", "kind": "creator_click", "occurred_at": AT, "buyer": {"user_id": "u-1"}, "creator": "maya", "link_id": "lnk-1",
     "campaign": "spring", "token": "tok-1"},
]  # fmt: skip
ORDER: dict[str, Any] = {
    "id": "1001", "source": "other", "status": "paid", "updated_at": AT, "created_at": AT,
    "buyer": {"user_id": "u-1", "customer_id": "c-77", "email": "jane@example.com", "phone": "+12133734253"},
    "currency": "USD",
    "line_items": [{"sku": "SKU-1", "product_id": "P1", "name": "Lip oil", "quantity": 2, "unit_price": "12.00"}],
    "subtotal": "24.00", "tax": "1.98", "shipping": "4.99", "discounts": "3.00", "credits": "0.00", "total": "27.97",
    "coupon_codes": ["MAYA15"], "landing": {"url": "https://shop.example/p?ttclid=E.C.P.1", "ttclid": "E.C.P.1", "creator": "maya"},
    "client": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
    "shipping_address": {"name": "Jane", "line1": "123 Main St", "city": "LA", "region": "CA", "postal_code": "90012", "country": "US"},
}  # fmt: skip


def contract(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONTRACT / name).read_text())
    return data


NOTIFICATION = contract("tiktok_notification.json")
TIKTOK_ORDER = contract("tiktok_order_detail_response.json")["data"]["orders"][0]
SHOPIFY_ORDER = contract("shopify_order.json")

# ------------------------------------------------------------------------------------------------ strategies
ODD_TEXT = st.sampled_from(
    [
        "", " ", "-1.00", "-99999999999999.99", "99999999999999999999.99", "1e400", "NaN", "Infinity", "0", "1700000000",
        "1970-01-01", "2026-13-45T99:99:99Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "\x00", "\u202e\ud7ff",
        "*****", "%00", "__proto__", "../../x", "é" * 3, "x" * 5000, "y" * 300_000,
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    ODD_TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
Path = tuple[str | int, ...]


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every path into a JSON value (the root included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def parent_of(root: Any, path: Path) -> Any:
    node = root
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """The base payload with one to three mutations: a value replaced, a member removed or added, a value nested deeper."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(payload)))
        operation = draw(st.sampled_from(["replace", "replace", "delete", "add", "nest"]))
        if not path:
            payload = draw(VALUES) if operation == "replace" else payload
            continue
        parent, key = parent_of(payload, path), path[-1]
        if operation == "replace":
            parent[key] = draw(VALUES)
        elif operation == "delete":
            del parent[key]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
        elif operation == "nest":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
    return payload


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"", b"null", b"[]", b"{}", b"\xff\xfe{", b'{"id": "1"', b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
            b'{"id": 1e999999}', b'{"id": NaN}', b'"just a string"', b"123",
        ]
    ),
)  # fmt: skip


def encoded(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """JSON text of the payloads, or a raw body that is not valid JSON."""
    return st.one_of(payloads.map(lambda p: json.dumps(p, separators=(",", ":")).encode()), RAW_BODIES)


# ------------------------------------------------------------------------------------------------ checks
class WriteCounter:
    """Counts DynamoDB write requests the handlers make (botocore's before-call event on every client built after)."""

    def __init__(self) -> None:
        self.writes = 0
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        if model.name in WRITES:
            self.writes += 1


@pytest.fixture
def fuzz_api(pipeline: Pipeline) -> Iterator[tuple[Pipeline, WriteCounter]]:
    """The real pipeline, with writes counted from the first request on."""
    counter = WriteCounter()
    yield pipeline, counter


def check(api: Pipeline, counter: WriteCounter, route: str, body: bytes) -> HttpResponse:
    """Send the body correctly signed; assert no 5xx (except 502 from the upstream), the error shape, no write on a refusal,
    and no stream record that AttributeFunction could not handle."""
    before = counter.writes
    response = send_signed_raw(api, "acme", route, body)
    assert response.status < 500 or response.status == 502, (response.status, response.body[:500])
    if response.status >= 400:
        error = response.json()["error"]
        assert SNAKE_CASE.match(error["code"]) and error["message"], error
        if error["code"] in FIELD_CODES:
            assert error.get("field"), error
        assert counter.writes == before, f"a refused request ({response.status} {error['code']}) wrote {counter.writes - before} time(s)"
    elif response.status == 202:
        result = response.json()
        for item in result["errors"]:
            assert isinstance(item["index"], int) and SNAKE_CASE.match(item["code"]) and item["message"], item
            if item["code"] in FIELD_CODES:
                assert item.get("field"), item
    assert api.harness.dead_letters == [], api.harness.dead_letters[-1].reason
    return response


# ------------------------------------------------------------------------------------------------ the routes
@FUZZ
@given(body=encoded(st.one_of(*(mutated(t) for t in TOUCHPOINTS), mutated({"touchpoints": TOUCHPOINTS}))))
def test_touchpoints_never_fail_on_malformed_bodies(fuzz_api: tuple[Pipeline, WriteCounter], body: bytes) -> None:
    """Given correctly signed but malformed touchpoints (one or a batch), when POSTed, then never a 5xx, refusals name the
    field and write nothing, and batches report each refused item by index."""
    check(*fuzz_api, "touchpoints", body)


@FUZZ
@given(body=encoded(st.one_of(mutated(ORDER), mutated({"orders": [ORDER, {**ORDER, "id": "1002"}]}))))
def test_orders_never_fail_on_malformed_bodies(fuzz_api: tuple[Pipeline, WriteCounter], body: bytes) -> None:
    """Given correctly signed but malformed normalised orders, when POSTed, then never a 5xx, refusals name the field and
    write nothing (negative money and numeric times are refusals too); an order that was stored can be read back with
    its id percent-encoded in the path, whatever characters the id holds."""
    api, counter = fuzz_api
    response = check(api, counter, "orders", body)
    stored = json.loads(body) if response.status == 202 and response.json()["accepted"] == 1 else None
    if isinstance(stored, dict) and "orders" not in stored:
        path = f"/v1/acme/orders/{quote(stored['id'], safe='')}"
        read = api.call("GET", path, headers={"Authorization": "Bearer acme-team-key"}, query=f"source={stored.get('source', 'other')}")
        assert read.status == 200 and read.json()["order"]["id"] == stored["id"].strip(), (stored["id"], read.status, read.body[:300])


@FUZZ
@given(body=encoded(mutated(SHOPIFY_ORDER)))
def test_shopify_webhooks_never_fail_on_malformed_orders(fuzz_api: tuple[Pipeline, WriteCounter], body: bytes) -> None:
    """Given correctly signed Shopify webhooks whose order has wrong types, missing or absurd fields, when delivered, then
    never a 5xx and never a silent 200 for what cannot be read: refusals name the field and write nothing."""
    check(*fuzz_api, "webhooks/shopify", body)


# Half the notifications are valid (each with its own id, so idempotency does not answer from an earlier one): those
# fetch the fuzzed order detail.
FRESH_NOTIFICATIONS = st.integers(1, 10**12).map(
    lambda n: json.dumps({**NOTIFICATION, "tts_notification_id": f"fuzz-{n}"}, separators=(",", ":")).encode()
)


@FUZZ
@given(body=st.one_of(FRESH_NOTIFICATIONS, encoded(mutated(NOTIFICATION))), detail=mutated(TIKTOK_ORDER))
def test_tiktok_webhooks_never_fail_on_malformed_notifications_or_order_details(
    fuzz_api: tuple[Pipeline, WriteCounter], body: bytes, detail: Any
) -> None:
    """Given correctly signed TikTok Shop notifications with wrong types or values, and order details from TikTok Shop
    that may be unreadable, when delivered, then never a 5xx: a bad notification is refused naming the field and writes
    nothing; a valid one is answered 200 at once, and its order is stored or (an unreadable detail is TikTok's fault)
    its hint waits saying why, for the retry."""
    api, counter = fuzz_api
    envelope = {"code": 0, "message": "Success", "request_id": "r1", "data": {"orders": [detail]}}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, TIKTOK_ORDERS_URL, json=envelope)
        response = check(api, counter, "webhooks/tiktok-shop", body)
    queued = response.json().get("queued") if response.status == 200 else None
    if queued is not None:
        items = api.items()
        hint = next((i for i in items if i.get("type") == "hint" and i["order_id"] == queued), None)
        stored = any(i.get("type") == "order" and i["PK"] == order_key("acme", "tiktok_shop", queued)["PK"] for i in items)
        assert stored or (hint is not None and hint["status"] == "waiting" and hint["last_error"]), (stored, hint)
