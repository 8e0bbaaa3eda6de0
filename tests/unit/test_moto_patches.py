"""The moto speed-ups (ordertrail_local.moto_patches) answer exactly as moto does, at the cost of the items involved."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table

from ordertrail_local import moto_patches
from ordertrail_local.moto_patches import speed_up_moto, unpatched
from ordertrail_local.template import create_table, load_template

TABLE = "t"
REGION = "us-east-1"


@pytest.fixture
def client(aws_env: None) -> Iterator[Any]:
    """The template's table ("t") in moto, with the speed-ups installed."""
    speed_up_moto()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        create_table(dynamodb, TABLE, load_template())
        yield dynamodb


# --- requests -------------------------------------------------------------------------------------------------------


def value(raw: str | int) -> dict[str, str]:
    """A DynamoDB attribute value: a string, or a number."""
    return {"N": str(raw)} if isinstance(raw, int) else {"S": raw}


def key(pk: str, sk: str) -> dict[str, Any]:
    """An item's key."""
    return {"PK": value(pk), "SK": value(sk)}


def item(pk: str, sk: str, **attrs: str | int | None) -> dict[str, Any]:
    """An item: its key and the attributes given (None: left out)."""
    return {**key(pk, sk), **{name: value(raw) for name, raw in attrs.items() if raw is not None}}


def with_condition(action: dict[str, Any], condition: str | None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The action with a ConditionExpression (and the values it uses), if any."""
    if condition:
        action["ConditionExpression"] = condition
        if values:
            action["ExpressionAttributeValues"] = {**action.get("ExpressionAttributeValues", {}), **values}
    return action


def put(pk: str, sk: str, condition: str | None = None, table: str = TABLE, **attrs: str | int | None) -> dict[str, Any]:
    """A transaction Put."""
    return {"Put": with_condition({"TableName": table, "Item": item(pk, sk, **attrs)}, condition)}


def update(
    pk: str,
    sk: str,
    expression: str,
    values: dict[str, Any] | None = None,
    condition: str | None = None,
    table: str = TABLE,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A transaction Update."""
    action: dict[str, Any] = {"TableName": table, "Key": key(pk, sk), "UpdateExpression": expression}
    if values:
        action["ExpressionAttributeValues"] = values
    if names:
        action["ExpressionAttributeNames"] = names
    return {"Update": with_condition(action, condition)}


def delete(pk: str, sk: str, condition: str | None = None, table: str = TABLE) -> dict[str, Any]:
    """A transaction Delete."""
    return {"Delete": with_condition({"TableName": table, "Key": key(pk, sk)}, condition)}


def check(
    pk: str, sk: str, condition: str, values: dict[str, Any] | None = None, names: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A transaction ConditionCheck (extra: more fields of it, e.g. ReturnValuesOnConditionCheckFailure)."""
    action: dict[str, Any] = {"TableName": TABLE, "Key": key(pk, sk), **extra}
    if names:
        action["ExpressionAttributeNames"] = names
    return {"ConditionCheck": with_condition(action, condition, values)}


# --- reading what moto holds ----------------------------------------------------------------------------------------


def stored(client: Any, table: str = TABLE) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the table by (PK, SK), read with Scan."""
    pages = client.get_paginator("scan").paginate(TableName=table)
    return {(i["PK"]["S"], i["SK"]["S"]): i for page in pages for i in page["Items"]}


def moto_table(table: str = TABLE) -> Table:
    """moto's Table object."""
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table)


def stream(table: str = TABLE) -> list[dict[str, Any]]:
    """The table's stream records as moto holds them (event, keys, images, sequence number)."""
    shard = moto_table(table).stream_shard
    assert shard is not None
    fields = ("Keys", "NewImage", "OldImage", "SequenceNumber")  # not SizeBytes: it counts the timestamp's digits
    return [{"event": r.record["eventName"], **{f: r.record["dynamodb"].get(f) for f in fields}} for r in shard.items]


def pages(client: Any, table: str = TABLE, *, pk: str | None = None, gsi: str | None = None, **options: Any) -> list[Any]:
    """Every page of a base-table (pk) or GSI1 (gsi) Query, following LastEvaluatedKey: (items, count, scanned, LEK).

    options: forward (ScanIndexForward), limit, above (a range condition on the sort key), filter, count (Select COUNT).
    """
    names = ("PK", "SK") if pk is not None else ("GSI1PK", "GSI1SK")
    condition = f"{names[0]} = :h" + (f" AND {names[1]} > :above" if options.get("above") else "")
    values: dict[str, Any] = {":h": value(pk if pk is not None else str(gsi))}
    if options.get("above"):
        values[":above"] = value(options["above"])
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ScanIndexForward": options.get("forward", True),
    }
    if gsi is not None:
        request["IndexName"] = "GSI1"
    if options.get("limit"):
        request["Limit"] = options["limit"]
    if options.get("filter"):
        request["FilterExpression"] = "attribute_exists(v)"
    if options.get("count"):
        request["Select"] = "COUNT"
    request["ExpressionAttributeValues"] = values
    result = []
    while True:
        response = client.query(**request)
        lek = response.get("LastEvaluatedKey")
        result.append((response.get("Items"), response["Count"], response["ScannedCount"], lek))
        if lek is None:
            return result
        request["ExclusiveStartKey"] = lek


