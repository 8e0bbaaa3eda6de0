"""The process environment, read once and validated (a bad deployment fails loudly); tenant settings live in core.tenant_settings."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Environment(BaseModel):
    """Environment-derived configuration shared by every function."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1, description="TABLE_NAME: the single DynamoDB table")
    tenants_file: Path | None = Field(default=None, description="ORDERTRAIL_TENANTS_FILE: local tenants JSON (instead of Secrets Manager)")
    tenant_secret_prefix: str = Field(default="ordertrail/tenants/", description="TENANT_SECRET_PREFIX: Secrets Manager name prefix")
    tiktok_shop_api_url: str = Field(default="https://open-api.tiktokglobalshop.com", description="TIKTOK_SHOP_API_URL")
    tiktok_events_api_url: str = Field(default="https://business-api.tiktok.com", description="TIKTOK_EVENTS_API_URL")
    signature_tolerance_seconds: int = Field(default=300, ge=1, description="SIGNATURE_TOLERANCE_SECONDS: age limit of signed requests")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, description="MAX_BODY_BYTES: larger bodies get 413")
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60, description="IDEMPOTENCY_TTL_SECONDS: how long a webhook id is remembered")
    export_state_machine_arn: str | None = Field(default=None, description="EXPORT_STATE_MACHINE_ARN: the export state machine")
    import_state_machine_arn: str | None = Field(default=None, description="IMPORT_STATE_MACHINE_ARN: the history import state machine")
    reattribute_state_machine_arn: str | None = Field(
        default=None, description="REATTRIBUTE_STATE_MACHINE_ARN: the re-attribution state machine"
    )
    import_on_connect_days: int = Field(
        default=90, ge=0, le=731, description="IMPORT_ON_CONNECT_DAYS: days of history a new TikTok Shop connection imports (0: none)"
    )
    exports_bucket: str | None = Field(default=None, description="EXPORTS_BUCKET: where CSV exports too large for a response go")
    inline_csv_bytes: int = Field(default=4_000_000, ge=1, description="INLINE_CSV_BYTES: larger CSV exports become presigned S3 links")
    secret_cache_seconds: int = Field(default=300, ge=0, description="SECRET_CACHE_SECONDS: how long tenant secrets are cached")
    secret_miss_cache_seconds: int = Field(
        default=60, ge=0, description="SECRET_MISS_CACHE_SECONDS: how long a tenant without a secret is remembered as unknown"
    )
    # Connecting a TikTok Shop (docs/operations.md#connect-a-shop; the endpoints are in docs/decisions/2026-12-02-tiktok-shop-oauth.md).
    tiktok_shop_auth_url: str = Field(default="https://auth.tiktok-shops.com", description="TIKTOK_SHOP_AUTH_URL: token get and refresh")
    tiktok_shop_authorize_url: str = Field(
        default="https://services.tiktokshop.com/open/authorize",
        description="TIKTOK_SHOP_AUTHORIZE_URL: the seller's authorization page (US sellers: services.tiktokshops.us)",
    )
    oauth_state_ttl_seconds: int = Field(
        default=600, ge=60, le=3600, description="OAUTH_STATE_TTL_SECONDS: how long an authorization link works"
    )
    token_refresh_within_seconds: int = Field(
        default=172_800, ge=3600, description="TOKEN_REFRESH_WITHIN_SECONDS: refresh an access token this long before it expires"
    )
    tiktok_shop_refresh_rejected_codes: str = Field(
        default="36004005",
        pattern=r"^\d+(,\d+)*$",
        description="TIKTOK_SHOP_REFRESH_REJECTED_CODES: TikTok's codes (comma-separated) that mean the refresh token is refused",
    )
    # Shopify's Admin API (docs/operations.md#connect-shopify; the endpoints are in docs/decisions/2026-12-02-shopify-admin-api.md).
    shopify_admin_url: str = Field(
        default="", description="SHOPIFY_ADMIN_URL: the Admin API's base URL instead of https://<shop domain> (the local stand-in)"
    )
    shopify_api_version: str = Field(
        default="2026-10", pattern=r"^\d{4}-(01|04|07|10)$", description="SHOPIFY_API_VERSION: the Admin API version (a stable quarter)"
    )
    public_api_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#\s]+(/[^?#\s]*)?)?$",
        description="PUBLIC_API_URL: this API's public base URL (a custom domain); else the request's own domain, over https",
    )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Environment:
        """Build settings from environment variables (names are the upper-case field names)."""
        env = dict(os.environ if env is None else env)
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env and env[name.upper()] != ""}
        if env.get("ORDERTRAIL_TENANTS_FILE"):
            values["tenants_file"] = env["ORDERTRAIL_TENANTS_FILE"]
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_environment() -> Environment:
    """The process's settings, read on first use (never at import time)."""
    return Environment.from_env()
