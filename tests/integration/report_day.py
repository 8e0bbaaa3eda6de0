"""The report day in events/report_day/: one Los Angeles seller over three weeks, replayed through the real handlers.

Times in the files are local with their offsets; OrderTrail's clock (`ordertrail.runtime.now`) is held at the
fixture's "today" so the reports' "today", "last 7 days" and "current week" are fixed. Signatures and webhook
idempotency still use real time, as they would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from ordertrail_local.lambda_runtime import InvocationError
from ordertrail_local.streams import lambda_record, matches_filters
from ordertrail_local.template import repo_root
from tests.conftest import Pipeline, moto_pipeline, offline_environment
from tests.integration.senders import send_orders, send_shopify_webhook, send_touchpoints, team_call

DIRECTORY = repo_root() / "events" / "report_day"
TOUCHPOINT_FILES = ("comments", "dms", "flow_steps", "shop_links", "ad_clicks", "creator_clicks")


def read(name: str) -> Any:
    """One fixture file, parsed."""
    return json.loads((DIRECTORY / f"{name}.json").read_text(encoding="utf-8"))


MANIFEST = read("replay")
TENANT: str = MANIFEST["tenant"]
TODAY = datetime.fromisoformat(MANIFEST["today"])
SETTINGS: dict[str, Any] = read("settings")
TIME_ZONE: str = SETTINGS["time_zone"]


def hold_clock(monkeypatch: pytest.MonkeyPatch, at: datetime = TODAY) -> None:
    """Every handler reads the time through ordertrail.runtime.now: hold it at the fixture's today."""
    monkeypatch.setattr("ordertrail.runtime.services.now", lambda: at.astimezone(UTC))


@contextmanager
def offline_world(tmp_dir: Path, today: datetime = TODAY) -> Iterator[Pipeline]:
    """conftest's offline environment and pipeline as one context manager, so a class-scoped fixture can replay the
    fixture once for many read-only tests; OrderTrail's clock is held at `today`."""
    with pytest.MonkeyPatch.context() as patch, offline_environment(patch, tmp_dir):
        hold_clock(patch, today)
        with moto_pipeline() as api:
            yield api


def _accepted(response: Any, expected: int) -> None:
    assert response.status == 202, response.body
    body = response.json()
    assert body["errors"] == [], body
    assert body["accepted"] == expected, body


def put_settings(api: Pipeline, **extra: Any) -> None:
    """PUT /settings: the fixture's settings (the time zone) plus any extra ones."""
    response = team_call(api, "PUT", TENANT, "settings", {**SETTINGS, **extra})
    assert response.status == 200, response.body


def send_initial(api: Pipeline) -> None:
    """Settings, coupon mappings, every on-time touchpoint, then every order (TikTok, other store, Shopify)."""
    put_settings(api)
    for mapping in read("coupons"):
        response = team_call(
            api, "PUT", TENANT, f"coupons/{mapping['code']}", {"creator": mapping["creator"], "link_id": mapping["link_id"]}
        )
        assert response.status == 200, response.body
    touchpoints = [tp for name in TOUCHPOINT_FILES for tp in read(name)]
    _accepted(send_touchpoints(api, TENANT, {"touchpoints": touchpoints}), len(touchpoints))
    for name in ("tiktok_orders", "other_orders"):
        orders = read(name)
        _accepted(send_orders(api, TENANT, {"orders": orders}), len(orders))
    for order in read("shopify_orders"):
        response = send_shopify_webhook(api, TENANT, order)
        assert response.status == 200, response.body


def send_late_touchpoints(api: Pipeline) -> None:
    """Touchpoints that arrive after the order they explain (within the settle period)."""
    late = read("late_touchpoints")
    _accepted(send_touchpoints(api, TENANT, {"touchpoints": late}), len(late))


def send_order_updates(api: Pipeline) -> None:
    """Later states of orders already sent (a cancellation)."""
    updates = read("order_updates")
    _accepted(send_orders(api, TENANT, {"orders": updates}), len(updates))


def send_reviews(api: Pipeline) -> None:
    """A person's decisions on soft matches."""
    for review in read("reviews"):
        response = team_call(api, "POST", TENANT, f"orders/{review['order_id']}/review", {"decision": review["decision"]})
        assert response.status == 200, response.body


