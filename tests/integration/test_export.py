"""The conversion export end to end: the REAL state machine (infra/statemachine/export_conversions.asl.json) executed
by moto's interpreter with the real Plan/ExportChunk/Finalize handlers, started through the team API, with
`responses` standing in for TikTok's Events API. Retry waits (the state machine's and the client's) are recorded,
never slept."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import jsonschema
import pytest
import responses

from ordertrail.core.conversions import conversion_for
from ordertrail.core.export_runs import ExportLease
from ordertrail.core.models import Attribution, Buyer, Landing, LineItem, Order
from ordertrail.export.events_api.client import TRACK_PATH, EventsApiClient
from ordertrail.export.steps import LEASE_TTL
from ordertrail.storage.attributions import conversion_item
from ordertrail.storage.repository import Repository
from ordertrail.storage.table import serialize
from ordertrail_local.apigw import HttpRequest
from ordertrail_local.loopback import HttpResponse
from ordertrail_local.stack import reset_process_caches
from ordertrail_local.template import load_template
from tests.conftest import EVENTS_API_URL, ROOT, TABLE, ExportPipeline
from tests.integration.senders import ad_click, api_key, journey, send_orders, send_touchpoints
from tests.waits import WAIT_LIMIT

TRACK_URL = EVENTS_API_URL + TRACK_PATH
REQUEST_SCHEMA = json.loads((ROOT / "events" / "contract" / "tiktok_events_request.schema.json").read_text())
ACCEPTED = {"code": 0, "message": "OK", "data": {}}

Answer = dict[str, Any] | Callable[["SentRequest"], dict[str, Any]]


# ------------------------------------------------------------------------------------------------ TikTok stand-in
@dataclass(frozen=True)
class SentRequest:
    """One track request as TikTok received it, and the code it answered."""

    access_token: str | None
    body: dict[str, Any]
    code: int = 0

    @property
    def event_ids(self) -> list[str]:
        """The event ids the request carried, in order."""
        return [event["event_id"] for event in self.body["data"]]


@dataclass
class FakeEventsApi:
    """TikTok's Events API: checks every request against the contract schema (a breach is answered 40002 and noted in
    `violations`), records it, and answers from `script` (one answer per request, in order; an answer may be a
    function of the request), then `default`."""

    requests: list[SentRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=lambda: ACCEPTED)

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        sent = SentRequest(request.headers.get("Access-Token"), body)
        try:
            jsonschema.validate(body, REQUEST_SCHEMA)
        except jsonschema.ValidationError as exc:
            self.violations.append(f"{'/'.join(map(str, exc.absolute_path))}: {exc.message}")
            reply = {"code": 40002, "message": "request breaks the contract schema"}
        else:
            answer = self.script.pop(0) if self.script else self.default
            reply = answer(sent) if callable(answer) else answer
        self.requests.append(SentRequest(sent.access_token, body, code=int(reply["code"])))
        return 200, {"Content-Type": "application/json"}, json.dumps({"request_id": f"req-{len(self.requests)}", **reply})

    def sent_event_ids(self) -> list[str]:
        """Every event id sent, across all requests (repeats included)."""
        return [event_id for request in self.requests for event_id in request.event_ids]

    def accepted_event_ids(self) -> list[str]:
        """Event ids of the requests TikTok answered with success (repeats included)."""
        return [e for request in self.requests if request.code in (0, 20001) for e in request.event_ids]


@pytest.fixture
def tiktok() -> Iterator[FakeEventsApi]:
    """The Events API stand-in at TIKTOK_EVENTS_API_URL."""
    fake = FakeEventsApi()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, TRACK_URL, callback=fake)
        yield fake
    assert fake.violations == [], "requests off the Events API contract"


@dataclass
class Sleeps:
    """The Events API client's backoff sleeps, recorded instead of slept."""

    seconds: list[float] = field(default_factory=list)


@pytest.fixture
def client_sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    """Every EventsApiClient built from now on records its sleeps instead of sleeping; jitter draws are 0.5."""
    sleeps = Sleeps()
    defaults = EventsApiClient.__init__.__kwdefaults__
    assert defaults is not None and {"sleep", "rng"} <= set(defaults)
    monkeypatch.setitem(defaults, "sleep", sleeps.seconds.append)
    monkeypatch.setitem(defaults, "rng", lambda: 0.5)
    return sleeps


# ------------------------------------------------------------------------------------------------ helpers
def now() -> datetime:
    """Now in whole UTC seconds."""
    return datetime.now(UTC).replace(microsecond=0)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def export_settings(**overrides: Any) -> dict[str, Any]:
    """The `export` settings object of PUT /settings."""
    return {
        "enabled": True,
        "pixel_code": "PIX1",
        "access_token": "tok-1",
        "lookback_days": 7,
        "max_event_age_days": 28,
        **overrides,
    }


def team_call(api: ExportPipeline, method: str, tenant: str, rest: str, body: Any = None, key_of: str | None = None) -> HttpResponse:
    """A team API call on /v1/<tenant>/<rest>, WITHOUT pumping the stream afterwards: nothing these routes or the export
    write is for AttributeFunction (its filter takes orders and touchpoints), and re-reading thousands of export items
    from moto's stream costs seconds."""
    headers = [*api_key(key_of or tenant).items(), ("Content-Type", "application/json")]
    raw = json.dumps(body).encode() if body is not None else b""
    return api.gateway.handle(HttpRequest(method=method, path=f"/v1/{tenant}/{rest}", query="", headers=headers, body=raw))


