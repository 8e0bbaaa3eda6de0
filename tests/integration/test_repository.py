"""The repository against the table built from template.yaml (on moto and on DynamoDB Local): TTLs enforce windows, reads
still check exact time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws
from pydantic import TypeAdapter, ValidationError

from ordertrail.attribution import attribute
from ordertrail.core.conversions import Conversion
from ordertrail.core.export_runs import EventResult
from ordertrail.core.models import Order, Touchpoint
from ordertrail.core.tenant_settings import AttributionSettings
from ordertrail.storage import exports, keys
from ordertrail.storage.attributions import conversion_item
from ordertrail.storage.orders import StoredOrder
from ordertrail.storage.repository import Repository
from ordertrail.storage.table import deserialize, serialize
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


def test_a_year_of_grace_keeps_touchpoints_and_conversations_a_year_past_their_window(repo: Repository) -> None:
    """Given ttl_grace_days 365 (to re-attribute a year), when a DM, its flow step and its shop link are stored, then the
    shop link is kept 14 + 365 days and the conversation and the step's marker 90 + 365 days after the DM."""
    at = ORDER_AT - timedelta(days=1)
    settings = AttributionSettings(ttl_grace_days=365)
    repo.put_touchpoint("acme", touch("dm", at, conversation_id="c", flow={"id": "f", "name": "F"}), settings)
    repo.put_touchpoint("acme", touch("flow_step", at, conversation_id="c", flow={"id": "f", "name": "F"}, step=1), settings)
    repo.put_touchpoint("acme", touch("shop_link", at, conversation_id="c", skus=["S"]), settings)
    ttls = {(i["type"]["S"], int(i["ttl"]["N"])) for i in repo.client.scan(TableName=TABLE)["Items"] if "ttl" in i}
    kept = int((at + timedelta(days=90 + 365)).timestamp())
    assert ("conversation", kept) in ttls and ("flow_step_marker", kept) in ttls
    assert {ttl for kind, ttl in ttls if kind == "touchpoint"} == {int((at + timedelta(days=14 + 365)).timestamp())}


def test_grace_beyond_two_years_is_refused_naming_the_field() -> None:
    """Given a grace of 732 days (past the longest re-attribution run), then the settings are refused, naming ttl_grace_days."""
    with pytest.raises(ValidationError, match="ttl_grace_days"):
        AttributionSettings(ttl_grace_days=732)


def test_a_redelivered_creator_click_with_other_fields_is_stored_and_counted_once(repo: Repository) -> None:
    """Given a creator click stored, when the same id comes again a minute later with another token, then the buyer's timeline
    holds one copy (the first), its token lookup is the first's, and the creator counted one click."""
    first = touch("creator_click", ORDER_AT, creator="maya", token="tok-1")
    again = first.model_copy(update={"at": ORDER_AT + timedelta(minutes=1), "token": "tok-2"})
    assert repo.put_touchpoint("acme", first, AttributionSettings()) is True
    assert repo.put_touchpoint("acme", again, AttributionSettings()) is False
    timeline = repo.buyer_touchpoints("acme", "tt-1", ORDER_AT - timedelta(days=1), ORDER_AT + timedelta(days=1))
    assert [(t.id, t.at) for t in timeline] == [(first.id, ORDER_AT)]
    types = sorted(item["type"]["S"] for item in repo.client.scan(TableName=TABLE)["Items"])
    assert types == ["counter", "token_click", "touchpoint", "touchpoint"]
    day = ORDER_AT.date().isoformat()
    assert repo.counters_on_days("acme", "creator", [day])[day][0].values["clicks"] == 1


def test_a_batch_stores_its_copies_in_batch_writes_lookups_before_timelines(repo: Repository) -> None:
    """Given a batch of 30 touchpoints (two ad clicks sharing a ttclid, one touchpoint twice), when stored together, then each
    is stored once, the ttclid lookup is the later click's (as one put after another left it), every buyer copy exists, and
    the copies took BatchWriteItems (lookups first, then timelines), not a PutItem each."""
    early = touch("ad_click", ORDER_AT - timedelta(hours=2), ttclid="E.C.P.7")
    late = touch("ad_click", ORDER_AT - timedelta(hours=1), ttclid="E.C.P.7")
    comments = [touch("comment", ORDER_AT - timedelta(minutes=m), post={"id": "v"}) for m in range(1, 28)]
    calls: list[str] = []
    repo.client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    stored = repo.put_touchpoints("acme", [early, late, *comments, comments[0]], AttributionSettings())
    assert stored == [True] * 29 + [False]
    lookup = repo.client.get_item(TableName=TABLE, Key=serialize(keys.click_key("acme", "E.C.P.7")))["Item"]
    assert TOUCHPOINT.validate_json(deserialize(lookup)["data"]).id == late.id
    timeline = repo.buyer_touchpoints("acme", "tt-1", ORDER_AT - timedelta(days=1), ORDER_AT)
    assert sorted(t.id for t in timeline) == sorted({t.id for t in [early, late, *comments]})
    writes = [name for name in calls if name in ("PutItem", "BatchWriteItem")]
    assert writes.count("BatchWriteItem") == 3  # 1 of lookups, then 29 timeline copies in 2 of at most 25
    assert writes.count("PutItem") == 2  # the ad clicks' id items (a comment's counters go in its transaction)