def keys_of(client: Any, **query: Any) -> list[tuple[str, str]]:
    """The (PK, SK) of every item a Query returns, in order, across pages."""
    return [(i["PK"]["S"], i["SK"]["S"]) for page in pages(client, **query) for i in page[0]]


def cancellation(error: ClientError) -> list[str]:
    """The codes of a cancelled transaction's reasons, one per action."""
    return [reason["Code"] for reason in error.response["CancellationReasons"]]


# --- installing -----------------------------------------------------------------------------------------------------


def test_installing_twice_wraps_once(client: Any) -> None:
    """Given the speed-ups installed, when speed_up_moto runs again, then moto's functions are not wrapped a second time."""
    wrapped = (Table.query, Table.put_item, DynamoDBBackend.transact_write_items, DynamoDBBackend.update_item)
    speed_up_moto()
    assert (Table.query, Table.put_item, DynamoDBBackend.transact_write_items, DynamoDBBackend.update_item) == wrapped
    assert Table.query.__wrapped__.__module__ == "moto.dynamodb.models.table"  # type: ignore[attr-defined]


# --- transactions ---------------------------------------------------------------------------------------------------


def test_a_failed_transaction_leaves_every_item_and_the_stream_as_they_were(client: Any) -> None:
    """Given items, when a transaction puts one, updates one (changing, adding and removing attributes), deletes one and
    checks one, then fails on its last action's condition, then every item is exactly as before, the reasons are one per
    action in order, the stream holds no record of it, and a reader's shard iterator still sees later writes."""
    client.put_item(TableName=TABLE, Item=item("o1", "a", status="open", n=1, GSI1PK="g#open", GSI1SK="1"))
    client.put_item(TableName=TABLE, Item=item("o1", "b", status="open", GSI1PK="g#open", GSI1SK="2"))
    client.put_item(TableName=TABLE, Item=item("o2", "c"))
    client.put_item(TableName=TABLE, Item=item("o3", "e"))
    before, records_before = stored(client), stream()
    streams = boto3.client("dynamodbstreams")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]

    with pytest.raises(ClientError) as failure:
        client.transact_write_items(
            TransactItems=[
                put("o1", "d", GSI1PK="g#open", GSI1SK="0"),
                update(
                    "o1",
                    "a",
                    "SET #s = :closed, GSI1PK = :moved, extra = :x ADD n :one REMOVE GSI1SK",
                    {":closed": value("closed"), ":moved": value("g#moved"), ":x": value("x"), ":one": value(1)},
                    names={"#s": "status"},
                ),
                delete("o1", "b"),
                check("o2", "c", "attribute_exists(PK)"),
                put("o3", "e", "attribute_not_exists(PK)"),
            ]
        )

    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert cancellation(failure.value) == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert stored(client) == before
    assert stream() == records_before
    assert keys_of(client, gsi="g#open") == [("o1", "a"), ("o1", "b")]
    assert keys_of(client, gsi="g#moved") == []
    client.put_item(TableName=TABLE, Item=item("o4", "f"))
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in records] == [("INSERT", key("o4", "f"))]


