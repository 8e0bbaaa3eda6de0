"""What the connection features work with: the table, the tenants' secrets, TikTok Shop's auth client and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ordertrail.core.errors import Conflict
from ordertrail.sources.tiktok_shop_auth import TikTokShopAuthClient

if TYPE_CHECKING:
    import requests  # only for the annotation: the clients import it when they build a session

    from ordertrail.core.environment import Environment
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.tenant_secrets import TenantDirectory, TikTokShopSecrets


@dataclass(frozen=True)
class Connector:
    """The collaborators and settings of connecting, refreshing and disconnecting a tenant's TikTok Shop."""

    records: Repository
    directory: TenantDirectory
    auth: TikTokShopAuthClient
    authorize_url: str
    state_ttl_seconds: int
    refresh_within_seconds: int


def connector_from(
    environment: Environment, records: Repository, directory: TenantDirectory, session: requests.Session | None = None
) -> Connector:
    """A Connector configured from the process environment (docs/operations.md#connect-a-shop)."""
    auth = TikTokShopAuthClient(
        environment.tiktok_shop_auth_url,
        environment.tiktok_shop_api_url,
        session=session,
        refresh_rejected_codes=environment.tiktok_shop_refresh_rejected_codes,
    )
    return Connector(
        records=records,
        directory=directory,
        auth=auth,
        authorize_url=environment.tiktok_shop_authorize_url,
        state_ttl_seconds=environment.oauth_state_ttl_seconds,
        refresh_within_seconds=environment.token_refresh_within_seconds,
    )


def tiktok_shop_app(directory: TenantDirectory, tenant: str) -> TikTokShopSecrets:
    """The tenant's TikTok Shop app (key, secret, service id); 409 `tiktok_shop_app_missing` naming what is missing."""
    secrets = directory.get(tenant)
    shop = secrets.tiktok_shop if secrets is not None else None
    missing = [name for name in ("app_key", "app_secret", "service_id") if shop is None or not getattr(shop, name)]
    if shop is None or missing:
        raise Conflict(
            f"tenant {tenant} has no TikTok Shop app to connect: its secret needs tiktok_shop.{', tiktok_shop.'.join(missing)} "
            "(docs/operations.md#connect-a-shop)",
            field="tiktok_shop",
            code="tiktok_shop_app_missing",
        )
    return shop