def test_a_touchpoint_write_interrupted_before_its_copies_is_completed_by_the_redelivery(repo: Repository) -> None:
    """Given an ad click whose id was stored but whose copies were not (the function stopped between the writes), when the
    webhook is delivered again, then the buyer's timeline and the ttclid lookup hold it, and an order with the ttclid
    is attributed to the ad click."""
    click = touch("ad_click", ORDER_AT - timedelta(hours=1), ttclid="E.C.P.9")
    copies = repo._put_copies
    repo._put_copies = lambda *args: None  # type: ignore[method-assign]
    assert repo.put_touchpoint("acme", click, AttributionSettings()) is True
    assert repo.buyer_touchpoints("acme", "tt-1", ORDER_AT - timedelta(days=1), ORDER_AT) == []
    repo._put_copies = copies  # type: ignore[method-assign]
    assert repo.put_touchpoint("acme", click, AttributionSettings()) is False
    assert [t.id for t in repo.buyer_touchpoints("acme", "tt-1", ORDER_AT - timedelta(days=1), ORDER_AT)] == [click.id]
    order = Order(
        id="2",
        source="other",
        status="paid",
        created_at=ORDER_AT,
        updated_at=ORDER_AT,
        buyer={"user_id": "tt-1"},
        landing={"ttclid": "E.C.P.9"},
        line_items=[{"sku": "S", "unit_price": Decimal("5")}],
        total=Decimal("5"),
    )
    repo.put_order("acme", order, ORDER_AT)
    assert attribute.attribute_order(repo, StoredOrder("acme", order, ORDER_AT), ORDER_AT).method == "ad_click"


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


def test_conversion_pages_hold_a_page_at_a_time_and_together_are_the_range_in_time_order(repo: Repository) -> None:
    """Given conversions over three UTC days (one outside the range), when read page by page (two items a page), then no
    page holds more than two and the pages, joined, are exactly the range's conversions oldest first."""
    times = [ORDER_AT + timedelta(hours=7 * i) for i in range(9)]  # 20 Nov 12:00 to 22 Nov 20:00
    for index, at in enumerate(reversed(times)):
        stored = Conversion(
            order_id=f"o{index}", source="tiktok_shop", ordered_at=at, currency="USD", value=Decimal("10"), method="ad_click", counts=True
        )
        repo.client.put_item(TableName=repo.table_name, Item=serialize(conversion_item("t1", stored)))
    start, end = times[1], times[-1]  # the first is before the range; `end` is exclusive

    pages = list(repo.conversion_pages("t1", start, end, page_size=2))

    assert max(len(page) for page in pages) == 2
    assert [c.ordered_at for page in pages for c in page] == times[1:-1]
    assert [c.ordered_at for c in repo.conversions_between("t1", start, end)] == times[1:-1]


def test_a_runs_results_are_packed_per_request_and_a_retried_attempt_stands_over_the_earlier_one(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given 40 results of a chunk stored packed (items kept small enough here to need several), and a retry that got 10
    of the rejected ones accepted later, when the run is read, then every result is there once, the retried ones as
    accepted, in chunk / event id / order order, and the first attempt's accepted results are untouched."""
    monkeypatch.setattr(exports, "MAX_PACKED_RESULTS_BYTES", 250)
    first = [
        EventResult(
            chunk=0,
            order_id=f"o{i:02d}",
            source="tiktok_shop",
            outcome="accepted" if i < 30 else "rejected",
            event_id=f"T{i:02d}_2026-11-20",
            value=Decimal("12.50"),
            currency="USD",
            at=ORDER_AT,
        )
        for i in range(40)
    ]
    retried = [r.model_copy(update={"outcome": "accepted", "at": ORDER_AT + timedelta(minutes=5)}) for r in first[30:]]

    repo.record_results("t1", "run-1", first, {})
    repo.record_results("t1", "run-1", retried, {})

    stored = repo.client.query(
        TableName=repo.table_name, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "T#t1#EXPORT#RUN#run-1"}}
    )["Items"]
    assert 2 < len(stored) < 25  # 50 results written: packed, several an item
    _, _, results = repo.run_contents("t1", "run-1")
    assert [r.order_id for r in results] == [f"o{i:02d}" for i in range(40)]
    assert {r.outcome for r in results} == {"accepted"}
    assert results[:30] == first[:30] and results[30:] == retried
    assert repo.accepted_event_ids("t1", [r.event_id or "" for r in first]) == {r.event_id for r in first}
