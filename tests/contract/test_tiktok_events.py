"""Contract tests: Events API 2.0 hashing vectors, event and request shape (JSON Schema), and the client against `responses`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ordertrail.export.events_api.client import BatchResult, EventsApiClient
from ordertrail.export.events_api.contract import (
    MAX_EVENTS_PER_REQUEST,
    Content,
    EventFields,
    build_event,
    event_by_hand,
    event_by_models,
    json_number,
    request_body,
)
from ordertrail.export.events_api.errors import (
    AuthenticationError,
    ExportError,
    PermanentExportError,
    RetryableExportError,
    backoff_delay,
    classify,
)
from ordertrail.export.events_api.hashing import event_id_for, hash_email, hash_external_id, hash_phone, normalise_phone

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "events" / "contract" / "tiktok_events_request.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
BASE = "https://events.example.test"
URL = f"{BASE}/open_api/v1.3/event/track/"
TOKEN = "tt-access-token-SECRET"
PIXEL = "CPIXEL123"
WHEN = datetime(2024, 6, 13, 19, 6, 25, tzinfo=UTC)

EMAIL_VECTOR = ("  ALICE_abc@gmail.com ", "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f")
PHONE_VECTOR = ("(+1)2133734253", "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd")
EXTERNAL_ID_VECTOR = ("user_123", "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b")


def event(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A full Purchase event for conversion n (identifiers raw, hashed by build_event)."""
    ttclid = f"E.C.P.ttclid{n}"
    kwargs: dict[str, Any] = {
        "event_name": "Purchase",
        "event_id": event_id_for(ttclid, WHEN.date()),
        "event_time": WHEN,
        "ttclid": ttclid,
        "currency": "USD",
        "value": Decimal("59.97"),
        "order_id": f"57665368813525{n:04d}",
        "contents": [Content("1729384756", "Glow serum", Decimal("19.99"), 3)],
        "email": EMAIL_VECTOR[0],
        "phone": PHONE_VECTOR[0],
        "external_id": EXTERNAL_ID_VECTOR[0],
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (iPhone)",
        "url": "https://shop.example/p/serum",
    }
    kwargs.update(overrides)
    return build_event(**kwargs)


def client(**kwargs: Any) -> tuple[EventsApiClient, list[float]]:
    """A client against the fake base URL whose sleeps are recorded, not slept, and whose jitter draws 0.5."""
    waits: list[float] = []
    options: dict[str, Any] = {"sleep": waits.append, "rng": lambda: 0.5}
    options.update(kwargs)
    return EventsApiClient(BASE, TOKEN, PIXEL, **options), waits


def ok(request_id: str = "req-ok") -> dict[str, Any]:
    """A success envelope."""
    return {"code": 0, "message": "OK", "request_id": request_id, "data": {}}


def sent_body(index: int = 0) -> dict[str, Any]:
    """The JSON body of the n-th recorded request."""
    body = responses.calls[index].request.body
    assert body is not None
    data: dict[str, Any] = json.loads(body)
    return data


# --- hashing -----------------------------------------------------------------------------------------------------


def test_published_hashing_vectors() -> None:
    """Given the three published vectors, when hashed, then each digest matches TikTok's published vector exactly."""
    assert hash_email(EMAIL_VECTOR[0]) == EMAIL_VECTOR[1]
    assert normalise_phone(PHONE_VECTOR[0]) == "+12133734253"
    assert hash_phone(PHONE_VECTOR[0]) == PHONE_VECTOR[1]
    assert hash_external_id(EXTERNAL_ID_VECTOR[0]) == EXTERNAL_ID_VECTOR[1]


