"""Who is calling: team API keys (for the authorizer and ReportsFunction) and signed webhook senders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from ordertrail.api import dashboard_links
from ordertrail.core.errors import Forbidden, OrderTrailError, Unauthorized
from ordertrail.storage.tenant_secrets import TenantDirectory, TenantSecrets, hash_api_key


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def tenant_of_api_key(directory: TenantDirectory, path_tenant: str, authorization: str | None) -> str | None:
    """Resolve a bearer key to its tenant: the path's tenant when it matches, else whichever tenant owns it."""
    token = bearer_token(authorization)
    if token is None:
        return None
    secrets = directory.get(path_tenant)
    if secrets is not None and hash_api_key(token) in secrets.api_key_hashes:
        return path_tenant
    return directory.tenant_of_key(token)


def tenant_of_dashboard_link(directory: TenantDirectory, path_tenant: str, token: str | None, now: datetime) -> str | None:
    """The path's tenant when a dashboard link token signed with one of its current API keys is valid now."""
    secrets = directory.get(path_tenant)
    if secrets is None or not dashboard_links.verify(token, path_tenant, secrets.api_key_hashes, now):
        return None
    return path_tenant


def require_key_tenant(path_tenant: str, key_tenant: str | None) -> None:
    """401 without a valid key, 403 when the key belongs to another tenant."""
    if not key_tenant:
        raise Unauthorized("a valid API key is required: send Authorization: Bearer <key>", field="Authorization", code="invalid_api_key")
    if key_tenant != path_tenant:
        raise Forbidden(f"this API key does not belong to tenant {path_tenant}", code="wrong_tenant")


def require_signed(
    directory: TenantDirectory,
    tenant: str,
    verify: Callable[[TenantSecrets], None],
    needs: Callable[[TenantSecrets], bool],
    what: str,
) -> TenantSecrets:
    """Verify a signed request with the tenant's secret; a signature made with another tenant's secret is 403.

    `needs` tells whether a tenant has the secret at all; `verify` raises Unauthorized when the signature fails.
    """
    secrets = directory.get(tenant)
    if secrets is None or not needs(secrets):
        raise Unauthorized(f"tenant {tenant} has no {what} configured", code="unknown_tenant")
    try:
        verify(secrets)
        return secrets
    except Unauthorized as original:
        for other in directory.others(tenant):
            if needs(other) and _verifies(verify, other):
                raise Forbidden(f"this request is signed for another tenant, not {tenant}", code="wrong_tenant") from original
        raise


def _verifies(verify: Callable[[TenantSecrets], None], secrets: TenantSecrets) -> bool:
    try:
        verify(secrets)
    except OrderTrailError:
        return False
    return True


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (API Gateway lower-cases names, clients may not)."""
    if not headers:
        return None
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