def test_a_duplicate_key_in_one_transaction_is_a_validation_error_and_writes_nothing(client: Any) -> None:
    """Given an empty table, when a transaction puts two items then updates the first again, then it is a
    ValidationException and neither item nor any stream record is written."""
    with pytest.raises(ClientError) as failure:
        client.transact_write_items(TransactItems=[put("o1", "a"), put("o1", "b"), update("o1", "a", "SET v = :v", {":v": value(1)})])
    assert failure.value.response["Error"]["Code"] == "ValidationException"
    assert "multiple operations on one item" in failure.value.response["Error"]["Message"]
    assert stored(client) == {}
    assert stream() == []


def test_more_than_100_actions_is_a_validation_error_and_writes_nothing(client: Any) -> None:
    """Given an empty table, when a transaction has 101 actions, then it is a ValidationException and nothing is written."""
    with pytest.raises(ClientError) as failure:
        client.transact_write_items(TransactItems=[put("o1", f"s{i:03}") for i in range(101)])
    assert failure.value.response["Error"]["Code"] == "ValidationException"
    assert stored(client) == {}
    assert stream() == []


def test_an_action_with_two_operations_is_a_validation_error_and_writes_nothing(client: Any) -> None:
    """Given an empty table, when a transaction's second action names both a Put and a Delete, then it is a
    ValidationException and the first action's Put is not kept (moto alone keeps it; DynamoDB writes nothing)."""
    both = {**put("o1", "b"), **delete("o1", "c")}
    with pytest.raises(ClientError) as failure:
        client.transact_write_items(TransactItems=[put("o1", "a"), both])
    assert failure.value.response["Error"]["Code"] == "ValidationException"
    assert stored(client) == {}
    assert stream() == []