def put_export_settings(api: ExportPipeline, tenant: str = "acme", **overrides: Any) -> dict[str, Any]:
    response = team_call(api, "PUT", tenant, "settings", {"export": export_settings(**overrides)})
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def start_export(api: ExportPipeline, start: datetime | None, end: datetime | None, tenant: str = "acme") -> Any:
    body = {k: v.isoformat() for k, v in (("from", start), ("to", end)) if v is not None}
    return team_call(api, "POST", tenant, "conversions/export", body)


def run_export(api: ExportPipeline, start: datetime | None, end: datetime | None, tenant: str = "acme") -> dict[str, Any]:
    """POST /conversions/export, wait for the state machine's execution, return GET /conversions/runs/{id}."""
    response = start_export(api, start, end, tenant)
    assert response.status == 202, response.body
    started = response.json()
    assert started["status"] == "queued"
    return finished_run(api, started["run_id"], tenant)


def finished_run(api: ExportPipeline, run_id: str, tenant: str = "acme") -> dict[str, Any]:
    """Wait for the run's execution to end and return its report."""
    assert api.sfn is not None
    result = api.sfn.wait(api.execution_arn(run_id), timeout=WAIT_LIMIT)
    report = get_run(api, run_id, tenant)
    report["execution"] = result
    return report


def get_run(api: ExportPipeline, run_id: str, tenant: str = "acme") -> dict[str, Any]:
    response = team_call(api, "GET", tenant, f"conversions/runs/{run_id}")
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def watermark(tenant: str = "acme") -> datetime | None:
    return Repository(TABLE).get_watermark(tenant)


def lease_holder(tenant: str = "acme") -> str | None:
    """The run holding the tenant's export lease (None: no lease; an expired one still names its run)."""
    lease = Repository(TABLE).get_export_lease(tenant)
    return lease.run_id if lease else None


def zulu(at: datetime) -> str:
    """A time as the 409 message writes it."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def results_by_order(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The run's per-event results by order id (one result per order in these tests)."""
    by_order = {e["order_id"]: e for e in report["events"]}
    assert len(by_order) == len(report["events"]), "an order has several results"
    return by_order


def ad_order(order_id: str, user: str, at: datetime, price: str = "19.99", **extra: Any) -> dict[str, Any]:
    """An order for POST /orders with one line, the buyer's email, and `extra` (e.g. a landing)."""
    return {
        "id": order_id,
        "source": "other",
        "status": "paid",
        "created_at": at.isoformat(),
        "updated_at": at.isoformat(),
        "buyer": {"user_id": user, "email": f" {user.upper()}@Example.com "},
        "currency": "USD",
        "line_items": [{"sku": "SKU-1", "product_id": "P1", "name": "Glow Lip Oil", "quantity": 1, "unit_price": price}],
        "subtotal": price,
        "total": price,
        **extra,
    }


def click(tp_id: str, user: str, at: datetime, ttclid: str) -> dict[str, Any]:
    """An ad click with the landing page, ip and user agent the event carries plain."""
    return {
        **ad_click(tp_id, user, at, ttclid),
        "url": f"https://acme.example/p/1?ttclid={ttclid}",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (iPhone)",
    }


def ad_driven_order(api: ExportPipeline, order_id: str, user: str, at: datetime, ttclid: str, price: str = "19.99") -> None:
    """The buyer clicks an ad an hour before ordering (touchpoint, then order, both through the signed API)."""
    assert send_touchpoints(api, "acme", click(f"clk-{order_id}", user, at - timedelta(hours=1), ttclid)).status == 202
    assert send_orders(api, "acme", ad_order(order_id, user, at, price)).status == 202


def seed_conversions(count: int, at: datetime, prefix: str, spread: timedelta = timedelta(0)) -> list[str]:
    """`count` ad-driven conversions, each its own buyer and ttclid, `spread` apart from `at`, stored as the attribution
    step stores them (`conversion_for`, then `conversion_item`, the item `Repository.save_attribution` writes) but with
    BatchWriteItem: moto copies the whole table on every TransactWriteItems, so 2,500 transactions take minutes.
    Returns the event ids, in time order."""
    repo = Repository(TABLE)
    items, event_ids = [], []
    for i in range(count):
        ordered = at + spread * i
        ttclid = f"{prefix}.clk.{i:05d}"
        order = Order(
            id=f"{prefix}-{i:05d}",
            source="other",
            status="paid",
            created_at=ordered,
            updated_at=ordered,
            buyer=Buyer(user_id=f"{prefix}-user-{i:05d}"),
            line_items=[LineItem(sku="SKU-1", quantity=1, unit_price=Decimal("12.00"))],
            subtotal=Decimal("12.00"),
            total=Decimal("12.00"),
            landing=Landing(ttclid=ttclid),
        )
        attribution = Attribution(
            order_id=order.id,
            source="other",
            method="ad_click",
            rule="ad_click",
            ttclid=ttclid,
            ordered_at=ordered,
            attributed_at=ordered,
            revenue=order.total,
        )
        conversion = conversion_for(order, attribution, [], None)
        assert conversion is not None
        items.append({"PutRequest": {"Item": serialize(conversion_item("acme", conversion))}})
        event_ids.append(f"{ttclid}_{ordered.astimezone(UTC).date().isoformat()}")
    for start in range(0, len(items), 25):
        request: dict[str, Any] = {TABLE: items[start : start + 25]}
        while request:
            request = repo.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return event_ids


