"""A DynamoDB stream pump: Lambda's event source mapping (filters, batches, partial failures, retries) done locally."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("ordertrail_local.streams")

Deliver = Callable[[dict[str, Any]], Any]


# ------------------------------------------------------------------------------------------------ filtering
def _matches_value(rule: Any, value: Any, present: bool) -> bool:
    """One element of a pattern's value list against one record value (the subset of Lambda's filter rules we use)."""
    if isinstance(rule, dict):
        if "exists" in rule:
            return bool(rule["exists"]) == present
        if not present:
            return False
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(str(rule["prefix"]))
        if "suffix" in rule:
            return isinstance(value, str) and value.endswith(str(rule["suffix"]))
        if "equals-ignore-case" in rule:
            return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            return value not in (excluded if isinstance(excluded, list) else [excluded])
        raise ValueError(f"unsupported filter rule {rule!r}")
    return present and value == rule


def matches_pattern(pattern: dict[str, Any], record: Any) -> bool:
    """True when the record satisfies every key of the pattern (nested objects recurse; lists are OR)."""
    if not isinstance(record, dict):
        return False
    for key, rule in pattern.items():
        present = key in record
        value = record.get(key)
        if isinstance(rule, dict):
            if not present or not matches_pattern(rule, value):
                return False
        elif isinstance(rule, list):
            # A record value that is itself a list matches when any of its elements does.
            candidates = value if isinstance(value, list) else [value]
            if not any(_matches_value(r, v, present) for r in rule for v in candidates):
                return False
        else:
            raise ValueError(f"filter pattern values must be objects or lists, got {rule!r} at {key!r}")
    return True


def matches_filters(filters: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Lambda event filtering: no filters passes everything, else any one pattern must match."""
    return not filters or any(matches_pattern(pattern, record) for pattern in filters)


