"""Order hints in the table: a store's notification is stored first, then its order is fetched until that succeeds.

A hint is `due` (the stream wakes FetchOrderFunction for it) or `waiting` (its last fetch failed). Every pending hint
sits in GSI1 under `HINTS#WAITING` by its next attempt: a waiting one's back-off, a due one's deadline
(UNFETCHED_RETRY), so the retry schedule also catches a due hint whose stream record was never processed (a batch in
the dead-letter queue). A fetched hint is deleted. Every write that makes a hint due bumps its `version`, and an
outcome is written only for the version it is about, so a notification that arrives during a fetch is never lost
(see docs/operations.md#order-hints).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ordertrail.storage import keys
from ordertrail.storage.table import Table, deserialize, serialize, tenant_of

HINT_TYPE = "hint"
DUE = "due"
WAITING = "waiting"
# A due hint not fetched by then (its stream record failed for good) is made due again by the retry schedule.
UNFETCHED_RETRY = timedelta(minutes=15)
# Longest error text kept on a hint (the reason a seller or operator reads, not a stack trace).
ERROR_CHARS = 500


@dataclass(frozen=True)
class OrderHint:
    """One stored hint: which order to fetch, how often it failed and why."""

    tenant: str
    source: str
    order_id: str
    version: int
    status: str
    attempts: int = 0
    notified_at: str = ""
    first_notified_at: str = ""
    next_attempt_at: str | None = None
    last_error: str | None = None


def hint_of(item: dict[str, Any]) -> OrderHint:
    """The hint an item (or a stream record's new image, deserialised) holds."""
    return OrderHint(
        tenant=tenant_of(str(item["PK"])),
        source=str(item["source"]),
        order_id=str(item["order_id"]),
        version=int(item.get("version", 0)),
        status=str(item.get("status", DUE)),
        attempts=int(item.get("attempts", 0)),
        notified_at=str(item.get("notified_at", "")),
        first_notified_at=str(item.get("first_notified_at", "")),
        next_attempt_at=item.get("next_attempt_at"),
        last_error=item.get("last_error"),
    )


class HintRecords(Table):
    """Order hints: record, fetch outcome, retry, and what is still pending."""

    def record_hint(self, tenant: str, source: str, order_id: str, notification_id: str, at: datetime) -> None:
        """Store (or refresh) the hint that an order changed, due for a fetch now: one UpdateItem."""
        retry = keys.waiting_hint_gsi(tenant, at + UNFETCHED_RETRY, source, order_id)
        self.client.update_item(
            TableName=self.table_name,
            Key=serialize(keys.hint_key(tenant, source, order_id)),
            UpdateExpression=(
                "SET #type = :type, #source = :source, order_id = :order, #status = :due, notification_id = :note, "
                "notified_at = :at, first_notified_at = if_not_exists(first_notified_at, :at), "
                "attempts = if_not_exists(attempts, :zero), version = if_not_exists(version, :zero) + :one, "
                "next_attempt_at = :next, GSI1PK = :gsi_pk, GSI1SK = :gsi_sk"
            ),
            ExpressionAttributeNames={"#type": "type", "#source": "source", "#status": "status"},
            ExpressionAttributeValues=serialize(
                {
                    ":type": HINT_TYPE,
                    ":source": source,
                    ":order": order_id,
                    ":due": DUE,
                    ":note": notification_id,
                    ":at": keys.iso(at),
                    ":zero": 0,
                    ":one": 1,
                    ":next": keys.iso(at + UNFETCHED_RETRY),
                    ":gsi_pk": retry["GSI1PK"],
                    ":gsi_sk": retry["GSI1SK"],
                }
            ),
        )

    def get_hint(self, tenant: str, source: str, order_id: str) -> OrderHint | None:
        """One hint, read consistently (None once its order was fetched)."""
        item = self.client.get_item(
            TableName=self.table_name, Key=serialize(keys.hint_key(tenant, source, order_id)), ConsistentRead=True
        ).get("Item")
        return hint_of(deserialize(item)) if item else None

    def hint_done(self, hint: OrderHint) -> bool:
        """Delete the hint its fetch completed, unless a newer notification made it due again meanwhile (then False)."""
        return self._write_if(
            "delete_item",
            Key=serialize(keys.hint_key(hint.tenant, hint.source, hint.order_id)),
            ConditionExpression="version = :version",
            ExpressionAttributeValues=serialize({":version": hint.version}),
        )

    def hint_failed(self, hint: OrderHint, error: str, next_attempt_at: datetime) -> bool:
        """Record a failed fetch: the hint waits (in GSI1) for its next attempt; False when a newer version took over."""
        waiting = keys.waiting_hint_gsi(hint.tenant, next_attempt_at, hint.source, hint.order_id)
        return self._write_if(
            "update_item",
            Key=serialize(keys.hint_key(hint.tenant, hint.source, hint.order_id)),
            UpdateExpression=(
                "SET #status = :waiting, attempts = attempts + :one, last_error = :error, next_attempt_at = :next, "
                "GSI1PK = :gsi_pk, GSI1SK = :gsi_sk"
            ),
            ConditionExpression="version = :version",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=serialize(
                {
                    ":waiting": WAITING,
                    ":one": 1,
                    ":error": error[:ERROR_CHARS],
                    ":next": keys.iso(next_attempt_at),
                    ":version": hint.version,
                    ":gsi_pk": waiting["GSI1PK"],
                    ":gsi_sk": waiting["GSI1SK"],
                }
            ),
        )

    def wake_hint(self, hint: OrderHint, now: datetime) -> bool:
        """Make a pending hint due again (the stream then fetches it); False when it changed since it was read."""
        retry = keys.waiting_hint_gsi(hint.tenant, now + UNFETCHED_RETRY, hint.source, hint.order_id)
        return self._write_if(
            "update_item",
            Key=serialize(keys.hint_key(hint.tenant, hint.source, hint.order_id)),
            UpdateExpression=("SET #status = :due, version = version + :one, next_attempt_at = :next, GSI1PK = :gsi_pk, GSI1SK = :gsi_sk"),
            ConditionExpression="version = :version",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=serialize(
                {
                    ":due": DUE,
                    ":one": 1,
                    ":version": hint.version,
                    ":next": keys.iso(now + UNFETCHED_RETRY),
                    ":gsi_pk": retry["GSI1PK"],
                    ":gsi_sk": retry["GSI1SK"],
                }
            ),
        )

    def due_hints(self, now: datetime, limit: int) -> list[OrderHint]:
        """Pending hints of every tenant whose next attempt is at or before now, soonest first: one GSI1 Query (paged)."""
        items = self._query(
            limit=limit,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK <= :until",
            ExpressionAttributeValues=serialize({":pk": keys.WAITING_HINTS, ":until": f"{keys.iso(now)}#\uffff"}),
        )
        return [hint_of(item) for item in items]

    def pending_hints(self, tenant: str, limit: int | None = None) -> list[OrderHint]:
        """The tenant's hints still to fetch (due or waiting), in order-reference order: one Query (paged)."""
        items = self._query(
            limit=limit,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=serialize({":pk": keys.hints_pk(tenant)}),
            ConsistentRead=True,
        )
        return [hint_of(item) for item in items]

    def wake_pending_hints(self, tenant: str, now: datetime) -> int:
        """Make every pending hint of the tenant due now (after its token was fixed); returns how many were woken."""
        return sum(self.wake_hint(hint, now) for hint in self.pending_hints(tenant))