def test_conditions_see_the_items_as_the_last_transaction_left_them(client: Any) -> None:
    """Given an open item that a transaction closed, when later transactions test its status, then "open" fails (the
    reason carries the closed item) and writes nothing, and "closed" passes."""
    client.put_item(TableName=TABLE, Item=item("o1", "a", status="open"))
    values = {":open": value("open"), ":closed": value("closed")}
    status = {"#s": "status"}
    client.transact_write_items(TransactItems=[update("o1", "a", "SET #s = :closed", values, "#s = :open", names=status)])

    stale = check("o1", "a", "#s = :open", {":open": value("open")}, status, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    with pytest.raises(ClientError) as failure:
        client.transact_write_items(TransactItems=[put("o2", "x"), stale])
    assert cancellation(failure.value) == ["None", "ConditionalCheckFailed"]
    assert failure.value.response["CancellationReasons"][1]["Item"]["status"] == value("closed")
    assert set(stored(client)) == {("o1", "a")}

    current = check("o1", "a", "#s = :closed", {":closed": value("closed")}, status)
    client.transact_write_items(TransactItems=[put("o2", "x"), current])
    assert set(stored(client)) == {("o1", "a"), ("o2", "x")}


# --- queries: order and pages ---------------------------------------------------------------------------------------


def test_a_base_table_query_returns_its_partition_in_range_order_both_ways(client: Any) -> None:
    """Given a partition written out of order among other partitions, when it is queried forwards and backwards, then its
    items come in sort-key order and reversed, as moto's own query returns them."""
    for sk in ("m", "b", "z", "a", "k"):
        client.put_item(TableName=TABLE, Item=item("p", sk, v=1))
        client.put_item(TableName=TABLE, Item=item(f"other-{sk}", sk))
    forward, backward = keys_of(client, pk="p"), keys_of(client, pk="p", forward=False)
    assert forward == [("p", sk) for sk in "abkmz"]
    assert backward == forward[::-1]
    with unpatched():
        assert (keys_of(client, pk="p"), keys_of(client, pk="p", forward=False)) == (forward, backward)


def test_a_gsi_query_orders_by_its_sort_key_then_the_table_key(client: Any) -> None:
    """Given items of one GSI1 partition spread over table partitions, with equal GSI1SK values and one without GSI1SK,
    when GSI1 is queried both ways, then items come by GSI1SK, ties by PK then SK (as moto breaks them), the one without
    GSI1SK is left out, and moto's own query agrees."""
    for pk, sk, gsk in [("p2", "a", "2"), ("p1", "b", "1"), ("p3", "a", "1"), ("p1", "a", "1"), ("p2", "b", "1"), ("p4", "a", None)]:
        client.put_item(TableName=TABLE, Item=item(pk, sk, GSI1PK="g", GSI1SK=gsk))
    client.put_item(TableName=TABLE, Item=item("p5", "a", GSI1PK="other", GSI1SK="0"))
    forward = keys_of(client, gsi="g")
    assert forward == [("p1", "a"), ("p1", "b"), ("p2", "b"), ("p3", "a"), ("p2", "a")]
    assert keys_of(client, gsi="g", forward=False) == forward[::-1]
    with unpatched():
        assert keys_of(client, gsi="g") == forward
        assert keys_of(client, gsi="g", forward=False) == forward[::-1]


@pytest.mark.parametrize("forward", [True, False])
def test_limit_and_exclusive_start_key_page_through_the_table_and_gsi1(client: Any, forward: bool) -> None:
    """Given 7 items in a partition (and in a GSI1 partition) among others, when they are queried 3 (and 2) at a time
    following LastEvaluatedKey, then the pages hold every item once, in order, and equal moto's own pages."""
    for i in range(7):
        client.put_item(TableName=TABLE, Item=item("p", f"s{i}", GSI1PK="g", GSI1SK=str(i % 3)))
        client.put_item(TableName=TABLE, Item=item(f"q{i}", f"s{i}", GSI1PK="h", GSI1SK="0"))
    table_pages = pages(client, pk="p", limit=3, forward=forward)
    gsi_pages = pages(client, gsi="g", limit=2, forward=forward)
    assert [len(p[0]) for p in table_pages] == [3, 3, 1]
    assert [len(p[0]) for p in gsi_pages] == [2, 2, 2, 1]
    assert [k for p in table_pages for k in p[0]] == [k for p in pages(client, pk="p", forward=forward) for k in p[0]]
    assert [k for p in gsi_pages for k in p[0]] == [k for p in pages(client, gsi="g", forward=forward) for k in p[0]]
    with unpatched():
        assert pages(client, pk="p", limit=3, forward=forward) == table_pages
        assert pages(client, gsi="g", limit=2, forward=forward) == gsi_pages


# --- GSI membership -------------------------------------------------------------------------------------------------


def test_gsi_membership_follows_updates_puts_deletes_batches_and_rollbacks(client: Any) -> None:
    """Given an item without GSI1 keys, when UpdateItem adds, changes and removes GSI1PK/GSI1SK, PutItem replaces it,
    DeleteItem and BatchWriteItem write, and a failed transaction moves it, then GSI1 queries follow every step."""

    def set_keys(expression: str, values: dict[str, Any] | None = None) -> None:
        request: dict[str, Any] = {"TableName": TABLE, "Key": key("p", "x"), "UpdateExpression": expression}
        if values:
            request["ExpressionAttributeValues"] = values
        client.update_item(**request)

    client.put_item(TableName=TABLE, Item=item("p", "x"))
    assert keys_of(client, gsi="g1") == []
    set_keys("SET GSI1PK = :g, GSI1SK = :k", {":g": value("g1"), ":k": value("1")})
    assert keys_of(client, gsi="g1") == [("p", "x")]
    set_keys("SET GSI1PK = :g", {":g": value("g2")})
    assert (keys_of(client, gsi="g1"), keys_of(client, gsi="g2")) == ([], [("p", "x")])
    set_keys("REMOVE GSI1SK")  # moto indexes only items with every index key
    assert keys_of(client, gsi="g2") == []
    set_keys("SET GSI1SK = :k", {":k": value("2")})
    assert keys_of(client, gsi="g2") == [("p", "x")]
    set_keys("REMOVE GSI1PK")
    assert keys_of(client, gsi="g2") == []

    client.put_item(TableName=TABLE, Item=item("p", "x", GSI1PK="g1", GSI1SK="1"))
    assert keys_of(client, gsi="g1") == [("p", "x")]
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[update("p", "x", "SET GSI1PK = :g", {":g": value("g2")}), put("p", "x2", "attribute_exists(PK)")]
        )
    assert (keys_of(client, gsi="g1"), keys_of(client, gsi="g2")) == ([("p", "x")], [])
    client.delete_item(TableName=TABLE, Key=key("p", "x"))
    assert keys_of(client, gsi="g1") == []

    client.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": item("p", "y", GSI1PK="g1", GSI1SK="1")}},
                {"PutRequest": {"Item": item("q", "y", GSI1PK="g1", GSI1SK="0")}},
            ]
        }
    )
    assert keys_of(client, gsi="g1") == [("q", "y"), ("p", "y")]
    client.batch_write_item(RequestItems={TABLE: [{"DeleteRequest": {"Key": key("q", "y")}}]})
    assert keys_of(client, gsi="g1") == [("p", "y")]


