"""CSV text for the downloads: safe cells (no spreadsheet formulas), streamed RFC 4180 rows, the attributed-order row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from ordertrail.core.models import Attribution, Order

# OWASP "CSV Injection": a cell starting with one of these is run as a formula (or DDE) by Excel, LibreOffice
# and Google Sheets, so text that starts with one is prefixed with a single quote to make it read as text.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "
# Big enough that a streamed response is not thousands of tiny writes, small enough to stay far below a
# Lambda response or an S3 multipart part.
DEFAULT_CHUNK_SIZE = 64 * 1024

ATTRIBUTED_ORDER_COLUMNS: tuple[str, ...] = (
    "order_id",
    "source",
    "status",
    "ordered_at",
    "currency",
    "total",
    "method",
    "review_status",
    "rule",
    "post_id",
    "post_url",
    "comment_text",
    "flow_name",
    "keywords",
    "creator",
    "link_id",
    "coupon",
    "ttclid",
    "time_to_order_seconds",
    "counts_as_attributed",
    "cancelled",
    "evidence",
)


def neutralise(text: str) -> str:
    """Prefix text that a spreadsheet would run as a formula with a single quote (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def _number(value: Decimal | int | float) -> str:
    """Write a number exactly as held: Decimal keeps its digits and trailing zeros, never an exponent."""
    if isinstance(value, Decimal):
        # "f" turns 1E+2 into 100 without going through float; str() would keep the exponent.
        return format(value, "f")
    # repr is the shortest text that reads back as the same float.
    return repr(value) if isinstance(value, float) else str(value)


def _text(value: object) -> str:
    """Render a value without neutralising it (lists join their parts first, then the whole is checked)."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float):
        return _number(value)
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            # A time without an offset is ambiguous by hours; every time in OrderTrail is aware, so this is a bug.
            raise ValueError(f"cannot export a datetime without a UTC offset: {value.isoformat()}")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(_text(item) for item in value)
    return str(value)


def cell(value: object) -> str:
    """One value as CSV cell text: None empty, exact Decimals, ISO-8601 times, lists joined by "; ", text made formula-safe."""
    if isinstance(value, bool):
        return _text(value)
    if isinstance(value, Decimal | int | float):
        # A number is a number, not text: -3.00 must stay a negative amount a spreadsheet can sum.
        return _number(value)
    return neutralise(_text(value))


def rows_to_csv(header: Sequence[str], rows: Iterable[Sequence[object]], *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[str]:
    """Stream CSV text in chunks of about chunk_size characters: the header alone first, then the rows."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    buffer = io.StringIO()
    # Every field quoted: a spreadsheet whose list separator is ";" still keeps "a;=1+2" in one (text) cell,
    # which OWASP recommends on top of the quote prefix. Quotes are doubled and newlines kept inside quotes.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    # The header goes out on its own so a client sees the download start before the first page of rows is read.
    yield _drain(buffer)
    width = len(header)
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            # A short or long row would shift every later column under the wrong heading.
            raise ValueError(f"row {number} has {len(row)} values, the header has {width}")
        writer.writerow([cell(value) for value in row])
        if buffer.tell() >= chunk_size:
            yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    """Take what the buffer holds and empty it, so memory stays at one chunk however long the export."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text


def attributed_order_row(order: Order, attribution: Attribution | None) -> list[object]:
    """One attributed-orders.csv row (ATTRIBUTED_ORDER_COLUMNS) for an order and its attribution (None: organic)."""
    # The order is the latest known state; a cancellation may reach it before the attribution is rewritten.
    cancelled = order.is_cancelled or (attribution is not None and attribution.cancelled)
    a = attribution
    # Keyed by column name so the row cannot drift out of step with the header.
    values: dict[str, object] = {
        "order_id": order.id,
        "source": order.source,
        "status": order.status,
        "ordered_at": order.ordered_at,
        "currency": order.currency,
        "total": order.total,
        # No attribution: no rule credited the order, which docs/attribution.md#rules calls organic ("nothing matches").
        "method": a.method if a else "organic",
        "review_status": a.review_status if a else None,
        "rule": a.rule if a else None,
        "post_id": a.post.id if a and a.post else None,
        "post_url": a.post.url if a and a.post else None,
        "comment_text": a.comment_text if a else None,
        "flow_name": a.flow.name if a and a.flow else None,
        "keywords": a.keywords if a else [],
        "creator": a.creator if a else None,
        "link_id": a.link_id if a else None,
        "coupon": a.coupon if a else None,
        "ttclid": a.ttclid if a else None,
        "time_to_order_seconds": a.time_to_order_seconds if a else None,
        "counts_as_attributed": bool(a and a.counts_as_attributed) and not cancelled,
        "cancelled": cancelled,
        "evidence": [f"{outcome.rule}={outcome.reason}" for outcome in a.evidence] if a else [],
    }
    return [values[column] for column in ATTRIBUTED_ORDER_COLUMNS]
