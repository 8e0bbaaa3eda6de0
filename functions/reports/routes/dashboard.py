"""Routes of the dashboard (tagged `reports`): the self-contained HTML page, and signed links that open it in a browser."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from ordertrail.api import auth, dashboard_links
from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.core.report_models import DashboardLink
from ordertrail.runtime import services

router = Router()


@router.get(
    "/v1/<tenant>/dashboard",
    summary="The dashboard: one self-contained HTML page",
    tags=["reports"],
    operation_id="dashboard_page",
    responses=documented(200, "The page", None, *TEAM_ERRORS, media="text/html"),
)
def dashboard_page(tenant: TenantId) -> Response[str]:
    """Charts of the reports (server-rendered SVG, no scripts, nothing fetched from elsewhere)."""
    # Here, not at the top: the page's renderer and the reports' service serve this route alone.
    from ordertrail.reports import service
    from ordertrail.reports.dashboard import page

    # The page's downloads carry the signed link it was opened with (a browser sends no key); a key session needs none.
    link = (router.current_event.query_string_parameters or {}).get("link")
    html = page.render(service.dashboard_data(services.repository(), tenant, services.now()), link)
    return Response(200, "text/html; charset=utf-8", html, headers={"Cache-Control": "no-store"})


@router.post(
    "/v1/<tenant>/dashboard/links",
    summary="A signed link to open the dashboard in a browser",
    tags=["reports"],
    operation_id="create_dashboard_link",
    responses=documented(201, "The link and when it expires", DashboardLink, *BODY_ERRORS),
)
def create_dashboard_link(
    tenant: TenantId, hours: Annotated[int, Query(ge=1, le=24, description="How long the link works (hours)")] = 1
) -> Response[DashboardLink]:
    """A browser cannot send the key: this link, signed with the caller's key, opens GET /dashboard until it expires."""
    key = auth.bearer_token(router.current_event.headers.get("authorization"))
    return json_response(201, dashboard_links.link_for(tenant, key, hours, services.now()))
