"""Per-tenant secrets and API keys: a JSON file locally, one Secrets Manager secret per tenant on AWS."""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ordertrail.settings import Settings


def hash_api_key(api_key: str) -> str:
    """API keys are only ever kept as their SHA-256."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class TikTokShopSecrets(BaseModel):
    """Credentials of the tenant's TikTok Shop app."""

    app_key: str
    app_secret: str
    access_token: str = ""
    shop_cipher: str = ""


class ShopifySecrets(BaseModel):
    """The Shopify app's client secret (signs webhooks)."""

    client_secret: str


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

    @classmethod
    def from_config(cls, tenant: str, config: dict[str, Any]) -> TenantSecrets:
        """Build from API.md's per-tenant JSON, hashing the plain API keys."""
        hashes = frozenset(hash_api_key(key) for key in config.get("api_keys", []))
        return cls.model_validate({**config, "tenant": tenant, "api_key_hashes": hashes})


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


class FileTenantDirectory:
    """Tenants from a local JSON file in API.md's shape (read once)."""

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
        raw = json.loads(self._path.read_text())
        config = raw.setdefault("tenants", {}).setdefault(tenant, {})
        config.setdefault("tiktok_events", {})["access_token"] = access_token
        self._path.write_text(json.dumps(raw, indent=2) + "\n")
        self._tenants[tenant] = TenantSecrets.from_config(tenant, config)


class SecretsManagerTenantDirectory:
    """Tenants from Secrets Manager: secret `<prefix><tenant>` holds API.md's per-tenant JSON (cached)."""

    def __init__(self, prefix: str, max_age: int) -> None:
        self._prefix = prefix
        self._max_age = max_age

    def get(self, tenant: str) -> TenantSecrets | None:
        """Fetch (or reuse the cached) secret of one tenant."""
        from aws_lambda_powertools.utilities import parameters

        try:
            config = parameters.get_secret(f"{self._prefix}{tenant}", transform="json", max_age=self._max_age)
        except parameters.exceptions.GetParameterError:
            return None
        return TenantSecrets.from_config(tenant, config) if isinstance(config, dict) else None

    def others(self, tenant: str) -> list[TenantSecrets]:
        """Secrets Manager is not enumerated per request; a foreign signature is then a plain 401."""
        return []

    def tenant_of_key(self, api_key: str) -> str | None:
        """Keys issued as `<tenant>.<random>` name their tenant; check that tenant's hashes."""
        tenant = api_key.split(".", 1)[0] if "." in api_key else None
        secrets = self.get(tenant) if tenant else None
        return tenant if secrets and hash_api_key(api_key) in secrets.api_key_hashes else None

    def set_events_token(self, tenant: str, access_token: str) -> None:
        """Merge the token into the tenant's existing secret (a new secret version)."""
        from aws_lambda_powertools.utilities import parameters

        name = f"{self._prefix}{tenant}"
        config = parameters.get_secret(name, transform="json", force_fetch=True)
        config = dict(config) if isinstance(config, dict) else {}
        config.setdefault("tiktok_events", {})["access_token"] = access_token
        parameters.set_secret(name=name, value=json.dumps(config))
        parameters.get_secret(name, transform="json", force_fetch=True)  # refresh this container's cache


@lru_cache(maxsize=4)
def tenant_directory(settings: Settings) -> TenantDirectory:
    """The directory this process uses: the local file when configured, else Secrets Manager."""
    if settings.tenants_file is not None:
        return FileTenantDirectory(settings.tenants_file)
    return SecretsManagerTenantDirectory(settings.tenant_secret_prefix, settings.secret_cache_seconds)
