"""Touchpoints: storing each once with its counters, its lookup copies, conversations, and DMs that wait for their comment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from ordertrail.core.models import (
    AdClickTouchpoint,
    CommentTouchpoint,
    Conversation,
    CreatorClickTouchpoint,
    DmTouchpoint,
    FlowStepTouchpoint,
    Touchpoint,
)
from ordertrail.core.tenant_settings import AttributionSettings
from ordertrail.storage import keys
from ordertrail.storage.aggregates import AggregateRecords
from ordertrail.storage.table import (
    ATTEMPTS,
    TRANSACTION_LIMIT,
    ConcurrentChange,
    cancelled_by_condition,
    deserialize,
    epoch_seconds,
    key_id,
    model_json,
    serialize,
)
from ordertrail.tally import counters

TOUCHPOINT = TypeAdapter(Touchpoint)


# A DM waiting for its comment is one attribute of the comment's waiters item, named after its conversation, with
# the time zone its counts went to beside it.
WAITING_DM = "dm#"
WAITING_ZONE = "zone#"


@dataclass(frozen=True)
class CountedTouchpoint:
    """A touchpoint that counted engagement, the zone whose days its counts are on, and its index sort key (the condition)."""

    touchpoint: Touchpoint
    counted_in: str
    sort_key: str


@dataclass(frozen=True)
class EngagementPage:
    """One page of a UTC day's engagement touchpoints, and where the next page starts.

    `listed` counts the page; `elsewhere` are those counted in another zone than asked, and `comments` the comments of
    those that are DMs, by id (a comment not stored is absent).
    """

    listed: int
    elsewhere: list[CountedTouchpoint]
    comments: dict[str, CommentTouchpoint]
    cursor: str | None


class _CommentRaced(Exception):
    """A DM and its comment were stored at the same moment: the later of the two reads the other again."""


class TouchpointRecords(AggregateRecords):
    """Touchpoints."""

    # -- touchpoints ------------------------------------------------------------------------------------
    def put_touchpoint(self, tenant: str, touchpoint: Touchpoint, settings: AttributionSettings) -> bool:
        """Store a touchpoint once, with its counters and lookups; False when its id was already stored."""
        return self.put_touchpoints(tenant, [touchpoint], settings)[0]

    def put_touchpoints(self, tenant: str, touchpoints: Sequence[Touchpoint], settings: AttributionSettings) -> list[bool]:
        """Store each touchpoint once, with its counters and lookups; per touchpoint, False when its id was already stored.

        A DM whose comment has not arrived yet waits for it beside the comment's id; the comment, when it comes, completes
        each waiting conversation (post, keywords) and counts those DMs on the post, in its own transaction. The lookup
        and buyer copies of the whole batch follow in BatchWriteItems (one request per 25, not one PutItem per copy).
        """
        stored = [self._put_id_item(tenant, touchpoint, settings) for touchpoint in touchpoints]
        # The copies follow the id's item, never precede it: a redelivery with other fields must not leave a second copy.
        # A redelivery writes them again from what is stored, so a write interrupted between the two is completed.
        copied = [t if new else self.get_touchpoint(tenant, t.id, consistent=True) for t, new in zip(touchpoints, stored, strict=True)]
        self._put_copies(tenant, [t for t in copied if t is not None], settings)
        return stored

    def _put_id_item(self, tenant: str, touchpoint: Touchpoint, settings: AttributionSettings) -> bool:
        """The id's item and what changes exactly once with it, retried while a DM and its comment cross."""
        for _ in range(ATTEMPTS):
            try:
                return self._put_touchpoint_once(tenant, touchpoint, settings)
            except _CommentRaced:
                continue  # the DM and its comment crossed: read the other one again
        raise ConcurrentChange(f"touchpoint {touchpoint.id} kept racing with its comment or DM")

    def _put_touchpoint_once(self, tenant: str, touchpoint: Touchpoint, settings: AttributionSettings) -> bool:
        """Store the id's item with what must change with it exactly once (counters, conversation, markers); False if stored.

        One item alone is a conditional PutItem; more are one transaction (which DynamoDB bills twice per item, so the
        copies of the touchpoint are left out of it: docs/decisions/2026-12-02-write-costs.md). _CommentRaced when a DM
        and its comment were written at the same moment.
        """
        item = {**keys.touchpoint_key(tenant, touchpoint.id), **self._touchpoint_fields(touchpoint, settings)}
        # What it counts goes to the days of this zone: the day index says so, so a time-zone change can move it.
        index = keys.touchpoint_day_gsi(tenant, touchpoint.at, touchpoint.id, settings.time_zone)
        writes = [self._id_put({**item, **index} if counters.counts_engagement(touchpoint) else item)]
        conversation = None
        slot = None  # index of the write that hands over between a DM and its comment
        if isinstance(touchpoint, DmTouchpoint):
            conversation = self._conversation_for(tenant, touchpoint)
            writes.append(self._conversation_write(tenant, conversation, touchpoint.at, settings))
            if touchpoint.comment_id and conversation.comment_at is None:
                writes.append(self._wait_for_comment(tenant, touchpoint, settings))
                slot = len(writes)
                writes.append(self._comment_not_stored(tenant, touchpoint.comment_id))
        # Counted in the same transaction as the id's marker, so a touchpoint is counted exactly once.
        tally = counters.touchpoint_contribution(touchpoint, conversation, settings.time_zone)
        if isinstance(touchpoint, CommentTouchpoint):
            slot = len(writes)
            arrival, waiting = self._comment_arrival(tenant, touchpoint)
            writes.append(arrival)
            for dm, counted_in in waiting:
                bare = Conversation.started_by(dm)
                joined = bare.with_comment(touchpoint)
                writes.append(self._conversation_write(tenant, joined, dm.at, settings))
                # On the DM's days, in the zone the DM was counted in, so all a DM counts is on one zone's days.
                tally.merge(counters.late_comment_contribution(dm, bare, joined, counted_in or settings.time_zone))
        counted = self._counter_writes(tenant, tally.counts, tally.labels)
        marker = None
        if isinstance(touchpoint, FlowStepTouchpoint):
            # Users at a step are conversations: a second event for the same conversation and step is not another user.
            marker = len(writes)
            marker_key = keys.flow_step_marker_key(tenant, touchpoint.conversation_id, touchpoint.flow.id, touchpoint.step)
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": serialize(
                            {**marker_key, "type": "flow_step_marker", "ttl": epoch_seconds(touchpoint.at + settings.conversation_ttl)}
                        ),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        if len(writes) + len(counted) > TRANSACTION_LIMIT:
            raise ValueError(f"touchpoint {touchpoint.id} would change {len(writes) + len(counted)} items (limit {TRANSACTION_LIMIT})")
        if len(writes) + len(counted) == 1:
            return self._put_alone(writes[0]["Put"])
        try:
            self.client.transact_write_items(TransactItems=writes + counted)
        except ClientError as exc:
            if cancelled_by_condition(exc, index=0):
                return False
            if slot is not None and cancelled_by_condition(exc, index=slot, only=True):
                raise _CommentRaced from exc
            if marker is None or not cancelled_by_condition(exc, index=marker, only=True):
                raise
            # This conversation was already counted at this step: store the touchpoint, count nothing (and list it nowhere).
            writes[0] = self._id_put(item)
            if marker == 1:
                return self._put_alone(writes[0]["Put"])
            self.client.transact_write_items(TransactItems=writes[:marker])
        return True

    def _id_put(self, item: dict[str, Any]) -> dict[str, Any]:
        """The conditional Put of a touchpoint's by-id item (its de-duplication marker)."""
        return {"Put": {"TableName": self.table_name, "Item": serialize(item), "ConditionExpression": "attribute_not_exists(PK)"}}

    def _put_alone(self, put: dict[str, Any]) -> bool:
        """A conditional PutItem of the id's item by itself; False when the id was already stored."""
        try:
            self.client.put_item(**put)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _touchpoint_fields(self, touchpoint: Touchpoint, settings: AttributionSettings) -> dict[str, Any]:
        """What every stored copy of a touchpoint holds beside its key: type, kind, the data and its lookback TTL."""
        ttl = epoch_seconds(touchpoint.at + settings.ttl_for(touchpoint.kind))
        return {"type": "touchpoint", "kind": touchpoint.kind, "data": model_json(touchpoint), "ttl": ttl}

    def _put_copies(self, tenant: str, touchpoints: Sequence[Touchpoint], settings: AttributionSettings) -> None:
        """The lookup copies of every touchpoint, then their buyer-timeline copies (idempotent: same key, same content).

        The buyer copies come last, in requests of their own: a buyer copy's stream record wakes attribution, which must
        then find the click or token lookup, and BatchWriteItem applies the items of one request in no set order.
        """
        lookups: dict[str, dict[str, Any]] = {}
        timeline: dict[str, dict[str, Any]] = {}
        for touchpoint in touchpoints:
            common = self._touchpoint_fields(touchpoint, settings)
            if isinstance(touchpoint, AdClickTouchpoint):
                _keep(lookups, {**keys.click_key(tenant, touchpoint.ttclid), **common, "type": "click"})
            if isinstance(touchpoint, CreatorClickTouchpoint) and touchpoint.token:
                _keep(lookups, {**keys.creator_token_key(tenant, touchpoint.token), **common, "type": "token_click"})
            buyer = touchpoint.buyer.matchable_user_id
            if buyer:
                _keep(timeline, {**keys.buyer_touchpoint_key(tenant, buyer, touchpoint.at, touchpoint.id), **common})
        for items in (lookups, timeline):
            if items:
                self._batch_write(list(items.values()))

    def _conversation_for(self, tenant: str, dm: DmTouchpoint) -> Conversation:
        """Denormalise the DM's comment (post, text, keywords) into its conversation, when the comment is known."""
        conversation = Conversation.started_by(dm)
        comment = self.get_touchpoint(tenant, dm.comment_id, consistent=True) if dm.comment_id else None
        return conversation.with_comment(comment) if isinstance(comment, CommentTouchpoint) else conversation

    def _conversation_write(
        self, tenant: str, conversation: Conversation, started: datetime, settings: AttributionSettings
    ) -> dict[str, Any]:
        """Put a conversation, kept as long as any window allows after its DM (plus the grace): it outlives a single window."""
        key = keys.conversation_key(tenant, conversation.conversation_id)
        item = {**key, "type": "conversation", "data": model_json(conversation), "ttl": epoch_seconds(started + settings.conversation_ttl)}
        return {"Put": {"TableName": self.table_name, "Item": serialize(item)}}

    def _wait_for_comment(self, tenant: str, dm: DmTouchpoint, settings: AttributionSettings) -> dict[str, Any]:
        """A DM whose comment is not stored yet leaves itself (and one more in the count) beside the comment's id."""
        assert dm.comment_id is not None
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": serialize(keys.comment_waiters_key(tenant, dm.comment_id)),
                "UpdateExpression": "SET #dm = :dm, #zone = :zone, #type = :type, #ttl = if_not_exists(#ttl, :ttl) ADD waiting :one",
                "ExpressionAttributeNames": {
                    "#dm": f"{WAITING_DM}{dm.conversation_id}",
                    "#zone": f"{WAITING_ZONE}{dm.conversation_id}",
                    "#type": "type",
                    "#ttl": "ttl",
                },
                "ExpressionAttributeValues": serialize(
                    {
                        ":dm": model_json(dm),
                        ":zone": settings.time_zone,
                        ":type": "comment_waiters",
                        ":ttl": epoch_seconds(dm.at + settings.conversation_ttl),
                        ":one": 1,
                    }
                ),
            }
        }

    def _comment_not_stored(self, tenant: str, comment_id: str) -> dict[str, Any]:
        """The comment a DM waits for must still be missing when the DM is written (else it would never see the DM)."""
        key = serialize(keys.touchpoint_key(tenant, comment_id))
        return {"ConditionCheck": {"TableName": self.table_name, "Key": key, "ConditionExpression": "attribute_not_exists(PK)"}}

    def _comment_arrival(self, tenant: str, comment: CommentTouchpoint) -> tuple[dict[str, Any], list[tuple[DmTouchpoint, str | None]]]:
        """The DMs that arrived before this comment, and the write that takes them over if no other DM joins meanwhile.

        Each DM comes with the zone it was counted in (None for a DM stored before zones were kept).
        """
        key = serialize(keys.comment_waiters_key(tenant, comment.id))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            check = {"TableName": self.table_name, "Key": key, "ConditionExpression": "attribute_not_exists(PK)"}
            return {"ConditionCheck": check}, []
        found = deserialize(item)
        waiting = [
            (TOUCHPOINT.validate_json(value), found.get(WAITING_ZONE + name.removeprefix(WAITING_DM)))
            for name, value in sorted(found.items())
            if name.startswith(WAITING_DM)
        ]
        # The DMs are handed over with the comment: no other DM may have joined since they were read.
        delete = {
            "TableName": self.table_name,
            "Key": key,
            "ConditionExpression": "waiting = :waiting",
            "ExpressionAttributeValues": serialize({":waiting": found.get("waiting", 0)}),
        }
        return {"Delete": delete}, [(dm, zone) for dm, zone in waiting if isinstance(dm, DmTouchpoint)]

    def get_touchpoint(self, tenant: str, touchpoint_id: str, consistent: bool = False) -> Touchpoint | None:
        """A touchpoint by id."""
        key = serialize(keys.touchpoint_key(tenant, touchpoint_id))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=consistent).get("Item")
        return TOUCHPOINT.validate_json(deserialize(item)["data"]) if item else None

    def missing_touchpoints(self, tenant: str, touchpoint_ids: Sequence[str]) -> list[str]:
        """The ids among these whose by-id item is gone (TTL deleted it): one BatchGetItem per 100 ids."""
        found = self._batch_get([keys.touchpoint_key(tenant, i) for i in touchpoint_ids])
        return [i for i in touchpoint_ids if key_id(keys.touchpoint_key(tenant, i)) not in found]

    # -- a time-zone change ---------------------------------------------------------------------------------
    def engagement_of_day(
        self, tenant: str, on_day: date, start: datetime, end: datetime, zone: str, cursor: str | None, limit: int
    ) -> EngagementPage:
        """Up to `limit` engagement touchpoints of one UTC day within [start, end), after `cursor`.

        One GSI2 Query; those counted in another zone than `zone` are read in full (BatchGetItem), with their DMs' comments.
        """
        listed, next_cursor = self._day_page(keys.touchpoint_day_pk(tenant, on_day.isoformat()), start, end, cursor, limit)
        # The zone is in the index's sort key: touchpoints already on the asked zone's days cost no read beyond the Query.
        zones = [(entry, keys.counted_zone(entry["GSI2SK"])) for entry in listed]
        moving = [(entry, counted_in) for entry, counted_in in zones if counted_in != zone]
        found = self._batch_get([{"PK": entry["PK"], "SK": "TP"} for entry, _ in moving]) if moving else {}
        elsewhere = []
        for entry, counted_in in moving:
            item = found.get(key_id({"PK": entry["PK"], "SK": "TP"}))
            if item is not None and item.get("GSI2SK") == entry["GSI2SK"]:  # else TTL deleted it, or it moved meanwhile
                elsewhere.append(CountedTouchpoint(TOUCHPOINT.validate_json(item["data"]), counted_in, entry["GSI2SK"]))
        wanted = sorted({t.touchpoint.comment_id for t in elsewhere if isinstance(t.touchpoint, DmTouchpoint) and t.touchpoint.comment_id})
        comments = {}
        for item in self._batch_get([keys.touchpoint_key(tenant, i) for i in wanted]).values() if wanted else ():
            comment = TOUCHPOINT.validate_json(item["data"])
            if isinstance(comment, CommentTouchpoint):
                comments[comment.id] = comment
        return EngagementPage(len(listed), elsewhere, comments, next_cursor)

    def move_engagement(self, tenant: str, counted: CountedTouchpoint, zone: str, moved: counters.Tally) -> bool:
        """Move what a touchpoint counted to the days of `zone`: its counters and its index entry, in one transaction.

        False when it was moved already (another attempt of the same page got there first).
        """
        touchpoint = counted.touchpoint
        writes = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": serialize(keys.touchpoint_key(tenant, touchpoint.id)),
                    "UpdateExpression": "SET GSI2SK = :moved",
                    "ConditionExpression": "GSI2SK = :counted",
                    "ExpressionAttributeValues": serialize(
                        {":moved": keys.touchpoint_day_sort(touchpoint.at, touchpoint.id, zone), ":counted": counted.sort_key}
                    ),
                }
            },
            *self._counter_writes(tenant, moved.counts, moved.labels),
        ]
        if len(writes) > TRANSACTION_LIMIT:
            raise ValueError(f"touchpoint {touchpoint.id} would change {len(writes)} items (limit {TRANSACTION_LIMIT})")
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if cancelled_by_condition(exc, index=0):
                return False
            raise
        return True

    def buyer_touchpoints(self, tenant: str, buyer: str, at_from: datetime, at_to: datetime) -> list[Touchpoint]:
        """The buyer's touchpoints between two times (inclusive), oldest first; one Query (paged only for very busy buyers)."""
        low, high = keys.buyer_touchpoint_range(at_from, at_to)
        items = self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
            ExpressionAttributeValues=serialize({":pk": keys.buyer_pk(tenant, buyer), ":low": low, ":high": high}),
        )
        return [TOUCHPOINT.validate_json(item["data"]) for item in items]


def _keep(items: dict[str, dict[str, Any]], item: dict[str, Any]) -> None:
    """One item per key: a BatchWriteItem refuses a request that names a key twice (a ttclid clicked twice in a batch)."""
    items[key_id({"PK": item["PK"], "SK": item["SK"]})] = item
