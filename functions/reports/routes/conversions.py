"""Routes tagged `export`: conversion export runs to TikTok's Events API, started and audited."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.core.export_runs import ExportRequest, ExportRun, ExportRunReport
from ordertrail.core.responses import ErrorBody
from ordertrail.runtime import services

router = Router()
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="Export run id")]
EXPORT_RUNNING_RESPONSE: OpenAPIResponse = {
    "description": "Another export run of this tenant is still going (`export_running`; the message names it and until when)",
    "content": {"application/json": {"model": ErrorBody}},
}


@router.post(
    "/v1/<tenant>/conversions/export",
    summary="Start an export run to TikTok's Events API",
    tags=["conversion_export"],
    operation_id="start_conversion_export",
    responses=documented(202, "The run, queued", ExportRun, *BODY_ERRORS, also={409: EXPORT_RUNNING_RESPONSE}),
)
def start_conversion_export(tenant: TenantId, body: Annotated[ExportRequest, Body()]) -> Response[ExportRun]:
    """Start a run over [from, to) (default: from the watermark); 202 with the run's id, 409 while another run is going."""
    # Here, not at the top: the export wing brings the Events API client (and requests), which the other routes never use.
    from ordertrail.export import steps

    run = steps.start_run(services.repository(), services.launcher(), tenant, body.from_, body.to, services.now())
    return json_response(202, run)


@router.get(
    "/v1/<tenant>/conversions/runs/<run_id>",
    summary="An export run: chunks, counts, per-event results, errors",
    tags=["conversion_export"],
    operation_id="get_conversion_export",
    responses=documented(200, "The run's audit", ExportRunReport, *TEAM_ERRORS, 404),
)
def get_conversion_export(tenant: TenantId, run_id: RunId) -> Response[ExportRunReport]:
    """Everything a run did, for audit."""
    from ordertrail.export import steps  # on first use, as in start_conversion_export

    return json_response(200, steps.run_report(services.repository(), tenant, run_id))