# ================================================================================================ scenarios
def test_happy_path_sends_contract_exact_events_and_audits_each(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given acme's export settings and, through the webhooks, three ad-driven orders, an organic order and an order
    credited to a DM conversation (no ttclid), when a run exports the last six days, then ONE request carries the
    three events (contract-exact), the run succeeds, the watermark moves to `to`, and the run shows each result."""
    api = export_pipeline
    view = put_export_settings(api)
    assert view["export"]["access_token_set"] is True and "access_token" not in view["export"]
    base = now() - timedelta(days=3)
    orders = {"1001": ("u1", "E.C.P.one"), "1002": ("u2", "E.C.P.two"), "1003": ("u3", "E.C.P.three")}
    for n, (order_id, (user, ttclid)) in enumerate(orders.items()):
        ad_driven_order(api, order_id, user, base + timedelta(hours=n), ttclid)
    assert send_orders(api, "acme", ad_order("2001", "organic-user", base)).status == 202
    assert send_touchpoints(api, "acme", {"touchpoints": journey("u9", base - timedelta(hours=2))}).status == 202
    assert send_orders(api, "acme", ad_order("3001", "u9", base)).status == 202
    start, end = now() - timedelta(days=6), now() - timedelta(minutes=1)

    report = run_export(api, start, end)

    assert report["execution"].succeeded, report["execution"]
    (request,) = tiktok.requests
    assert request.access_token == "tok-1"
    jsonschema.validate(request.body, REQUEST_SCHEMA)
    assert {k: v for k, v in request.body.items() if k != "data"} == {"event_source": "web", "event_source_id": "PIX1"}
    expected = []
    for n, (order_id, (user, ttclid)) in enumerate(orders.items()):
        at = base + timedelta(hours=n)
        expected.append(
            {
                "event": "Purchase",
                "event_time": int(at.timestamp()),
                "event_id": f"{ttclid}_{at.date().isoformat()}",
                "user": {
                    "ttclid": ttclid,
                    "email": [sha256(f"{user}@example.com")],
                    "external_id": [sha256(user)],
                    "ip": "203.0.113.7",
                    "user_agent": "Mozilla/5.0 (iPhone)",
                },
                "page": {"url": f"https://acme.example/p/1?ttclid={ttclid}"},
                "properties": {
                    "currency": "USD",
                    "value": 19.99,
                    "content_type": "product",
                    "contents": [{"content_id": "SKU-1", "content_name": "Glow Lip Oil", "price": 19.99, "quantity": 1}],
                    "order_id": order_id,
                },
            }
        )
    assert request.body["data"] == expected
    assert all(isinstance(e["event_time"], int) and e["event_time"] < 10**10 for e in request.body["data"])

    run = report["run"]
    assert run["status"] == "succeeded" and "error" not in run
    assert when(run.get("watermark_before")) is None
    assert when(run.get("watermark_after")) == end == watermark()
    assert (when(run.get("start")), when(run.get("end")), run["chunks_planned"]) == (start, end, 1)
    (chunk,) = report["chunks"]
    assert {k: chunk[k] for k in ("index", "status", "attempts", "requests", "accepted", "rejected", "skipped")} == {
        "index": 0,
        "status": "complete",
        "attempts": 1,
        "requests": 1,
        "accepted": 3,
        "rejected": 0,
        "skipped": 1,
    }
    assert report["totals"] == {"accepted": 3, "rejected": 0, "skipped": 1, "requests": 1}
    assert lease_holder() is None, "Finalize released the run's export lease"
    results = results_by_order(report)
    assert set(results) == {"1001", "1002", "1003", "3001"}, "the organic order has no conversion, so no result"
    for order_id, (_, ttclid) in orders.items():
        result = results[order_id]
        assert (result["outcome"], result["code"], result["ttclid"], result["request_id"]) == ("accepted", 0, ttclid, "req-1")
        assert result["event_id"].startswith(f"{ttclid}_") and Decimal(str(result["value"])) == Decimal("19.99")
    assert (results["3001"]["outcome"], results["3001"]["reason"]) == ("skipped", "no_ttclid")


def test_2500_conversions_go_in_three_requests_of_at_most_1000(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given 2,500 ad-driven conversions in one chunk, when a run exports them, then exactly three requests carry
    1,000, 1,000 and 500 events, each event once, all accepted."""
    api = export_pipeline
    put_export_settings(api)
    event_ids = seed_conversions(2500, now() - timedelta(days=5), "vol", spread=timedelta(seconds=60))

    report = run_export(api, now() - timedelta(days=6), now() - timedelta(minutes=1))

    assert report["run"]["status"] == "succeeded", report["run"]
    assert [len(r.event_ids) for r in tiktok.requests] == [1000, 1000, 500]
    assert tiktok.sent_event_ids() == event_ids, "every conversion once, in time order"
    assert report["totals"] == {"accepted": 2500, "rejected": 0, "skipped": 0, "requests": 3}
    assert [(c["requests"], c["accepted"]) for c in report["chunks"]] == [(3, 2500)]


# ------------------------------------------------------------------------------------------------ retries
RATE_LIMITED = {"code": 40100, "message": "Too many requests"}


def test_a_rate_limit_is_retried_by_the_client_with_backoff(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi, client_sleeps: Sleeps
) -> None:
    """Given TikTok answers the first request 40100, when a run exports two orders, then the client waits its first
    backoff (jitter × 1 s, recorded not slept) and sends the same batch again, which is accepted; the state machine
    never saw an error."""
    api = export_pipeline
    put_export_settings(api)
    base = now() - timedelta(days=2)
    ad_driven_order(api, "1001", "u1", base, "E.C.P.one")
    ad_driven_order(api, "1002", "u2", base + timedelta(hours=1), "E.C.P.two")
    tiktok.script = [RATE_LIMITED]

    report = run_export(api, now() - timedelta(days=3), now() - timedelta(minutes=1))

    assert report["run"]["status"] == "succeeded"
    assert [r.code for r in tiktok.requests] == [40100, 0]
    assert tiktok.requests[0].body == tiktok.requests[1].body, "the retry resends the same events (same event ids)"
    assert client_sleeps.seconds == [0.5]  # backoff_delay(1) = rng 0.5 × min(8, 1 s)
    assert export_pipeline.sfn is not None and export_pipeline.sfn.recorded_waits == []
    assert Counter(tiktok.accepted_event_ids()) == Counter({e: 1 for e in tiktok.requests[0].event_ids})
    assert [e["outcome"] for e in report["events"]] == ["accepted", "accepted"]
    assert report["totals"]["requests"] == 1, "one batch, however many attempts it took"


def test_rate_limits_that_outlast_the_client_are_retried_by_the_state_machine(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi, client_sleeps: Sleeps
) -> None:
    """Given TikTok answers 40100 three times in a row (the client's three attempts), when a run exports an order, then
    ExportChunk fails with RetryableExportError, the state machine's Retry waits 30 s (recorded, not slept) and runs
    the chunk again, whose request is accepted: the event is accepted once and the run succeeds. The run held its
    export lease through both attempts (its own retry renewed it) and released it at the end; the chunk says it took
    two attempts and one answered request."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    ad_driven_order(api, "1001", "u1", placed := now() - timedelta(days=2), "E.C.P.one")
    holders: list[str | None] = []

    def noting_the_lease(answer: dict[str, Any]) -> Answer:
        def reply(sent: SentRequest) -> dict[str, Any]:
            holders.append(lease_holder())
            return answer

        return reply

    tiktok.script = [noting_the_lease(RATE_LIMITED)] * 3
    tiktok.default = noting_the_lease(ACCEPTED)

    report = run_export(api, now() - timedelta(days=3), now() - timedelta(minutes=1))

    assert report["run"]["status"] == "succeeded" and "error" not in report["run"]
    assert [r.code for r in tiktok.requests] == [40100, 40100, 40100, 0]
    assert client_sleeps.seconds == [0.5, 1.0]  # the client's backoff before its 2nd and 3rd attempts
    waits = api.sfn.recorded_waits
    assert [w.backoff for w in waits] == [30.0] and 0 <= waits[0].waited <= 30.0
    chunk_calls = [i.error_type for i in api.sfn.invocations if i.function == "ExportChunkFunction"]
    assert chunk_calls == ["RetryableExportError", None]
    assert tiktok.accepted_event_ids() == [f"E.C.P.one_{placed.date().isoformat()}"]
    assert [(c["status"], c["attempts"], c["requests"], c["accepted"]) for c in report["chunks"]] == [("complete", 2, 1, 1)]
    assert [e["outcome"] for e in report["events"]] == ["accepted"]
    assert when(report["run"].get("watermark_after")) == watermark() is not None
    assert holders == [report["run"]["run_id"]] * 4 and lease_holder() is None


def test_retries_exhausted_fail_the_run_and_keep_the_watermark(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi, client_sleeps: Sleeps
) -> None:
    """Given TikTok keeps answering 40100, when a run exports an order, then after the client's 3 attempts × (1 + 4
    state-machine retries, waits 30/60/120/240 s) the run fails with retries_exhausted and the watermark stays put; the
    chunk shows its 5 attempts (no request answered), and RecordFailure released the run's export lease."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    ad_driven_order(api, "1001", "u1", now() - timedelta(days=2), "E.C.P.one")
    tiktok.default = RATE_LIMITED

    report = run_export(api, now() - timedelta(days=3), now() - timedelta(minutes=1))

    assert report["execution"].status == "FAILED" and report["execution"].error == "RetryableExportError"
    assert len(tiktok.requests) == 15
    assert [w.backoff for w in api.sfn.recorded_waits] == [30.0, 60.0, 120.0, 240.0]
    run = report["run"]
    assert run["status"] == "failed" and run["error"]["code"] == "retries_exhausted" and run["error"]["chunk"] == 0
    assert "40100" in run["error"]["message"]
    assert "watermark_after" not in run and watermark() is None
    assert [(c["status"], c["attempts"], c["requests"]) for c in report["chunks"]] == [("failed", 5, 0)]
    assert lease_holder() is None


