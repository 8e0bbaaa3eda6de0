"""Keeping a TikTok Shop connection's tokens fresh: one refresh at a time per tenant, the rotated refresh token stored once.

docs/operations.md#when-a-connection-needs-reauthorization says what an operator sees when TikTok refuses the refresh token.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit

from ordertrail.connections.connector import Connector
from ordertrail.runtime.observability import logger, metrics
from ordertrail.sources.tiktok_shop_auth import RefreshTokenRejected, TikTokShopAuthError
from ordertrail.storage.connections import TIKTOK_SHOP, Connection
from ordertrail.storage.tenant_secrets import SecretChange, TikTokShopSecrets

# Longer than one refresh (a token call with its timeout and two secret writes), short enough that a refresher
# that died leaves the connection to the next one within a minute.
LEASE_SECONDS = 60
DEFAULT_WITHIN = timedelta(hours=48)
NEEDS_REAUTHORIZATION_METRIC = "ConnectionNeedsReauthorization"

Outcome = Literal["refreshed", "fresh", "busy", "not_connected", "needs_reauthorization", "failed"]


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did, and the tenant's TikTok Shop secrets when they hold a usable token."""

    outcome: Outcome
    secrets: TikTokShopSecrets | None = None


@dataclass
class RefreshSummary:
    """How many due connections ended in each outcome (never a token)."""

    due: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class _AlreadyFresh(Exception):
    """Another refresher rotated the tokens since we looked: keep what the secret holds."""

    def __init__(self, secrets: TikTokShopSecrets) -> None:
        super().__init__("already fresh")
        self.secrets = secrets


class _NoRefreshToken(Exception):
    """The secret holds no refresh token (disconnected, or never connected through OAuth)."""


def refresh(connector: Connector, tenant: str, now: datetime, *, rejected_access_token: str | None = None) -> RefreshResult:
    """Refresh the tenant's tokens under its lease, unless they are fresh already.

    After taking the lease the secret is read afresh (inside TenantDirectory.update), so two refreshers never both
    rotate: the second finds the lease held (`busy`) or the token already rotated (`fresh`). With `rejected_access_token`
    (an order fetch got "access token expired"), the token is refreshed unless the secret already holds another one.
    """
    records, holder, at = connector.records, uuid.uuid4().hex, int(now.timestamp())
    if not records.take_connection_lease(tenant, TIKTOK_SHOP, holder, at, LEASE_SECONDS):
        return RefreshResult("busy")
    try:
        connection = records.get_connection(tenant)
        if connection is None or connection.status != "connected":
            return RefreshResult("not_connected")
        fresh_until = at + connector.refresh_within_seconds
        if rejected_access_token is None and connection.access_token_expires_at > fresh_until:
            return RefreshResult("fresh")
        try:
            secrets = connector.directory.update(tenant, _rotate(connector, at, fresh_until, rejected_access_token))
        except _AlreadyFresh as fresh:
            return RefreshResult("fresh", fresh.secrets)
        except _NoRefreshToken:
            _needs_reauthorization(connector, connection, now, "the tenant's secret holds no refresh token")
            return RefreshResult("needs_reauthorization")
        except RefreshTokenRejected as rejected:
            _needs_reauthorization(connector, connection, now, f"TikTok Shop refused the refresh token (code {rejected.code})")
            return RefreshResult("needs_reauthorization")
        except TikTokShopAuthError as failed:
            records.save_connection(connection.model_copy(update={"last_error": str(failed), "updated_at": now}))
            logger.warning("token refresh failed; the next run tries again", extra={"tenant": tenant, "code": str(failed.code)})
            return RefreshResult("failed")
        shop = secrets.tiktok_shop
        assert shop is not None  # _rotate wrote it
        records.save_connection(
            connection.model_copy(
                update={
                    "access_token_expires_at": shop.access_token_expires_at,
                    "refresh_token_expires_at": shop.refresh_token_expires_at,
                    "last_refreshed_at": now,
                    "last_error": None,
                    "updated_at": now,
                }
            )
        )
        return RefreshResult("refreshed", shop)
    finally:
        records.release_connection_lease(tenant, TIKTOK_SHOP, holder)


def _rotate(connector: Connector, at: int, fresh_until: int, rejected_access_token: str | None) -> SecretChange:
    """The change that rotates the tokens in the secret as it is now (raising, so nothing is written, when it must not)."""

    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        app = dict(config.get("tiktok_shop") or {})
        current = TikTokShopSecrets.model_validate(app) if app.get("app_key") and app.get("app_secret") else None
        if current is None or not current.refresh_token:
            raise _NoRefreshToken()
        if rejected_access_token is None and current.access_token_expires_at > fresh_until:
            raise _AlreadyFresh(current)
        if rejected_access_token and current.access_token and current.access_token != rejected_access_token:
            raise _AlreadyFresh(current)
        grant = connector.auth.refresh(current.app_key, current.app_secret, current.refresh_token)
        app.update(
            access_token=grant.access_token.get_secret_value(),
            refresh_token=grant.refresh_token.get_secret_value(),
            access_token_expires_at=grant.access_token_expire_in,
            refresh_token_expires_at=grant.refresh_token_expire_in,
        )
        return {**config, "tiktok_shop": app}

    return change


def _needs_reauthorization(connector: Connector, connection: Connection, now: datetime, why: str) -> None:
    """Mark the connection as needing the seller's authorization again, and count it (an alarm can watch the metric)."""
    connector.records.save_connection(
        connection.model_copy(
            update={"status": "needs_reauthorization", "last_error": f"{why}: authorize the shop again", "updated_at": now}
        )
    )
    metrics.add_metric(name=NEEDS_REAUTHORIZATION_METRIC, unit=MetricUnit.Count, value=1)
    logger.warning("TikTok Shop connection needs reauthorization", extra={"tenant": connection.tenant})


def refresh_due(connector: Connector, now: datetime, within: timedelta = DEFAULT_WITHIN) -> RefreshSummary:
    """Refresh every connection whose access token expires within `within`; one failure does not stop the others."""
    due = connector.records.due_connections(TIKTOK_SHOP, int((now + within).timestamp()))
    summary = RefreshSummary(due=len(due))
    for connection in due:
        try:
            outcome: str = refresh(connector, connection.tenant, now).outcome
        except Exception as exc:  # one tenant's failure (its secret, the table) must not stop the others
            logger.warning("token refresh failed", extra={"tenant": connection.tenant, "error": type(exc).__name__})
            outcome = "failed"
        summary.outcomes[outcome] += 1
    return summary


def refresh_after_rejection(connector: Connector, tenant: str, now: datetime, rejected_access_token: str = "") -> TikTokShopSecrets | None:
    """For an order fetch TikTok answered "access token expired": refresh once under the lease; the fresh secrets, or None."""
    result = refresh(connector, tenant, now, rejected_access_token=rejected_access_token)
    if result.outcome in ("refreshed", "fresh"):
        if result.secrets is not None:
            return result.secrets
        secrets = connector.directory.get(tenant)
        return secrets.tiktok_shop if secrets is not None else None
    return None
