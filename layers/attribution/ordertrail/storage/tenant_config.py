"""Reading and changing a tenant's settings; the Events API token goes to the tenant's secret, never to the table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordertrail.core.tenant_settings import ExportSettingsView, TenantSettings, TenantSettingsView

if TYPE_CHECKING:
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.tenant_secrets import TenantDirectory


def settings_view(repo: Repository, directory: TenantDirectory, tenant: str) -> TenantSettingsView:
    """The tenant's settings as GET /settings shows them: whether a token is set, never the token."""
    settings = repo.get_tenant_settings(tenant)
    secrets = directory.get(tenant)
    events = secrets.tiktok_events if secrets else None
    export = ExportSettingsView.model_validate(
        {
            **settings.export.model_dump(),
            "pixel_code": settings.export.pixel_code or (events.pixel_code if events else None) or None,
            "access_token_set": bool(events and events.access_token),
        }
    )
    return TenantSettingsView.model_validate({**settings.model_dump(exclude={"export"}), "export": export})


def replace_settings(repo: Repository, directory: TenantDirectory, tenant: str, settings: TenantSettings) -> TenantSettingsView:
    """Store new settings; a token in the request is written to the tenant's secret first."""
    token = settings.export.access_token
    if token is not None and token.get_secret_value():
        directory.set_events_token(tenant, token.get_secret_value())
    repo.put_tenant_settings(tenant, settings)
    return settings_view(repo, directory, tenant)
