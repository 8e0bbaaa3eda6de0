"""The only module that talks to DynamoDB: typed reads and writes of the single table, in constant request counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from ordertrail.core import refs
from ordertrail.core.conversions import Conversion
from ordertrail.core.export_runs import ChunkRecord, EventResult, ExportLease, ExportRun
from ordertrail.core.models import (
    AdClickTouchpoint,
    Attribution,
    CommentTouchpoint,
    Conversation,
    CouponMapping,
    CreatorClickTouchpoint,
    CreditClaim,
    DmTouchpoint,
    FlowStepTouchpoint,
    Order,
    ShopLinkTouchpoint,
    Touchpoint,
)
from ordertrail.core.rules import Candidates
from ordertrail.core.tenant_settings import MAX_EXPORT_LOOKBACK, AttributionSettings, TenantSettings
from ordertrail.storage import keys
from ordertrail.tally import counters
from ordertrail.tally.counters import Counts, Labels
from ordertrail.tally.crossover import AddressProfile
from ordertrail.tally.customers import CustomerActivity
from ordertrail.tally.order_tally import OrderTally, ReportState

TOUCHPOINT = TypeAdapter(Touchpoint)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# Conversations outlive any single window: keep them as long as the longest allowed window (90 days) plus grace.
CONVERSATION_TTL = timedelta(days=92)
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
# Export audit is kept for 400 days: long enough to answer "what did we send last year?".
AUDIT_TTL = timedelta(days=400)
OrderWrite = Literal["stored", "stale"]
# DynamoDB's limit on the actions of one TransactWriteItems.
TRANSACTION_LIMIT = 100
COUNTER_META = frozenset({"PK", "SK", "type", "dim", "cid", "day"})
# Two writers racing on one item re-read and try again this often before giving up (the caller retries later).
ATTEMPTS = 3
# A DM waiting for its comment is one attribute of the comment's waiters item, named after its conversation.
WAITING_DM = "dm#"


class ConcurrentChange(Exception):
    """Someone changed the attribution, customer or address profile between our read and our write: read again."""


class Unstorable(Exception):
    """DynamoDB cannot hold what an order's attribution would write (an item over 400 KB, a transaction too large)."""


class _CommentRaced(Exception):
    """A DM and its comment were stored at the same moment: the later of the two reads the other again."""


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values (None values dropped)."""
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values → Python values."""
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _data(model: Any) -> str:
    # Models are stored as one JSON string: exact Decimals and datetimes round-trip, no float surprises.
    return str(model.model_dump_json(exclude_none=True))


@dataclass(frozen=True)
class StoredOrder:
    """An order as stored, with when OrderTrail first received it."""

    tenant: str
    order: Order
    received_at: datetime


@dataclass(frozen=True)
class OrderView:
    """An order with its attribution, as the API shows it."""

    order: Order
    received_at: datetime
    attribution: Attribution | None
    contribution: Counts | None = None
    revision: int = 0
    order_updated_at: str | None = None


@dataclass(frozen=True)
class Revisions:
    """Optimistic-lock revisions read with an order's inputs (None: the item did not exist)."""

    attribution: int | None = None
    customer: int | None = None
    address: int | None = None


@dataclass(frozen=True)
class AttributionInputs:
    """Everything attributing one order reads: the engine's candidates and the report state with its revisions."""

    candidates: Candidates
    report: ReportState
    revisions: Revisions
    attributed_state: str | None = None  # `updated_at` of the order state the stored attribution was made from


@dataclass(frozen=True)
class CounterItem:
    """One counter item as read: its id, numbers and labels."""

    id: str
    values: dict[str, Any]
    labels: dict[str, str]


def tenant_of(pk: str) -> str:
    """The tenant id a key belongs to (keys start `T#<tenant>#`)."""
    return pk.split("#", 2)[1].replace("%23", "#").replace("%25", "%")


def decode_item(item: dict[str, Any]) -> tuple[str, Any] | None:
    """Turn a deserialized item (e.g. a stream image) into (type, model); None for items of no interest."""
    kind = item.get("type")
    if kind == "order":
        stored = StoredOrder(tenant_of(item["PK"]), Order.model_validate_json(item["data"]), datetime.fromisoformat(item["received_at"]))
        return "order", stored
    if kind == "touchpoint":
        return "touchpoint", (tenant_of(item["PK"]), TOUCHPOINT.validate_json(item["data"]))
    return None


