"""Per-tenant secrets and API keys: a JSON file locally, one Secrets Manager secret per tenant on AWS."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ordertrail.core.environment import Environment

# The secret beside the tenants' own that lists their ids (`<prefix>_index`: no tenant id holds `_`).
INDEX_SECRET = "_index"
TENANT_ID = re.compile(r"^[a-z0-9-]{1,40}$")

# A change to one tenant's stored JSON (docs/operations.md#secrets): given a copy of it, return the new JSON.
SecretChange = Callable[[dict[str, Any]], Mapping[str, Any]]


def hash_api_key(api_key: str) -> str:
    """API keys are only ever kept as their SHA-256."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class TikTokShopSecrets(BaseModel):
    """Credentials of the tenant's TikTok Shop app, and the shop's tokens once it is connected (docs/operations.md#secrets)."""

    model_config = ConfigDict(extra="ignore")

    app_key: str
    app_secret: str
    access_token: str = ""
    shop_cipher: str = ""
    # The app's service id on TikTok Shop Partner Center: it names the app on the seller's authorization page.
    service_id: str = ""
    shop_id: str = ""
    shop_name: str = ""
    refresh_token: str = ""
    # Unix times (seconds) TikTok gives as `access_token_expire_in` / `refresh_token_expire_in`; 0 = not known.
    access_token_expires_at: int = 0
    refresh_token_expires_at: int = 0


class ShopifySecrets(BaseModel):
    """The Shopify app's client secret (signs webhooks), and the shop with its Admin API token (docs/operations.md#connect-shopify)."""

    model_config = ConfigDict(extra="ignore")

    client_secret: str
    # The shop's myshopify.com domain, e.g. `acme.myshopify.com`: the Admin API is at https://<shop_domain>.
    shop_domain: str = ""
    # The custom app's Admin API access token (`shpat_…`, scope read_orders): lists orders and webhook subscriptions.
    admin_access_token: str = ""


class TikTokEventsSecrets(BaseModel):
    """Events API credentials for the conversion export."""

    pixel_code: str = ""
    access_token: str = ""
    advertiser_id: str = ""


class TenantSecrets(BaseModel):
    """One tenant's secrets, with its API keys hashed on load."""

    model_config = ConfigDict(extra="ignore")

    tenant: str
    api_key_hashes: frozenset[str] = Field(default_factory=frozenset)
    touchpoint_secret: str | None = None
    # The secret a rotation replaced, still accepted until its expiry (unix seconds): docs/operations.md#touchpoint-secret.
    previous_touchpoint_secret: str | None = None
    previous_touchpoint_secret_expires_at: int = 0
    tiktok_shop: TikTokShopSecrets | None = None
    shopify: ShopifySecrets | None = None
    tiktok_events: TikTokEventsSecrets | None = None
    address_salt: str | None = Field(default=None, description="Key of the crossover address hashes (else derived from touchpoint_secret)")

    @property
    def crossover_salt(self) -> str | None:
        """The key that hashes this tenant's addresses for crossover; None when the tenant has no secret to derive it from."""
        if self.address_salt:
            return self.address_salt
        if self.touchpoint_secret:
            # Derived, not reused: the hashes must not reveal anything about the signing secret.
            return hmac.new(self.touchpoint_secret.encode(), b"ordertrail/crossover-address-salt", hashlib.sha256).hexdigest()
        return None

    def touchpoint_secrets(self, now: int) -> tuple[str, ...]:
        """The secrets that verify X-OrderTrail-Signature at unix time `now`: the current one, then the previous one until it expires."""
        current = (self.touchpoint_secret,) if self.touchpoint_secret else ()
        previous = self.previous_touchpoint_secret
        if previous and previous != self.touchpoint_secret and now < self.previous_touchpoint_secret_expires_at:
            return (*current, previous)
        return current

    @classmethod
    def from_config(cls, tenant: str, config: dict[str, Any]) -> TenantSecrets:
        """Build from the per-tenant JSON of docs/operations.md#secrets: plain `api_keys` are hashed, `api_key_sha256` kept as is."""
        plain = _strings(config, "api_keys")
        hashed = _strings(config, "api_key_sha256")
        hashes = frozenset(hash_api_key(key) for key in plain) | frozenset(digest.strip().lower() for digest in hashed)
        return cls.model_validate({**config, "tenant": tenant, "api_key_hashes": hashes})


def _strings(config: Mapping[str, Any], member: str) -> list[str]:
    """A member that must be a list of strings (absent or null: empty); anything else names the member."""
    value = config.get(member)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{member} must be a list of strings")
    return value


class TenantDirectory(Protocol):
    """Where tenants' secrets come from."""

    def get(self, tenant: str) -> TenantSecrets | None:
        """The tenant's secrets, or None for an unknown tenant."""

    def others(self, tenant: str) -> list[TenantSecrets]:
        """Other tenants' secrets this directory can enumerate (to tell 403 from 401)."""

    def tenant_of_key(self, api_key: str) -> str | None:
        """The tenant an API key belongs to, if this directory can tell."""

    def set_events_token(self, tenant: str, access_token: str) -> None:
        """Store the tenant's Events API access token (write-only from the API's side)."""

    def update(self, tenant: str, change: SecretChange) -> TenantSecrets:
        """Read the tenant's stored JSON (empty for a new tenant), write change(it) back, and return the new secrets."""


def events_token_change(access_token: str) -> SecretChange:
    """The change that stores an Events API access token."""

    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        events = dict(config.get("tiktok_events") or {})
        events["access_token"] = access_token
        return {**config, "tiktok_events": events}

    return change


