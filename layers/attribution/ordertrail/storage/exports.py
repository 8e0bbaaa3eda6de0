"""The conversion export's records: the event ledger, the watermark, the lease, runs and their chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from ordertrail.core import refs
from ordertrail.storage import keys
from ordertrail.storage.table import Table, deserialize, epoch_seconds, model_json, packed, serialize, unpacked

if TYPE_CHECKING:
    from ordertrail.core.export_runs import ChunkRecord, EventResult, ExportLease, ExportRun

# Export audit is kept for 400 days: long enough to answer "what did we send last year?".
AUDIT_TTL = timedelta(days=400)


class ExportRecords(Table):
    """The conversion export's records."""

    def accepted_event_ids(self, tenant: str, event_ids: Sequence[str]) -> frozenset[str]:
        """Which of these event ids TikTok already accepted (BatchGetItem)."""
        return frozenset(self.accepted_events(tenant, event_ids))

    def accepted_events(self, tenant: str, event_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Of these event ids, those TikTok already accepted, each with the run and the order (`source#id`) that sent it."""
        items = self._batch_get([keys.event_ledger_key(tenant, e) for e in event_ids])
        return {
            item["event_id"]: (str(item.get("run_id", "")), str(item.get("order", "")))
            for item in items.values()
            if item.get("outcome") == "accepted"
        }

    def first_conversions(self, tenant: str, users: Sequence[str]) -> dict[str, str]:
        """The order (`source#id`) recorded as each user's first conversion, for those that have one (BatchGetItem)."""
        items = self._batch_get([keys.first_conversion_key(tenant, u) for u in users])
        return {item["user"]: item["order"] for item in items.values()}

    def record_results(self, tenant: str, run_id: str, results: Sequence[EventResult], first_claims: dict[str, str]) -> None:
        """Store the results in the run (packed, a request's worth an item), each sent event id's outcome, and new first claims."""
        items: list[dict[str, Any]] = []
        by_chunk: dict[int, list[EventResult]] = {}
        for result in results:
            by_chunk.setdefault(result.chunk, []).append(result)
        for chunk, group in by_chunk.items():
            items += self._result_items(tenant, run_id, chunk, group)
        for result in results:
            if result.event_id and result.outcome != "skipped":
                items.append(
                    {
                        **keys.event_ledger_key(tenant, result.event_id),
                        "type": "export_ledger",
                        "event_id": result.event_id,
                        "outcome": result.outcome,
                        "run_id": run_id,
                        "order": refs.order_ref(result.source, result.order_id),
                        "ttl": epoch_seconds(result.at + AUDIT_TTL),
                    }
                )
        items += [
            {**keys.first_conversion_key(tenant, user), "type": "export_first", "user": user, "order": order}
            for user, order in first_claims.items()
        ]
        self._batch_write(items)

    def _result_items(self, tenant: str, run_id: str, chunk: int, results: list[EventResult]) -> list[dict[str, Any]]:
        """The results of one chunk as packed items, halved until each fits well inside DynamoDB's 400 KB."""
        # One item per request's worth instead of one per result: a thousand results bill about 60 write units, not 1,000,
        # and cost one BatchWriteItem entry (docs/decisions/2026-12-02-write-costs.md).
        data = packed(_results_adapter().dump_json(results, exclude_none=True).decode())
        if len(data) > MAX_PACKED_RESULTS_BYTES and len(results) > 1:
            half = len(results) // 2
            return self._result_items(tenant, run_id, chunk, results[:half]) + self._result_items(tenant, run_id, chunk, results[half:])
        first = results[0]
        return [
            {
                **keys.run_results_key(tenant, run_id, chunk, first.event_id or "", refs.order_ref(first.source, first.order_id)),
                "type": "export_results",
                "count": len(results),
                "data": data,
                "ttl": epoch_seconds(first.at + AUDIT_TTL),
            }
        ]

    def get_watermark(self, tenant: str) -> datetime | None:
        """Where the tenant's export last fully succeeded up to."""
        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.watermark_key(tenant))).get("Item")
        return datetime.fromisoformat(deserialize(item)["at"]) if item else None

    def advance_watermark(self, tenant: str, at: datetime) -> bool:
        """Move the watermark forward to `at` (never back); False when it already was there or later."""
        return self._write_if(
            "put_item",
            Item=serialize({**keys.watermark_key(tenant), "type": "watermark", "at": keys.iso(at)}),
            ConditionExpression="attribute_not_exists(PK) OR #at < :at",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues=serialize({":at": keys.iso(at)}),
        )

    def take_export_lease(self, tenant: str, lease: ExportLease, now: datetime, renew: bool = False) -> ExportLease | None:
        """Take the tenant's export lease if free or expired (renewing: or already this run's); None, or the holder's lease."""
        # Here, not at the top: only the export and reports functions read export runs; the others skip these models.
        from ordertrail.core.export_runs import ExportLease

        item = {
            **keys.export_lease_key(tenant),
            "type": "export_lease",
            "run_id": lease.run_id,
            "expires_at": epoch_seconds(lease.expires_at),
            "data": model_json(lease),
            "ttl": epoch_seconds(lease.expires_at),  # DynamoDB's TTL only tidies up: the condition decides expiry
        }
        held = self._take_lease(item, lease.run_id, now, renew)
        return ExportLease.model_validate_json(held["data"]) if held is not None else None

    def get_export_lease(self, tenant: str) -> ExportLease | None:
        """The tenant's export lease as stored (it may have expired)."""
        from ordertrail.core.export_runs import ExportLease  # on first use (see above)

        key = serialize(keys.export_lease_key(tenant))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return ExportLease.model_validate_json(deserialize(item)["data"]) if item else None

    def release_export_lease(self, tenant: str, run_id: str) -> bool:
        """Delete the tenant's export lease if `run_id` holds it; False when another run (or none) does."""
        return self._write_if(
            "delete_item",
            Key=serialize(keys.export_lease_key(tenant)),
            ConditionExpression="run_id = :run",
            ExpressionAttributeValues=serialize({":run": run_id}),
        )

    def create_run(self, run: ExportRun) -> bool:
        """Store a new run; False when a run with this id exists (a repeated schedule or request starts nothing twice)."""
        item = {
            **keys.run_key(run.tenant, run.run_id),
            "type": "export_run",
            "data": model_json(run),
            "ttl": epoch_seconds(run.created_at + AUDIT_TTL),
        }
        return self._write_if("put_item", Item=serialize(item), ConditionExpression="attribute_not_exists(PK)")

    def save_run(self, run: ExportRun) -> None:
        """Replace a run's record (status, range, error)."""
        item = {
            **keys.run_key(run.tenant, run.run_id),
            "type": "export_run",
            "data": model_json(run),
            "ttl": epoch_seconds(run.created_at + AUDIT_TTL),
        }
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def get_run(self, tenant: str, run_id: str) -> ExportRun | None:
        """One run's record."""
        from ordertrail.core.export_runs import ExportRun  # on first use (see above)

        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.run_key(tenant, run_id))).get("Item")
        return ExportRun.model_validate_json(deserialize(item)["data"]) if item else None

    def save_chunk(self, tenant: str, run_id: str, chunk: ChunkRecord) -> None:
        """Record a chunk's outcome."""
        item = {
            **keys.chunk_key(tenant, run_id, chunk.index),
            "type": "export_chunk",
            "data": model_json(chunk),
            "ttl": epoch_seconds(chunk.finished_at + AUDIT_TTL),
        }
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def get_chunk(self, tenant: str, run_id: str, index: int) -> ChunkRecord | None:
        """A chunk's record as its last attempt left it (consistent: a Step Functions Retry follows it within seconds)."""
        from ordertrail.core.export_runs import ChunkRecord  # on first use (see above)

        item = self.client.get_item(
            TableName=self.table_name, Key=serialize(keys.chunk_key(tenant, run_id, index)), ConsistentRead=True
        ).get("Item")
        return ChunkRecord.model_validate_json(deserialize(item)["data"]) if item else None

    def run_chunks(self, tenant: str, run_id: str) -> list[ChunkRecord]:
        """A run's chunk records only (Finalize needs no per-event results): one Query on the CHUNK# prefix."""
        from ordertrail.core.export_runs import ChunkRecord  # on first use (see above)

        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :chunk)",
            ExpressionAttributeValues=serialize({":pk": keys.run_pk(tenant, run_id), ":chunk": "CHUNK#"}),
        )
        return [ChunkRecord.model_validate_json(i["data"]) for i in items]

    def run_contents(self, tenant: str, run_id: str) -> tuple[ExportRun | None, list[ChunkRecord], list[EventResult]]:
        """A run with its chunks and per-event results: one Query of the run's partition (paged)."""
        from ordertrail.core.export_runs import ChunkRecord, EventResult, ExportRun  # on first use (see above)

        items = self._query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues=serialize({":pk": keys.run_pk(tenant, run_id)}))
        run = next((ExportRun.model_validate_json(i["data"]) for i in items if i["SK"] == "RUN"), None)
        chunks = [ChunkRecord.model_validate_json(i["data"]) for i in items if i["SK"].startswith("CHUNK#")]
        results = [
            EventResult.model_validate_json(i["data"]) for i in items if i["SK"].startswith("EVENT#")
        ]  # one item each, before packing
        for item in items:
            if item["SK"].startswith("RESULTS#"):
                results += _results_adapter().validate_json(unpacked(item["data"]) or "[]")
        return run, chunks, latest_results(results)


# Packed results stay well inside DynamoDB's 400 KB item limit, with room for the key and the other attributes.
MAX_PACKED_RESULTS_BYTES = 300_000
# On equal times (one clock, two attempts) a later attempt can only have improved on an earlier one's result.
_OUTCOME_RANK = {"skipped": 0, "rejected": 1, "accepted": 2}


def latest_results(results: Sequence[EventResult]) -> list[EventResult]:
    """One result per chunk, event id and order: a retried chunk's later attempt stands over an earlier one's."""
    latest: dict[tuple[int, str, str, str], EventResult] = {}
    for result in results:
        key = (result.chunk, result.event_id or "", result.source, result.order_id)
        held = latest.get(key)
        if held is None or (result.at, _OUTCOME_RANK[result.outcome]) > (held.at, _OUTCOME_RANK[held.outcome]):
            latest[key] = result
    return [latest[key] for key in sorted(latest)]


@lru_cache(maxsize=1)
def _results_adapter() -> TypeAdapter[list[EventResult]]:
    """The (de)serializer of a packed list of results, built on first use (only the export and reports read runs)."""
    from ordertrail.core.export_runs import EventResult

    return TypeAdapter(list[EventResult])