def test_already_hashed_values_are_not_hashed_again() -> None:
    """Given values that already are SHA-256 hex, when hashed, then they come back unchanged."""
    for digest in (EMAIL_VECTOR[1], PHONE_VECTOR[1], EXTERNAL_ID_VECTOR[1]):
        assert hash_email(digest) == digest
        assert hash_phone(digest) == digest
        assert hash_external_id(digest) == digest


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(+1)2133734253", "+12133734253"),
        ("+1 (213) 373-4253", "+12133734253"),
        ("213.373.4253", "+12133734253"),  # 10 digits without a country code: assumed +1 (documented)
        ("1-213-373-4253", "+12133734253"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("020 7946 0958", None),  # national format without a country: can't be placed
        ("(+1)213***4253", None),  # masked by platform logistics
        ("213-373-4253 ext 12", None),
        ("+0123456789", None),
        ("", None),
    ],
)
def test_phone_normalisation(raw: str, e164: str | None) -> None:
    """Given phones as people type them, when normalised, then E.164 with "+" or None when unusable."""
    assert normalise_phone(raw) == e164
    assert (hash_phone(raw) is None) == (e164 is None)


def test_event_hashes_identifiers_but_keeps_ip_user_agent_and_ttclid_plain() -> None:
    """Given raw identifiers, when an event is built, then email/phone/external_id are digests and the rest is plain."""
    user = event(7)["user"]
    assert user == {
        "ttclid": "E.C.P.ttclid7",
        "email": [EMAIL_VECTOR[1]],
        "phone": [PHONE_VECTOR[1]],
        "external_id": [EXTERNAL_ID_VECTOR[1]],
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (iPhone)",
    }


def test_empty_and_unusable_identifiers_are_omitted() -> None:
    """Given no email, an unusable phone and no ip/ua/url, when built, then those keys are absent (not empty)."""
    built = event(1, email=None, phone="n/a", external_id=[], ip=None, user_agent=None, url=None)
    assert built["user"] == {"ttclid": "E.C.P.ttclid1"}
    assert "page" not in built


# --- event and request shape -------------------------------------------------------------------------------------


def test_event_id_is_deterministic() -> None:
    """Given the same ttclid and conversion date, when ids are made twice (or from times that day), then they are equal."""
    assert event_id_for("E.C.P.abc", date(2024, 2, 29)) == "E.C.P.abc_2024-02-29"
    assert event_id_for("E.C.P.abc", date(2024, 2, 29)) == event_id_for("E.C.P.abc", datetime(2024, 2, 29, 23, 59, tzinfo=UTC))
    # A datetime is read in UTC: 20:00 in UTC-5 on the 28th is already the 29th.
    assert event_id_for("E.C.P.abc", datetime(2024, 2, 28, 20, 0, tzinfo=timezone(timedelta(hours=-5)))) == "E.C.P.abc_2024-02-29"
    assert event(3)["event_id"] == event(3)["event_id"]


def test_built_request_validates_against_the_contract_schema() -> None:
    """Given built events, when wrapped in a request body, then it validates and event_time is an int in seconds."""
    VALIDATOR.check_schema(SCHEMA)
    body = request_body(PIXEL, [event(n) for n in range(3)], test_event_code="TEST123")
    VALIDATOR.validate(body)
    first = body["data"][0]
    assert type(first["event_time"]) is int and first["event_time"] == 1_718_305_585
    assert first["properties"] == {
        "currency": "USD",
        "value": 59.97,
        "content_type": "product",
        "contents": [{"content_id": "1729384756", "content_name": "Glow serum", "price": 19.99, "quantity": 3}],
        "order_id": "576653688135250000",
    }
    assert first["page"] == {"url": "https://shop.example/p/serum"}
    assert body["event_source"] == "web" and body["event_source_id"] == PIXEL


def test_schema_refuses_what_the_contract_forbids() -> None:
    """Given bodies breaking the contract, when validated, then the schema refuses each one."""
    good = request_body(PIXEL, [event()])
    bad_bodies = []
    for path, value in [
        (("event_time",), 1_718_305_585_000),  # milliseconds
        (("event_time",), "1718305585"),
        (("user", "email"), ["alice@example.com"]),  # unhashed PII
        (("properties", "value"), "59.97"),
        (("properties", "contents", 0, "content_id"), 1729384756),
        (("properties", "contents", 0, "quantity"), 1.5),
    ]:
        body = json.loads(json.dumps(good))
        target = body["data"][0]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        bad_bodies.append(body)
    bad_bodies.append({**good, "data": []})
    bad_bodies.append({**good, "data": good["data"] * 1001})
    for body in bad_bodies:
        assert not VALIDATOR.is_valid(body)


