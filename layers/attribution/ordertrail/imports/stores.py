"""Where an import reads a store's past orders: TikTok Shop's order search and Shopify's Admin API, one page at a time.

Each store answers a page of raw orders and the cursor of the next one; the errors an import must tell apart are made
two: RetryableImportError (the store is down or limiting: Step Functions waits and retries the step) and
ImportAuthorizationError (the store refused the credentials: the run fails and says to connect again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ordertrail.core.errors import Conflict, UpstreamError
from ordertrail.sources import shopify, shopify_admin, tiktok_shop
from ordertrail.storage.tenant_secrets import ShopifySecrets, TenantDirectory, TikTokShopSecrets

if TYPE_CHECKING:
    from ordertrail.core.environment import Environment
    from ordertrail.core.import_runs import ImportSource
    from ordertrail.core.models import Order

# Given the tenant, the access token TikTok refused and now: the shop's fresh secrets, or None when it cannot be refreshed.
TokenRefresher = Callable[[str, str, datetime], TikTokShopSecrets | None]


class RetryableImportError(Exception):
    """The store could not be read just now (down, limiting, a bad answer): the step is retried with back-off."""


class ImportAuthorizationError(Exception):
    """The store refused the credentials: the run fails; connect the store again, then import again."""


@dataclass(frozen=True)
class StorePage:
    """One page of a store's past orders, raw, and where the next page starts (None: this was the last)."""

    orders: list[dict[str, Any]]
    next_token: str | None


class OrderPages(Protocol):
    """A store's past orders, page by page, and how one of them becomes an OrderTrail order."""

    def page(self, start: datetime, end: datetime, token: str | None) -> StorePage:
        """The orders created in [start, end) from the page `token` names (None: the first page)."""
        ...

    def normalise(self, raw: dict[str, Any]) -> Order:
        """One raw order as OrderTrail stores it (ValidationError or ValueError when it cannot be read)."""
        ...


@dataclass
class TikTokShopPages:
    """TikTok Shop's Get Order List with the tenant's tokens; a refused access token is refreshed once."""

    environment: Environment
    tenant: str
    shop: TikTokShopSecrets
    refresh: TokenRefresher | None
    now: datetime
    refreshed: bool = field(default=False)

    def page(self, start: datetime, end: datetime, token: str | None) -> StorePage:
        """One page of the shop's orders created in [start, end), oldest first."""
        try:
            found = self._client().search_orders(start, end, token)
        except tiktok_shop.TikTokShopApiError as exc:
            if not exc.token_rejected:
                raise RetryableImportError(f"TikTok Shop refused the order search: {exc}") from exc
            fresh = None if self.refreshed or self.refresh is None else self.refresh(self.tenant, self.shop.access_token, self.now)
            self.refreshed = True
            if fresh is None:
                raise ImportAuthorizationError(f"TikTok Shop refused the shop's token and it could not be refreshed: {exc}") from exc
            self.shop = fresh
            return self.page(start, end, token)
        except UpstreamError as exc:
            raise RetryableImportError(str(exc)) from exc
        return StorePage(found.orders, found.next_page_token)

    def normalise(self, raw: dict[str, Any]) -> Order:
        """A TikTok Shop order as OrderTrail stores it."""
        return tiktok_shop.normalise_order(raw)

    def _client(self) -> tiktok_shop.TikTokShopClient:
        """A client with the shop's current token."""
        credentials = tiktok_shop.TikTokShopCredentials(**self.shop.model_dump())
        return tiktok_shop.TikTokShopClient(self.environment.tiktok_shop_api_url, credentials)


@dataclass
class ShopifyPages:
    """Shopify's Admin API orders (status=any, cursor pagination) with the shop's admin token."""

    environment: Environment
    shop: ShopifySecrets

    def page(self, start: datetime, end: datetime, token: str | None) -> StorePage:
        """One page of the shop's orders created in [start, end)."""
        client = shopify_admin.ShopifyAdminClient(
            shopify_admin.shop_admin_url(self.shop.shop_domain, self.environment.shopify_admin_url),
            self.shop.admin_access_token,
            self.environment.shopify_api_version,
        )
        try:
            found = client.orders_page(start, end, token)
        except shopify_admin.ShopifyAdminError as exc:
            if exc.token_rejected:
                raise ImportAuthorizationError(f"Shopify refused the admin token: {exc}") from exc
            raise RetryableImportError(str(exc)) from exc
        except UpstreamError as exc:
            raise RetryableImportError(str(exc)) from exc
        return StorePage(found.orders, found.next_page_info)

    def normalise(self, raw: dict[str, Any]) -> Order:
        """A Shopify order as OrderTrail stores it (its landing path joined to the shop's domain)."""
        return shopify.normalise_order(raw, self.shop.shop_domain)


def connected_store(directory: TenantDirectory, tenant: str, source: ImportSource) -> TikTokShopSecrets | ShopifySecrets:
    """The store's credentials an import reads with; 409 `store_not_connected` saying what is missing."""
    secrets = directory.get(tenant)
    if source == "tiktok_shop":
        shop = secrets.tiktok_shop if secrets is not None else None
        if shop is None or not shop.access_token or not shop.shop_cipher:
            raise Conflict(
                "the TikTok Shop is not connected (no access token or shop cipher): connect it first (docs/operations.md#connect-a-shop)",
                field="source",
                code="store_not_connected",
            )
        return shop
    store = secrets.shopify if secrets is not None else None
    if store is None or not store.admin_access_token or not store.shop_domain:
        raise Conflict(
            "Shopify is not connected for imports: the secret needs shopify.shop_domain and shopify.admin_access_token "
            "(docs/operations.md#connect-shopify)",
            field="source",
            code="store_not_connected",
        )
    return store


def pages_for(
    environment: Environment, directory: TenantDirectory, tenant: str, source: ImportSource, now: datetime, refresh: TokenRefresher | None
) -> OrderPages:
    """The page reader of the store an import reads (its credentials read fresh from the secret)."""
    try:
        store = connected_store(directory, tenant, source)
    except Conflict as exc:
        raise ImportAuthorizationError(str(exc)) from exc
    if isinstance(store, TikTokShopSecrets):
        return TikTokShopPages(environment, tenant, store, refresh, now)
    return ShopifyPages(environment, store)