def test_a_chunk_retried_after_a_partial_send_resends_nothing_and_keeps_its_audit(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi, client_sleeps: Sleeps
) -> None:
    """Given 1,050 conversions in one chunk, TikTok accepting the first batch of 1,000 and rate-limiting the second
    three times, when the run exports them, then the state machine retries the chunk, which sends only the 50 not yet
    accepted; the run still shows all 1,050 as accepted by this run (none as skipped), and the chunk counts the
    requests of both attempts (1,000 in the first, 50 in the second: two) in two attempts."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    event_ids = seed_conversions(1050, now() - timedelta(days=3), "part", spread=timedelta(seconds=30))
    tiktok.script = [ACCEPTED, RATE_LIMITED, RATE_LIMITED, RATE_LIMITED]

    report = run_export(api, now() - timedelta(days=4), now() - timedelta(minutes=1))

    assert report["run"]["status"] == "succeeded", report["run"]
    assert [(len(r.event_ids), r.code) for r in tiktok.requests] == [(1000, 0), (50, 40100), (50, 40100), (50, 40100), (50, 0)]
    assert [w.backoff for w in api.sfn.recorded_waits] == [30.0]
    accepted = Counter(tiktok.accepted_event_ids())
    assert sorted(accepted) == sorted(event_ids) and set(accepted.values()) == {1}
    assert Counter(e["outcome"] for e in report["events"]) == Counter({"accepted": 1050})
    assert report["totals"] == {"accepted": 1050, "rejected": 0, "skipped": 0, "requests": 2}
    assert [(c["status"], c["attempts"], c["requests"], c["accepted"], c["skipped"]) for c in report["chunks"]] == [
        ("complete", 2, 2, 1050, 0)
    ]


# ------------------------------------------------------------------------------------------------ authentication
def test_an_invalid_token_stops_the_run_and_a_rerun_with_a_new_token_sends_the_rest_once(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi, client_sleeps: Sleeps
) -> None:
    """Given 1,050 conversions in the first of two chunks and 5 in the second, and TikTok accepting the first batch
    of 1,000 then answering 40105 (invalid token), when a run exports both chunks, then it fails with
    authentication_error at chunk 0 without retrying or touching chunk 1, and the watermark does not move.
    When acme sets a new token and runs the same range again, then only the 50 + 5 events not yet accepted are
    sent, and across both runs every event was accepted exactly once."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    start, end = now() - timedelta(days=40), now() - timedelta(days=1)  # chunks [start, start+30d) and [start+30d, end)
    first_chunk = seed_conversions(1050, now() - timedelta(days=20), "c0", spread=timedelta(seconds=30))
    second_chunk = seed_conversions(5, now() - timedelta(days=5), "c1", spread=timedelta(hours=1))
    tiktok.script = [ACCEPTED]
    tiktok.default = lambda r: ACCEPTED if r.access_token == "tok-2" else {"code": 40105, "message": "Access token is invalid"}

    failed = run_export(api, start, end)

    assert failed["execution"].status == "FAILED" and failed["execution"].error == "AuthenticationError"
    run = failed["run"]
    assert run["status"] == "failed" and run["chunks_planned"] == 2
    assert run["error"]["code"] == "authentication_error" and run["error"]["chunk"] == 0
    assert "40105" in run["error"]["message"] and "PUT /settings" in run["error"]["message"]
    assert "watermark_before" not in run and "watermark_after" not in run and watermark() is None
    assert [r.code for r in tiktok.requests] == [0, 40105], "an authentication error is not retried"
    assert client_sleeps.seconds == [] and api.sfn.recorded_waits == []
    assert set(tiktok.sent_event_ids()) == set(first_chunk), "chunk 1 was never started"
    assert [(c["index"], c["status"], c["accepted"]) for c in failed["chunks"]] == [(0, "failed", 1000)]
    assert failed["totals"]["accepted"] == 1000

    view = put_export_settings(api, access_token="tok-2")
    assert view["export"]["access_token_set"] is True
    assert api.tenants_file is not None and json.loads(api.tenants_file.read_text())["tenants"]["acme"]["tiktok_events"] == {
        "access_token": "tok-2"
    }
    first_run_requests = len(tiktok.requests)
    rerun = run_export(api, start, end)

    assert rerun["run"]["status"] == "succeeded", rerun["run"]
    assert when(rerun["run"].get("watermark_after")) == end == watermark()
    resent = [r for r in tiktok.requests[first_run_requests:]]
    assert all(r.access_token == "tok-2" and r.code == 0 for r in resent)
    assert [e for r in resent for e in r.event_ids] == first_chunk[1000:] + second_chunk
    accepted = Counter(tiktok.accepted_event_ids())
    assert set(accepted) == set(first_chunk + second_chunk) and set(accepted.values()) == {1}
    chunks = {c["index"]: c for c in rerun["chunks"]}
    assert (chunks[0]["accepted"], chunks[0]["skipped"], chunks[1]["accepted"]) == (50, 1000, 5)
    assert {e["reason"] for e in rerun["events"] if e["outcome"] == "skipped"} == {"already_accepted"}