def test_money_becomes_an_exact_json_number() -> None:
    """Given Decimal money, when serialised, then the JSON text is the same digits (rounded to the minor unit)."""
    assert json.dumps(json_number(Decimal("19.99"))) == "19.99"
    assert json.dumps(json_number(Decimal("0.10"))) == "0.1"
    assert json.dumps(json_number(Decimal("120.00"))) == "120"
    assert json.dumps(json_number(Decimal("12345678901.23"))) == "12345678901.23"
    with pytest.raises(ValueError, match="significant digits"):
        json_number(Decimal("1.0000000000000000001"))
    rounded = event(0, value=Decimal("19.995"), currency="usd")["properties"]
    assert (rounded["value"], rounded["currency"]) == (20, "USD")
    assert event(0, value=Decimal("1234.5"), currency="JPY")["properties"]["value"] == 1235


def test_builder_refuses_naive_times_and_negative_value() -> None:
    """Given a naive event time or a negative value, when built, then it is refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        event(0, event_time=datetime(2024, 6, 13, 19, 6, 25))  # naive on purpose
    with pytest.raises(ValidationError):
        event(0, value=Decimal("-1.00"))


# Odd values for every field: blanks, edge whitespace (Python's and pydantic's), lone surrogates, wrong types, money
# the models refuse or cannot write exactly.
_ODD_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "x ", " x", "\u00a0x", "x\u2028", "x\x1c", "\x1fx", "\ud800", "x\ud800y", "\u3000", "x\n"]),
    st.text(max_size=6),
)
_ODD_MONEY = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("-0.00"), Decimal("-1"), Decimal("1.0000000000000000001"), Decimal("1E+20"), Decimal("0.000001")]),
    st.sampled_from([1.5, 2, None]),
)
_ODD_HASHES = st.lists(st.sampled_from(["A" * 64, "a" * 63, "z" * 64, "a" * 64 + "\n", "", 7]), min_size=1, max_size=2)
_ODD: dict[str, Any] = {
    "event": _ODD_TEXTS,
    "event_time": st.sampled_from([0, -1, 10_000_000_000, True, 1.5, "1"]),
    "event_id": _ODD_TEXTS,
    "ttclid": _ODD_TEXTS,
    "email": _ODD_HASHES,
    "phone": _ODD_HASHES,
    "external_id": _ODD_HASHES,
    "ip": _ODD_TEXTS,
    "user_agent": _ODD_TEXTS,
    "url": _ODD_TEXTS,
    "currency": st.one_of(st.sampled_from(["usd", "US", "USDX", "ÜSD", "US\n", "", "U S"]), st.text(max_size=4)),
    "value": _ODD_MONEY,
    "order_id": _ODD_TEXTS,
}
_PLAIN_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(lambda t: t == t.strip())
_HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_PLAIN_MONEY = st.one_of(st.decimals(min_value=0, max_value=10**9, places=2), st.decimals(min_value=0, max_value=10**6, places=0))
_LINE = st.tuples(_PLAIN_TEXT, st.one_of(st.none(), _PLAIN_TEXT, st.just("")), _PLAIN_MONEY, st.integers(1, 50))
_ODD_LINE = st.tuples(_ODD_TEXTS.map(str), st.one_of(_ODD_TEXTS, st.just(3)), _ODD_MONEY, st.sampled_from([0, -2, True, 1.0]))
# Fields the models take as they are: what an export builds, in every shape it can have.
_PLAIN = st.builds(
    EventFields,
    event=_PLAIN_TEXT,
    event_time=st.integers(1, 9_999_999_999),
    event_id=_PLAIN_TEXT,
    ttclid=st.one_of(st.none(), _PLAIN_TEXT),
    email=st.lists(_HEX, max_size=2),
    phone=st.lists(_HEX, max_size=2),
    external_id=st.lists(_HEX, max_size=1),
    ip=st.one_of(st.none(), _PLAIN_TEXT),
    user_agent=st.one_of(st.none(), _PLAIN_TEXT),
    url=st.one_of(st.none(), _PLAIN_TEXT.map(lambda t: "https://shop.example/" + t)),
    currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]),
    value=_PLAIN_MONEY,
    contents=st.lists(_LINE, max_size=3),
    order_id=_PLAIN_TEXT,
)


@st.composite
def _fields(draw: st.DrawFn) -> EventFields:
    """Plain fields, with one field (or one content line) made odd two times in three."""
    fields = draw(_PLAIN)
    choice = draw(st.sampled_from(["none", *_ODD, "contents"]))
    if choice == "none":
        return fields
    if choice == "contents":
        lines = [*fields.contents, draw(_ODD_LINE)]
        return fields._replace(contents=draw(st.permutations(lines)))
    return fields._replace(**{choice: draw(_ODD[choice])})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=_fields())
def test_events_written_by_hand_equal_the_models_events(fields: EventFields) -> None:
    """Given any event fields, when the by-hand writer takes them, then its event is exactly the contract models' event.

    The export writes most events by hand for speed; whatever it declines (None) the models write or refuse.
    """
    by_hand = event_by_hand(fields)
    try:
        by_models: dict[str, Any] | None = event_by_models(fields)
    except ValueError:  # pydantic's ValidationError and serialization errors are ValueErrors
        by_models = None
    if by_hand is not None:
        assert json.dumps(by_hand) == json.dumps(by_models)


def test_plain_events_are_written_by_hand() -> None:
    """Given an export's usual fields, when built, then the by-hand writer takes them (the fast path is the common one)."""
    fields = EventFields(
        event="Purchase",
        event_time=1_718_305_585,
        event_id="E.C.P.tt_2024-06-13",
        ttclid="E.C.P.tt",
        email=[EMAIL_VECTOR[1]],
        phone=[PHONE_VECTOR[1]],
        external_id=[],
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 (iPhone)",
        url="https://shop.example/p/serum",
        currency="USD",
        value=Decimal("59.97"),
        contents=[("1729384756", "Glow serum", Decimal("19.99"), 3), ("SKU-2", None, Decimal("0.00"), 1)],
        order_id="576653688135250001",
    )
    assert event_by_hand(fields) == event_by_models(fields)
    assert event() == event_by_models(event_fields_of(event()))