# ------------------------------------------------------------------------------------------------ records
def _lambda_attribute_values(value: Any) -> Any:
    """boto3 hands binary attributes back as bytes; Lambda's event carries them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _lambda_attribute_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_attribute_values(v) for v in value]
    if isinstance(value, set | frozenset):
        return [_lambda_attribute_values(v) for v in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda puts it in the DynamoDB event (eventSourceARN added, JSON-safe values)."""
    dynamodb = dict(record.get("dynamodb") or {})
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    out = {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "dynamodb": _lambda_attribute_values(dynamodb),
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        out["userIdentity"] = record["userIdentity"]
    return out


# ------------------------------------------------------------------------------------------------ the pump
@dataclass
class StreamSource:
    """How template.yaml wires the stream to the function (the event source mapping's settings)."""

    filters: list[dict[str, Any]] = field(default_factory=list)
    batch_size: int = 25
    maximum_retry_attempts: int = 5
    bisect_on_error: bool = True
    report_batch_item_failures: bool = True


def stream_source(template: dict[str, Any], function: str = "AttributeFunction") -> StreamSource:
    """Read the function's DynamoDB event from template.yaml (filters come from template.stream_filters)."""
    from ordertrail_local.template import stream_filters

    events = (((template.get("Resources") or {}).get(function) or {}).get("Properties") or {}).get("Events") or {}
    props = next(((e.get("Properties") or {}) for e in events.values() if e.get("Type") == "DynamoDB"), {})
    retries = props.get("MaximumRetryAttempts", -1)
    return StreamSource(
        filters=stream_filters(template, function),
        batch_size=int(props.get("BatchSize", 100)),
        # -1 (the default) means "until the record expires" on AWS; locally that would never end.
        maximum_retry_attempts=int(retries) if int(retries) >= 0 else 10,
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
    )


@dataclass
class DeadLetter:
    """A batch given up on after its retries (on AWS: the on-failure destination's message)."""

    records: list[dict[str, Any]]
    reason: str
    attempts: int


class _FunctionError(Exception):
    """The whole batch failed (the handler raised, or its response said so)."""


class StreamPump:
    """Reads the table's stream and delivers filtered batches to a handler like Lambda's event source mapping."""

    def __init__(
        self, client: Any, stream_arn: str, deliver: Deliver, source: StreamSource | None = None, region: str = "us-east-1"
    ) -> None:
        self.client = client
        self.stream_arn = stream_arn
        self.deliver = deliver
        self.source = source or StreamSource()
        self.region = region
        self.dead_letters: list[DeadLetter] = []
        self.delivered = 0
        self.filtered_out = 0
        self._positions: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading ---------------------------------------------------------------------------------------
    def _shards(self) -> list[str]:
        """Shard ids of the stream (moto keeps one; real streams split over time)."""
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards") or []]

    def _read(self, shard_id: str) -> list[dict[str, Any]]:
        """Every record after this shard's position (TRIM_HORIZON the first time)."""
        position = self._positions.get(shard_id)
        args: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        if position is None:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=position)
        iterator = self.client.get_shard_iterator(**args)["ShardIterator"]
        records: list[dict[str, Any]] = []
        while iterator:
            page = self.client.get_records(ShardIterator=iterator, Limit=1000)
            if not page.get("Records"):
                break
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator")
        return records

    # -- delivering ------------------------------------------------------------------------------------
    def poll_once(self) -> int:
        """Read what is new on every shard and deliver it; return how many stream records were read."""
        with self._lock:
            seen = 0
            for shard_id in self._shards():
                records = self._read(shard_id)
                seen += len(records)
                if not records:
                    continue
                wanted = [lambda_record(r, self.stream_arn, self.region) for r in records]
                wanted = [r for r in wanted if matches_filters(self.source.filters, r)]
                self.filtered_out += len(records) - len(wanted)
                for start in range(0, len(wanted), self.source.batch_size):
                    self._process(wanted[start : start + self.source.batch_size], attempts=0)
                # Filtered-out records are consumed too: Lambda advances past them without invoking.
                self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            return seen

    def drain(self, max_rounds: int = 100) -> int:
        """Deliver until a pass finds no new records (the handler's own writes included); return records read."""
        total = 0
        for _ in range(max_rounds):
            seen = self.poll_once()
            total += seen
            if seen == 0:
                return total
        log.warning("stream still busy after %d passes: is the function re-triggering itself?", max_rounds)
        return total

    def _invoke(self, batch: list[dict[str, Any]]) -> int | None:
        """Deliver one batch; None on success, else the index to retry from. Raises _FunctionError on total failure."""
        try:
            result = self.deliver({"Records": batch})
        except Exception as exc:
            raise _FunctionError(f"{type(exc).__name__}: {exc}") from exc
        self.delivered += len(batch)
        if not self.source.report_batch_item_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures")
        if not failures:
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in sequence:
                # Lambda treats an empty or unknown identifier as a failure of the whole batch.
                raise _FunctionError(f"batchItemFailures names an unknown record {identifier!r}")
            indexes.append(sequence.index(identifier))
        return min(indexes)

    def _process(self, batch: list[dict[str, Any]], attempts: int) -> None:
        """Deliver a batch with Lambda's retry rules: resume from the first failed record, bisect on errors."""
        while batch:
            try:
                failed_at = self._invoke(batch)
                reason = "batchItemFailures"
            except _FunctionError as exc:
                if self.source.bisect_on_error and len(batch) > 1:
                    # Bisecting does not use up a retry on AWS either; each half keeps the count so far.
                    middle = len(batch) // 2
                    self._process(batch[:middle], attempts)
                    self._process(batch[middle:], attempts)
                    return
                failed_at, reason = 0, str(exc)
            if failed_at is None:
                return
            batch = batch[failed_at:]
            attempts += 1
            if attempts > self.source.maximum_retry_attempts:
                ids = [r["dynamodb"]["SequenceNumber"] for r in batch]
                log.error("dropping %d stream record(s) after %d retries (%s): %s", len(batch), attempts - 1, reason, ids)
                self.dead_letters.append(DeadLetter(records=batch, reason=reason, attempts=attempts))
                return

    # -- background mode -------------------------------------------------------------------------------
    def start(self, interval: float = 0.25) -> None:
        """Poll in a daemon thread (for `serve`), like the event source mapping does on AWS."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.drain()
                except Exception:  # keep polling: a broken moment must not end the local stack's stream
                    log.exception("stream pump pass failed")
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="stream-pump", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread, if running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
