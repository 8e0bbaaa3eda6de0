"""History imports: the run record, its windows, and each window's cursor advanced once per page (docs/data-model.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ordertrail.storage import keys
from ordertrail.storage.table import Table, deserialize, epoch_seconds, model_json, serialize

if TYPE_CHECKING:
    from ordertrail.core.import_runs import ImportRun, ImportWindow

# An import's record is an audit of what was brought in: kept about a year, like export runs.
IMPORT_TTL = timedelta(days=400)


class ImportRecords(Table):
    """History import runs and their windows."""

    def create_import(self, run: ImportRun) -> bool:
        """Store a new import run; False when one with this id exists (a repeated start imports nothing twice)."""
        item = self._run_item(run)
        return self._write_if("put_item", Item=serialize(item), ConditionExpression="attribute_not_exists(PK)")

    def save_import(self, run: ImportRun) -> None:
        """Replace an import run's record (status, windows planned, error)."""
        self.client.put_item(TableName=self.table_name, Item=serialize(self._run_item(run)))

    def get_import(self, tenant: str, import_id: str) -> ImportRun | None:
        """One import run (consistent: its steps follow each other within seconds)."""
        # Here, not at the top: only the import and reports functions read import runs; the others skip these models.
        from ordertrail.core.import_runs import ImportRun

        key = serialize(keys.import_run_key(tenant, import_id))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return ImportRun.model_validate_json(deserialize(item)["data"]) if item else None

    def plan_windows(self, run: ImportRun, windows: list[ImportWindow]) -> None:
        """Create the run's windows; a window that exists already (Plan ran again) keeps its progress."""
        for window in windows:
            item = self._window_item(run.tenant, run.import_id, window, run)
            self._write_if("put_item", Item=serialize(item), ConditionExpression="attribute_not_exists(PK)")

    def get_window(self, tenant: str, import_id: str, index: int) -> ImportWindow | None:
        """One window as its last page left it (consistent: the cursor must be the latest)."""
        from ordertrail.core.import_runs import ImportWindow  # on first use (see above)

        key = serialize(keys.import_window_key(tenant, import_id, index))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return ImportWindow.model_validate_json(deserialize(item)["data"]) if item else None

    def advance_window(self, run: ImportRun, before: ImportWindow, after: ImportWindow) -> bool:
        """Record one page's progress only if nobody moved the cursor since `before` was read (False: someone did)."""
        item = self._window_item(run.tenant, run.import_id, after, run)
        condition, values = "pages = :pages", {":pages": before.pages}
        return self._write_if("put_item", Item=serialize(item), ConditionExpression=condition, ExpressionAttributeValues=serialize(values))

    def import_contents(self, tenant: str, import_id: str) -> tuple[ImportRun | None, list[ImportWindow]]:
        """A run and its windows, in order: one Query of the run's partition."""
        from ordertrail.core.import_runs import ImportRun, ImportWindow  # on first use (see above)

        items = self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=serialize({":pk": keys.import_pk(tenant, import_id)}),
            ConsistentRead=True,
        )
        run = next((ImportRun.model_validate_json(i["data"]) for i in items if i["SK"] == "RUN"), None)
        windows = [ImportWindow.model_validate_json(i["data"]) for i in items if i["SK"].startswith("WINDOW#")]
        return run, sorted(windows, key=lambda w: w.index)

    @staticmethod
    def _run_item(run: ImportRun) -> dict[str, Any]:
        """The run's item."""
        return {
            **keys.import_run_key(run.tenant, run.import_id),
            "type": "import_run",
            "data": model_json(run),
            "ttl": epoch_seconds(run.created_at + IMPORT_TTL),
        }

    @staticmethod
    def _window_item(tenant: str, import_id: str, window: ImportWindow, run: ImportRun) -> dict[str, Any]:
        """A window's item; `pages` is kept outside the JSON too, for the cursor's condition."""
        return {
            **keys.import_window_key(tenant, import_id, window.index),
            "type": "import_window",
            "pages": window.pages,
            "data": model_json(window),
            "ttl": epoch_seconds(run.created_at + IMPORT_TTL),
        }