def event_fields_of(built: dict[str, Any]) -> EventFields:
    """The fields of a built event, read back (hashes already in place), to rebuild it through the models."""
    user, props = built["user"], built["properties"]
    return EventFields(
        event=built["event"],
        event_time=built["event_time"],
        event_id=built["event_id"],
        ttclid=user.get("ttclid"),
        email=user.get("email", []),
        phone=user.get("phone", []),
        external_id=user.get("external_id", []),
        ip=user.get("ip"),
        user_agent=user.get("user_agent"),
        url=built.get("page", {}).get("url"),
        currency=props["currency"],
        value=Decimal(str(props["value"])),
        contents=[(c["content_id"], c.get("content_name"), Decimal(str(c["price"])), c["quantity"]) for c in props["contents"]],
        order_id=props["order_id"],
    )


def test_request_body_size_limits_and_test_event_code() -> None:
    """Given 0, 1,000 and 1,001 events, when a body is made, then only 1..1,000 pass; test_event_code only when set."""
    one = event()
    with pytest.raises(ValueError):
        request_body(PIXEL, [])
    with pytest.raises(ValueError):
        request_body(PIXEL, [one] * (MAX_EVENTS_PER_REQUEST + 1))
    assert len(request_body(PIXEL, [one] * MAX_EVENTS_PER_REQUEST)["data"]) == 1000
    assert "test_event_code" not in request_body(PIXEL, [one])
    assert request_body(PIXEL, [one], test_event_code="TEST42")["test_event_code"] == "TEST42"