class FileTenantDirectory:
    """Tenants from a local JSON file in the error shape of docs/api.md#error-shape (read once)."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        raw = json.loads(self._path.read_text())
        self._tenants = {name: TenantSecrets.from_config(name, cfg) for name, cfg in raw.get("tenants", {}).items()}
        self._by_key = {h: name for name, t in self._tenants.items() for h in t.api_key_hashes}

    def get(self, tenant: str) -> TenantSecrets | None:
        """The tenant's secrets, or None."""
        return self._tenants.get(tenant)

    def others(self, tenant: str) -> list[TenantSecrets]:
        """Every other tenant in the file."""
        return [t for name, t in self._tenants.items() if name != tenant]

    def tenant_of_key(self, api_key: str) -> str | None:
        """Look the key's hash up among all tenants."""
        return self._by_key.get(hash_api_key(api_key))

    def set_events_token(self, tenant: str, access_token: str) -> None:
        """Write the token into the tenants file (locally the file is the secret store) and into memory."""
        self.update(tenant, events_token_change(access_token))

    def update(self, tenant: str, change: SecretChange) -> TenantSecrets:
        """Rewrite the tenant's entry of the tenants file (re-read first: another process may have written it)."""
        raw = json.loads(self._path.read_text())
        tenants = raw.setdefault("tenants", {})
        config = dict(change(dict(tenants.get(tenant) or {})))
        tenants[tenant] = config
        self._path.write_text(json.dumps(raw, indent=2) + "\n")
        secrets = TenantSecrets.from_config(tenant, config)
        self._tenants[tenant] = secrets
        self._by_key = {h: name for name, t in self._tenants.items() for h in t.api_key_hashes}
        return secrets


class SecretsManagerTenantDirectory:
    """Tenants from Secrets Manager: secret `<prefix><tenant>` holds the per-tenant JSON of docs/operations.md#secrets (cached).

    `<prefix>_index` (optional; no tenant id holds `_`) lists the tenant ids, `{"tenants": ["acme", ...]}`, so that a
    request signed with another tenant's secret can be told apart (403) without listing every secret of the account. A
    tenant that has no secret is remembered for `miss_age` seconds, so requests for unknown tenants cost no call each.
    """

    def __init__(self, prefix: str, max_age: int, miss_age: int = 60, clock: Callable[[], float] = time.monotonic) -> None:
        self._prefix = prefix
        self._max_age = max_age
        self._miss_age = miss_age
        self._clock = clock
        self._misses: dict[str, float] = {}

    def get(self, tenant: str) -> TenantSecrets | None:
        """Fetch (or reuse the cached) secret of one tenant; an unknown tenant is not asked for again for a while."""
        if not TENANT_ID.match(tenant):
            return None  # no secret can be named after it: no need to ask
        config = self._secret(f"{self._prefix}{tenant}")
        return TenantSecrets.from_config(tenant, config) if isinstance(config, dict) else None

    def others(self, tenant: str) -> list[TenantSecrets]:
        """The other tenants the index names (none without an index: a foreign signature is then a plain 401)."""
        index = self._secret(f"{self._prefix}{INDEX_SECRET}")
        names = index.get("tenants") if isinstance(index, dict) else None
        if not isinstance(names, list):
            return []
        found = (self.get(str(name)) for name in names if isinstance(name, str) and name != tenant and TENANT_ID.match(name))
        return [secrets for secrets in found if secrets is not None]

    def tenant_of_key(self, api_key: str) -> str | None:
        """Keys issued as `<tenant>.<random>` name their tenant; check that tenant's hashes."""
        tenant = api_key.split(".", 1)[0] if "." in api_key else None
        secrets = self.get(tenant) if tenant and TENANT_ID.match(tenant) else None
        return tenant if secrets and hash_api_key(api_key) in secrets.api_key_hashes else None

    def set_events_token(self, tenant: str, access_token: str) -> None:
        """Merge the token into the tenant's existing secret (a new secret version)."""
        self.update(tenant, events_token_change(access_token))

    def update(self, tenant: str, change: SecretChange) -> TenantSecrets:
        """Read the secret fresh, write change(it) as a new version (creating the secret for a new tenant)."""
        from aws_lambda_powertools.utilities import parameters

        if not TENANT_ID.match(tenant):
            raise ValueError(f"tenant id {tenant!r} must be 1-40 of a-z, 0-9 and -")
        name = f"{self._prefix}{tenant}"
        try:
            current = parameters.get_secret(name, transform="json", force_fetch=True)
        except parameters.exceptions.GetParameterError:
            current = {}
        config = dict(change(dict(current) if isinstance(current, dict) else {}))
        parameters.set_secret(name=name, value=json.dumps(config))  # creates the secret when there is none
        self._misses.pop(name, None)
        parameters.get_secret(name, transform="json", force_fetch=True)  # refresh this container's cache
        return TenantSecrets.from_config(tenant, config)

    def _secret(self, name: str) -> Any:
        """A secret's JSON, through Powertools' cache; None (and remembered for a while) when there is no such secret."""
        from aws_lambda_powertools.utilities import parameters

        now = self._clock()
        if self._misses.get(name, 0.0) > now:
            return None
        try:
            return parameters.get_secret(name, transform="json", max_age=self._max_age)
        except parameters.exceptions.GetParameterError:
            self._misses[name] = now + self._miss_age
            return None


@lru_cache(maxsize=4)
def tenant_directory(environment: Environment) -> TenantDirectory:
    """The directory this process uses: the local file when configured, else Secrets Manager."""
    if environment.tenants_file is not None:
        return FileTenantDirectory(environment.tenants_file)
    return SecretsManagerTenantDirectory(
        environment.tenant_secret_prefix, environment.secret_cache_seconds, environment.secret_miss_cache_seconds
    )
