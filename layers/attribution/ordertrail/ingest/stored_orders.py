"""Storing one order state, the path every order takes: webhooks, fetched hints and history imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordertrail.runtime.observability import logger, metrics

if TYPE_CHECKING:
    from datetime import datetime

    from ordertrail.core.models import Order
    from ordertrail.storage.orders import ImportMark
    from ordertrail.storage.repository import Repository

TIKTOK_SHOP = "tiktok_shop"
SHOPIFY = "shopify"


def store_order(repo: Repository, tenant: str, order: Order, now: datetime, imported: ImportMark | None = None) -> str:
    """Store one order state (an older one than stored changes nothing); returns `stored` or `stale`."""
    outcome = repo.put_order(tenant, order, now, imported)
    metrics.add_metric(name=f"Orders{outcome.capitalize()}", unit="Count", value=1)
    logger.info(
        "order stored" if outcome == "stored" else "older order state ignored",
        extra={"tenant": tenant, "order_id": order.id, "source": order.source, "status": order.status},
    )
    return outcome