# --- classification ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (0, 200, None),
        (20001, 200, None),
        (40100, 200, RetryableExportError),
        (40132, 200, RetryableExportError),
        (61000, 200, RetryableExportError),
        (50000, 200, RetryableExportError),
        (50002, 200, RetryableExportError),
        (None, 200, RetryableExportError),  # non-JSON body
        (None, 0, RetryableExportError),  # no response
        (0, 503, RetryableExportError),
        (None, 429, RetryableExportError),
        (40102, 200, AuthenticationError),
        (40105, 401, AuthenticationError),
        (40104, 200, AuthenticationError),
        (40000, 200, PermanentExportError),
        (40001, 200, PermanentExportError),
        (40002, 200, PermanentExportError),
        (40061, 200, PermanentExportError),
        (40062, 200, PermanentExportError),
        (0, 400, PermanentExportError),
    ],
)
def test_classify(code: int | None, status: int, expected: type[ExportError] | None) -> None:
    """Given a code and HTTP status, when classified, then success needs 200 AND code 0 (or 20001) and errors fall per the contract."""
    assert classify(code, status) is expected


def test_error_class_names_match_the_state_machine() -> None:
    """Given Step Functions matches on error names, then the classes keep their names and share one base."""
    assert [c.__name__ for c in (RetryableExportError, AuthenticationError, PermanentExportError)] == [
        "RetryableExportError",
        "AuthenticationError",
        "PermanentExportError",
    ]
    assert all(issubclass(c, ExportError) for c in (RetryableExportError, AuthenticationError, PermanentExportError))


# --- client ------------------------------------------------------------------------------------------------------


