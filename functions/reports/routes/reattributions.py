"""Routes tagged `reattributions`: re-attribute a date range under the settings of now, and follow the run (docs/api.md#reattributions)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.core.reattribution_runs import ReattributionReport, ReattributionRequest
from ordertrail.runtime import services

router = Router()
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="Re-attribution run id")]


@router.post(
    "/v1/<tenant>/reattributions",
    summary="Re-attribute the orders of a date range under the current settings",
    tags=["reattributions"],
    operation_id="start_reattribution",
    responses=documented(202, "The run, queued (follow it at GET /reattributions/{run_id})", ReattributionReport, *BODY_ERRORS, 409, 502),
)
def start_reattribution(tenant: TenantId, body: Annotated[ReattributionRequest, Body()]) -> Response[ReattributionReport]:
    """Re-attribute every order placed from `from` to `to` (the tenant's days); 409 while another run of the tenant goes."""
    from ordertrail.reattribution import runs  # on first use: only these routes start or read runs

    return json_response(202, runs.start(services.repository(), services.reattribute_launcher(), tenant, body, services.now()))


@router.get(
    "/v1/<tenant>/reattributions/<run_id>",
    summary="A re-attribution run's progress: days done, orders seen, changed, errors",
    tags=["reattributions"],
    operation_id="get_reattribution",
    responses=documented(200, "The run, its settings and each of its days", ReattributionReport, *TEAM_ERRORS, 404),
)
def get_reattribution(tenant: TenantId, run_id: RunId) -> Response[ReattributionReport]:
    """How far the run got: each day's orders seen and changed, and the totals."""
    from ordertrail.reattribution import runs  # on first use, as above

    return json_response(200, runs.report(services.repository(), tenant, run_id))
