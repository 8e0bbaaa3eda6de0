"""Routes tagged `imports`: bring a store's past orders in, and follow the import (docs/api.md#imports)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.core.import_runs import ImportReport, ImportRequest
from ordertrail.runtime import services

router = Router()
ImportId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="History import id")]


@router.post(
    "/v1/<tenant>/imports",
    summary="Import a store's past orders",
    tags=["imports"],
    operation_id="start_import",
    responses=documented(202, "The import, queued (follow it at GET /imports/{import_id})", ImportReport, *BODY_ERRORS, 409, 502),
)
def start_import(tenant: TenantId, body: Annotated[ImportRequest, Body()]) -> Response[ImportReport]:
    """Import the orders created in [from, to) from TikTok Shop or Shopify, 30 days at a time; 409 when the store is not connected."""
    # Here, not at the top: the import wing brings both stores' API clients, which the other routes never use.
    from ordertrail.imports import history

    report = history.start_import(services.repository(), services.import_launcher(), services.tenants(), tenant, body, services.now())
    return json_response(202, report)


@router.get(
    "/v1/<tenant>/imports/<import_id>",
    summary="A history import's progress: windows, pages, orders imported, duplicates",
    tags=["imports"],
    operation_id="get_import",
    responses=documented(200, "The import and each of its windows", ImportReport, *TEAM_ERRORS, 404),
)
def get_import(tenant: TenantId, import_id: ImportId) -> Response[ImportReport]:
    """How far the import got: each window's pages and counts, and the totals."""
    from ordertrail.imports import history  # on first use, as in start_import

    return json_response(200, history.report(services.repository(), tenant, import_id))