class Repository:
    """Typed access to the single table; every method costs a fixed number of requests."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client, created on first use (honours AWS_ENDPOINT_URL locally)."""
        if self._client is None:
            self._client = boto3.client("dynamodb")
        return self._client

    # -- settings ---------------------------------------------------------------------------------------
    def get_tenant_settings(self, tenant: str) -> TenantSettings:
        """The tenant's settings, or the defaults."""
        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.settings_key(tenant))).get("Item")
        return TenantSettings.model_validate_json(deserialize(item)["data"]) if item else TenantSettings()

    def put_tenant_settings(self, tenant: str, settings: TenantSettings) -> None:
        """Replace the tenant's settings (never the export token: it is excluded from the model's dump)."""
        item: dict[str, Any] = {**keys.settings_key(tenant), "type": "settings", "data": _data(settings)}
        if settings.export.enabled:
            item.update(keys.exporting_tenants_gsi(tenant))
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def exporting_tenants(self) -> list[str]:
        """Tenants whose daily export is on: one GSI1 Query (paged)."""
        items = self._query(
            IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk", ExpressionAttributeValues=serialize({":pk": keys.EXPORTING_TENANTS})
        )
        return [tenant_of(item["PK"]) for item in items]

    # -- touchpoints ------------------------------------------------------------------------------------
    def put_touchpoint(self, tenant: str, touchpoint: Touchpoint, settings: AttributionSettings) -> bool:
        """Store a touchpoint once, in one transaction with its lookups; False when its id was already stored.

        A DM whose comment has not arrived yet waits for it beside the comment's id; the comment, when it comes, completes
        each waiting conversation (post, keywords) and counts those DMs on the post, in its own transaction.
        """
        for _ in range(ATTEMPTS):
            try:
                return self._put_touchpoint_once(tenant, touchpoint, settings)
            except _CommentRaced:
                continue  # the DM and its comment crossed: read the other one again
        raise ConcurrentChange(f"touchpoint {touchpoint.id} kept racing with its comment or DM")

    def _put_touchpoint_once(self, tenant: str, touchpoint: Touchpoint, settings: AttributionSettings) -> bool:
        """One attempt of put_touchpoint; _CommentRaced when a DM and its comment were written at the same moment."""
        ttl = _epoch(touchpoint.at + settings.ttl_for(touchpoint.kind))
        data = _data(touchpoint)
        common = {"type": "touchpoint", "kind": touchpoint.kind, "data": data, "ttl": ttl}
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize({**keys.touchpoint_key(tenant, touchpoint.id), **common}),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        buyer = touchpoint.buyer.matchable_user_id
        if buyer:
            key = keys.buyer_touchpoint_key(tenant, buyer, touchpoint.at, touchpoint.id)
            writes.append({"Put": {"TableName": self.table_name, "Item": serialize({**key, **common})}})
        if isinstance(touchpoint, AdClickTouchpoint):
            key = keys.click_key(tenant, touchpoint.ttclid)
            writes.append({"Put": {"TableName": self.table_name, "Item": serialize({**key, **common, "type": "click"})}})
        if isinstance(touchpoint, CreatorClickTouchpoint) and touchpoint.token:
            key = keys.creator_token_key(tenant, touchpoint.token)
            writes.append({"Put": {"TableName": self.table_name, "Item": serialize({**key, **common, "type": "token_click"})}})
        conversation = None
        slot = None  # index of the write that hands over between a DM and its comment
        if isinstance(touchpoint, DmTouchpoint):
            conversation = self._conversation_for(tenant, touchpoint)
            writes.append(self._conversation_write(tenant, conversation, touchpoint.at))
            if touchpoint.comment_id and conversation.comment_at is None:
                writes.append(self._wait_for_comment(tenant, touchpoint))
                slot = len(writes)
                writes.append(self._comment_not_stored(tenant, touchpoint.comment_id))
        # Counted in the same transaction as the id's marker, so a touchpoint is counted exactly once.
        tally = counters.touchpoint_contribution(touchpoint, conversation, settings.time_zone)
        if isinstance(touchpoint, CommentTouchpoint):
            slot = len(writes)
            arrival, waiting = self._comment_arrival(tenant, touchpoint)
            writes.append(arrival)
            for dm in waiting:
                bare = Conversation.started_by(dm)
                joined = bare.with_comment(touchpoint)
                writes.append(self._conversation_write(tenant, joined, dm.at))
                tally.merge(counters.late_comment_contribution(dm, bare, joined, settings.time_zone))
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
                        "Item": serialize({**marker_key, "type": "flow_step_marker", "ttl": _epoch(touchpoint.at + CONVERSATION_TTL)}),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        if len(writes) + len(counted) > TRANSACTION_LIMIT:
            raise ValueError(f"touchpoint {touchpoint.id} would change {len(writes) + len(counted)} items (limit {TRANSACTION_LIMIT})")
        try:
            self.client.transact_write_items(TransactItems=writes + counted)
        except ClientError as exc:
            if _cancelled_by_condition(exc, index=0):
                return False
            if slot is not None and _cancelled_by_condition(exc, index=slot, only=True):
                raise _CommentRaced from exc
            if marker is None or not _cancelled_by_condition(exc, index=marker, only=True):
                raise
            self.client.transact_write_items(TransactItems=writes[:marker])
        return True

    def _conversation_for(self, tenant: str, dm: DmTouchpoint) -> Conversation:
        """Denormalise the DM's comment (post, text, keywords) into its conversation, when the comment is known."""
        conversation = Conversation.started_by(dm)
        comment = self.get_touchpoint(tenant, dm.comment_id, consistent=True) if dm.comment_id else None
        return conversation.with_comment(comment) if isinstance(comment, CommentTouchpoint) else conversation

    def _conversation_write(self, tenant: str, conversation: Conversation, started: datetime) -> dict[str, Any]:
        """Put a conversation, kept as long as the longest window allows after its DM."""
        key = keys.conversation_key(tenant, conversation.conversation_id)
        item = {**key, "type": "conversation", "data": _data(conversation), "ttl": _epoch(started + CONVERSATION_TTL)}
        return {"Put": {"TableName": self.table_name, "Item": serialize(item)}}

    def _wait_for_comment(self, tenant: str, dm: DmTouchpoint) -> dict[str, Any]:
        """A DM whose comment is not stored yet leaves itself (and one more in the count) beside the comment's id."""
        assert dm.comment_id is not None
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": serialize(keys.comment_waiters_key(tenant, dm.comment_id)),
                "UpdateExpression": "SET #dm = :dm, #type = :type, #ttl = if_not_exists(#ttl, :ttl) ADD waiting :one",
                "ExpressionAttributeNames": {"#dm": f"{WAITING_DM}{dm.conversation_id}", "#type": "type", "#ttl": "ttl"},
                "ExpressionAttributeValues": serialize(
                    {":dm": _data(dm), ":type": "comment_waiters", ":ttl": _epoch(dm.at + CONVERSATION_TTL), ":one": 1}
                ),
            }
        }

    def _comment_not_stored(self, tenant: str, comment_id: str) -> dict[str, Any]:
        """The comment a DM waits for must still be missing when the DM is written (else it would never see the DM)."""
        key = serialize(keys.touchpoint_key(tenant, comment_id))
        return {"ConditionCheck": {"TableName": self.table_name, "Key": key, "ConditionExpression": "attribute_not_exists(PK)"}}

    def _comment_arrival(self, tenant: str, comment: CommentTouchpoint) -> tuple[dict[str, Any], list[DmTouchpoint]]:
        """The DMs that arrived before this comment, and the write that takes them over if no other DM joins meanwhile."""
        key = serialize(keys.comment_waiters_key(tenant, comment.id))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            check = {"TableName": self.table_name, "Key": key, "ConditionExpression": "attribute_not_exists(PK)"}
            return {"ConditionCheck": check}, []
        found = deserialize(item)
        waiting = [TOUCHPOINT.validate_json(value) for name, value in sorted(found.items()) if name.startswith(WAITING_DM)]
        # The DMs are handed over with the comment: no other DM may have joined since they were read.
        delete = {
            "TableName": self.table_name,
            "Key": key,
            "ConditionExpression": "waiting = :waiting",
            "ExpressionAttributeValues": serialize({":waiting": found.get("waiting", 0)}),
        }
        return {"Delete": delete}, [dm for dm in waiting if isinstance(dm, DmTouchpoint)]

    def get_touchpoint(self, tenant: str, touchpoint_id: str, consistent: bool = False) -> Touchpoint | None:
        """A touchpoint by id."""
        key = serialize(keys.touchpoint_key(tenant, touchpoint_id))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=consistent).get("Item")
        return TOUCHPOINT.validate_json(deserialize(item)["data"]) if item else None

    def buyer_touchpoints(self, tenant: str, buyer: str, at_from: datetime, at_to: datetime) -> list[Touchpoint]:
        """The buyer's touchpoints between two times (inclusive), oldest first; one Query (paged only for very busy buyers)."""
        low, high = keys.buyer_touchpoint_range(at_from, at_to)
        items = self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
            ExpressionAttributeValues=serialize({":pk": keys.buyer_pk(tenant, buyer), ":low": low, ":high": high}),
        )
        return [TOUCHPOINT.validate_json(item["data"]) for item in items]

    # -- orders -----------------------------------------------------------------------------------------
    def put_order(self, tenant: str, order: Order, received_at: datetime) -> OrderWrite:
        """Store an order's latest state; an update older than (or as old as) the stored one changes nothing."""
        names = {"#data": "data", "#type": "type"}
        values: dict[str, Any] = {
            ":data": _data(order),
            ":updated": keys.iso(order.updated_at),
            ":received": keys.iso(received_at),
            ":type": "order",
            ":status": order.status,
        }
        sets = [
            "#data = :data",
            "updated_at = :updated",
            "received_at = if_not_exists(received_at, :received)",
            "#type = :type",
            "order_status = :status",
        ]
        buyer = order.buyer.matchable_user_id
        if buyer:
            gsi = keys.buyer_orders_gsi(tenant, buyer, order.ordered_at, order.source, order.id)
            values.update({":gpk": gsi["GSI1PK"], ":gsk": gsi["GSI1SK"]})
            sets += ["GSI1PK = :gpk", "GSI1SK = :gsk"]
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.order_key(tenant, order.source, order.id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_not_exists(PK) OR updated_at < :updated",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(values),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return "stale"
            raise
        return "stored"

    def request_reattribution(self, tenant: str, source: str, order_id: str, now: datetime) -> None:
        """Touch an order so its stream record re-runs attribution (e.g. it lost a claim to an earlier order)."""
        self.client.update_item(
            TableName=self.table_name,
            Key=serialize(keys.order_key(tenant, source, order_id)),
            UpdateExpression="SET reattribute_at = :now",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=serialize({":now": keys.iso(now)}),
        )

    def find_orders(self, tenant: str, order_id: str, source: str | None = None) -> list[OrderView]:
        """An order and its attribution by id; without a source every store is tried in one BatchGetItem."""
        sources = [source] if source else ["tiktok_shop", "shopify", "other"]
        wanted = [k for s in sources for k in (keys.order_key(tenant, s, order_id), keys.attribution_key(tenant, s, order_id))]
        items = self._batch_get(wanted)
        views = []
        for s in sources:
            order_item = items.get(_key_id(keys.order_key(tenant, s, order_id)))
            if order_item is None:
                continue
            views.append(_order_view(order_item, items.get(_key_id(keys.attribution_key(tenant, s, order_id)))))
        return views

    def buyer_orders(self, tenant: str, buyer: str, at_from: datetime, at_to: datetime) -> list[OrderView]:
        """A buyer's orders placed between two times with their attributions: one GSI1 Query and one BatchGetItem."""
        pk, low, high = keys.buyer_orders_range(tenant, buyer, at_from, at_to)
        orders = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK BETWEEN :low AND :high",
            ExpressionAttributeValues=serialize({":pk": pk, ":low": low, ":high": high}),
        )
        attr_keys = [{"PK": item["PK"], "SK": "ATTR"} for item in orders]
        attributions = self._batch_get(attr_keys) if attr_keys else {}
        return [_order_view(item, attributions.get(_key_id({"PK": item["PK"], "SK": "ATTR"}))) for item in orders]

    # -- attribution ------------------------------------------------------------------------------------
    def load_candidates(
        self, tenant: str, order: Order, settings: AttributionSettings, address_key: str | None = None
    ) -> AttributionInputs:
        """Everything attributing one order needs: one Query of the buyer's window and one (consistent) BatchGetItem."""
        buyer = order.buyer.matchable_user_id
        touchpoints: list[Touchpoint] = []
        if buyer:
            # A conversation's comment may predate its shop link by up to another window, and the export credits touches
            # up to 28 days back: read that far once.
            start = order.ordered_at - max(settings.longest_window + settings.conversation_window, MAX_EXPORT_LOOKBACK)
            touchpoints = self.buyer_touchpoints(tenant, buyer, start, order.ordered_at + settings.settle_period)
        wanted = [keys.attribution_key(tenant, order.source, order.id)]
        wanted += [keys.coupon_key(tenant, code) for code in order.coupon_codes]
        if order.landing.ttclid:
            wanted.append(keys.click_key(tenant, order.landing.ttclid))
        if order.landing.token:
            wanted.append(keys.creator_token_key(tenant, order.landing.token))
        links = [t for t in touchpoints if isinstance(t, ShopLinkTouchpoint)]
        wanted += [keys.conversation_key(tenant, c) for c in dict.fromkeys(t.conversation_id for t in links)]
        wanted += [keys.claim_key(tenant, t.id) for t in links]
        customer_key = keys.customer_key(tenant, buyer) if buyer and order.source == "tiktok_shop" else None
        address_key_item = keys.address_profile_key(tenant, address_key) if address_key else None
        wanted += [k for k in (customer_key, address_key_item) if k]
        # Consistent: the counters' deltas are computed from these items, and a stale read would only fail the write.
        items = self._batch_get(wanted, consistent=True)

        def get(key: dict[str, str] | None) -> dict[str, Any] | None:
            return items.get(_key_id(key)) if key else None

        previous = get(keys.attribution_key(tenant, order.source, order.id))
        click = get(keys.click_key(tenant, order.landing.ttclid)) if order.landing.ttclid else None
        token = get(keys.creator_token_key(tenant, order.landing.token)) if order.landing.token else None
        coupons = {
            code: CouponMapping.model_validate_json(item["data"])
            for code in order.coupon_codes
            if (item := get(keys.coupon_key(tenant, code)))
        }
        conversations = {
            t.conversation_id: Conversation.model_validate_json(item["data"])
            for t in links
            if (item := get(keys.conversation_key(tenant, t.conversation_id)))
        }
        claims = {t.id: CreditClaim.model_validate_json(item["data"]) for t in links if (item := get(keys.claim_key(tenant, t.id)))}
        click_tp = TOUCHPOINT.validate_json(click["data"]) if click else None
        token_tp = TOUCHPOINT.validate_json(token["data"]) if token else None
        candidates = Candidates(
            touchpoints=touchpoints,
            coupons=coupons,
            conversations=conversations,
            claims=claims,
            click=click_tp if isinstance(click_tp, AdClickTouchpoint) else None,
            token_click=token_tp if isinstance(token_tp, CreatorClickTouchpoint) else None,
            previous=Attribution.model_validate_json(previous["data"]) if previous else None,
        )
        customer = get(customer_key)
        profile = get(address_key_item)
        report = ReportState(
            contribution=counters.load(previous.get("contrib")) if previous else {},
            customer=CustomerActivity.model_validate_json(customer["data"]) if customer else None,
            address=AddressProfile.model_validate_json(profile["data"]) if profile else None,
        )
        revisions = Revisions(
            attribution=_revision(previous),
            customer=_revision(customer),
            address=_revision(profile),
        )
        return AttributionInputs(candidates, report, revisions, previous.get("order_updated_at") if previous else None)

    def save_attribution(
        self,
        tenant: str,
        attribution: Attribution,
        order: Order,
        previous: Attribution | None,
        conversion: Conversion | None,
        tally: OrderTally,
        revisions: Revisions,
    ) -> None:
        """Write an order's attribution and everything that follows from it in ONE transaction.

        That is: the attribution, its conversion, its claim, the customer, the address profile, the counter changes and
        the release of an old claim. ConcurrentChange when a locked item moved since it was read.
        """
        order_ref = refs.order_ref(order.source, order.id)
        item: dict[str, Any] = {
            **keys.attribution_key(tenant, order.source, order.id),
            "type": "attribution",
            "data": _data(attribution),
            "method": attribution.method,
            "order_updated_at": keys.iso(order.updated_at),
            "contrib": counters.dump(tally.contribution),
            "rev": (revisions.attribution or 0) + 1,
        }
        if attribution.method == "conversation_soft" and attribution.review_status:
            item.update(keys.review_gsi(tenant, attribution.review_status, order.ordered_at, order.source, order.id))
        # The revision is the exactly-once marker: a redelivered record re-reads it and writes a zero difference, and
        # two writers racing on one order cannot both apply theirs. An older order state must not overwrite a newer one.
        lock, values = _revision_condition(revisions.attribution)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": serialize(item), "ConditionExpression": lock}
        if revisions.attribution is not None:
            put["ConditionExpression"] = f"({lock}) AND order_updated_at <= :updated"
            put["ExpressionAttributeValues"] = serialize({**values, ":updated": keys.iso(order.updated_at)})
        writes: list[dict[str, Any]] = [{"Put": put}]
        locked = [0]
        writes.append(self._conversion_write(tenant, order, conversion))
        link = attribution.claimed_shop_link_id
        if link:
            claim = CreditClaim(shop_link_id=link, order_key=order_ref, ordered_at=order.ordered_at)
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": serialize(
                            {
                                **keys.claim_key(tenant, link),
                                "type": "claim",
                                "data": _data(claim),
                                "order_key": order_ref,
                                "ordered_at": keys.iso(order.ordered_at),
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(PK) OR order_key = :me OR ordered_at > :at",
                        "ExpressionAttributeValues": serialize({":me": order_ref, ":at": keys.iso(order.ordered_at)}),
                    }
                }
            )
        if tally.customer_changed and tally.customer is not None:
            locked.append(len(writes))
            writes.append(self._customer_write(tenant, tally.customer, revisions.customer))
        if tally.address_changed and tally.address is not None:
            locked.append(len(writes))
            writes.append(self._address_write(tenant, tally.address, revisions.address))
        writes += self._counter_writes(tenant, tally.delta, tally.labels)
        old_link = previous.claimed_shop_link_id if previous else None
        if old_link and old_link != link:
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": serialize(keys.claim_key(tenant, old_link)),
                        "ConditionExpression": "attribute_not_exists(PK) OR order_key = :me",
                        "ExpressionAttributeValues": serialize({":me": order_ref}),
                    }
                }
            )
        if len(writes) > TRANSACTION_LIMIT:
            raise Unstorable(f"one order would change {len(writes)} items; DynamoDB's transactions take {TRANSACTION_LIMIT}")
        try:
            self._transact_releasing(writes)
        except ClientError as exc:
            if any(_cancelled_by_condition(exc, index=i) for i in locked):
                raise ConcurrentChange(f"{order_ref} changed while it was attributed") from exc
            if _refused_as_invalid(exc):
                raise Unstorable(f"DynamoDB refused the attribution: {exc.response['Error'].get('Message', '')}") from exc
            raise

    def save_attribution_failure(self, tenant: str, failed: Attribution, order: Order) -> None:
        """Say on the order that it could not be attributed (its `error`), leaving its counters as they were.

        Only the decision shown changes: what the order contributed before (if anything) stays stored, so a later
        successful attribution still writes the exact difference.
        """
        self.client.update_item(
            TableName=self.table_name,
            Key=serialize(keys.attribution_key(tenant, order.source, order.id)),
            UpdateExpression="SET #data = :data, #type = :type, #method = :method, order_updated_at = :updated",
            ExpressionAttributeNames={"#data": "data", "#type": "type", "#method": "method"},
            ExpressionAttributeValues=serialize(
                {":data": _data(failed), ":type": "attribution", ":method": failed.method, ":updated": keys.iso(order.updated_at)}
            ),
        )

    def _customer_write(self, tenant: str, customer: CustomerActivity, revision: int | None) -> dict[str, Any]:
        """Put a customer's activity, listed by first order while they have one, under its revision lock."""
        item: dict[str, Any] = {
            **keys.customer_key(tenant, customer.user_id),
            "type": "customer",
            "data": _data(customer),
            "rev": (revision or 0) + 1,
        }
        if customer.first_order_at is not None:
            item.update(keys.customers_gsi(tenant, customer.first_order_at, customer.user_id))
        return self._locked_put(item, revision)

    def _address_write(self, tenant: str, profile: AddressProfile, revision: int | None) -> dict[str, Any]:
        """Put an address profile, listed as a crossover customer once it has crossed, under its revision lock."""
        item: dict[str, Any] = {
            **keys.address_profile_key(tenant, profile.address_hash),
            "type": "address_profile",
            "data": _data(profile),
            "rev": (revision or 0) + 1,
        }
        crossed = profile.first_other
        if crossed is not None:
            item.update(keys.crossover_gsi(tenant, crossed.ordered_at, profile.address_hash))
        return self._locked_put(item, revision)

    def _locked_put(self, item: dict[str, Any], revision: int | None) -> dict[str, Any]:
        """A transaction Put that only succeeds when the item is still at the revision we read."""
        condition, values = _revision_condition(revision)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": serialize(item), "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = serialize(values)
        return {"Put": put}

    def _counter_writes(self, tenant: str, delta: Counts, labels: Labels) -> list[dict[str, Any]]:
        """One ADD update per counter item that changes (labels, e.g. a post's URL, are set beside the numbers)."""
        writes = []
        for key, values in sorted(delta.items()):
            names = {"#type": "type", "#day": "day"}
            expression_values: dict[str, Any] = {":type": "counter", ":dim": key.dimension, ":cid": key.id, ":day": key.day}
            sets = ["#type = :type", "dim = :dim", "cid = :cid", "#day = :day"]
            for index, (name, text) in enumerate(sorted(labels.get(key, {}).items())):
                names[f"#l{index}"] = name
                expression_values[f":l{index}"] = text
                sets.append(f"#l{index} = :l{index}")
            adds = []
            for index, (name, value) in enumerate(sorted(values.items())):
                names[f"#f{index}"] = name
                expression_values[f":f{index}"] = value
                adds.append(f"#f{index} :f{index}")
            writes.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": serialize(keys.counter_key(tenant, key.dimension, key.day, key.id)),
                        "UpdateExpression": f"SET {', '.join(sets)} ADD {', '.join(adds)}",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": serialize(expression_values),
                    }
                }
            )
        return writes

    def _transact_releasing(self, writes: list[dict[str, Any]]) -> None:
        """Run a transaction whose last write may release an old claim; if only that release failed, run the rest.

        The release is conditional on the claim still being ours: when an earlier order has taken it over meanwhile,
        there is nothing of ours to release and the rest of the transaction must still happen.
        """
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if "Delete" not in writes[-1] or not _cancelled_by_condition(exc, index=len(writes) - 1, only=True):
                raise
            self.client.transact_write_items(TransactItems=writes[:-1])

    def _conversion_write(self, tenant: str, order: Order, conversion: Conversion | None) -> dict[str, Any]:
        """Put the order's conversion, or delete it when the order no longer converts (organic, cancelled)."""
        if conversion is None:
            key = keys.conversion_key(tenant, order.ordered_at, order.source, order.id)
            return {"Delete": {"TableName": self.table_name, "Key": serialize(key)}}
        return {"Put": {"TableName": self.table_name, "Item": serialize(conversion_item(tenant, conversion))}}

    def _conversion_review_write(self, tenant: str, order: Order, confirmed: bool) -> dict[str, Any]:
        """A confirmed soft match's conversion starts to count; a rejected one's conversion goes away."""
        key = serialize(keys.conversion_key(tenant, order.ordered_at, order.source, order.id))
        if not confirmed:
            return {"Delete": {"TableName": self.table_name, "Key": key}}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": key,
                "UpdateExpression": "SET counts = :yes",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": serialize({":yes": True}),
            }
        }

    def claim_holder(self, tenant: str, shop_link_id: str) -> CreditClaim | None:
        """The claim on a shop link, if any."""
        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.claim_key(tenant, shop_link_id))).get("Item")
        return CreditClaim.model_validate_json(deserialize(item)["data"]) if item else None

    def list_reviews(self, tenant: str, status: str, limit: int = 100) -> list[Attribution]:
        """Soft matches in one review status, oldest first: one GSI1 Query."""
        items = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=serialize({":pk": keys.review_pk(tenant, status)}),
            limit=limit,
        )
        return [Attribution.model_validate_json(item["data"]) for item in items]

    def replace_attribution(
        self, tenant: str, view: OrderView, after: Attribution, contribution: Counts, delta: Counts, labels: Labels
    ) -> bool:
        """Store a person's review decision and move its counters, only if nobody changed the attribution meanwhile.

        A rejected match also releases its claim on the shop link.
        """
        order, before = view.order, view.attribution
        assert before is not None
        item: dict[str, Any] = {
            **keys.attribution_key(tenant, order.source, order.id),
            "type": "attribution",
            "data": _data(after),
            "method": after.method,
            "order_updated_at": view.order_updated_at or keys.iso(order.updated_at),
            "contrib": counters.dump(contribution),
            "rev": view.revision + 1,
        }
        if after.review_status and after.rule == "conversation_soft":
            item.update(keys.review_gsi(tenant, after.review_status, order.ordered_at, order.source, order.id))
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize(item),
                    "ConditionExpression": "#data = :before",
                    "ExpressionAttributeNames": {"#data": "data"},
                    "ExpressionAttributeValues": serialize({":before": _data(before)}),
                }
            }
        ]
        writes.append(self._conversion_review_write(tenant, order, confirmed=after.method != "organic"))
        writes += self._counter_writes(tenant, delta, labels)
        if after.method == "organic" and before.claimed_shop_link_id:
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": serialize(keys.claim_key(tenant, before.claimed_shop_link_id)),
                        "ConditionExpression": "attribute_not_exists(PK) OR order_key = :me",
                        "ExpressionAttributeValues": serialize({":me": refs.order_ref(order.source, order.id)}),
                    }
                }
            )
        try:
            self._transact_releasing(writes)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    # -- export ---------------------------------------------------------------------------------------
    def conversions_between(self, tenant: str, start: datetime, end: datetime) -> list[Conversion]:
        """Attributed conversions placed in [start, end), oldest first: one Query per UTC day of the range."""
        conversions: list[Conversion] = []
        last = end - timedelta(microseconds=1)
        on_day = start.astimezone(UTC).date()
        while on_day <= last.astimezone(UTC).date():
            items = self._query(
                KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
                ExpressionAttributeValues=serialize(
                    {":pk": keys.conversion_pk(tenant, on_day.isoformat()), ":low": keys.iso(start), ":high": f"{keys.iso(last)}#\uffff"}
                ),
            )
            conversions += [Conversion.model_validate({**json.loads(i["data"]), "counts": bool(i.get("counts"))}) for i in items]
            on_day += timedelta(days=1)
        return conversions

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
        """Store each result in the run, the outcome of each sent event id, and newly claimed first conversions."""
        items: list[dict[str, Any]] = []
        for result in results:
            order = refs.order_ref(result.source, result.order_id)
            items.append(
                {
                    **keys.run_event_key(tenant, run_id, result.chunk, result.event_id or "", order),
                    "type": "export_event",
                    "data": _data(result),
                    "ttl": _epoch(result.at + AUDIT_TTL),
                }
            )
            if result.event_id and result.outcome != "skipped":
                items.append(
                    {
                        **keys.event_ledger_key(tenant, result.event_id),
                        "type": "export_ledger",
                        "event_id": result.event_id,
                        "outcome": result.outcome,
                        "run_id": run_id,
                        "order": order,
                        "ttl": _epoch(result.at + AUDIT_TTL),
                    }
                )
        items += [
            {**keys.first_conversion_key(tenant, user), "type": "export_first", "user": user, "order": order}
            for user, order in first_claims.items()
        ]
        self._batch_write(items)

    def get_watermark(self, tenant: str) -> datetime | None:
        """Where the tenant's export last fully succeeded up to."""
        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.watermark_key(tenant))).get("Item")
        return datetime.fromisoformat(deserialize(item)["at"]) if item else None

    def advance_watermark(self, tenant: str, at: datetime) -> bool:
        """Move the watermark forward to `at` (never back); False when it already was there or later."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=serialize({**keys.watermark_key(tenant), "type": "watermark", "at": keys.iso(at)}),
                ConditionExpression="attribute_not_exists(PK) OR #at < :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues=serialize({":at": keys.iso(at)}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def take_export_lease(self, tenant: str, lease: ExportLease, now: datetime, renew: bool = False) -> ExportLease | None:
        """Take the tenant's export lease if free or expired (renewing: or already this run's); None, or the holder's lease."""
        condition = "attribute_not_exists(PK) OR expires_at < :now"
        values: dict[str, Any] = {":now": _epoch(now)}
        if renew:  # a run's own steps and retries never lose its lease to itself
            condition += " OR run_id = :run"
            values[":run"] = lease.run_id
        item = {
            **keys.export_lease_key(tenant),
            "type": "export_lease",
            "run_id": lease.run_id,
            "expires_at": _epoch(lease.expires_at),
            "data": _data(lease),
            "ttl": _epoch(lease.expires_at),  # DynamoDB's TTL only tidies up: the condition above decides expiry
        }
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
            held = exc.response.get("Item")
            if held:
                return ExportLease.model_validate_json(deserialize(held)["data"])
            # Only an existing lease fails the condition; read it when the answer did not carry it.
            current = self.get_export_lease(tenant)
            return current if current is not None else self.take_export_lease(tenant, lease, now, renew)
        return None

    def get_export_lease(self, tenant: str) -> ExportLease | None:
        """The tenant's export lease as stored (it may have expired)."""
        key = serialize(keys.export_lease_key(tenant))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return ExportLease.model_validate_json(deserialize(item)["data"]) if item else None

    def release_export_lease(self, tenant: str, run_id: str) -> bool:
        """Delete the tenant's export lease if `run_id` holds it; False when another run (or none) does."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=serialize(keys.export_lease_key(tenant)),
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues=serialize({":run": run_id}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def create_run(self, run: ExportRun) -> bool:
        """Store a new run; False when a run with this id exists (a repeated schedule or request starts nothing twice)."""
        item = {**keys.run_key(run.tenant, run.run_id), "type": "export_run", "data": _data(run), "ttl": _epoch(run.created_at + AUDIT_TTL)}
        try:
            self.client.put_item(TableName=self.table_name, Item=serialize(item), ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def save_run(self, run: ExportRun) -> None:
        """Replace a run's record (status, range, error)."""
        item = {**keys.run_key(run.tenant, run.run_id), "type": "export_run", "data": _data(run), "ttl": _epoch(run.created_at + AUDIT_TTL)}
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def get_run(self, tenant: str, run_id: str) -> ExportRun | None:
        """One run's record."""
        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.run_key(tenant, run_id))).get("Item")
        return ExportRun.model_validate_json(deserialize(item)["data"]) if item else None

    def save_chunk(self, tenant: str, run_id: str, chunk: ChunkRecord) -> None:
        """Record a chunk's outcome."""
        item = {
            **keys.chunk_key(tenant, run_id, chunk.index),
            "type": "export_chunk",
            "data": _data(chunk),
            "ttl": _epoch(chunk.finished_at + AUDIT_TTL),
        }
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def get_chunk(self, tenant: str, run_id: str, index: int) -> ChunkRecord | None:
        """A chunk's record as its last attempt left it (consistent: a Step Functions Retry follows it within seconds)."""
        item = self.client.get_item(
            TableName=self.table_name, Key=serialize(keys.chunk_key(tenant, run_id, index)), ConsistentRead=True
        ).get("Item")
        return ChunkRecord.model_validate_json(deserialize(item)["data"]) if item else None

    def run_chunks(self, tenant: str, run_id: str) -> list[ChunkRecord]:
        """A run's chunk records only (Finalize needs no per-event results): one Query on the CHUNK# prefix."""
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :chunk)",
            ExpressionAttributeValues=serialize({":pk": keys.run_pk(tenant, run_id), ":chunk": "CHUNK#"}),
        )
        return [ChunkRecord.model_validate_json(i["data"]) for i in items]

    def run_contents(self, tenant: str, run_id: str) -> tuple[ExportRun | None, list[ChunkRecord], list[EventResult]]:
        """A run with its chunks and per-event results: one Query of the run's partition (paged)."""
        items = self._query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues=serialize({":pk": keys.run_pk(tenant, run_id)}))
        run = next((ExportRun.model_validate_json(i["data"]) for i in items if i["SK"] == "RUN"), None)
        chunks = [ChunkRecord.model_validate_json(i["data"]) for i in items if i["SK"].startswith("CHUNK#")]
        events = [EventResult.model_validate_json(i["data"]) for i in items if i["SK"].startswith("EVENT#")]
        return run, chunks, events

    # -- reports --------------------------------------------------------------------------------------
    def counters_on_days(self, tenant: str, dimension: str, days: Sequence[str]) -> dict[str, list[CounterItem]]:
        """Every id's counters of one dimension on each day: one Query per day (paged by ids, never by orders)."""
        found: dict[str, list[CounterItem]] = {}
        for on_day in days:
            items = self._query(
                KeyConditionExpression="PK = :pk", ExpressionAttributeValues=serialize({":pk": keys.counter_pk(tenant, dimension, on_day)})
            )
            found[on_day] = [_counter_item(item) for item in items]
        return found

    def counters_for(self, tenant: str, dimension: str, days: Sequence[str], ids: Sequence[str]) -> dict[str, dict[str, CounterItem]]:
        """Known ids' counters on each day (day ALL for all time): BatchGetItem, 100 counters per request."""
        wanted = [keys.counter_key(tenant, dimension, on_day, ident) for on_day in days for ident in ids]
        items = self._batch_get(wanted)
        found: dict[str, dict[str, CounterItem]] = {on_day: {} for on_day in days}
        for item in items.values():
            counter = _counter_item(item)
            found[str(item["day"])][counter.id] = counter
        return found

    def list_customers(self, tenant: str) -> list[CustomerActivity]:
        """The tenant's TikTok customers with a counted order, by first order: one GSI1 Query (paged)."""
        items = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=serialize({":pk": f"{keys.tenant_prefix(tenant)}#CUSTOMERS"}),
        )
        return [CustomerActivity.model_validate_json(item["data"]) for item in items]

    def crossover_profiles(self, tenant: str) -> list[AddressProfile]:
        """Address profiles that crossed from TikTok Shop to another store, by first other-store order: one GSI1 Query."""
        items = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=serialize({":pk": f"{keys.tenant_prefix(tenant)}#CROSSOVER"}),
        )
        return [AddressProfile.model_validate_json(item["data"]) for item in items]

    def attributed_orders_between(self, tenant: str, start: datetime, end: datetime) -> list[OrderView]:
        """Attributed, uncancelled orders placed in [start, end) with their attributions.

        The conversions' day Queries, then BatchGetItem of the orders and attributions: an export reads what it returns.
        """
        conversions = self.conversions_between(tenant, start, end)
        wanted = [
            k
            for c in conversions
            for k in (keys.order_key(tenant, c.source, c.order_id), keys.attribution_key(tenant, c.source, c.order_id))
        ]
        items = self._batch_get(wanted)
        views = []
        for c in conversions:
            order_item = items.get(_key_id(keys.order_key(tenant, c.source, c.order_id)))
            if order_item is not None:
                views.append(_order_view(order_item, items.get(_key_id(keys.attribution_key(tenant, c.source, c.order_id)))))
        return views

    # -- coupons ----------------------------------------------------------------------------------------
    def put_coupon(self, tenant: str, mapping: CouponMapping) -> None:
        """Create or replace a coupon mapping."""
        item = {**keys.coupon_key(tenant, mapping.code), **keys.coupons_gsi(tenant, mapping.code), "type": "coupon", "data": _data(mapping)}
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def delete_coupon(self, tenant: str, code: str) -> bool:
        """Delete a coupon mapping; False when there was none."""
        result = self.client.delete_item(TableName=self.table_name, Key=serialize(keys.coupon_key(tenant, code)), ReturnValues="ALL_OLD")
        return "Attributes" in result

    def list_coupons(self, tenant: str) -> list[CouponMapping]:
        """All of a tenant's coupon mappings by code: one GSI1 Query (paged)."""
        items = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=serialize({":pk": keys.coupons_gsi(tenant, "")["GSI1PK"]}),
        )
        return [CouponMapping.model_validate_json(item["data"]) for item in items]

    # -- plumbing ---------------------------------------------------------------------------------------
    def _query(self, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.client.query(TableName=self.table_name, **kwargs)
            items += [deserialize(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page or (limit and len(items) >= limit):
                return items[:limit] if limit else items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_write(self, items: Sequence[dict[str, Any]]) -> None:
        """BatchWriteItem in pages of 25, retrying unprocessed items."""
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            request = {self.table_name: [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + BATCH_WRITE_LIMIT]]}
            while request:
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    def _batch_get(self, wanted: Sequence[dict[str, str]], consistent: bool = False) -> dict[str, dict[str, Any]]:
        """BatchGetItem with de-duplicated keys, chunked by 100, retrying unprocessed keys."""
        unique = list({_key_id(k): k for k in wanted}.values())
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            keys_page = [serialize(k) for k in unique[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys_page, "ConsistentRead": consistent}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    plain = deserialize(item)
                    found[_key_id(plain)] = plain
                request = response.get("UnprocessedKeys") or {}
        return found


def conversion_item(tenant: str, conversion: Conversion) -> dict[str, Any]:
    """A conversion as stored: `counts` apart from `data`, so a review can flip it without rewriting the rest."""
    return {
        **keys.conversion_key(tenant, conversion.ordered_at, conversion.source, conversion.order_id),
        "type": "conversion",
        "data": conversion.model_dump_json(exclude={"counts"}, exclude_none=True),
        "counts": conversion.counts,
    }


def _order_view(order_item: dict[str, Any], attribution_item: dict[str, Any] | None) -> OrderView:
    """An order item and its attribution item (if any) as an OrderView."""
    attribution = Attribution.model_validate_json(attribution_item["data"]) if attribution_item else None
    return OrderView(
        Order.model_validate_json(order_item["data"]),
        datetime.fromisoformat(order_item["received_at"]),
        attribution,
        contribution=counters.load(attribution_item.get("contrib")) if attribution_item else None,
        revision=int(attribution_item.get("rev", 0)) if attribution_item else 0,
        order_updated_at=attribution_item.get("order_updated_at") if attribution_item else None,
    )


def _counter_item(item: dict[str, Any]) -> CounterItem:
    """A stored counter item as numbers and labels."""
    values = {name: value for name, value in item.items() if name not in COUNTER_META and not isinstance(value, str)}
    labels = {name: value for name, value in item.items() if name not in COUNTER_META and isinstance(value, str)}
    return CounterItem(id=str(item.get("cid") or keys.counter_id(item["SK"])), values=values, labels=labels)


def _revision(item: dict[str, Any] | None) -> int | None:
    """An item's revision: None when it does not exist, 0 when it predates revisions."""
    return None if item is None else int(item.get("rev", 0))


def _revision_condition(revision: int | None) -> tuple[str, dict[str, Any]]:
    """The condition (and its values) that an item is still at the revision that was read."""
    if revision is None:
        return "attribute_not_exists(PK)", {}
    if revision == 0:
        return "attribute_exists(PK) AND attribute_not_exists(rev)", {}
    return "rev = :rev", {":rev": revision}


def _key_id(key: dict[str, Any]) -> str:
    return f"{key['PK']}|{key['SK']}"


def _refused_as_invalid(exc: ClientError) -> bool:
    """Whether DynamoDB refused a write as invalid (e.g. an item over 400 KB), which no retry can fix."""
    if exc.response["Error"]["Code"] == "ValidationException":
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return any(reason.get("Code") == "ValidationError" for reason in reasons)


def _cancelled_by_condition(exc: ClientError, index: int, only: bool = False) -> bool:
    """Whether a cancelled transaction failed because item `index`'s condition did not hold (`only`: and nothing else failed)."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons") or []
    if reasons:
        failed = [i for i, reason in enumerate(reasons) if reason.get("Code") not in (None, "None")]
        return index in failed and reasons[index].get("Code") == "ConditionalCheckFailed" and (not only or failed == [index])
    return not only and "ConditionalCheckFailed" in str(exc)