def test_a_deleted_and_recreated_table_starts_with_an_empty_gsi(client: Any) -> None:
    """Given an item in GSI1, when the table is deleted and created again, then GSI1 is empty until new items arrive."""
    client.put_item(TableName=TABLE, Item=item("p", "x", GSI1PK="g1", GSI1SK="1"))
    assert keys_of(client, gsi="g1") == [("p", "x")]
    client.delete_table(TableName=TABLE)
    create_table(client, TABLE, load_template())
    assert keys_of(client, gsi="g1") == []
    client.put_item(TableName=TABLE, Item=item("p", "y", GSI1PK="g1", GSI1SK="1"))
    assert keys_of(client, gsi="g1") == [("p", "y")]


def test_a_moto_api_reset_starts_with_an_empty_gsi(client: Any) -> None:
    """Given an item in GSI1, when moto is reset through /moto-api/reset and the table created again, then GSI1 is empty."""
    client.put_item(TableName=TABLE, Item=item("p", "x", GSI1PK="g1", GSI1SK="1"))
    assert keys_of(client, gsi="g1") == [("p", "x")]
    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10)
    create_table(client, TABLE, load_template())
    assert keys_of(client, gsi="g1") == []
    assert stored(client) == {}


# --- cost -----------------------------------------------------------------------------------------------------------


