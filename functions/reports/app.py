"""ReportsFunction: the team's API (API key): order explanations, soft-match review, coupons, settings, OpenAPI."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail import attribution, export, runtime, tenant_config
from ordertrail.api import ERROR_RESPONSES, TenantId, create_resolver, json_response, require_team_key, resolve
from ordertrail.errors import NotFound
from ordertrail.export_runs import ExportRequest, ExportRun, ExportRunReport
from ordertrail.models import Attribution, CouponMapping, OrderSource, ReviewStatus
from ordertrail.observability import logger, metrics
from ordertrail.order_report import CouponRequest, ReviewRequest, order_document
from ordertrail.responses import CouponList, OrderDocument, ReviewList
from ordertrail.settings import get_settings
from ordertrail.tenant_settings import TenantSettings, TenantSettingsView

app = create_resolver()
app.use(middlewares=[require_team_key])
OrderId = Annotated[str, Path(min_length=1, max_length=200, description="The store's order id")]
SourceQuery = Annotated[OrderSource | None, Query(description="Which store, when the id exists in several")]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="Export run id")]
CouponCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,100}$", description="Coupon code (case-insensitive)")]


@app.get("/v1/<tenant>/orders/<order_id>", summary="An order, its attribution and why", tags=["read"], responses=ERROR_RESPONSES)
def get_order(tenant: TenantId, order_id: OrderId, source: SourceQuery = None) -> Response[OrderDocument]:
    """Explain how one order was attributed."""
    return json_response(200, order_document(attribution.order_views(runtime.repository(), tenant, order_id, source)))


@app.post("/v1/<tenant>/orders/<order_id>/review", summary="Confirm or reject a soft match", tags=["read"], responses=ERROR_RESPONSES)
def review_order(
    tenant: TenantId, order_id: OrderId, body: Annotated[ReviewRequest, Body()], source: SourceQuery = None
) -> Response[Attribution]:
    """Apply a person's decision to a soft-matched order."""
    decided = attribution.review(runtime.repository(), tenant, order_id, source, body.decision, runtime.now())
    return json_response(200, decided)


@app.get("/v1/<tenant>/reviews", summary="Soft matches by review status", tags=["read"], responses=ERROR_RESPONSES)
def list_reviews(
    tenant: TenantId, status: Annotated[ReviewStatus, Query()] = "pending", limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response[ReviewList]:
    """List soft matches waiting for (or after) review."""
    return json_response(200, ReviewList(status=status, items=runtime.repository().list_reviews(tenant, status, limit)))


@app.get("/v1/<tenant>/coupons", summary="Coupon mappings", tags=["config"], responses=ERROR_RESPONSES)
def list_coupons(tenant: TenantId) -> Response[CouponList]:
    """List the tenant's coupon codes and the creator links they belong to."""
    return json_response(200, CouponList(coupons=runtime.repository().list_coupons(tenant)))


@app.put("/v1/<tenant>/coupons/<code>", summary="Map a coupon code to a creator link", tags=["config"], responses=ERROR_RESPONSES)
def put_coupon(tenant: TenantId, code: CouponCode, body: Annotated[CouponRequest, Body()]) -> Response[CouponMapping]:
    """Create or replace a coupon mapping."""
    mapping = CouponMapping(code=code, creator=body.creator, link_id=body.link_id)
    runtime.repository().put_coupon(tenant, mapping)
    return json_response(200, mapping)


@app.delete("/v1/<tenant>/coupons/<code>", summary="Remove a coupon mapping", tags=["config"], responses=ERROR_RESPONSES)
def delete_coupon(tenant: TenantId, code: CouponCode) -> Response[None]:
    """Delete a coupon mapping (404 when there is none)."""
    if not runtime.repository().delete_coupon(tenant, code):
        raise NotFound(f"coupon {code.upper()} is not mapped", field="code", code="coupon_not_found")
    return Response(status_code=204)


@app.get("/v1/<tenant>/settings", summary="Settings: attribution and export", tags=["config"], responses=ERROR_RESPONSES)
def get_settings_route(tenant: TenantId) -> Response[TenantSettingsView]:
    """The tenant's windows, priority, time zone and export settings (the token only as `access_token_set`)."""
    return json_response(200, tenant_config.settings_view(runtime.repository(), runtime.tenants(), tenant))


@app.put("/v1/<tenant>/settings", summary="Replace settings", tags=["config"], responses=ERROR_RESPONSES)
def put_settings(tenant: TenantId, body: Annotated[TenantSettings, Body()]) -> Response[TenantSettingsView]:
    """Replace the tenant's settings (later orders and exports use them); `export.access_token` is write-only."""
    return json_response(200, tenant_config.replace_settings(runtime.repository(), runtime.tenants(), tenant, body))


@app.post(
    "/v1/<tenant>/conversions/export", summary="Start an export run to TikTok's Events API", tags=["export"], responses=ERROR_RESPONSES
)
def start_export(tenant: TenantId, body: Annotated[ExportRequest, Body()]) -> Response[ExportRun]:
    """Start a run over [from, to) (default: from the watermark); 202 with the run's id."""
    run = export.start_run(runtime.repository(), runtime.launcher(), tenant, body.from_, body.to, runtime.now())
    return json_response(202, run)


@app.get(
    "/v1/<tenant>/conversions/runs/<run_id>",
    summary="An export run: chunks, counts, per-event results, errors",
    tags=["export"],
    responses=ERROR_RESPONSES,
)
def get_export_run(tenant: TenantId, run_id: RunId) -> Response[ExportRunReport]:
    """Everything a run did, for audit."""
    return json_response(200, export.run_report(runtime.repository(), tenant, run_id))


@app.get("/v1/openapi.json", summary="This API as OpenAPI 3", tags=["meta"], include_in_schema=False)
def openapi_document() -> Response[str]:
    """Serve the committed OpenAPI document, generated from the handlers."""
    text = resources.files("ordertrail").joinpath("openapi.json").read_text()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=text)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return resolve(app, event, context, get_settings().max_body_bytes)
