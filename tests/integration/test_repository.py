"""The repository against the table built from template.yaml (on moto and on DynamoDB Local): TTLs enforce windows, reads
still check exact time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws
from pydantic import TypeAdapter

from ordertrail.attribution import attribute
from ordertrail.core.models import Order, Touchpoint
from ordertrail.core.tenant_settings import AttributionSettings
from ordertrail.storage.orders import StoredOrder
from ordertrail.storage.repository import Repository
from ordertrail_local.dynamodb_local import DynamoDBLocal
from tests.conftest import fresh_table

TABLE = "ordertrail-repo-test"
ORDER_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOUCHPOINT: TypeAdapter[Touchpoint] = TypeAdapter(Touchpoint)


@pytest.fixture
def repo(dynamodb_backend: DynamoDBLocal | None) -> Iterator[Repository]:
    """A repository on an empty table, on each DynamoDB backend."""
    with mock_aws():
        client = boto3.client("dynamodb")
        with fresh_table(dynamodb_backend, client, TABLE):
            yield Repository(TABLE, client)


def touch(kind: str, at: datetime, **fields: object) -> Touchpoint:
    return TOUCHPOINT.validate_python(
        {"id": f"{kind}-{at:%d%H%M}", "kind": kind, "occurred_at": at, "buyer": {"user_id": "tt-1"}, **fields}
    )


@pytest.mark.parametrize(
    ("kind", "fields", "window_days"),
    [
        ("shop_link", {"conversation_id": "c", "skus": ["S"]}, 14),
        ("comment", {"post": {"id": "v"}}, 14),
        ("ad_click", {"ttclid": "E.C.P.1"}, 7),
        ("creator_click", {"creator": "maya", "token": "tok"}, 7),
    ],
)
def test_touchpoints_expire_after_their_window_plus_grace(repo: Repository, kind: str, fields: dict, window_days: int) -> None:
    """Given default settings (2-day grace), when a touchpoint is stored, then every item for it carries ttl = time + window + grace."""
    at = ORDER_AT - timedelta(days=1)
    repo.put_touchpoint("acme", touch(kind, at, **fields), AttributionSettings())
    expected = int((at + timedelta(days=window_days + 2)).timestamp())
    items = repo.client.scan(TableName=TABLE)["Items"]
    assert items, "something was stored"
    # Conversations live longer than any window; report counters never expire.
    assert {int(item["ttl"]["N"]) for item in items if item["type"]["S"] not in ("conversation", "counter")} == {expected}


def test_an_expired_touchpoint_never_matches_even_before_ttl_deletes_it(repo: Repository) -> None:
    """Given a shop link 14 days and 1 second before the order, still in the table (TTL lags), then the order is organic."""
    settings = AttributionSettings()
    repo.put_touchpoint("acme", touch("shop_link", ORDER_AT - timedelta(days=14, seconds=1), conversation_id="c", skus=["S"]), settings)
    order = Order(
        id="1",
        source="other",
        status="paid",
        created_at=ORDER_AT,
        updated_at=ORDER_AT,
        buyer={"user_id": "tt-1"},
        line_items=[{"sku": "S", "unit_price": Decimal("5")}],
        total=Decimal("5"),
    )
    repo.put_order("acme", order, ORDER_AT)
    decision = attribute.attribute_order(repo, StoredOrder("acme", order, ORDER_AT), ORDER_AT)
    assert decision.method == "organic"
    hard = next(e for e in decision.evidence if e.rule == "conversation_hard")
    assert hard.reason == "window_expired"


def test_an_older_order_state_never_overwrites_a_newer_one(repo: Repository) -> None:
    """Given an order stored at 12:05, when its 12:01 state arrives late, then nothing changes and the write says so."""
    newer = Order(id="9", source="other", status="cancelled", created_at=ORDER_AT, updated_at=ORDER_AT + timedelta(minutes=5))
    older = newer.model_copy(update={"status": "paid", "updated_at": ORDER_AT + timedelta(minutes=1)})
    assert repo.put_order("acme", newer, ORDER_AT) == "stored"
    assert repo.put_order("acme", older, ORDER_AT) == "stale"
    assert repo.put_order("acme", newer, ORDER_AT) == "stale", "the same state again is a no-op"
    (view,) = repo.find_orders("acme", "9")
    assert view.order.status == "cancelled"
