"""The moto speed fix keeps transactions all-or-nothing and copies each table once per transaction."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table

from ordertrail_local.moto_patches import copy_tables_once_per_transaction
from ordertrail_local.template import create_table, load_template


@pytest.fixture
def table(aws_env: None) -> Iterator[Any]:
    """The template's table in moto, with the fix installed."""
    copy_tables_once_per_transaction()
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client, "t", load_template())
        yield client


def put(pk: str, condition: str | None = None) -> dict[str, Any]:
    """A transaction Put of one item."""
    action: dict[str, Any] = {"TableName": "t", "Item": {"PK": {"S": pk}, "SK": {"S": "x"}}}
    if condition:
        action["ConditionExpression"] = condition
    return {"Put": action}


def test_a_failed_transaction_still_writes_nothing(table: Any) -> None:
    """Given an item, when a transaction writes two new items then fails on the third's condition, then neither is kept."""
    table.put_item(TableName="t", Item={"PK": {"S": "taken"}, "SK": {"S": "x"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        table.transact_write_items(TransactItems=[put("a"), put("b"), put("taken", "attribute_not_exists(PK)")])
    keys = {item["PK"]["S"] for item in table.scan(TableName="t")["Items"]}
    assert keys == {"taken"}


def test_a_transaction_copies_its_table_once(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the fix, when a 30-action transaction runs, then the table is deep-copied once (moto alone copies it 30 times)."""
    table_copies = []
    real = copy.deepcopy

    def counting(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            table_copies.append(value.name)
        return real(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    table.transact_write_items(TransactItems=[put(f"k{i}") for i in range(30)])
    assert len({item["PK"]["S"] for item in table.scan(TableName="t")["Items"]}) == 30
    assert table_copies == ["t"]
