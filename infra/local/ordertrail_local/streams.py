"""A DynamoDB stream pump: Lambda's event source mapping (filters, batches, partial failures, retries) done locally."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("ordertrail_local.streams")

Deliver = Callable[[dict[str, Any]], Any]
# GetRecords returns at most 1,000 records per call.
PAGE_SIZE = 1000


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
            # An absent object is matched as an empty one, so a nested `{"exists": false}` holds (as Lambda's does).
            if not matches_pattern(rule, value if present else {}):
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
        # The stack's region: DynamoDB Local writes "ddblocal" here, which no Lambda would ever see.
        "awsRegion": region,
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
    # MaximumBatchingWindowInSeconds: how long Lambda may gather records before it invokes (0: at once).
    batching_window: float = 0.0


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
        batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
    )


@dataclass
class DeadLetter:
    """A batch given up on after its retries (on AWS: the on-failure destination's message)."""

    records: list[dict[str, Any]]
    reason: str
    attempts: int


class _FunctionError(Exception):
    """The whole batch failed (the handler raised, or its response said so)."""


class _Stopped(Exception):
    """stop() came while a batch was failing: it is left in the stream, neither retried nor dead-lettered."""


class RequestTraffic:
    """The served API's requests in flight, so that the background stream pump lets them go first.

    On AWS the stream's consumer runs on its own Lambdas and DynamoDB serves both; locally one machine's cores (and moto's
    one interpreter lock) serve the HTTP API, the stream's function and the table, so a stream batch being attributed
    slowed every webhook answer down. The pump waits, before each batch, until no request has been in flight for
    `quiet` seconds, but never longer than `longest_wait` (the served stack uses the mapping's batching window, so a
    batch is never later than Lambda itself may deliver it): under a steady load the stream still moves at least one
    batch per `longest_wait`, and the work it has to do is the same (the end-to-end rate does not change).
    """

    def __init__(self, quiet: float = 0.05, longest_wait: float = 1.0) -> None:
        self.quiet = quiet
        self.longest_wait = longest_wait
        self._in_flight = 0
        self._last_end = 0.0
        self._changed = threading.Condition()

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Count one request as in flight while the block runs."""
        with self._changed:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._last_end = time.monotonic()
                self._changed.notify_all()

    def wait_for_quiet(self, stop: threading.Event) -> None:
        """Return once no request was in flight for `quiet` seconds, after `longest_wait` at most, or when told to stop."""
        deadline = time.monotonic() + self.longest_wait
        with self._changed:
            while not stop.is_set():
                now = time.monotonic()
                if now >= deadline:
                    return
                if self._in_flight == 0:
                    quiet_for = now - self._last_end
                    if quiet_for >= self.quiet:
                        return
                    self._changed.wait(min(self.quiet - quiet_for, deadline - now))
                else:
                    self._changed.wait(deadline - now)


class StreamPump:
    """Reads the table's stream and delivers filtered batches to a handler like Lambda's event source mapping.

    One pass at a time holds the lock (two pollers must not deliver the same records twice); nothing else takes it, so
    serving requests never waits for the stream. A pass reads a page of records at a time and checks the stop flag
    between batches: stop() returns within about one batch's delivery however far behind the stream is.
    """

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
        # When the latest pass that found nothing new began (monotonic); wait_idle() waits for one begun after its call.
        self._idle = threading.Condition()
        self._empty_pass_began = -1.0
        self._delivering = False
        # Set by the served stack: each batch waits for a quiet moment of the HTTP API (RequestTraffic).
        self.traffic: RequestTraffic | None = None

    @property
    def busy(self) -> bool:
        """True while records are being delivered to the function."""
        return self._delivering

    # -- reading ---------------------------------------------------------------------------------------
    def _shards(self) -> list[str]:
        """Shard ids of the stream, parents first (moto keeps one; DynamoDB Local and AWS roll shards over)."""
        shards: list[str] = []
        args: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.client.describe_stream(**args)["StreamDescription"]
            shards += [shard["ShardId"] for shard in description.get("Shards") or []]
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            args["ExclusiveStartShardId"] = last

    def _pages(self, shard_id: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of the records after this shard's position (TRIM_HORIZON the first time), until one comes back empty."""
        position = self._positions.get(shard_id)
        args: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        if position is None:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=position)
        iterator = self.client.get_shard_iterator(**args)["ShardIterator"]
        while iterator:
            page = self.client.get_records(ShardIterator=iterator, Limit=PAGE_SIZE)
            if not page.get("Records"):
                return
            yield page["Records"]
            iterator = page.get("NextShardIterator")

    # -- delivering ------------------------------------------------------------------------------------
    def poll_once(self) -> int:
        """Read what is new on every shard and deliver it; return how many stream records were read."""
        with self._lock:
            began = time.monotonic()
            seen = 0
            for shard_id in self._shards():
                for records in self._pages(shard_id):
                    seen += len(records)
                    if not self._deliver_page(shard_id, records):
                        return seen  # stopping: the rest stays in the stream
            if seen == 0:
                with self._idle:
                    self._empty_pass_began = began
                    self._idle.notify_all()
            return seen

    def _deliver_page(self, shard_id: str, records: list[dict[str, Any]]) -> bool:
        """Deliver one page batch by batch and move the shard's position past it; False when stop() came first."""
        wanted = [(index, lambda_record(r, self.stream_arn, self.region)) for index, r in enumerate(records)]
        wanted = [(index, r) for index, r in wanted if matches_filters(self.source.filters, r)]
        for start in range(0, len(wanted), self.source.batch_size):
            if self.traffic is not None:
                self.traffic.wait_for_quiet(self._stop)
            if self._stop.is_set():
                self._stop_before(shard_id, records, wanted[start][0])
                return False
            self._delivering = True
            try:
                self._process([r for _, r in wanted[start : start + self.source.batch_size]], attempts=0)
            except _Stopped:
                self._stop_before(shard_id, records, wanted[start][0])
                return False
            finally:
                self._delivering = False
        self.filtered_out += len(records) - len(wanted)
        # Filtered-out records are consumed too: Lambda advances past them without invoking.
        self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        return True

    def _stop_before(self, shard_id: str, records: list[dict[str, Any]], first_left: int) -> None:
        """Stopping: advance only past what was delivered (and the filtered-out records before it)."""
        if first_left:
            self._positions[shard_id] = records[first_left - 1]["dynamodb"]["SequenceNumber"]

    def drain(self, max_rounds: int = 100) -> int:
        """Deliver until a pass finds no new records (the handler's own writes included); return records read."""
        total = 0
        for _ in range(max_rounds):
            if self._stop.is_set():
                return total
            seen = self.poll_once()
            total += seen
            if seen == 0:
                return total
        log.warning("stream still busy after %d passes: is the function re-triggering itself?", max_rounds)
        return total

    def wait_idle(self, timeout: float = 600.0) -> bool:
        """Wait until everything written before this call was delivered (a pass begun after it found nothing new).

        With the background thread running this only waits (a condition, no polling of our own); without it, it drains.
        False when the limit passed first.
        """
        called = time.monotonic()
        if self._thread is None:
            self.drain()
            return True
        with self._idle:
            self._idle.wait_for(lambda: self._empty_pass_began >= called or self._stop.is_set(), timeout=timeout)
            return self._empty_pass_began >= called

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
                if self._stop.is_set():  # e.g. the function's process was shut down under it
                    raise _Stopped from exc
                if self.source.bisect_on_error and len(batch) > 1:
                    # Bisecting does not use up a retry on AWS either; each half keeps the count so far.
                    middle = len(batch) // 2
                    self._process(batch[:middle], attempts)
                    self._process(batch[middle:], attempts)
                    return
                failed_at, reason = 0, str(exc)
            if failed_at is None:
                return
            if self._stop.is_set():
                raise _Stopped
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

    def request_stop(self) -> None:
        """Tell the background thread to stop after the batch in hand (returns at once; stop() waits)."""
        self._stop.set()
        with self._idle:
            self._idle.notify_all()

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop the background thread: it finishes the batch in hand at most; False when it outlived the timeout.

        The thread is a daemon, so a pump stuck in a long batch can never keep the process from exiting.
        """
        self.request_stop()
        thread, self._thread = self._thread, None
        if thread is None:
            self._stop.clear()
            return True
        thread.join(timeout=timeout)
        if thread.is_alive():
            log.warning("stream pump still delivering a batch after %.0f s; leaving it (daemon thread)", timeout)
            return False
        self._stop.clear()  # a later drain() (in-process, synchronous) delivers again
        return True
