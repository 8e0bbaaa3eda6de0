"""Re-attribution runs: the tenant's lease, the run with its settings, its days' cursors, and a day's orders page by page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ordertrail.storage import keys
from ordertrail.storage.orders import StoredOrder, decode_item
from ordertrail.storage.table import Table, deserialize, epoch_seconds, key_id, model_json, serialize

if TYPE_CHECKING:
    from datetime import date

    from ordertrail.core.reattribution_runs import ReattributionDay, ReattributionRun

# A run's record is an audit of what changed which orders: kept about a year, like export runs and imports.
REATTRIBUTION_TTL = timedelta(days=400)


@dataclass(frozen=True)
class OrderPage:
    """One page of a day's orders and where the next page starts (None: the day is done)."""

    orders: list[StoredOrder]
    cursor: str | None


class ReattributionRecords(Table):
    """Re-attribution runs, their days, and the orders of a UTC day."""

    def take_reattribution_lease(self, tenant: str, run_id: str, now: datetime, hold: timedelta, renew: bool = False) -> str | None:
        """Take (or, renewing, extend) the tenant's re-attribution lease; None on success, else the run that holds it."""
        item = {
            **keys.reattribution_lease_key(tenant),
            "type": "reattribution_lease",
            "run_id": run_id,
            "expires_at": epoch_seconds(now + hold),
            "ttl": epoch_seconds(now + hold),  # TTL only tidies up: the condition decides expiry
        }
        held = self._take_lease(item, run_id, now, renew)
        return str(held["run_id"]) if held is not None else None

    def release_reattribution_lease(self, tenant: str, run_id: str) -> bool:
        """Delete the tenant's re-attribution lease if `run_id` holds it; False when another run (or none) does."""
        return self._write_if(
            "delete_item",
            Key=serialize(keys.reattribution_lease_key(tenant)),
            ConditionExpression="run_id = :run",
            ExpressionAttributeValues=serialize({":run": run_id}),
        )

    def create_reattribution(self, run: ReattributionRun) -> bool:
        """Store a new run; False when one with this id exists."""
        return self._write_if("put_item", Item=serialize(self._reattribution_item(run)), ConditionExpression="attribute_not_exists(PK)")

    def save_reattribution(self, run: ReattributionRun) -> None:
        """Replace a run's record (status, days planned, error)."""
        self.client.put_item(TableName=self.table_name, Item=serialize(self._reattribution_item(run)))

    def get_reattribution(self, tenant: str, run_id: str) -> ReattributionRun | None:
        """One run (consistent: its steps follow each other within seconds)."""
        # Here, not at the top: only the re-attribution and reports functions read runs; the others skip these models.
        from ordertrail.core.reattribution_runs import ReattributionRun

        key = serialize(keys.reattribution_run_key(tenant, run_id))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return ReattributionRun.model_validate_json(deserialize(item)["data"]) if item else None

    def plan_days(self, run: ReattributionRun, days: list[ReattributionDay]) -> None:
        """Create the run's days; a day that exists already (Plan ran again) keeps its progress."""
        for on_day in days:
            self._write_if(
                "put_item", Item=serialize(self._reattribution_day_item(run, on_day)), ConditionExpression="attribute_not_exists(PK)"
            )

    def get_day(self, run: ReattributionRun, on_day: date) -> ReattributionDay | None:
        """One day as its last page left it (consistent: the cursor must be the latest)."""
        from ordertrail.core.reattribution_runs import ReattributionDay  # on first use (see above)

        key = serialize(keys.reattribution_day_key(run.tenant, run.run_id, on_day.isoformat()))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return ReattributionDay.model_validate_json(deserialize(item)["data"]) if item else None

    def advance_day(self, run: ReattributionRun, before: ReattributionDay, after: ReattributionDay) -> bool:
        """Record one page's progress only if nobody moved the cursor since `before` was read (False: someone did)."""
        return self._write_if(
            "put_item",
            Item=serialize(self._reattribution_day_item(run, after)),
            ConditionExpression="pages = :pages",
            ExpressionAttributeValues=serialize({":pages": before.pages}),
        )

    def reattribution_contents(self, tenant: str, run_id: str) -> tuple[ReattributionRun | None, list[ReattributionDay]]:
        """A run and its days, in order: one Query of the run's partition."""
        from ordertrail.core.reattribution_runs import ReattributionDay, ReattributionRun  # on first use (see above)

        items = self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=serialize({":pk": keys.reattribution_pk(tenant, run_id)}),
            ConsistentRead=True,
        )
        run = next((ReattributionRun.model_validate_json(i["data"]) for i in items if i["SK"] == "RUN"), None)
        days = [ReattributionDay.model_validate_json(i["data"]) for i in items if i["SK"].startswith("DAY#")]
        return run, sorted(days, key=lambda d: d.day)

    def orders_of_day(self, tenant: str, on_day: date, start: datetime, end: datetime, cursor: str | None, limit: int) -> OrderPage:
        """Up to `limit` orders placed on one UTC day within [start, end), after `cursor`: one GSI2 Query, one BatchGetItem."""
        listed, next_cursor = self._day_page(keys.order_day_pk(tenant, on_day.isoformat()), start, end, cursor, limit)
        wanted = [{"PK": entry["PK"], "SK": "ORDER"} for entry in listed]
        items = self._batch_get(wanted) if wanted else {}
        orders = []
        for key in wanted:
            decoded = decode_item(items[key_id(key)]) if key_id(key) in items else None  # deleted since it was listed
            if decoded is not None and decoded[0] == "order":
                orders.append(decoded[1])
        return OrderPage(orders, next_cursor)

    @staticmethod
    def _reattribution_item(run: ReattributionRun) -> dict[str, Any]:
        """The run's item."""
        return {
            **keys.reattribution_run_key(run.tenant, run.run_id),
            "type": "reattribution_run",
            "data": model_json(run),
            "ttl": epoch_seconds(run.created_at + REATTRIBUTION_TTL),
        }

    @staticmethod
    def _reattribution_day_item(run: ReattributionRun, on_day: ReattributionDay) -> dict[str, Any]:
        """A day's item; `pages` is kept outside the JSON too, for the cursor's condition."""
        return {
            **keys.reattribution_day_key(run.tenant, run.run_id, on_day.day.isoformat()),
            "type": "reattribution_day",
            "pages": on_day.pages,
            "data": model_json(on_day),
            "ttl": epoch_seconds(run.created_at + REATTRIBUTION_TTL),
        }
