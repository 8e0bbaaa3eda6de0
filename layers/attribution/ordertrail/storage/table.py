"""The table's mechanics: the client, (de)serialisation, batching, transactions and optimistic locks."""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import boto3
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from ordertrail.storage import keys

_serializer = TypeSerializer()


_deserializer = TypeDeserializer()


BATCH_GET_LIMIT = 100


BATCH_WRITE_LIMIT = 25


# DynamoDB's limit on the actions of one TransactWriteItems.
TRANSACTION_LIMIT = 100


# Two writers racing on one item re-read and try again this often before giving up (the caller retries later).
ATTEMPTS = 3


class ConcurrentChange(Exception):
    """Someone changed the attribution, customer or address profile between our read and our write: read again."""


class Unstorable(Exception):
    """DynamoDB cannot hold what an order's attribution would write (an item over 400 KB, a transaction too large)."""


def epoch_seconds(ts: datetime) -> int:
    """A time as whole epoch seconds, the form DynamoDB TTL attributes take."""
    return int(ts.timestamp())


# Integers DynamoDB holds exactly (38 digits), which TypeSerializer writes as their own digits.
_MAX_EXACT_INT = 10**38


def _attribute(value: Any) -> dict[str, Any]:
    """One value as TypeSerializer writes it: plain strings and integers directly, everything else through it.

    The export's audit rows are mostly strings and integers, and TypeSerializer's type dispatch was a large share of
    their cost.
    """
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int and -_MAX_EXACT_INT < value < _MAX_EXACT_INT:
        return {"N": str(value)}
    serialized: dict[str, Any] = _serializer.serialize(value)
    return serialized


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values (None values dropped)."""
    return {k: _attribute(v) for k, v in item.items() if v is not None}


def packed(text: str) -> bytes:
    """A large JSON attribute compressed for storage: writes are billed per started KB, and JSON shrinks to about a third.

    zlib at one fixed level, so the same text always packs to the same bytes (a condition may compare them).
    """
    return zlib.compress(text.encode(), 9)


def unpacked(value: Any) -> str | None:
    """The text of an attribute stored by packed(), or stored as plain text before it was packed; None stays None."""
    if value is None or isinstance(value, str):
        return value
    raw = value.value if isinstance(value, Binary) else bytes(value)
    return zlib.decompress(raw).decode()


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values → Python values."""
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def model_json(model: Any) -> str:
    """A model as the JSON string stored in `data`."""
    # Models are stored as one JSON string: exact Decimals and datetimes round-trip, no float surprises.
    return str(model.model_dump_json(exclude_none=True))


def tenant_of(pk: str) -> str:
    """The tenant id a key belongs to (keys start `T#<tenant>#`)."""
    return pk.split("#", 2)[1].replace("%23", "#").replace("%25", "%")


def revision_of(item: dict[str, Any] | None) -> int | None:
    """An item's revision: None when it does not exist, 0 when it predates revisions."""
    return None if item is None else int(item.get("rev", 0))


def revision_condition(revision: int | None) -> tuple[str, dict[str, Any]]:
    """The condition (and its values) that an item is still at the revision that was read."""
    if revision is None:
        return "attribute_not_exists(PK)", {}
    if revision == 0:
        return "attribute_exists(PK) AND attribute_not_exists(rev)", {}
    return "rev = :rev", {":rev": revision}


def key_id(key: dict[str, Any]) -> str:
    """One string naming an item by its key, to match BatchGetItem answers to what was asked."""
    return f"{key['PK']}|{key['SK']}"


def refused_as_invalid(exc: ClientError) -> bool:
    """Whether DynamoDB refused a write as invalid (e.g. an item over 400 KB), which no retry can fix."""
    if exc.response["Error"]["Code"] == "ValidationException":
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return any(reason.get("Code") == "ValidationError" for reason in reasons)


def cancelled_by_condition(exc: ClientError, index: int, only: bool = False) -> bool:
    """Whether a cancelled transaction failed because item `index`'s condition did not hold (`only`: and nothing else failed)."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons") or []
    if reasons:
        failed = [i for i, reason in enumerate(reasons) if reason.get("Code") not in (None, "None")]
        return index in failed and reasons[index].get("Code") == "ConditionalCheckFailed" and (not only or failed == [index])
    return not only and "ConditionalCheckFailed" in str(exc)


# Every request is built by serialize() from typed models, so botocore's client-side check of each parameter against the
# API model repeats what DynamoDB checks anyway; it was a third of the export chunk's own CPU (bench/export_speed.py).
# DynamoDB still refuses a malformed request (ValidationException), so nothing unchecked is stored.
CLIENT_CONFIG = Config(parameter_validation=False)


def dynamodb_client() -> Any:
    """The DynamoDB client every function uses (honours AWS_ENDPOINT_URL locally), without botocore's duplicate checks."""
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


# Unprocessed items of a batch request mean throttling: AWS asks for exponential back-off before resending them, never a
# tight loop. After this many resends the step fails, and its caller's retry (Lambda's, Step Functions') takes over.
UNPROCESSED_RETRIES = 8
BACK_OFF_BASE_SECONDS = 0.05
BACK_OFF_CAP_SECONDS = 5.0


