"""TikTok Events API 2.0 export: hashed identifiers, contract-exact events, and a batching, retrying client."""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints, field_validator

from ordertrail.runtime.observability import logger

TRACK_PATH = "/open_api/v1.3/event/track/"
MAX_EVENTS_PER_REQUEST = 1000
DEFAULT_EVENT_NAME = "Purchase"

SUCCESS = 0
PARTIAL_SUCCESS = 20001
RETRYABLE_CODES = frozenset({40100, 40132, 61000, 50000, 50002})
AUTHENTICATION_CODES = frozenset({40102, 40104, 40105})

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 8.0

_SHA256_HEX = re.compile(r"^[a-f0-9]{64}$")
# Separators people type inside phone numbers; anything else (letters, "*" masks, extensions) means "can't normalise".
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")

# ISO-4217 minor units that differ from 2; money is rounded to the currency's minor unit before it becomes a JSON number.
_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


# --- hashing -----------------------------------------------------------------------------------------------------


def is_sha256_hex(value: str) -> bool:
    """True when the value already is a lowercase SHA-256 hex digest (and so must not be hashed again)."""
    return bool(_SHA256_HEX.match(value))


def _sha256(value: str) -> str:
    """Lowercase SHA-256 hex of the UTF-8 text."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hash_email(value: str) -> str:
    """Trim, lowercase, SHA-256 hex; an already-hashed value is returned unchanged (ValueError when blank)."""
    normalised = value.strip().lower()
    if not normalised:
        raise ValueError("email is blank")
    return normalised if is_sha256_hex(normalised) else _sha256(normalised)


def normalise_phone(value: str) -> str | None:
    """E.164 with the leading "+" ("(+1)2133734253" → "+12133734253"), or None when the number can't be placed.

    Separators (spaces, brackets, dots, dashes, slashes) are dropped. A "+" or "00" prefix carries the country code.
    Without one, only North American numbers are accepted: 10 digits (area code 2-9) are assumed to be +1, and 11
    digits starting with 1 are read as +1 too; any other bare number has no knowable country and gives None, as do
    letters, extensions and masked ("*") values.
    """
    compact = _PHONE_SEPARATORS.sub("", value.strip())
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif _ASCII_DIGITS.match(compact) and len(compact) == 10 and compact[0] in "23456789":
        digits = "1" + compact
    elif _ASCII_DIGITS.match(compact) and len(compact) == 11 and compact.startswith("1") and compact[1] in "23456789":
        digits = compact
    else:
        return None
    # E.164: a country code never starts with 0, and the whole number is at most 15 digits (7 is the shortest in use).
    if not _ASCII_DIGITS.match(digits) or digits[0] == "0" or not 7 <= len(digits) <= 15:
        return None
    return "+" + digits


def hash_phone(value: str) -> str | None:
    """SHA-256 hex of the E.164 number (with "+"); an already-hashed value is returned unchanged; None if unusable."""
    stripped = value.strip()
    if is_sha256_hex(stripped):
        return stripped
    e164 = normalise_phone(stripped)
    return _sha256(e164) if e164 else None


def hash_external_id(value: str) -> str:
    """SHA-256 hex of the trimmed id (case kept: ids may be case-sensitive); already-hashed values pass through."""
    stripped = value.strip()
    if not stripped:
        raise ValueError("external_id is blank")
    return stripped if is_sha256_hex(stripped) else _sha256(stripped)


def event_id_for(ttclid: str, conversion_date: date) -> str:
    """Deterministic event id "<ttclid>_<yyyy-mm-dd>": TikTok de-duplicates on pixel + event + event_id, so reruns are safe.

    A datetime is reduced to its UTC date (a naive one is taken as UTC), so the id never depends on the caller's zone.
    """
    ttclid = ttclid.strip()
    if not ttclid:
        raise ValueError("ttclid is blank")
    if isinstance(conversion_date, datetime):
        aware = conversion_date if conversion_date.tzinfo else conversion_date.replace(tzinfo=UTC)
        conversion_date = aware.astimezone(UTC).date()
    return f"{ttclid}_{conversion_date.isoformat()}"


def is_full_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --- money -------------------------------------------------------------------------------------------------------


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (ISO-4217; 2 unless listed as 0 or 3)."""
    code = currency.upper()
    return 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (19.995 USD → 20.00; 1234.5 JPY → 1235)."""
    if not amount.is_finite():
        raise ValueError(f"amount is not finite: {amount}")
    return amount.quantize(Decimal(1).scaleb(-minor_unit_exponent(currency)), rounding=ROUND_HALF_UP)


def json_number(amount: Decimal) -> int | float:
    """A JSON number that serialises to exactly this Decimal's value.

    Integral amounts become int (exact at any size). Others become float, which `json.dumps` writes with repr(): the
    shortest text that reads back as the same double, i.e. the original digits whenever the amount has at most 15
    significant digits (Decimal("19.99") → 19.99, not 19.989999...). Beyond that a double can't hold it: ValueError.
    """
    if not amount.is_finite():
        raise ValueError(f"amount is not finite: {amount}")
    if amount == amount.to_integral_value():
        return int(amount)
    number = float(amount)
    if Decimal(repr(number)) != amount:
        raise ValueError(f"amount {amount} has too many significant digits for an exact JSON number")
    return number


# Money held as Decimal in the models and written as an exact JSON number (pydantic would otherwise write a string).
JsonMoney = Annotated[Decimal, Field(ge=0, allow_inf_nan=False), PlainSerializer(json_number, return_type=float)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{64}$")]
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


# --- contract models ---------------------------------------------------------------------------------------------


class _Contract(BaseModel):
    """Base of the request models: unknown fields are refused so the payload stays contract-exact."""

    model_config = ConfigDict(extra="forbid")


class EventUser(_Contract):
    """`user`: ttclid, ip and user_agent plain; email, phone and external_id as lists of SHA-256 hex (empty → omitted)."""

    ttclid: NonBlank | None = None
    email: list[Sha256Hex] | None = None
    phone: list[Sha256Hex] | None = None
    external_id: list[Sha256Hex] | None = None
    ip: NonBlank | None = None
    user_agent: NonBlank | None = None

    @field_validator("email", "phone", "external_id", mode="after")
    @classmethod
    def _empty_is_absent(cls, value: list[str] | None) -> list[str] | None:
        """An empty list is omitted rather than sent."""
        return value or None


class EventPage(_Contract):
    """`page`: the URL the conversion is attributed to."""

    url: NonBlank


class EventContent(_Contract):
    """One `contents` entry: content_id is a STRING, price a JSON number, quantity an integer."""

    content_id: NonBlank
    content_name: str | None = None
    price: JsonMoney
    quantity: int = Field(ge=1, strict=True)


class EventProperties(_Contract):
    """`properties`: currency (ISO-4217), value (JSON number), content_type "product", contents and order_id."""

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    value: JsonMoney
    content_type: Literal["product"] = "product"
    contents: list[EventContent] = Field(default_factory=list)
    order_id: NonBlank


class TikTokEvent(_Contract):
    """One entry of `data`: event name, event_time in integer Unix SECONDS, event_id, user, page and properties."""

    event: NonBlank
    # Bounded above so a millisecond timestamp is refused instead of landing in the year 50,000.
    event_time: int = Field(ge=1, le=9_999_999_999, strict=True)
    event_id: NonBlank
    user: EventUser
    page: EventPage | None = None
    properties: EventProperties


class Content(NamedTuple):
    """One product line for `build_event`: id, name, unit price and quantity (a plain 4-tuple works too)."""

    content_id: str
    content_name: str | None
    price: Decimal
    quantity: int


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    """One value or several, blanks dropped."""
    if value is None:
        return []
    values = [value] if isinstance(value, str) else list(value)
    return [v for v in values if v and v.strip()]


def build_event(
    *,
    event_name: str,
    event_id: str,
    event_time: datetime,
    ttclid: str | None,
    currency: str,
    value: Decimal,
    order_id: str,
    contents: Sequence[tuple[str, str | None, Decimal, int]],
    email: str | Sequence[str] | None = None,
    phone: str | Sequence[str] | None = None,
    external_id: str | Sequence[str] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """Build one contract-exact event as a JSON-ready dict: identifiers hashed, money rounded to the minor unit.

    `event_time` must be timezone-aware (a naive time is refused: its zone would be a guess). Phones that can't be
    normalised to E.164 are dropped; blanks are dropped; ip, user_agent and ttclid are never hashed. `page.url` is sent
    only for a full http(s) URL (a bare path names no page TikTok can match).
    """
    if event_time.tzinfo is None or event_time.utcoffset() is None:
        raise ValueError("event_time must be timezone-aware")
    code = currency.strip().upper()
    phones = [hashed for hashed in (hash_phone(p) for p in _as_list(phone)) if hashed]
    event = TikTokEvent(
        event=event_name,
        event_time=int(event_time.timestamp()),
        event_id=event_id,
        user=EventUser(
            ttclid=ttclid or None,
            email=list(dict.fromkeys(hash_email(e) for e in _as_list(email))),
            phone=list(dict.fromkeys(phones)),
            external_id=list(dict.fromkeys(hash_external_id(x) for x in _as_list(external_id))),
            ip=ip or None,
            user_agent=user_agent or None,
        ),
        page=EventPage(url=url) if url and is_full_url(url) else None,
        properties=EventProperties(
            currency=code,
            value=round_money(value, code),
            contents=[
                EventContent(content_id=str(cid), content_name=name or None, price=round_money(price, code), quantity=qty)
                for cid, name, price, qty in contents
            ],
            order_id=order_id,
        ),
    )
    return event.model_dump(mode="json", exclude_none=True)


def request_body(pixel_code: str, events: Sequence[dict[str, Any]], test_event_code: str | None = None) -> dict[str, Any]:
    """The track request body for 1 to 1,000 events (TikTok rejects a larger array whole); ValueError otherwise."""
    if not pixel_code or not pixel_code.strip():
        raise ValueError("pixel_code is blank")
    if not 1 <= len(events) <= MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"a request carries 1 to {MAX_EVENTS_PER_REQUEST} events, not {len(events)}")
    body: dict[str, Any] = {"event_source": "web", "event_source_id": pixel_code.strip()}
    if test_event_code:
        body["test_event_code"] = test_event_code
    body["data"] = list(events)
    return body


def iter_batches(events: Sequence[dict[str, Any]], size: int = MAX_EVENTS_PER_REQUEST) -> Iterator[list[dict[str, Any]]]:
    """Consecutive slices of at most `size` events (callers that record per batch loop over these with `send`)."""
    if not 1 <= size <= MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"batch size must be 1 to {MAX_EVENTS_PER_REQUEST}")
    for start in range(0, len(events), size):
        yield list(events[start : start + size])


# --- errors ------------------------------------------------------------------------------------------------------


class ExportError(Exception):
    """The Events API refused or could not take a batch; carries TikTok's code, message and request id."""

    def __init__(
        self,
        code: int | None,
        message: str,
        request_id: str | None = None,
        *,
        http_status: int | None = None,
        attempts: int = 1,
    ) -> None:
        label = code if code is not None else f"HTTP {http_status}" if http_status else "no response"
        super().__init__(f"TikTok Events API {label}: {message}" + (f" (request_id {request_id})" if request_id else ""))
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.attempts = attempts


