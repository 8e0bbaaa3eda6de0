"""Orders: their latest state, lookups by id and by buyer, and decoding stream images."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ordertrail.core.models import (
    Attribution,
    Order,
)
from ordertrail.storage import keys
from ordertrail.storage.table import Table, key_id, model_json, serialize, tenant_of, unpacked
from ordertrail.storage.touchpoints import TOUCHPOINT
from ordertrail.tally import counters
from ordertrail.tally.counters import Counts

OrderWrite = Literal["stored", "stale"]


@dataclass(frozen=True)
class ImportMark:
    """On an order a history import brought in that was placed before its store was connected."""

    import_id: str
    connected_at: datetime


@dataclass(frozen=True)
class StoredOrder:
    """An order as stored, with when OrderTrail first received it (and the import that brought it, if it is history)."""

    tenant: str
    order: Order
    received_at: datetime
    imported: ImportMark | None = None


@dataclass(frozen=True)
class OrderView:
    """An order with its attribution, as the API shows it."""

    order: Order
    received_at: datetime
    attribution: Attribution | None
    contribution: Counts | None = None
    revision: int = 0
    order_updated_at: str | None = None
    imported: ImportMark | None = None


def import_mark_of(item: dict[str, Any]) -> ImportMark | None:
    """The import mark an order item carries (None for orders that came by webhook or API)."""
    mark = item.get("imported")
    if not isinstance(mark, dict):
        return None
    return ImportMark(str(mark["import_id"]), datetime.fromisoformat(str(mark["connected_at"]).replace("Z", "+00:00")))


def decode_item(item: dict[str, Any]) -> tuple[str, Any] | None:
    """Turn a deserialized item (e.g. a stream image) into (type, model); None for items of no interest."""
    kind = item.get("type")
    if kind == "order":
        order = Order.model_validate_json(item["data"])
        stored = StoredOrder(tenant_of(item["PK"]), order, datetime.fromisoformat(item["received_at"]), import_mark_of(item))
        return "order", stored
    if kind == "touchpoint":
        return "touchpoint", (tenant_of(item["PK"]), TOUCHPOINT.validate_json(item["data"]))
    return None


def order_view(order_item: dict[str, Any], attribution_item: dict[str, Any] | None) -> OrderView:
    """An order item and its attribution item (if any) as an OrderView."""
    attribution = Attribution.model_validate_json(attribution_item["data"]) if attribution_item else None
    return OrderView(
        Order.model_validate_json(order_item["data"]),
        datetime.fromisoformat(order_item["received_at"]),
        attribution,
        contribution=counters.load(unpacked(attribution_item.get("contrib"))) if attribution_item else None,
        revision=int(attribution_item.get("rev", 0)) if attribution_item else 0,
        order_updated_at=attribution_item.get("order_updated_at") if attribution_item else None,
        imported=import_mark_of(order_item),
    )


class OrderRecords(Table):
    """Orders."""

    # -- orders -----------------------------------------------------------------------------------------
    def put_order(self, tenant: str, order: Order, received_at: datetime, imported: ImportMark | None = None) -> OrderWrite:
        """Store an order's latest state; an update older than (or as old as) the stored one changes nothing.

        `imported` marks history (placed before the store was connected); a later state keeps the first mark.
        """
        names = {"#data": "data", "#type": "type"}
        values: dict[str, Any] = {
            ":data": model_json(order),
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
        if imported is not None:
            values[":imported"] = {"import_id": imported.import_id, "connected_at": keys.iso(imported.connected_at)}
            sets.append("imported = if_not_exists(imported, :imported)")
        day_index = keys.order_day_gsi(tenant, order.ordered_at, order.source, order.id)
        values.update({":dpk": day_index["GSI2PK"], ":dsk": day_index["GSI2SK"]})
        sets += ["GSI2PK = :dpk", "GSI2SK = :dsk"]
        buyer = order.buyer.matchable_user_id
        if buyer:
            gsi = keys.buyer_orders_gsi(tenant, buyer, order.ordered_at, order.source, order.id)
            values.update({":gpk": gsi["GSI1PK"], ":gsk": gsi["GSI1SK"]})
            sets += ["GSI1PK = :gpk", "GSI1SK = :gsk"]
        stored = self._write_if(
            "update_item",
            Key=serialize(keys.order_key(tenant, order.source, order.id)),
            # The backfill's mark goes with the first new state, so the stream attributes this one (docs/reattribution.md).
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE backfilled_at",
            ConditionExpression="attribute_not_exists(PK) OR updated_at < :updated",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialize(values),
        )
        return "stored" if stored else "stale"

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
            order_item = items.get(key_id(keys.order_key(tenant, s, order_id)))
            if order_item is None:
                continue
            views.append(order_view(order_item, items.get(key_id(keys.attribution_key(tenant, s, order_id)))))
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
        return [order_view(item, attributions.get(key_id({"PK": item["PK"], "SK": "ATTR"}))) for item in orders]