class UnprocessedAfterRetries(Exception):
    """DynamoDB kept leaving part of a batch request unprocessed (sustained throttling): the caller retries later."""


def _back_off(attempt: int) -> None:
    """Sleep before resending unprocessed items: full jitter on an exponential step (AWS's recommended back-off)."""
    time.sleep(random.uniform(0, min(BACK_OFF_CAP_SECONDS, BACK_OFF_BASE_SECONDS * 2**attempt)))  # noqa: S311 (jitter, not a secret)


class Table:
    """The client and the request helpers every record type shares."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client, created on first use (honours AWS_ENDPOINT_URL locally)."""
        if self._client is None:
            self._client = dynamodb_client()
        return self._client

    # -- plumbing ---------------------------------------------------------------------------------------
    def _write_if(self, operation: str, **request: Any) -> bool:
        """One conditional write (put_item, update_item or delete_item); False when its condition did not hold."""
        try:
            getattr(self.client, operation)(TableName=self.table_name, **request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _take_lease(self, item: dict[str, Any], run_id: str, now: datetime, renew: bool) -> dict[str, Any] | None:
        """Put a lease item if no lease is held, or it expired (renewing: or it is `run_id`'s); None, or the holder's item.

        The item carries `run_id` and `expires_at` (epoch seconds), which the condition reads.
        """
        condition = "attribute_not_exists(PK) OR expires_at < :now"
        values: dict[str, Any] = {":now": epoch_seconds(now)}
        if renew:  # a run's own steps and retries never lose its lease to itself
            condition += " OR run_id = :run"
            values[":run"] = run_id
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=serialize(item),
                ConditionExpression=condition,
                ExpressionAttributeValues=serialize(values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            if exc.response.get("Item"):
                return deserialize(exc.response["Item"])
            # Only an existing lease fails the condition; read it when the answer did not carry it.
            key = serialize({"PK": item["PK"], "SK": item["SK"]})
            held = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
            return deserialize(held) if held else self._take_lease(item, run_id, now, renew)
        return None

    def _day_page(
        self, partition: str, start: datetime, end: datetime, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a GSI2 day partition's entries within [start, end) after `cursor` (keys only), and the next cursor."""
        low, high = keys.day_index_range(start, end)
        request: dict[str, Any] = {
            "IndexName": "GSI2",
            "KeyConditionExpression": "GSI2PK = :pk AND GSI2SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": serialize({":pk": partition, ":low": low, ":high": high}),
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = json.loads(cursor)
        page = self.client.query(TableName=self.table_name, **request)
        last = page.get("LastEvaluatedKey")
        return [deserialize(i) for i in page.get("Items", [])], json.dumps(last, sort_keys=True) if last else None

    def _query(self, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self._query_pages(**kwargs):
            items += page
            if limit and len(items) >= limit:
                return items[:limit]
        return items

    def _query_pages(self, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        """One Query's pages as DynamoDB returns them (1 MB or `Limit` items each), deserialized; empty pages skipped."""
        while True:
            page = self.client.query(TableName=self.table_name, **kwargs)
            if page.get("Items"):
                yield [deserialize(i) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_write(self, items: Sequence[dict[str, Any]]) -> None:
        """BatchWriteItem in pages of 25, resending unprocessed items with back-off (UnprocessedAfterRetries if they stay)."""
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            request = {self.table_name: [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + BATCH_WRITE_LIMIT]]}
            for attempt in range(UNPROCESSED_RETRIES + 1):
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
                if attempt < UNPROCESSED_RETRIES:
                    _back_off(attempt)
            else:
                raise UnprocessedAfterRetries(f"DynamoDB left writes unprocessed after {UNPROCESSED_RETRIES} retries")

    def _batch_get(self, wanted: Sequence[dict[str, str]], consistent: bool = False) -> dict[str, dict[str, Any]]:
        """BatchGetItem with de-duplicated keys, chunked by 100, re-asking unprocessed keys with back-off."""
        unique = list({key_id(k): k for k in wanted}.values())
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            keys_page = [serialize(k) for k in unique[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys_page, "ConsistentRead": consistent}}
            for attempt in range(UNPROCESSED_RETRIES + 1):
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    plain = deserialize(item)
                    found[key_id(plain)] = plain
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                if attempt < UNPROCESSED_RETRIES:
                    _back_off(attempt)
            else:
                raise UnprocessedAfterRetries(f"DynamoDB left keys unprocessed after {UNPROCESSED_RETRIES} retries")
        return found

    def _locked_put(self, item: dict[str, Any], revision: int | None) -> dict[str, Any]:
        """A transaction Put that only succeeds when the item is still at the revision we read."""
        condition, values = revision_condition(revision)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": serialize(item), "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = serialize(values)
        return {"Put": put}

    def _transact_releasing(self, writes: list[dict[str, Any]]) -> None:
        """Run a transaction whose last write may release an old claim; if only that release failed, run the rest.

        The release is conditional on the claim still being ours: when an earlier order has taken it over meanwhile,
        there is nothing of ours to release and the rest of the transaction must still happen.
        """
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if "Delete" not in writes[-1] or not cancelled_by_condition(exc, index=len(writes) - 1, only=True):
                raise
            self.client.transact_write_items(TransactItems=writes[:-1])