# ------------------------------------------------------------------------------------------------ permanent errors
def test_a_permanent_error_is_recorded_per_event_and_the_next_chunk_still_goes(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi
) -> None:
    """Given two chunks with two ad-driven orders each (orders carrying their ttclid) and TikTok refusing the first
    chunk's batch with 40002, when a run exports them, then both of its events are recorded rejected with the code
    and message, the second chunk is still sent and accepted, and the run succeeds with the watermark at `to`."""
    api = export_pipeline
    put_export_settings(api)
    start, end = now() - timedelta(days=40), now() - timedelta(days=1)
    placed = {
        "1001": now() - timedelta(days=20),
        "1002": now() - timedelta(days=19),
        "1003": now() - timedelta(days=5),
        "1004": now() - timedelta(days=4),
    }
    for order_id, at in placed.items():
        landing = {"ttclid": f"E.C.P.{order_id}", "url": f"https://acme.example/p/1?ttclid=E.C.P.{order_id}"}
        assert send_orders(api, "acme", ad_order(order_id, f"u{order_id}", at, landing=landing)).status == 202
    rejection = {"code": 40002, "message": "Invalid parameters: event_source_id"}
    tiktok.script = [rejection]

    report = run_export(api, start, end)

    assert report["run"]["status"] == "succeeded" and "error" not in report["run"]
    assert [(r.code, sorted(e["properties"]["order_id"] for e in r.body["data"])) for r in tiktok.requests] == [
        (40002, ["1001", "1002"]),
        (0, ["1003", "1004"]),
    ]
    assert when(report["run"].get("watermark_after")) == end == watermark()
    assert [(c["index"], c["status"], c["requests"], c["accepted"], c["rejected"]) for c in report["chunks"]] == [
        (0, "complete", 1, 0, 2),
        (1, "complete", 1, 2, 0),
    ]
    results = results_by_order(report)
    for order_id in ("1001", "1002"):
        assert {k: results[order_id][k] for k in ("outcome", "code", "message", "chunk")} == {
            "outcome": "rejected",
            "code": 40002,
            "message": "Invalid parameters: event_source_id",
            "chunk": 0,
        }
    assert [(results[o]["outcome"], results[o]["chunk"]) for o in ("1003", "1004")] == [("accepted", 1), ("accepted", 1)]
    assert report["totals"] == {"accepted": 2, "rejected": 2, "skipped": 0, "requests": 2}


