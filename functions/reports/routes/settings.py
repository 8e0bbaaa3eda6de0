"""Routes tagged `config` for the tenant's settings: attribution windows and priority, time zone, conversion export."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.core.tenant_settings import TenantSettings, TenantSettingsView
from ordertrail.runtime import services
from ordertrail.storage import tenant_config

router = Router()


@router.get(
    "/v1/<tenant>/settings",
    summary="Settings: attribution and export",
    tags=["config"],
    operation_id="get_settings",
    responses=documented(200, "The settings, the token only as access_token_set", TenantSettingsView, *TEAM_ERRORS),
)
def get_settings(tenant: TenantId) -> Response[TenantSettingsView]:
    """The tenant's windows, priority, time zone and export settings (the token only as `access_token_set`)."""
    return json_response(200, tenant_config.settings_view(services.repository(), services.tenants(), tenant))


@router.put(
    "/v1/<tenant>/settings",
    summary="Replace settings",
    tags=["config"],
    operation_id="put_settings",
    responses=documented(200, "The settings as stored", TenantSettingsView, *BODY_ERRORS),
)
def put_settings(tenant: TenantId, body: Annotated[TenantSettings, Body()]) -> Response[TenantSettingsView]:
    """Replace the tenant's settings (later orders and exports use them); `steps.access_token` is write-only."""
    return json_response(200, tenant_config.replace_settings(services.repository(), services.tenants(), tenant, body))