class RetryableExportError(ExportError):
    """Rate limit, server error, non-JSON body or network failure: try again later (Step Functions Retry matches this name)."""


class AuthenticationError(ExportError):
    """The access token is expired (40102), invalid (40105) or empty (40104): stop the run until it is replaced."""


class PermanentExportError(ExportError):
    """TikTok refused the batch for good (bad parameters, permission, batch size, unhashed PII): record, don't retry."""


def classify(code: int | None, http_status: int) -> type[ExportError] | None:
    """The error class for a response (None = accepted: HTTP 200 with code 0 or 20001 partial success).

    `code` is None when there was no usable JSON body (or no response at all: pass http_status 0).
    """
    if code in AUTHENTICATION_CODES:
        return AuthenticationError
    if code is None or code in RETRYABLE_CODES or http_status >= 500 or http_status == 429 or http_status == 0:
        return RetryableExportError
    if http_status == 200 and code in (SUCCESS, PARTIAL_SUCCESS):
        return None
    return PermanentExportError


def backoff_delay(
    retry: int, rng: Callable[[], float] = random.random, *, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(retry−1))) for the n-th retry (n ≥ 1)."""
    return rng() * min(cap, base * 2 ** (retry - 1))


# --- client ------------------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What happened to one request's events: accepted (maybe partially) or rejected for good, with TikTok's reply."""

    status: Literal["accepted", "rejected"]
    code: int
    message: str
    request_id: str | None
    events: int
    attempts: int
    partial: bool = False


