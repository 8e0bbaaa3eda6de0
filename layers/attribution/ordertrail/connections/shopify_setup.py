"""Verifying a tenant's Shopify connection: the admin token works, and orders/create and orders/updated reach this deployment.

`verify` lists the app's webhook subscriptions on the shop, registers the missing ones at this deployment's Shopify
webhook route, and reports, in words a seller can act on, what only the seller can fix. It never deletes a
subscription, and a second call registers nothing (docs/operations.md#connect-shopify).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ordertrail.core.environment import Environment
from ordertrail.core.errors import Conflict
from ordertrail.sources.shopify_admin import (
    ShopifyAdminClient,
    ShopifyAdminError,
    ShopifyWebhook,
    is_shop_domain,
    normal_shop_domain,
    shop_admin_url,
)
from ordertrail.storage.tenant_secrets import ShopifySecrets, TenantDirectory

# The topics OrderTrail needs (the webhook route stores orders/paid and orders/cancelled too, but these two carry every change).
TOPICS = ("orders/create", "orders/updated")
HOW_TO = "docs/operations.md#connect-shopify"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})

SetupStatus = Literal["ok", "fixed", "needs_attention"]
SubscriptionState = Literal["present", "registered", "wrong_address", "failed"]
# Makes the Admin API client of one shop from its domain and admin token (the route's comes from the environment).
ClientFactory = Callable[[str, str], ShopifyAdminClient]


class ShopifySubscription(BaseModel):
    """One webhook subscription of a topic OrderTrail needs, and what verify found or did with it."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(description="The Shopify webhook topic, `orders/create` or `orders/updated`")
    address: str = Field(description="Where Shopify delivers this subscription")
    state: SubscriptionState = Field(
        description="present (already delivered here), registered (verify subscribed it now), wrong_address (an existing "
        "subscription of this app delivers the topic elsewhere: left in place) or failed (Shopify refused to subscribe it)"
    )


class ShopifySetupReport(BaseModel):
    """What verifying the tenant's Shopify connection found and fixed (docs/api.md#connections)."""

    model_config = ConfigDict(extra="forbid")

    shop_domain: str = Field(description="The shop's domain from the tenant's secret (`shopify.shop_domain`), empty when it has none")
    webhook_url: str = Field(description="This deployment's Shopify webhook route for the tenant, where the topics must be delivered")
    status: SetupStatus = Field(
        description="ok (nothing to do), fixed (missing subscriptions were registered now) or needs_attention (see problems)"
    )
    subscriptions: list[ShopifySubscription] = Field(
        description="For each topic OrderTrail needs, the subscriptions of this app on the shop (empty when the shop could not be read)"
    )
    problems: list[str] = Field(description="What the seller must fix, each saying how; empty when status is not needs_attention")


def shopify_app(directory: TenantDirectory, tenant: str) -> ShopifySecrets:
    """The tenant's Shopify section; 409 `shopify_app_missing` when its secret has none."""
    secrets = directory.get(tenant)
    shopify = secrets.shopify if secrets is not None else None
    if shopify is None:
        raise Conflict(
            f"tenant {tenant} has no Shopify app to verify: its secret needs a shopify section with client_secret, shop_domain "
            f"and admin_access_token ({HOW_TO})",
            field="shopify",
            code="shopify_app_missing",
        )
    return shopify


def client_factory_from(environment: Environment) -> ClientFactory:
    """Admin API clients configured from the process environment (SHOPIFY_ADMIN_URL, SHOPIFY_API_VERSION)."""

    def make(shop_domain: str, access_token: str) -> ShopifyAdminClient:
        base = shop_admin_url(shop_domain, environment.shopify_admin_url)
        return ShopifyAdminClient(base, access_token, environment.shopify_api_version)

    return make


def webhook_url(tenant: str, public_api_url: str, domain_name: str) -> str:
    """The tenant's Shopify webhook URL: under PUBLIC_API_URL when set, else on the request's domain.

    API Gateway's own domain is always https. A loopback host is the local stack, which serves plain http.
    """
    if public_api_url:
        base = public_api_url.rstrip("/")
    else:
        host = domain_name.strip().lower()
        scheme = "http" if host.rsplit(":", 1)[0] in LOOPBACK_HOSTS or host in LOOPBACK_HOSTS else "https"
        base = f"{scheme}://{host}"
    return f"{base}/v1/{tenant}/webhooks/shopify"


def _token_problem(error: ShopifyAdminError, shop_domain: str) -> str:
    """What to tell the seller when Shopify refused the admin token or its scopes."""
    if error.status == 403:
        return (
            f"Shopify refused the admin_access_token's scopes for {shop_domain} (HTTP 403): give the custom app the read_orders "
            f"scope (read_all_orders too for orders older than 60 days), install it again and put the new token in the secret ({HOW_TO})"
        )
    return (
        f"Shopify refused the admin_access_token for {shop_domain} (HTTP 401): the token is wrong or the custom app was "
        f"uninstalled; install the app again and put its Admin API access token in shopify.admin_access_token ({HOW_TO})"
    )


