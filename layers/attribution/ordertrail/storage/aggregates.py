"""Aggregates the reports read: per-day counters, customers and crossover address profiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ordertrail.storage import keys
from ordertrail.storage.table import Table, serialize
from ordertrail.tally.counters import Counts, Labels
from ordertrail.tally.crossover import AddressProfile
from ordertrail.tally.customers import CustomerActivity

COUNTER_META = frozenset({"PK", "SK", "type", "dim", "cid", "day"})


@dataclass(frozen=True)
class CounterItem:
    """One counter item as read: its id, numbers and labels."""

    id: str
    values: dict[str, Any]
    labels: dict[str, str]


def counter_item(item: dict[str, Any]) -> CounterItem:
    """A stored counter item as numbers and labels."""
    values = {name: value for name, value in item.items() if name not in COUNTER_META and not isinstance(value, str)}
    labels = {name: value for name, value in item.items() if name not in COUNTER_META and isinstance(value, str)}
    return CounterItem(id=str(item.get("cid") or keys.counter_id(item["SK"])), values=values, labels=labels)


class AggregateRecords(Table):
    """Aggregates the reports read."""

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

    # -- reports --------------------------------------------------------------------------------------
    def counters_on_days(self, tenant: str, dimension: str, days: Sequence[str]) -> dict[str, list[CounterItem]]:
        """Every id's counters of one dimension on each day: one Query per day (paged by ids, never by orders)."""
        found: dict[str, list[CounterItem]] = {}
        for on_day in days:
            items = self._query(
                KeyConditionExpression="PK = :pk", ExpressionAttributeValues=serialize({":pk": keys.counter_pk(tenant, dimension, on_day)})
            )
            found[on_day] = [counter_item(item) for item in items]
        return found

    def counters_for(self, tenant: str, dimension: str, days: Sequence[str], ids: Sequence[str]) -> dict[str, dict[str, CounterItem]]:
        """Known ids' counters on each day (day ALL for all time): BatchGetItem, 100 counters per request."""
        wanted = [keys.counter_key(tenant, dimension, on_day, ident) for on_day in days for ident in ids]
        items = self._batch_get(wanted)
        found: dict[str, dict[str, CounterItem]] = {on_day: {} for on_day in days}
        for item in items.values():
            counter = counter_item(item)
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
