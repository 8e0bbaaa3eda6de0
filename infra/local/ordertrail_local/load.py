"""Synthetic load for a served local stack: filler items put straight into its table, and signed batches of our payloads.

Used by the SIGTERM test (a large table and a busy stream) and bench/local_throughput.py. The filler is attribution
items of another tenant: real-sized items that the stream's filters drop, so they grow the table without waking
AttributeFunction.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ordertrail.sources.signatures import sign_ordertrail

FILLER_TENANT = "filler"
BATCH_WRITE_LIMIT = 25
# What `python -m ordertrail_local.serve` prints before "ready" (see serve.announce).
ANNOUNCE = re.compile(r"dynamodb: (?P<backend>\S+) at (?P<endpoint>http://\S+) \(table (?P<table>[^,]+),")


@dataclass(frozen=True)
class Served:
    """Where a served stack is: its API and its table."""

    url: str
    backend: str
    dynamodb_endpoint: str
    table: str


def parse_served(lines: list[str]) -> Served:
    """Read the API URL and the table's endpoint from serve's start-up lines (ValueError when they are not there)."""
    text = "".join(lines)
    table = ANNOUNCE.search(text)
    ready = re.search(r"ready: (http://\S+)", text)
    if table is None or ready is None:
        raise ValueError(f"not serve's start-up output: {text[-1000:]!r}")
    return Served(ready.group(1), table.group("backend"), table.group("endpoint"), table.group("table").strip())


def filler_item(index: int) -> dict[str, Any]:
    """One filler item in DynamoDB's JSON: an attribution of another tenant's order, about 600 bytes like real ones."""
    evidence = json.dumps({"method": "organic", "order_id": f"F{index:07d}", "evidence": [{"rule": "coupon", "reason": "no_coupon"}] * 6})
    return {
        "PK": {"S": f"T#{FILLER_TENANT}#O#other#F{index:07d}"},
        "SK": {"S": "ATTR"},
        "type": {"S": "attribution"},
        "method": {"S": "organic"},
        "data": {"S": evidence},
        "rev": {"N": "1"},
    }


def fill_table(client: Any, table: str, count: int, first: int = 0, threads: int = 4) -> int:
    """Put `count` filler items (numbered from `first`) with BatchWriteItem, a few requests in flight; return items written."""

    def write(start: int) -> int:
        request = {table: [{"PutRequest": {"Item": filler_item(i)}} for i in range(start, min(start + BATCH_WRITE_LIMIT, first + count))]}
        written = len(request[table])
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        return written

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fill") as pool:
        return sum(pool.map(write, range(first, first + count, BATCH_WRITE_LIMIT)))


def orders(count: int, prefix: str, at: datetime | None = None) -> list[dict[str, Any]]:
    """Normalised paid orders (our POST /orders payload), each by its own buyer, one with a coupon code."""
    placed = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {
            "id": f"{prefix}-{n}",
            "source": "other",
            "status": "paid",
            "created_at": placed,
            "updated_at": placed,
            "buyer": {"user_id": f"{prefix}-buyer-{n}", "email": f"buyer{n}@example.test"},
            "currency": "USD",
            "line_items": [{"sku": "LIPOIL-ROSE", "name": "Glow Lip Oil - Rose", "quantity": 1, "unit_price": "19.00"}],
            "subtotal": "19.00",
            "total": "19.00",
            **({"coupon_codes": ["GLOW10"]} if n % 10 == 0 else {}),
        }
        for n in range(count)
    ]


def touchpoints(count: int, prefix: str, at: datetime | None = None) -> list[dict[str, Any]]:
    """Ad clicks (our POST /touchpoints payload), each by its own buyer, a minute apart before `at`."""
    end = at or datetime.now(UTC)
    return [
        {
            "id": f"{prefix}-{n}",
            "kind": "ad_click",
            "occurred_at": (end - timedelta(minutes=count - n)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "buyer": {"user_id": f"{prefix}-buyer-{n}"},
            "ttclid": f"E.C.P.{prefix}{n}",
            "url": f"https://shop.tiktok.com/view/product/1729384756100002?ttclid=E.C.P.{prefix}{n}",
        }
        for n in range(count)
    ]


def batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """The items in consecutive batches of `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def signed_request(member: str, items: list[dict[str, Any]], secret: str) -> tuple[bytes, dict[str, str]]:
    """Body `{member: items}` and headers with X-OrderTrail-Signature, signed now (as a sender does when it sends)."""
    body = json.dumps({member: items}, separators=(",", ":")).encode("utf-8")
    return body, {"content-type": "application/json", "x-ordertrail-signature": sign_ordertrail(secret, body, int(time.time()))}


def attribution_key(tenant: str, order: dict[str, Any]) -> dict[str, Any]:
    """The table key of an order's attribution (there once the stream delivered the order), in DynamoDB's JSON."""
    from ordertrail.storage import keys

    return {name: {"S": value} for name, value in keys.attribution_key(tenant, order["source"], order["id"]).items()}
