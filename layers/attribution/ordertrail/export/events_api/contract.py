"""The Events API 2.0 event contract: exact models, money as exact JSON numbers, and the request body in batches."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints, field_validator

from ordertrail.export.events_api.hashing import hash_email, hash_external_id, hash_phone

DEFAULT_EVENT_NAME = "Purchase"
MAX_EVENTS_PER_REQUEST = 1000


# ISO-4217 minor units that differ from 2; money is rounded to the currency's minor unit before it becomes a JSON number.
_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_QUANTUM = {places: Decimal(1).scaleb(-places) for places in (0, 2, 3)}  # the minor unit of each exponent


def is_full_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (ISO-4217; 2 unless listed as 0 or 3)."""
    code = currency.upper()
    return 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (19.995 USD → 20.00; 1234.5 JPY → 1235)."""
    if not amount.is_finite():
        raise ValueError(f"amount is not finite: {amount}")
    return amount.quantize(_QUANTUM[minor_unit_exponent(currency)], rounding=ROUND_HALF_UP)


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


# Money held as Decimal in the models and written as an exact JSON number (pydantic would otherwise write a string;
# `int | float`, not float, keeps an integral amount an exact int).
JsonMoney = Annotated[Decimal, Field(ge=0, allow_inf_nan=False), PlainSerializer(json_number, return_type=int | float)]


Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{64}$")]


NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


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
    fields = EventFields(
        event=event_name,
        event_time=int(event_time.timestamp()),
        event_id=event_id,
        ttclid=ttclid or None,
        email=list(dict.fromkeys(hash_email(e) for e in _as_list(email))),
        phone=list(dict.fromkeys(phones)),
        external_id=list(dict.fromkeys(hash_external_id(x) for x in _as_list(external_id))),
        ip=ip or None,
        user_agent=user_agent or None,
        url=url if url and is_full_url(url) else None,
        currency=code,
        value=round_money(value, code),
        contents=[(str(cid), name or None, round_money(price, code), qty) for cid, name, price, qty in contents],
        order_id=order_id,
    )
    # An export builds hundreds of thousands of events: the plain ones are written by hand (several times faster than
    # the models), anything the models would strip, coerce or refuse goes through them. Both give the same event
    # (tests/contract/test_tiktok_events.py proves it on generated fields).
    return event_by_hand(fields) or event_by_models(fields)


class EventFields(NamedTuple):
    """An event's fields once hashed and rounded, before the contract is applied (by hand or by the models)."""

    event: str
    event_time: int
    event_id: str
    ttclid: str | None
    email: list[str]
    phone: list[str]
    external_id: list[str]
    ip: str | None
    user_agent: str | None
    url: str | None
    currency: str
    value: Decimal
    contents: list[tuple[str, str | None, Decimal, int]]
    order_id: str


def event_by_models(fields: EventFields) -> dict[str, Any]:
    """The event validated and written by the contract's models (ValidationError when a field breaks the contract)."""
    event = TikTokEvent(
        event=fields.event,
        event_time=fields.event_time,
        event_id=fields.event_id,
        user=EventUser(
            ttclid=fields.ttclid,
            email=fields.email,
            phone=fields.phone,
            external_id=fields.external_id,
            ip=fields.ip,
            user_agent=fields.user_agent,
        ),
        page=EventPage(url=fields.url) if fields.url is not None else None,
        properties=EventProperties(
            currency=fields.currency,
            value=fields.value,
            contents=[
                EventContent(content_id=cid, content_name=name, price=price, quantity=qty) for cid, name, price, qty in fields.contents
            ],
            order_id=fields.order_id,
        ),
    )
    return event.model_dump(mode="json", exclude_none=True)


_CURRENCY = re.compile(r"[A-Z]{3}")
_SHA256 = re.compile(r"[a-f0-9]{64}")
_MAX_EVENT_TIME = 9_999_999_999


def event_by_hand(fields: EventFields) -> dict[str, Any] | None:
    """The same event as `event_by_models` for fields the models would take as they are; None for any other."""
    if not (
        type(fields.event_time) is int
        and 1 <= fields.event_time <= _MAX_EVENT_TIME
        and _kept(fields.event)
        and _kept(fields.event_id)
        and _kept(fields.order_id)
        and all(_kept_or_none(v) for v in (fields.ttclid, fields.ip, fields.user_agent, fields.url))
        and all(type(h) is str and _SHA256.fullmatch(h) for h in (*fields.email, *fields.phone, *fields.external_id))
        and type(fields.currency) is str
        and _CURRENCY.fullmatch(fields.currency)
    ):
        return None
    value = _money(fields.value)
    if value is None:
        return None
    contents = []
    for cid, name, price, qty in fields.contents:
        amount = _money(price)
        if amount is None or not _kept(cid) or not (name is None or (type(name) is str and _utf8(name))) or type(qty) is not int or qty < 1:
            return None
        line: dict[str, Any] = {"content_id": cid}
        if name is not None:
            line["content_name"] = name
        line["price"] = amount
        line["quantity"] = qty
        contents.append(line)
    user = {
        key: item
        for key, item in (
            ("ttclid", fields.ttclid),
            ("email", fields.email or None),
            ("phone", fields.phone or None),
            ("external_id", fields.external_id or None),
            ("ip", fields.ip),
            ("user_agent", fields.user_agent),
        )
        if item is not None
    }
    event: dict[str, Any] = {"event": fields.event, "event_time": fields.event_time, "event_id": fields.event_id, "user": user}
    if fields.url is not None:
        event["page"] = {"url": fields.url}
    event["properties"] = {
        "currency": fields.currency,
        "value": value,
        "content_type": "product",
        "contents": contents,
        "order_id": fields.order_id,
    }
    return event


def _utf8(text: str) -> bool:
    """True when the text can be written as UTF-8 (no lone surrogates, which the models refuse)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kept(text: object) -> bool:
    """True for a non-blank str the models' whitespace strip leaves as it is.

    Python's `str.strip` removes every character pydantic's strip does (and a few more), so a text equal to its strip
    is one pydantic would not change.
    """
    return type(text) is str and text != "" and text == text.strip() and _utf8(text)


def _kept_or_none(text: object) -> bool:
    """`_kept`, or absent."""
    return text is None or _kept(text)


def _money(amount: object) -> int | float | None:
    """The JSON number of a finite, non-negative Decimal the models would write; None for anything they would refuse."""
    if type(amount) is not Decimal or not amount.is_finite() or amount < 0:
        return None
    try:
        return json_number(amount)
    except ValueError:
        return None


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