def test_a_query_and_a_transaction_read_only_their_partitions(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given 5,000 items in other partitions, when the table and GSI1 are queried and a 6-action transaction succeeds and
    another fails, then moto never lists the whole table (Table.all_items) and never deep-copies a Table."""
    table = moto_table()
    for i in range(5000):
        table.put_item(item(f"other#{i // 10}", f"s{i % 10}", GSI1PK=f"g#other{i // 10}", GSI1SK=str(i)))
    for sk in ("a", "b", "c", "d"):
        client.put_item(TableName=TABLE, Item=item("mine", sk, GSI1PK="g#mine", GSI1SK=sk, n=0))

    listings: list[str] = []
    copies: list[str] = []
    real_all_items = Table.all_items

    def all_items(self: Table) -> Any:
        listings.append(self.name)
        return real_all_items(self)

    def deepcopy(self: Table, memo: Any) -> Any:
        copies.append(self.name)
        raise AssertionError("a Table was deep-copied")

    monkeypatch.setattr(Table, "all_items", all_items)
    monkeypatch.setattr(Table, "__deepcopy__", deepcopy, raising=False)

    def transaction(last: dict[str, Any]) -> None:
        client.transact_write_items(
            TransactItems=[
                put("mine", "e", GSI1PK="g#mine", GSI1SK="e"),
                put("mine", "f"),
                update("mine", "a", "ADD n :one", {":one": value(1)}),
                update("mine", "b", "SET GSI1PK = :g", {":g": value("g#moved")}),
                delete("mine", "c"),
                last,
            ]
        )

    assert keys_of(client, pk="mine") == [("mine", sk) for sk in "abcd"]
    assert keys_of(client, gsi="g#mine") == [("mine", sk) for sk in "abcd"]
    transaction(check("mine", "d", "attribute_exists(PK)"))
    with pytest.raises(ClientError):
        transaction(check("mine", "d", "attribute_not_exists(PK)"))
    assert keys_of(client, pk="mine") == [("mine", sk) for sk in "abdef"]
    assert keys_of(client, gsi="g#mine") == [("mine", "a"), ("mine", "d"), ("mine", "e")]
    assert listings == []
    assert copies == []


# --- threads --------------------------------------------------------------------------------------------------------


def test_readers_in_other_threads_wait_for_a_transaction_and_never_see_its_rolled_back_writes(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a transaction paused in another thread after writing its first item (and its stream record), when a reader
    thread queries that partition and reads the stream meanwhile, then it waits, and once the transaction has failed and
    rolled back it sees neither the item nor the record."""
    client.put_item(TableName=TABLE, Item=item("taken", "x"))
    streams = boto3.client("dynamodbstreams")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    written, resume = threading.Event(), threading.Event()
    patched_put = Table.put_item

    def pausing_put(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = patched_put(self, item_attrs, *args, **kwargs)
        if item_attrs["PK"] == value("new"):
            written.set()
            resume.wait(timeout=30)
        return result

    monkeypatch.setattr(Table, "put_item", pausing_put)
    failures: list[str] = []

    def write() -> None:
        try:
            boto3.client("dynamodb").transact_write_items(TransactItems=[put("new", "x"), put("taken", "x", "attribute_not_exists(PK)")])
        except ClientError as error:
            failures.append(error.response["Error"]["Code"])

    seen: dict[str, Any] = {}

    def read() -> None:
        reader = boto3.client("dynamodb")
        query = {"TableName": TABLE, "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": value("new")}}
        seen["items"] = reader.query(**query)["Items"]
        seen["records"] = boto3.client("dynamodbstreams").get_records(ShardIterator=iterator)["Records"]

    writer = threading.Thread(target=write)
    writer.start()
    assert written.wait(timeout=30)
    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.2)  # without the lock the reader would now read the half-applied transaction
    resume.set()
    writer.join(timeout=30)
    reader.join(timeout=30)
    assert failures == ["TransactionCanceledException"]
    assert seen == {"items": [], "records": []}


# --- differential: the speed-ups against moto's own code on random histories ----------------------------------------

# Few keys and values, so that writes often meet the same items, index partitions and sort-key ties.
PKS = ("p0", "p1")
SKS = ("s0", "s1", "s2")
GSI_KEYS = ("g0", "g1")
GSI_SORT_KEYS = ("k0", "k1")
CONDITIONS = (None, None, "attribute_exists(PK)", "attribute_not_exists(PK)", "v < :limit")
UPDATES = {
    "set_gsi": ("SET GSI1PK = :x", lambda draw: value(draw(st.sampled_from(GSI_KEYS)))),
    "set_gsi_sort": ("SET GSI1SK = :x", lambda draw: value(draw(st.sampled_from(GSI_SORT_KEYS)))),
    "remove_gsi": ("REMOVE GSI1PK", None),
    "remove_gsi_sort": ("REMOVE GSI1SK", None),
    "add_v": ("ADD v :x", lambda draw: value(draw(st.integers(0, 2)))),
    # Expressions whose validation reads the item (new or stored) or fails: the single validation of a new item.
    "keep_first_w": ("SET w = if_not_exists(w, :x)", lambda draw: value(draw(st.integers(0, 2)))),
    "add_to_v": ("SET v = v + :x", lambda draw: value(draw(st.integers(0, 2)))),
    "add_a_string": ("ADD v :x", lambda draw: value("s")),
    "copy_the_key": ("SET w = PK", None),
}