@responses.activate
def test_success_sends_headers_and_body_and_returns_accepted() -> None:
    """Given HTTP 200 with code 0, when a batch is sent, then it is accepted and the request carries token and JSON type."""
    responses.post(URL, json=ok("req-1"))
    api, waits = client()
    result = api.send([event(0), event(1)])
    assert result == BatchResult("accepted", 0, "OK", "req-1", 2, 1, False)
    request = responses.calls[0].request
    assert request.headers["Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    body = sent_body()
    VALIDATOR.validate(body)
    assert "test_event_code" not in body and len(body["data"]) == 2
    assert waits == []


@responses.activate
def test_test_event_code_is_sent_when_set() -> None:
    """Given a client with a test event code, when it sends, then the body carries it."""
    responses.post(URL, json=ok())
    api, _ = client(test_event_code="TEST9")
    api.send([event()])
    assert sent_body()["test_event_code"] == "TEST9"


@responses.activate
def test_send_all_splits_2500_events_into_1000_1000_500() -> None:
    """Given 2,500 events, when sent, then three requests of 1,000, 1,000 and 500 are made, in order."""
    responses.post(URL, json=ok())
    events = [event(n) for n in range(2500)]
    api, _ = client()
    results = api.send_all(events)
    assert [len(sent_body(i)["data"]) for i in range(len(responses.calls))] == [1000, 1000, 500]
    assert [r.events for r in results] == [1000, 1000, 500]
    assert sent_body(2)["data"][-1]["event_id"] == events[-1]["event_id"]
    assert api.send_all([]) == []


@responses.activate
def test_http_200_with_error_code_is_rejected_and_recorded_not_raised() -> None:
    """Given HTTP 200 with code 40002, when sent, then the batch is rejected with code and message, once, not raised."""
    responses.post(URL, json={"code": 40002, "message": "Invalid parameter: event_time", "request_id": "req-bad"})
    api, waits = client()
    result = api.send([event()])
    assert result == BatchResult("rejected", 40002, "Invalid parameter: event_time", "req-bad", 1, 1, False)
    assert len(responses.calls) == 1 and waits == []


@responses.activate
def test_rate_limit_then_success_retries_with_jittered_backoff() -> None:
    """Given 40100 then success, when sent, then 2 attempts and one wait inside the full-jitter range of retry 1."""
    responses.post(URL, json={"code": 40100, "message": "Too many requests", "request_id": "req-429"})
    responses.post(URL, json=ok("req-2"))
    api, waits = client(rng=lambda: 0.73)
    result = api.send([event()])
    assert (result.status, result.attempts, result.request_id) == ("accepted", 2, "req-2")
    assert len(responses.calls) == 2
    assert waits == [pytest.approx(0.73)]  # 0.73 x min(8, 1 x 2^0)
    assert 0 <= waits[0] < 1.0


def test_backoff_grows_exponentially_and_is_capped() -> None:
    """Given the top of the jitter range, when retries go on, then ceilings are 1, 2, 4, 8, 8 seconds."""
    assert [backoff_delay(n, lambda: 1.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff_delay(3, lambda: 0.0) == 0.0


@responses.activate
def test_server_errors_exhaust_attempts_then_raise_retryable() -> None:
    """Given HTTP 503 every time, when sent with 3 attempts, then 3 requests, 2 waits, and RetryableExportError."""
    responses.post(URL, status=503, body="<html>busy</html>", headers={"X-Tt-Logid": "log-503"})
    api, waits = client(rng=lambda: 0.99)
    with pytest.raises(RetryableExportError) as caught:
        api.send([event()])
    assert len(responses.calls) == 3
    assert waits == [pytest.approx(0.99), pytest.approx(1.98)]
    assert (caught.value.http_status, caught.value.attempts, caught.value.request_id) == (503, 3, "log-503")


@responses.activate
def test_non_json_200_and_network_errors_are_retryable() -> None:
    """Given a non-JSON 200 and then a timeout, when sent with 2 attempts, then RetryableExportError after both."""
    responses.post(URL, status=200, body="not json")
    responses.post(URL, body=requests.Timeout("read timed out"))
    api, waits = client(max_attempts=2)
    with pytest.raises(RetryableExportError) as caught:
        api.send([event()])
    assert len(responses.calls) == 2 and len(waits) == 1
    assert caught.value.code is None and "Timeout" in caught.value.message


@pytest.mark.parametrize("code", [40102, 40105, 40104])
@responses.activate
def test_authentication_codes_raise_immediately(code: int) -> None:
    """Given an expired, invalid or empty token code, when sent, then AuthenticationError with the code and no retry."""
    responses.post(URL, json={"code": code, "message": "Access token is invalid", "request_id": "req-auth"})
    api, waits = client()
    with pytest.raises(AuthenticationError) as caught:
        api.send([event()])
    assert (caught.value.code, caught.value.request_id, caught.value.attempts) == (code, "req-auth", 1)
    assert len(responses.calls) == 1 and waits == []
    assert TOKEN not in str(caught.value)


@responses.activate
def test_partial_success_is_accepted_but_flagged() -> None:
    """Given code 20001, when sent, then the batch is accepted with partial=True and TikTok's message kept."""
    responses.post(URL, json={"code": 20001, "message": "Partial success: 1 event failed", "request_id": "req-p"})
    api, _ = client()
    result = api.send([event(0), event(1)])
    assert result == BatchResult("accepted", 20001, "Partial success: 1 event failed", "req-p", 2, 1, True)


@responses.activate
def test_logs_carry_request_id_but_never_the_token_or_raw_identifiers(caplog: pytest.LogCaptureFixture) -> None:
    """Given a send, when logs are written, then the request id is there and the token, email and phone are not."""
    responses.post(URL, json=ok("req-logged"))
    api, _ = client()
    with caplog.at_level("INFO", logger="ordertrail"):
        api.send([event()])
    records = [r for r in caplog.records if r.name == "ordertrail"]
    assert [getattr(r, "request_id", None) for r in records] == ["req-logged"]
    logged = " ".join(repr(vars(r)) for r in records)
    for secret in (TOKEN, "alice_abc", "2133734253", "user_123", EMAIL_VECTOR[1]):
        assert secret not in logged
    assert TOKEN not in repr(api)


def test_send_refuses_empty_and_oversized_batches() -> None:
    """Given 0 or 1,001 events, when send is called, then ValueError before any request."""
    api, _ = client()
    with pytest.raises(ValueError):
        api.send([])
    with pytest.raises(ValueError):
        api.send([event()] * 1001)
