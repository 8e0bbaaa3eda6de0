"""Signed, expiring dashboard links: a browser cannot send an API key header, so a key holder mints a link instead.

A link carries `<expiry epoch>.<HMAC-SHA256 hex>` over the tenant and the expiry, keyed by the SHA-256 of one of the
tenant's API keys (the form in which keys are stored). It opens only the browser routes (the dashboard, connecting the
TikTok Shop: functions/authorizer's LINK_ROUTES), stops working when it
expires or when that key is revoked, and never reveals the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from ordertrail.core.errors import Unauthorized
from ordertrail.storage.tenant_secrets import hash_api_key

if TYPE_CHECKING:
    from ordertrail.core.report_models import DashboardLink

MAX_LIFETIME = timedelta(hours=24)
DEFAULT_LIFETIME = timedelta(hours=1)


def _signature(key_hash: str, tenant: str, expires: int) -> str:
    """The link's MAC over tenant and expiry."""
    return hmac.new(key_hash.encode(), f"ordertrail-dashboard:{tenant}:{expires}".encode(), hashlib.sha256).hexdigest()


def mint(key_hash: str, tenant: str, expires_at: datetime) -> str:
    """A link token for the tenant's dashboard, valid until expires_at."""
    expires = int(expires_at.timestamp())
    return f"{expires}.{_signature(key_hash, tenant, expires)}"


def verify(token: str | None, tenant: str, key_hashes: Iterable[str], now: datetime) -> bool:
    """Whether a link token opens this tenant's dashboard now (signed by a current key, not expired, not too long-lived)."""
    if not token:
        return False
    expires_text, _, signature = token.partition(".")
    if not expires_text.isdigit() or not signature:
        return False
    expires = int(expires_text)
    seconds_left = expires - now.timestamp()
    if seconds_left <= 0 or seconds_left > MAX_LIFETIME.total_seconds():
        return False
    return any(hmac.compare_digest(signature, _signature(key_hash, tenant, expires)) for key_hash in key_hashes)


def link_for(tenant: str, api_key: str | None, hours: int, now: datetime) -> DashboardLink:
    """A dashboard link signed with the caller's own API key, valid for `hours` (1..24)."""
    # Here, not at the top: the authorizer and every HTTP handler import this module, only the reports mint links.
    from ordertrail.core.report_models import DashboardLink

    if not api_key:
        raise Unauthorized("a valid API key is required: send Authorization: Bearer <key>", field="Authorization", code="invalid_api_key")
    expires_at = (now + timedelta(hours=hours)).replace(microsecond=0)
    token = mint(hash_api_key(api_key), tenant, expires_at)
    return DashboardLink(path=f"/v1/{quote(tenant)}/dashboard?link={token}", expires_at=expires_at)
