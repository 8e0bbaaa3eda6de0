"""One speed fix to moto's DynamoDB for the local stack and tests: a transaction copies each table once, not once per action.

moto 5.2.5 backs every TransactWriteItems up by deep-copying the whole table for EACH of its actions (to roll back on
failure). Report counters make transactions of 20-60 actions, so the cost grew with actions × table size (and the
stream records a table keeps), which made the local demo and the tests several times slower than the code they run.
One copy per table per transaction rolls back exactly the same. This touches moto internals: tests/unit/test_moto_patches.py
guards it (rollback still works, one copy per table).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_active = threading.local()


class _CopyEachTableOnce:
    """Stands in for the `copy` module inside moto's DynamoDB backend: within a transaction a table is deep-copied once."""

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        """Deep-copy, reusing this transaction's copy of a table (any other value is copied as usual)."""
        from moto.dynamodb.models.table import Table

        tables: dict[int, Any] | None = getattr(_active, "tables", None)
        if tables is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in tables:
            tables[id(value)] = copy.deepcopy(value, memo)
        return tables[id(value)]

    def __getattr__(self, name: str) -> Any:
        """Everything else is the real `copy` module."""
        return getattr(copy, name)


def copy_tables_once_per_transaction() -> None:
    """Install the fix (idempotent)."""
    from moto.dynamodb import models

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "ordertrail_patched", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _active.tables = {}
        try:
            original(self, transact_items)
        finally:
            _active.tables = None

    transact_write_items.ordertrail_patched = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _CopyEachTableOnce()  # type: ignore[assignment]
