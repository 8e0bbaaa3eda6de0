"""When each store's last order webhook arrived, for the connections view, at a write every few minutes at most.

A write per webhook would double an order's ingest cost for one timestamp: each function instance remembers when it
last recorded a (tenant, store) and writes again only after INTERVAL, so the time shown is at most that much behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ordertrail.storage.repository import Repository

INTERVAL = timedelta(minutes=5)


class OrderActivity:
    """One function instance's memory of when it last recorded each store's order webhooks."""

    def __init__(self, interval: timedelta = INTERVAL) -> None:
        self.interval = interval
        self._recorded: dict[tuple[str, str], datetime] = {}

    def note(self, repo: Repository, tenant: str, store: str, now: datetime) -> bool:
        """Record that an order webhook of the store arrived now, unless this instance did so less than `interval` ago."""
        last = self._recorded.get((tenant, store))
        if last is not None and now - last < self.interval:
            return False
        repo.note_order_received(tenant, store, now)
        self._recorded[(tenant, store)] = now
        return True


@lru_cache(maxsize=1)
def recorder() -> OrderActivity:
    """The process's order-activity memory (made on first use)."""
    return OrderActivity()