def conditioned(action: dict[str, Any], condition: str | None) -> dict[str, Any]:
    """The action (a transaction action's body or a request) with one of CONDITIONS."""
    return with_condition(action, condition, {":limit": value(2)} if condition and ":limit" in condition else None)


@st.composite
def actions(draw: Any, kinds: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """One write, as (kind, body without TableName): put, update, delete or (in transactions) check."""
    kind = draw(st.sampled_from(kinds))
    pk, sk = draw(st.sampled_from(PKS)), draw(st.sampled_from(SKS))
    condition = draw(st.sampled_from(CONDITIONS))
    if kind == "put":
        attrs = {
            "GSI1PK": draw(st.sampled_from((None, *GSI_KEYS, *GSI_KEYS))),
            "GSI1SK": draw(st.sampled_from((None, *GSI_SORT_KEYS, *GSI_SORT_KEYS))),
            "v": draw(st.none() | st.integers(0, 3)),
        }
        return kind, conditioned({"Item": item(pk, sk, **attrs)}, condition)
    if kind == "update":
        expression, make = UPDATES[draw(st.sampled_from(sorted(UPDATES)))]
        body: dict[str, Any] = {"Key": key(pk, sk), "UpdateExpression": expression}
        if make is not None:
            body["ExpressionAttributeValues"] = {":x": make(draw)}
        return kind, conditioned(body, condition)
    if kind == "check":
        return kind, conditioned({"Key": key(pk, sk)}, condition or "attribute_exists(PK)")
    return kind, conditioned({"Key": key(pk, sk)}, condition)


OPERATIONS = st.one_of(
    actions(("put", "update", "delete")).map(lambda a: ("single", [a])),
    st.lists(actions(("put", "update", "delete", "check")), min_size=1, max_size=4).map(lambda a: ("transaction", a)),
    st.lists(actions(("put", "delete")), min_size=1, max_size=3).map(lambda a: ("batch", a)),
)
TRANSACTION_NAMES = {"put": "Put", "update": "Update", "delete": "Delete", "check": "ConditionCheck"}


def apply(client: Any, table: str, operation: tuple[str, list[tuple[str, dict[str, Any]]]]) -> str:
    """Send the operation to `table`; what came back (the error and cancellation reasons, or "ok"), table name masked."""
    shape, writes = operation
    try:
        if shape == "transaction":
            client.transact_write_items(TransactItems=[{TRANSACTION_NAMES[kind]: {"TableName": table, **body}} for kind, body in writes])
        elif shape == "batch":
            requests_ = [
                {"PutRequest": {"Item": body["Item"]}} if kind == "put" else {"DeleteRequest": {"Key": body["Key"]}}
                for kind, body in writes
            ]
            client.batch_write_item(RequestItems={table: requests_})
        else:
            kind, body = writes[0]
            {"put": client.put_item, "update": client.update_item, "delete": client.delete_item}[kind](TableName=table, **body)
    except ClientError as error:
        outcome = {"error": error.response["Error"], "reasons": error.response.get("CancellationReasons")}
        return json.dumps(outcome, sort_keys=True).replace(table, "<table>")
    return "ok"


QUERY_OPTIONS: tuple[dict[str, Any], ...] = ({}, {"limit": 2}, {"limit": 1, "filter": True}, {"above": "s1"}, {"count": True, "limit": 3})


def everything_read(client: Any, table: str) -> dict[str, Any]:
    """Every Query page (table and GSI1, both ways, with and without Limit, range condition, filter, COUNT), the items
    and the stream records."""
    queries = {}
    for forward in (True, False):
        for options in QUERY_OPTIONS:
            for pk in PKS:
                queries[f"{pk} {forward} {options}"] = pages(client, table, pk=pk, forward=forward, **options)
            for gsi in GSI_KEYS:
                gsi_options = {**options, "above": "k0"} if "above" in options else options
                queries[f"{gsi} {forward} {options}"] = pages(client, table, gsi=gsi, forward=forward, **gsi_options)
    return {"queries": queries, "items": stored(client, table), "stream": stream(table)}


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=st.lists(OPERATIONS, min_size=1, max_size=12))
def test_the_speed_ups_answer_as_moto_does_on_random_histories(aws_env: None, history: list[Any]) -> None:
    """Given any history of puts, updates, deletes, batches and transactions (some failing), when it is applied to a
    table through the speed-ups and to another through moto's own transaction and query code, then every write has the
    same outcome, GSI1 answers the same after every step, and every Query page, item and stream record is the same."""
    speed_up_moto()
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client, "fast", load_template())
        create_table(client, "plain", load_template())
        for operation in history:
            fast = apply(client, "fast", operation)
            with unpatched():
                plain = apply(client, "plain", operation)
            assert fast == plain
            fast_gsi = [pages(client, "fast", gsi=gsi) for gsi in GSI_KEYS]
            with unpatched():
                assert [pages(client, "plain", gsi=gsi) for gsi in GSI_KEYS] == fast_gsi
        fast_read = everything_read(client, "fast")
        with unpatched():
            assert everything_read(client, "plain") == fast_read
    assert moto_patches.LOCK.acquire(blocking=False)  # nothing left it held
    moto_patches.LOCK.release()


