"""Fetch the orders stored hints name, and keep every hint whose fetch failed for a later attempt (no order is lost).

A TikTok Shop notification only names an order: IngestOrderFunction stores it as a hint and answers at once, and
FetchOrderFunction (woken by the table's stream) fetches the detail here. A fetch that fails for any reason (the API
down, the order not visible yet, an unreadable detail, a rejected token) leaves the hint waiting with the reason and a
backed-off next attempt; the retry schedule makes it due again. See docs/operations.md#order-hints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ordertrail.core.errors import OrderTrailError, UpstreamError
from ordertrail.ingest.stored_orders import TIKTOK_SHOP, store_order
from ordertrail.runtime.observability import logger, metrics
from ordertrail.sources import tiktok_shop
from ordertrail.storage.table import Unstorable
from ordertrail.storage.tenant_secrets import TenantDirectory, TikTokShopSecrets

if TYPE_CHECKING:
    from ordertrail.core.environment import Environment
    from ordertrail.storage.hints import OrderHint
    from ordertrail.storage.repository import Repository

# The first retry comes soon (TikTok may notify before its API shows the order); each failure doubles the wait.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)

# Given the tenant, the access token TikTok refused and now: the shop's fresh secrets, or None when it cannot be refreshed.
TokenRefresher = Callable[[str, str, datetime], TikTokShopSecrets | None]


@dataclass(frozen=True)
class FetchOutcome:
    """What one hint's fetch did: stored orders, or why it waits and until when."""

    stored: int = 0
    error: str | None = None
    next_attempt_at: datetime | None = None


def retry_delay(attempts_before: int) -> timedelta:
    """How long a hint waits after its (attempts_before + 1)-th failed fetch: 30 s doubling, at most an hour."""
    return min(FIRST_RETRY * (2 ** min(attempts_before, 16)), LONGEST_RETRY)


def fetch_hint(
    repo: Repository,
    directory: TenantDirectory,
    environment: Environment,
    hint: OrderHint,
    now: datetime,
    refresh_token: TokenRefresher | None = None,
) -> FetchOutcome:
    """Fetch and store the order a due hint names; on any failure, record it on the hint for a later attempt."""
    try:
        stored = _fetch_and_store(repo, directory, environment, hint, now, refresh_token)
    except (UpstreamError, OrderTrailError, Unstorable, ValueError) as exc:
        # The store's answer cannot be fetched, read or stored: the hint keeps it for a later attempt (a DynamoDB
        # failure is raised instead, so the stream retries the record).
        next_attempt_at = now + retry_delay(hint.attempts)
        repo.hint_failed(hint, str(exc), next_attempt_at)
        metrics.add_metric(name="OrderFetchFailed", unit="Count", value=1)
        logger.warning(
            "order fetch failed; the hint waits",
            extra={"tenant": hint.tenant, "order_id": hint.order_id, "attempts": hint.attempts + 1, "error": str(exc)},
        )
        return FetchOutcome(error=str(exc), next_attempt_at=next_attempt_at)
    repo.hint_done(hint)
    return FetchOutcome(stored=stored)


def _fetch_and_store(
    repo: Repository,
    directory: TenantDirectory,
    environment: Environment,
    hint: OrderHint,
    now: datetime,
    refresh_token: TokenRefresher | None,
) -> int:
    """Fetch the hint's order (refreshing a rejected token once) and store it; raise UpstreamError when it cannot."""
    if hint.source != TIKTOK_SHOP:
        raise UpstreamError(f"no fetcher for {hint.source} orders")
    secrets = directory.get(hint.tenant)
    shop = secrets.tiktok_shop if secrets else None
    if shop is None or not shop.access_token or not shop.shop_cipher:
        raise UpstreamError("the TikTok Shop is not connected (no access token or shop cipher)")
    try:
        fetched = _fetch(environment, shop, hint.order_id)
    except tiktok_shop.TikTokShopApiError as exc:
        fresh = refresh_token(hint.tenant, shop.access_token, now) if refresh_token is not None and exc.token_rejected else None
        if fresh is None:
            raise
        fetched = _fetch(environment, fresh, hint.order_id)
    if not fetched:
        # TikTok can notify before its API shows the order: the hint waits and is fetched again.
        raise tiktok_shop.OrderNotVisible(f"TikTok Shop does not show order {hint.order_id} yet")
    received_at = datetime.fromisoformat(hint.first_notified_at.replace("Z", "+00:00")) if hint.first_notified_at else now
    return sum(store_order(repo, hint.tenant, tiktok_shop.normalise_order(raw), received_at) == "stored" for raw in fetched)


def _fetch(environment: Environment, shop: TikTokShopSecrets, order_id: str) -> list[dict[str, object]]:
    """The raw detail of one order from TikTok Shop's API (only the order asked for)."""
    credentials = tiktok_shop.TikTokShopCredentials(**shop.model_dump())
    client = tiktok_shop.TikTokShopClient(environment.tiktok_shop_api_url, credentials)
    return [raw for raw in client.fetch_orders([order_id]) if str(raw.get("id")) == order_id]


def wake_due_hints(repo: Repository, now: datetime, limit: int) -> int:
    """Make every pending hint whose next attempt has come due again (the stream then fetches it); returns how many."""
    return sum(repo.wake_hint(hint, now) for hint in repo.due_hints(now, limit))
