"""bench/aws_cost.py's pure arithmetic: item sizes, write and read units, dollars per million, the floor, export transitions."""

from __future__ import annotations

import importlib
import json
from types import ModuleType

import pytest

from ordertrail_local.template import repo_root


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The bench module, imported from bench/ (it is not a package)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(repo_root() / "bench"))
        return importlib.import_module("aws_cost")


def test_item_size_follows_dynamodb_rules(bench: ModuleType) -> None:
    """Names and string values count their UTF-8 bytes; numbers about a byte per two digits plus one; maps and lists 3 + members."""
    assert bench.item_size({"PK": {"S": "abc"}}) == 2 + 3
    assert bench.item_size({"n": {"N": "12345"}}) == 1 + 4
    assert bench.item_size({"é": {"S": "é"}}) == 2 + 2
    assert bench.item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 3 + 3
    assert bench.item_size({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + (1 + 1 + 2)
    assert bench.item_size({"l": {"L": [{"S": "x"}, {"S": "y"}]}}) == 1 + 3 + 2 * (1 + 1)


def test_write_units_are_started_kilobytes_doubled_in_a_transaction(bench: ModuleType) -> None:
    """1 KB per unit, at least one; a transactional write pays twice."""
    assert bench.write_units(0) == 1
    assert bench.write_units(1024) == 1
    assert bench.write_units(1025) == 2
    assert bench.write_units(3 * 1024) == 3
    assert bench.write_units(3 * 1024, transactional=True) == 6
    assert bench.write_units(10, transactional=True) == 2


def test_read_units_are_started_4_kilobytes(bench: ModuleType) -> None:
    """4 KB per unit; eventually consistent half; transactional twice."""
    assert bench.read_units(100) == 0.5
    assert bench.read_units(100, consistent=True) == 1
    assert bench.read_units(8 * 1024, consistent=True) == 2
    assert bench.read_units(8 * 1024 + 1) == 1.5
    assert bench.read_units(100, transactional=True) == 2


def test_units_computed_from_a_request_when_dynamodb_gives_none(bench: ModuleType) -> None:
    """A put is sized by its item; a transaction doubles each member; an update or delete costs at least one unit."""
    big = {"PK": {"S": "p"}, "data": {"S": "x" * 1500}}
    small = {"PK": {"S": "p"}}
    assert bench.computed_write_units("PutItem", {"Item": big}) == 2
    assert bench.computed_write_units("UpdateItem", {"Key": small}) == 1
    transaction = {"TransactItems": [{"Put": {"Item": big}}, {"Update": {"Key": small}}, {"ConditionCheck": {"Key": small}}]}
    assert bench.computed_write_units("TransactWriteItems", transaction) == 4 + 2 + 2
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": small}}, {"DeleteRequest": {"Key": small}}]}}
    assert bench.computed_write_units("BatchWriteItem", batch) == 2
    assert bench.computed_read_units("GetItem", {"ConsistentRead": True}) == 1
    assert bench.computed_read_units("BatchGetItem", {"RequestItems": {"t": {"Keys": [small, small, small]}}}) == 1.5


def test_index_writes_follow_each_index_projection_at_the_standard_rate(bench: ModuleType) -> None:
    """An item put with GSI1 keys writes its whole size to GSI1 (ALL); with GSI2 keys, one unit (KEYS_ONLY); a transaction
    does not double them; an item without index keys, and an update, write to no index."""
    big = {"PK": {"S": "p"}, "GSI1PK": {"S": "g"}, "GSI2PK": {"S": "d"}, "data": {"S": "x" * 1500}}
    keys_only = {"PK": {"S": "p"}, "GSI2PK": {"S": "d"}}
    plain = {"PK": {"S": "p"}}
    assert bench.index_write_units("PutItem", {"Item": big}) == 2 + 1
    transaction = {"TransactItems": [{"Put": {"Item": keys_only}}, {"Put": {"Item": plain}}, {"Update": {"Key": big}}]}
    assert bench.index_write_units("TransactWriteItems", transaction) == 1
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": keys_only}}, {"DeleteRequest": {"Key": plain}}]}}
    assert bench.index_write_units("BatchWriteItem", batch) == 1
    assert bench.index_write_units("UpdateItem", {"Key": plain}) == 0


def test_dollars_per_million_orders(bench: ModuleType) -> None:
    """A unit used n times an order at $p costs n x p x 1,000,000 per million orders, at the bench's list prices."""
    assert bench.per_million(10, 1.00 / 1_000_000) == pytest.approx(10.0)
    assert bench.per_million(12, bench.PRICES["dynamodb_write_request_unit"]["usd"]) == pytest.approx(7.5)
    assert bench.per_million(1, bench.PRICES["dynamodb_read_request_unit"]["usd"]) == pytest.approx(0.125)
    assert bench.PRICES["lambda_request"]["usd"] * 1_000_000 == pytest.approx(0.20)
    assert bench.PRICES["http_api_request"]["usd"] * 1_000_000 == pytest.approx(1.00)


def test_gb_seconds_round_up_to_the_millisecond(bench: ModuleType) -> None:
    """Duration is billed per started millisecond, times the configured memory in GB."""
    assert bench.gb_seconds(0.010, 512) == pytest.approx(0.005)
    assert bench.gb_seconds(0.0101, 1024) == pytest.approx(0.011)
    assert bench.gb_seconds(1.0, 128) == pytest.approx(0.125)


def test_the_floor_is_ten_requests_eleven_writes_and_no_transactions(bench: ModuleType) -> None:
    """The floor per order, and its dollars: 10 HTTP API requests and invocations, 11 WCU, half an RCU."""
    floor = bench.floor_usage(300)
    assert floor["http_api_requests"] == floor["lambda_requests"] == 10
    assert floor["dynamodb_write_units"] == 11
    assert floor["dynamodb_read_units"] == 0.5
    assert floor["state_transitions"] == 0
    dollars = bench.dollars(floor)
    assert dollars["API Gateway (HTTP API)"] == pytest.approx(10.0)
    assert dollars["Lambda requests"] == pytest.approx(2.0)
    assert dollars["DynamoDB writes"] == pytest.approx(11 * 0.625)
    assert bench.ratio(3.0, 2.0) == 1.5
    assert bench.ratio(1.0, 0.0) is None


def test_secret_calls_are_one_per_container_per_cache_period(bench: ModuleType) -> None:
    """Four readers, a 300 s cache, a 30-day month, 1 million orders: 4 x 8,640 calls over a million orders."""
    assert bench.secret_calls_per_order(4, 300) == pytest.approx(4 * 8640 / 1_000_000)


def test_export_state_transitions_from_the_asl(bench: ModuleType) -> None:
    """A successful run of one chunk enters Plan, the Map, ExportChunk and Finalize; each further chunk one more."""
    asl = json.loads((repo_root() / "infra" / "statemachine" / "export_conversions.asl.json").read_text(encoding="utf-8"))
    assert bench.state_transitions(asl, chunks=1) == 4
    assert bench.state_transitions(asl, chunks=13) == 16