# ------------------------------------------------------------------------------------------------ audit
def test_skipped_conversions_are_stored_with_their_reason(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given (max event age 7 days) an ad-driven order 10 days old, a buyer with two ad-driven orders, and an order
    credited to a DM conversation, when a run exports the last 12 days, then only the buyer's first order is sent and
    the run stores too_old, not_first_conversion and no_ttclid for the others."""
    api = export_pipeline
    put_export_settings(api, max_event_age_days=7)
    old = now() - timedelta(days=10)
    assert send_orders(api, "acme", ad_order("old", "u1", old, landing={"ttclid": "E.C.P.old"})).status == 202
    ad_driven_order(api, "first", "u2", first := now() - timedelta(days=3), "E.C.P.first")
    ad_driven_order(api, "second", "u2", now() - timedelta(days=2), "E.C.P.second")
    assert send_touchpoints(api, "acme", {"touchpoints": journey("u3", now() - timedelta(days=2, hours=2))}).status == 202
    assert send_orders(api, "acme", ad_order("dm", "u3", now() - timedelta(days=2))).status == 202

    report = run_export(api, now() - timedelta(days=12), now() - timedelta(minutes=1))

    assert report["run"]["status"] == "succeeded"
    assert tiktok.sent_event_ids() == [f"E.C.P.first_{first.date().isoformat()}"]
    stored = results_by_order(get_run(api, report["run"]["run_id"]))
    assert {order_id: (r["outcome"], r.get("reason")) for order_id, r in stored.items()} == {
        "old": ("skipped", "too_old"),
        "first": ("accepted", None),
        "second": ("skipped", "not_first_conversion"),
        "dm": ("skipped", "no_ttclid"),
    }
    assert report["totals"] == {"accepted": 1, "rejected": 0, "skipped": 3, "requests": 1}


def test_a_rerun_never_sends_an_accepted_event_again(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given a run accepted two events, when the same range runs again, then nothing is sent (both recorded as
    already_accepted); when a new order lands and the range runs a third time, then only the new event is sent."""
    api = export_pipeline
    put_export_settings(api)
    start, end = now() - timedelta(days=4), now() - timedelta(minutes=1)
    ad_driven_order(api, "1001", "u1", now() - timedelta(days=3), "E.C.P.one")
    ad_driven_order(api, "1002", "u2", now() - timedelta(days=2), "E.C.P.two")
    first = run_export(api, start, end)
    assert first["totals"]["accepted"] == 2 and len(tiktok.requests) == 1

    second = run_export(api, start, end)

    assert second["run"]["status"] == "succeeded" and len(tiktok.requests) == 1, "the rerun sent nothing"
    assert second["totals"] == {"accepted": 0, "rejected": 0, "skipped": 2, "requests": 0}
    assert {(e["event_id"], e["reason"]) for e in second["events"]} == {(e["event_id"], "already_accepted") for e in first["events"]}

    ad_driven_order(api, "1003", "u3", new := now() - timedelta(days=1), "E.C.P.three")
    third = run_export(api, start, now() - timedelta(minutes=1))

    assert [r.event_ids for r in tiktok.requests[1:]] == [[f"E.C.P.three_{new.date().isoformat()}"]]
    assert Counter(tiktok.accepted_event_ids()).most_common(1)[0][1] == 1
    assert third["totals"] == {"accepted": 1, "rejected": 0, "skipped": 2, "requests": 1}


def test_a_365_day_backfill_runs_13_chunks(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given no conversions, when acme backfills 365 days, then the run plans and completes 13 chunks of at most 30
    days covering the range exactly, sends nothing and moves the watermark to `to`."""
    api = export_pipeline
    put_export_settings(api)
    end = now() - timedelta(minutes=1)
    start = end - timedelta(days=365)

    report = run_export(api, start, end)

    assert report["run"]["status"] == "succeeded" and report["run"]["chunks_planned"] == 13
    spans = [(when(c.get("start")), when(c.get("end"))) for c in report["chunks"]]
    assert spans[0][0] == start and spans[-1][1] == end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert [e - s for s, e in spans] == [timedelta(days=30)] * 12 + [timedelta(days=5)]  # type: ignore[operator]
    assert tiktok.requests == [] and watermark() == end


# ------------------------------------------------------------------------------------------------ the API
def test_export_requests_are_validated_and_runs_are_tenant_scoped(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given acme's export settings, then a range with `from` ≥ `to` is 422 naming `from`, a range over 366 days or
    ending in the future is 422 naming `to`, an unknown run is 404, and globex's key gets 403 on acme's export
    routes; none of these started an execution."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    end = now() - timedelta(days=1)

    for start, stop, field_name, code in (
        (end, end, "from", "invalid_range"),
        (end + timedelta(hours=1), end, "from", "invalid_range"),
        (end - timedelta(days=367), end, "to", "range_too_long"),
        (now() - timedelta(days=1), now() + timedelta(days=1), "to", "invalid_range"),
    ):
        response = start_export(api, start, stop)
        assert response.status == 422, (start, stop, response.body)
        assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (field_name, code)
    assert start_export(api, end - timedelta(days=366), end).status == 202, "366 days is the longest range"

    missing = team_call(api, "GET", "acme", "conversions/runs/nope")
    assert missing.status == 404 and missing.json()["error"]["code"] == "run_not_found"
    foreign = team_call(api, "POST", "acme", "conversions/export", {"to": end.isoformat()}, key_of="globex")
    assert foreign.status == 403
    assert team_call(api, "GET", "acme", "conversions/runs/nope", key_of="globex").status == 403
    executions = api.sfn.client("stepfunctions").list_executions(stateMachineArn=api.sfn.state_machine_arn)["executions"]
    assert len(executions) == 1
    api.sfn.wait(executions[0]["executionArn"], timeout=WAIT_LIMIT)


# ------------------------------------------------------------------------------------------------ the schedule
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-01-01T03:30:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/ordertrail-DailyExport"],
    "detail": {},
}


def run_schedule(api: ExportPipeline) -> dict[str, Any]:
    """The daily EventBridge trigger, delivered to ExportSchedulerFunction's real handler."""
    assert api.sfn is not None
    result: dict[str, Any] = api.sfn.runtime.invoke(
        "ExportSchedulerFunction", "functions/export_conversion", SCHEDULED_EVENT, "app.schedule_handler"
    )
    return result


def test_the_daily_schedule_starts_one_run_per_exporting_tenant_once_a_day(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given acme exports (an ad-driven order two days ago) and globex does not, when the daily schedule fires, then
    one run starts, for acme, named by tenant and day, and it sends the order (from now − max age to now − settle);
    when the schedule fires again the same day, then no new execution starts."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    put_export_settings(api, "globex", enabled=False)
    ad_driven_order(api, "1001", "u1", now() - timedelta(days=2), "E.C.P.one")
    run_id = f"daily-acme-{now():%Y%m%d}"

    assert run_schedule(api) == {"started": [run_id], "skipped": []}
    report = finished_run(api, run_id)

    assert report["execution"].succeeded
    run = report["run"]
    assert (run["trigger"], run["status"]) == ("schedule", "succeeded")
    assert timedelta(hours=23) < now() - when(run.get("end")) <= timedelta(hours=24, minutes=1)  # type: ignore[operator]
    assert when(run.get("end")) - when(run.get("start")) == timedelta(days=28)  # type: ignore[operator]
    assert len(tiktok.sent_event_ids()) == 1 and watermark() == when(run.get("end"))

    assert run_schedule(api) == {"started": [], "skipped": []}, "a repeated trigger the same day starts nothing"

    executions = api.sfn.client("stepfunctions").list_executions(stateMachineArn=api.sfn.state_machine_arn)["executions"]
    assert [e["name"] for e in executions] == [run_id]
    assert len(tiktok.requests) == 1


def test_a_scheduled_tenant_without_a_token_fails_with_an_authentication_error(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi
) -> None:
    """Given both tenants export but globex never set an access token, when the schedule fires, then both runs start;
    acme's succeeds and globex's fails with authentication_error saying to set a token, without calling TikTok."""
    api = export_pipeline
    put_export_settings(api)
    response = team_call(api, "PUT", "globex", "settings", {"export": {"enabled": True, "pixel_code": "PIX2"}})
    assert response.status == 200 and response.json()["export"]["access_token_set"] is False

    started = run_schedule(api)["started"]

    assert sorted(started) == [f"daily-acme-{now():%Y%m%d}", f"daily-globex-{now():%Y%m%d}"]
    acme = finished_run(api, f"daily-acme-{now():%Y%m%d}")
    globex = finished_run(api, f"daily-globex-{now():%Y%m%d}", "globex")
    assert acme["run"]["status"] == "succeeded"
    assert globex["run"]["status"] == "failed" and globex["run"]["error"]["code"] == "authentication_error"
    assert "access token" in globex["run"]["error"]["message"] and watermark("globex") is None
    assert tiktok.requests == []


# ------------------------------------------------------------------------------------------------ one run at a time
# The local runtime runs one handler at a time (as one Lambda instance would), so "while a run is going" is staged
# from inside TikTok's answer to that run's request: the run holds its lease and is mid-chunk right then.
def meanwhile(action: Callable[[], Any], results: list[Any], answer: dict[str, Any] = ACCEPTED) -> Answer:
    """A TikTok answer that first does `action` (noting its result), as if it happened while the run is sending."""

    def reply(sent: SentRequest) -> dict[str, Any]:
        results.append(action())
        return answer

    return reply


def test_a_second_export_while_a_run_is_going_is_refused_naming_it_until_it_ends(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi
) -> None:
    """Given acme's run is sending its chunk, when acme asks for another export, then it gets 409 `export_running`
    naming the running run and until when its lease holds, and nothing else started; when the first run has ended,
    then its lease is gone and the next request starts a run that succeeds."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    ad_driven_order(api, "1001", "u1", now() - timedelta(days=2), "E.C.P.one")
    start, end = now() - timedelta(days=3), now() - timedelta(minutes=1)
    seen: list[tuple[ExportLease | None, HttpResponse]] = []
    tiktok.script = [meanwhile(lambda: (Repository(TABLE).get_export_lease("acme"), start_export(api, start, end)), seen)]

    first = start_export(api, start, end)
    assert first.status == 202, first.body
    report = finished_run(api, first.json()["run_id"])

    assert report["run"]["status"] == "succeeded"
    ((held, refused),) = seen
    assert held is not None and held.run_id == report["run"]["run_id"]
    assert refused.status == 409, refused.body
    error = refused.json()["error"]
    assert error["code"] == "export_running" and set(error) == {"code", "message"}
    assert report["run"]["run_id"] in error["message"] and zulu(held.expires_at) in error["message"]
    executions = api.sfn.client("stepfunctions").list_executions(stateMachineArn=api.sfn.state_machine_arn)["executions"]
    assert [e["name"] for e in executions] == [report["run"]["run_id"]], "the refused request started nothing"
    assert lease_holder() is None

    after = run_export(api, start, end)

    assert after["run"]["status"] == "succeeded" and after["run"]["run_id"] != report["run"]["run_id"]
    assert len(tiktok.requests) == 1 and after["totals"]["skipped"] == 1, "the event went once, in the first run"
    assert lease_holder() is None


def test_a_live_lease_refuses_a_run_and_a_stale_one_is_taken_over(export_pipeline: ExportPipeline, tiktok: FakeEventsApi) -> None:
    """Given run `crashed` holds acme's export lease for ten more minutes, when acme asks for an export, then 409 names
    `crashed` and its expiry; given the same lease as it was last renewed an hour ago (its run died without
    finalizing, so the lease expired on its own), when acme asks again, then the new run takes it over, sends the
    order, succeeds and releases the lease."""
    api = export_pipeline
    repo = Repository(TABLE)
    put_export_settings(api)
    ad_driven_order(api, "1001", "u1", now() - timedelta(days=2), "E.C.P.one")
    start, end = now() - timedelta(days=3), now() - timedelta(minutes=1)
    live = ExportLease(run_id="crashed", renewed_at=now(), expires_at=now() + timedelta(minutes=10))
    assert repo.take_export_lease("acme", live, now()) is None

    refused = start_export(api, start, end)

    assert refused.status == 409, refused.body
    message = refused.json()["error"]["message"]
    assert refused.json()["error"]["code"] == "export_running" and "crashed" in message and zulu(live.expires_at) in message
    assert tiktok.requests == [] and lease_holder() == "crashed"

    renewed = now() - timedelta(hours=1)
    stale = ExportLease(run_id="crashed", renewed_at=renewed, expires_at=renewed + LEASE_TTL)
    assert repo.take_export_lease("acme", stale, renewed, renew=True) is None  # its last renewal, an hour ago

    report = run_export(api, start, end)

    assert report["run"]["status"] == "succeeded", report["run"]
    assert report["totals"]["accepted"] == 1 and len(tiktok.requests) == 1
    assert lease_holder() is None


def test_the_schedule_skips_a_tenant_whose_run_is_going_and_logs_it(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Given acme's on-demand run is sending its chunk and globex exports too, when the daily schedule fires right
    then, then it starts globex's daily run, skips acme (no daily run for acme today) and logs a warning naming the
    run that holds acme's lease; acme's run and globex's both succeed."""
    api = export_pipeline
    assert api.sfn is not None
    put_export_settings(api)
    put_export_settings(api, "globex")
    ad_driven_order(api, "1001", "u1", now() - timedelta(days=2), "E.C.P.one")
    fired: list[dict[str, Any]] = []
    tiktok.script = [meanwhile(lambda: run_schedule(api), fired)]

    response = start_export(api, now() - timedelta(days=3), now() - timedelta(minutes=1))
    assert response.status == 202, response.body
    acme = finished_run(api, response.json()["run_id"])

    assert acme["run"]["status"] == "succeeded"
    assert fired == [{"started": [f"daily-globex-{now():%Y%m%d}"], "skipped": ["acme"]}]
    globex = finished_run(api, f"daily-globex-{now():%Y%m%d}", "globex")
    assert globex["run"]["status"] == "succeeded"
    assert team_call(api, "GET", "acme", f"conversions/runs/daily-acme-{now():%Y%m%d}").status == 404
    (skip,) = [r for r in caplog.records if r.getMessage().startswith("daily export skipped")]
    assert skip.levelname == "WARNING"
    assert (getattr(skip, "tenant", None), getattr(skip, "holder", None)) == ("acme", acme["run"]["run_id"])
    assert lease_holder() is None and lease_holder("globex") is None


# ------------------------------------------------------------------------------------------------ permissions
def allowed_dynamodb_actions(function: str) -> set[str]:
    """The DynamoDB actions a function's inline IAM statements in template.yaml allow."""
    allowed: set[str] = set()
    for policy in load_template()["Resources"][function]["Properties"].get("Policies") or []:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            allowed |= {a.split(":", 1)[1] for a in actions if a.startswith("dynamodb:")}
    return allowed


def test_the_export_functions_only_call_what_their_iam_policies_allow(
    export_pipeline: ExportPipeline, tiktok: FakeEventsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given every DynamoDB call is traced to the function whose handler made it, when the schedule starts a run and a
    run is started through the API, then each export function used only actions its template policy grants (moto
    does not enforce IAM, so a missing action would only show on AWS, as AccessDenied)."""
    api = export_pipeline
    assert api.sfn is not None
    current = threading.local()
    calls: set[tuple[str, str]] = set()
    invoke = api.sfn.runtime.invoke

    def traced_invoke(function_name: str, *args: Any, **kwargs: Any) -> Any:
        current.function = function_name
        try:
            return invoke(function_name, *args, **kwargs)
        finally:
            current.function = None

    def record(model: Any, **_: Any) -> None:
        function = getattr(current, "function", None)
        if function:
            calls.add((function, model.name))

    monkeypatch.setattr(api.sfn.runtime, "invoke", traced_invoke)
    boto3._get_default_session().events.register("before-call.dynamodb", record)
    reset_process_caches()  # clients are built again, with the hook
    put_export_settings(api)
    ad_driven_order(api, "1001", "u1", now() - timedelta(days=2), "E.C.P.one")
    run_schedule(api)
    assert finished_run(api, f"daily-acme-{now():%Y%m%d}")["run"]["status"] == "succeeded"
    assert run_export(api, now() - timedelta(days=3), now() - timedelta(minutes=1))["run"]["status"] == "succeeded"

    used: dict[str, set[str]] = {}
    for function, operation in calls:
        used.setdefault(function, set()).add(operation)
    export_functions = {"ExportSchedulerFunction", "ExportPlanFunction", "ExportChunkFunction", "ExportFinalizeFunction", "ReportsFunction"}
    assert export_functions <= set(used), used
    for function in export_functions:
        assert used[function] <= allowed_dynamodb_actions(function), (function, used[function] - allowed_dynamodb_actions(function))