def _read_problem(error: ShopifyAdminError, shop_domain: str) -> str | None:
    """A seller's problem in an error listing the subscriptions (None: an outage, not the seller's to fix)."""
    if error.token_rejected:
        return _token_problem(error, shop_domain)
    if error.status == 404:
        return (
            f"Shopify has no Admin API at {shop_domain} (HTTP 404): set shopify.shop_domain to the shop's myshopify.com domain, "
            f"e.g. acme.myshopify.com ({HOW_TO})"
        )
    return None


def _missing_credentials(shopify: ShopifySecrets) -> list[str]:
    """What the secret's Shopify section lacks before anything can be asked of Shopify."""
    problems = []
    if not shopify.shop_domain:
        problems.append(f"The Shopify secret has no shop_domain: set shopify.shop_domain to the shop's myshopify.com domain ({HOW_TO})")
    elif not is_shop_domain(shopify.shop_domain):
        problems.append(
            f"The Shopify secret's shop_domain {shopify.shop_domain!r} is not a domain: set it to the shop's myshopify.com "
            f"domain, e.g. acme.myshopify.com ({HOW_TO})"
        )
    if not shopify.admin_access_token:
        problems.append(
            "The Shopify secret has no admin_access_token: create a custom app in the shop's admin (Settings > Apps and sales "
            "channels > Develop apps) with the read_orders Admin API scope, install it, and put its Admin API access token in "
            f"shopify.admin_access_token ({HOW_TO})"
        )
    return problems


def verify(directory: TenantDirectory, client_factory: ClientFactory, tenant: str, webhook_url: str) -> ShopifySetupReport:
    """Check the tenant's Shopify admin token and webhook subscriptions, register the missing ones at `webhook_url`, report the rest.

    409 `shopify_app_missing` without a Shopify section in the secret. What the seller must fix (no token, a refused
    token, a subscription elsewhere, a topic Shopify will not subscribe) is a 200 with status `needs_attention`; an
    outage of Shopify (5xx, 429, unreachable) is an UpstreamError (502: try again later, nothing is lost).
    """
    shopify = shopify_app(directory, tenant)
    domain = normal_shop_domain(shopify.shop_domain)
    problems = _missing_credentials(shopify)
    if problems:
        return ShopifySetupReport(
            shop_domain=domain, webhook_url=webhook_url, status="needs_attention", subscriptions=[], problems=problems
        )
    client = client_factory(domain, shopify.admin_access_token)
    try:
        existing = client.webhooks()
    except ShopifyAdminError as error:
        problem = _read_problem(error, domain)
        if problem is None:
            raise
        return ShopifySetupReport(
            shop_domain=domain, webhook_url=webhook_url, status="needs_attention", subscriptions=[], problems=[problem]
        )
    subscriptions: list[ShopifySubscription] = []
    registered = False
    for topic in TOPICS:
        ours = [hook for hook in existing if hook.topic == topic and _same_address(hook.address, webhook_url)]
        elsewhere = [hook for hook in existing if hook.topic == topic and not _same_address(hook.address, webhook_url)]
        for hook in elsewhere:
            subscriptions.append(ShopifySubscription(topic=topic, address=hook.address, state="wrong_address"))
            problems.append(
                f"Shopify also delivers {topic} to {hook.address}, which is not this deployment's webhook URL {webhook_url}: "
                "OrderTrail left that subscription in place; delete it in the custom app's webhooks if nothing needs it"
            )
        if ours:
            subscriptions.append(ShopifySubscription(topic=topic, address=ours[0].address, state="present"))
            continue
        created = _register(client, topic, webhook_url, domain, problems)
        subscriptions.append(ShopifySubscription(topic=topic, address=webhook_url, state="registered" if created else "failed"))
        registered = registered or created is not None
    status: SetupStatus = "needs_attention" if problems else ("fixed" if registered else "ok")
    return ShopifySetupReport(shop_domain=domain, webhook_url=webhook_url, status=status, subscriptions=subscriptions, problems=problems)


def _register(client: ShopifyAdminClient, topic: str, address: str, domain: str, problems: list[str]) -> ShopifyWebhook | None:
    """Subscribe one topic; a refusal the seller must fix is added to `problems` (None), an outage is raised."""
    try:
        return client.create_webhook(topic, address)
    except ShopifyAdminError as error:
        if error.token_rejected:
            problems.append(_token_problem(error, domain))
        elif error.status is not None and 400 <= error.status < 500 and error.status != 429:
            problems.append(
                f"Shopify refused to subscribe {topic} to {address}: {error}. Check that the custom app has the read_orders scope "
                f"and that the address is this deployment's public https URL (PUBLIC_API_URL) ({HOW_TO})"
            )
        else:
            raise
    return None


def _same_address(address: str, expected: str) -> bool:
    """Whether a subscription's address is the expected URL (scheme and host are case-insensitive; a trailing slash is ignored)."""

    def normal(url: str) -> str:
        scheme, _, rest = url.strip().partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")

    return normal(address) == normal(expected)