@dataclass(frozen=True)
class _Reply:
    """One HTTP exchange reduced to what classification needs (http_status 0 = no response)."""

    http_status: int
    code: int | None
    message: str
    request_id: str | None


def _code_of(envelope: dict[str, Any]) -> int | None:
    """TikTok's `code` as an int (it is an int, but a numeric string is tolerated); None if absent or odd."""
    code = envelope.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


class EventsApiClient:
    """Posts events to the Events API (`POST {base_url}/open_api/v1.3/event/track/`), ≤1,000 per request, with retries."""

    def __init__(
        self,
        base_url: str,
        access_token: str,
        pixel_code: str,
        *,
        test_event_code: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.url = base_url.rstrip("/") + TRACK_PATH
        # Kept private and out of every log line and error message.
        self._access_token = access_token
        self.pixel_code = pixel_code
        self.test_event_code = test_event_code or None
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.rng = rng

    def __repr__(self) -> str:
        """Names the endpoint and pixel, never the token."""
        return f"EventsApiClient(url={self.url!r}, pixel_code={self.pixel_code!r})"

    def send(self, events: Sequence[dict[str, Any]]) -> BatchResult:
        """Send ONE batch (1..1,000 events); retry retryable failures, raise AuthenticationError / RetryableExportError.

        A permanent refusal is returned as a rejected BatchResult (not raised) so the caller records it per event and goes on.
        """
        body = request_body(self.pixel_code, events, self.test_event_code)
        payload = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
        attempt = 0
        while True:
            attempt += 1
            reply = self._post(payload)
            error = classify(reply.code, reply.http_status)
            logger.info(
                "events api response",
                extra={
                    "pixel_code": self.pixel_code,
                    "events": len(events),
                    "attempt": attempt,
                    "http_status": reply.http_status,
                    "code": reply.code,
                    "request_id": reply.request_id,
                    "outcome": error.__name__ if error else "accepted",
                },
            )
            if error is None:
                assert reply.code is not None  # classify only accepts a JSON code of 0 or 20001
                return BatchResult(
                    "accepted", reply.code, reply.message, reply.request_id, len(events), attempt, reply.code == PARTIAL_SUCCESS
                )
            if error is PermanentExportError:
                code = reply.code if reply.code is not None else reply.http_status
                return BatchResult("rejected", code, reply.message, reply.request_id, len(events), attempt)
            if error is AuthenticationError or attempt >= self.max_attempts:
                raise error(reply.code, reply.message, reply.request_id, http_status=reply.http_status, attempts=attempt)
            self.sleep(backoff_delay(attempt, self.rng))

    def send_all(self, events: Sequence[dict[str, Any]]) -> list[BatchResult]:
        """Send every event in batches of at most 1,000, in order; stops at the first raised error (earlier results are lost)."""
        return [self.send(batch) for batch in iter_batches(events)]

    def _post(self, payload: bytes) -> _Reply:
        """One POST, reduced to status, code, message and request id; network failures become http_status 0."""
        headers = {"Access-Token": self._access_token, "Content-Type": "application/json"}
        try:
            response = self.session.post(self.url, data=payload, headers=headers, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # Only the exception type: its text can carry the URL, and never the headers, but stay terse anyway.
            return _Reply(0, None, f"network error: {type(exc).__name__}", None)
        except requests.RequestException as exc:
            # An invalid URL or similar: a configuration fault no retry can fix, so fail the run plainly.
            raise ExportError(None, f"request could not be sent: {type(exc).__name__}") from None
        header_id = response.headers.get("X-Tt-Logid")
        try:
            envelope = response.json()
        except ValueError:
            return _Reply(response.status_code, None, f"HTTP {response.status_code} with a non-JSON body", header_id)
        if not isinstance(envelope, dict):
            return _Reply(response.status_code, None, f"HTTP {response.status_code} with an unexpected JSON body", header_id)
        request_id = envelope.get("request_id")
        return _Reply(
            response.status_code,
            _code_of(envelope),
            str(envelope.get("message") or response.reason or ""),
            str(request_id) if request_id else header_id,
        )