def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that gets one entry per real run of moto's UpdateExpressionValidator.validate from now on."""
    from moto.dynamodb.parsing.validators import Validator

    runs: list[str] = []
    original = Validator.validate

    def counted(self: Any) -> Any:
        runs.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(Validator, "validate", counted)
    return runs


def test_an_update_creating_its_item_validates_once_unless_it_names_a_key(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the speed-ups, when an UpdateItem creates its item, then moto validates the expression once (not twice) and
    the item is what moto makes; when the item exists, or the expression names a key attribute, moto's checks run as
    before and answer as moto does."""
    runs = validations(monkeypatch)
    client.update_item(
        TableName=TABLE,
        Key=key("p1", "s1"),
        UpdateExpression="SET w = if_not_exists(w, :x), #g = :g",
        ExpressionAttributeNames={"#g": "GSI1PK"},
        ExpressionAttributeValues={":x": value(1), ":g": value("k1")},
    )
    assert len(runs) == 1
    assert stored(client) == {("p1", "s1"): item("p1", "s1", w=1, GSI1PK="k1")}
    client.update_item(TableName=TABLE, Key=key("p1", "s1"), UpdateExpression="SET w = w + :x", ExpressionAttributeValues={":x": value(1)})
    assert len(runs) == 2  # a stored item: one validation, as moto does
    naming_a_key = {"Key": key("p2", "s1"), "UpdateExpression": "SET w = SK"}
    fast = apply(client, TABLE, ("single", [("update", naming_a_key)]))
    assert len(runs) == 3  # names a key attribute (which the two validations see differently): moto's own checks run
    with unpatched():
        assert apply(client, TABLE, ("single", [("update", naming_a_key)])) == fast
    assert set(stored(client)) == {("p1", "s1")}


def test_a_new_items_failing_update_writes_nothing_and_fails_as_moto_does(client: Any) -> None:
    """Given the speed-ups, when an UpdateItem that would create its item fails validation, then nothing is stored and
    the error is moto's own."""
    bad = {"Key": key("p1", "s1"), "UpdateExpression": "SET v = v + :x", "ExpressionAttributeValues": {":x": value(1)}}
    fast = apply(client, TABLE, ("single", [("update", bad)]))
    with unpatched():
        plain = apply(client, TABLE, ("single", [("update", bad)]))
    assert fast == plain and "does not exist in the item" in plain.replace("<table>", "t")
    assert stored(client) == {}


def test_the_server_lists_its_modules_once_and_routes_as_before() -> None:
    """Given the speed-ups, when moto's server asks which services it has (on every request), then it gets the same list
    as moto's own function gives, without listing its folder again."""
    from moto import backends

    speed_up_moto()
    with unpatched():
        listed = list(backends.list_of_moto_modules())
    assert list(backends.list_of_moto_modules()) == listed and "dynamodb" in listed
    assert backends.list_of_moto_modules() is backends.list_of_moto_modules()