def replay(api: Pipeline) -> None:
    """The whole fixture, in the order replay.json describes."""
    send_initial(api)
    send_late_touchpoints(api)
    send_order_updates(api)
    send_reviews(api)


# ------------------------------------------------------------------------------------------------ a second currency
def send_currencies(api: Pipeline) -> None:
    """The Canadian launch on top of the report day: CAD touchpoints and orders (TikTok Shop, Shopify, the own site's,
    one of them first sent in USD by mistake), in the order replay.json's `currencies` lists."""
    touchpoints = read("cad_touchpoints")
    _accepted(send_touchpoints(api, TENANT, {"touchpoints": touchpoints}), len(touchpoints))
    orders = read("cad_orders")
    _accepted(send_orders(api, TENANT, {"orders": orders}), len(orders))
    for order in read("cad_shopify_orders"):
        response = send_shopify_webhook(api, TENANT, order)
        assert response.status == 200, response.body


def send_currency_changes(api: Pipeline) -> None:
    """A late creator click that re-attributes a CAD order, then the cancellation of another CAD order."""
    late = read("cad_late_touchpoints")
    _accepted(send_touchpoints(api, TENANT, {"touchpoints": late}), len(late))
    updates = read("cad_order_updates")
    _accepted(send_orders(api, TENANT, {"orders": updates}), len(updates))


def send_currency_correction(api: Pipeline) -> None:
    """The own-site order first sent in USD, sent again in its real currency, CAD (a newer state)."""
    corrections = read("cad_currency_corrections")
    _accepted(send_orders(api, TENANT, {"orders": corrections}), len(corrections))


# ------------------------------------------------------------------------------------------------ streams
def stream_records(api: Pipeline) -> list[dict[str, Any]]:
    """Every record the table's stream holds, from its start, as Lambda's event carries them, after the event filters."""
    pump = api.pump
    client = boto3.client("dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in client.describe_stream(StreamArn=pump.stream_arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(StreamArn=pump.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        position = iterator["ShardIterator"]
        while position:
            page = client.get_records(ShardIterator=position, Limit=1000)
            if not page.get("Records"):
                break
            records += page["Records"]
            position = page.get("NextShardIterator")
    wanted = [lambda_record(record, pump.stream_arn, pump.region) for record in records]
    return [record for record in wanted if matches_filters(pump.source.filters, record)]


def redeliver_every_stream_record(api: Pipeline) -> list[str]:
    """Deliver every stream record once more (at-least-once delivery), in the original order and batch size, then let
    the stream deliver what that caused. Returns the records the function reported as failed, described."""
    pump = api.pump
    records = stream_records(api)
    failed: list[str] = []
    for start in range(0, len(records), pump.source.batch_size):
        batch = records[start : start + pump.source.batch_size]
        ids = deliver(api, batch)
        failed += [describe(record) for record in batch if record["dynamodb"]["SequenceNumber"] in ids]
    pump.drain()
    return failed


def deliver(api: Pipeline, records: list[dict[str, Any]]) -> set[str]:
    """Hand stream records to the attribute function once, as Lambda would; the sequence numbers of those that failed
    (a batch whose every record failed raises in the function: all of them)."""
    try:
        result = api.pump.deliver({"Records": records})
    except InvocationError:
        return {record["dynamodb"]["SequenceNumber"] for record in records}
    return {failure["itemIdentifier"] for failure in (result or {}).get("batchItemFailures") or []}


def describe(record: dict[str, Any]) -> str:
    """A stream record in one line: event, key, and for an order its status and update time."""
    keys = record["dynamodb"]["Keys"]
    image = record["dynamodb"].get("NewImage") or {}
    status = (image.get("order_status") or {}).get("S")
    updated = (image.get("updated_at") or {}).get("S")
    state = f" ({status}, updated {updated})" if status else ""
    return f"{record['eventName']} {keys['PK']['S']} {keys['SK']['S']}{state}"


def counter_items(api: Pipeline) -> dict[tuple[str, str], dict[str, Any]]:
    """Every report counter item (its PK holds `#AGG#`), by key."""
    return {(item["PK"], item.get("SK", "")): item for item in api.items() if "#AGG#" in item["PK"]}
