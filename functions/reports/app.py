"""ReportsFunction: the team's API (API key): order explanations, soft-match review, coupons, settings, OpenAPI."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.api import auth, dashboard_links
from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, create_resolver, documented, json_response, resolve
from ordertrail.attribution import attribute
from ordertrail.core.environment import get_environment
from ordertrail.core.errors import NotFound
from ordertrail.core.export_runs import ExportRequest, ExportRun, ExportRunReport
from ordertrail.core.models import Attribution, CouponMapping, OrderSource, ReviewStatus
from ordertrail.core.report_models import (
    CouponsReport,
    CreatorsReport,
    CrossoverReport,
    DashboardLink,
    ExportLink,
    FlowsReport,
    InsightsReport,
    KeywordsReport,
    PostsReport,
    TimeToOrderReport,
)
from ordertrail.core.responses import CouponList, ErrorBody, OrderDocument, ReviewList
from ordertrail.core.tenant_settings import TenantSettings, TenantSettingsView
from ordertrail.export import steps
from ordertrail.reports import csv_tables, service
from ordertrail.reports.dashboard import page
from ordertrail.reports.order_document import CouponRequest, ReviewRequest, order_document
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics
from ordertrail.storage import tenant_config

app = create_resolver()
OrderId = Annotated[str, Path(min_length=1, max_length=200, description="The store's order id")]
SourceQuery = Annotated[OrderSource | None, Query(description="Which store, when the id exists in several")]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="Export run id")]
CouponCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,100}$", description="Coupon code (case-insensitive)")]
FromDay = Annotated[date | None, Query(alias="from", description="First local day (yyyy-mm-dd), default 29 days before `to`")]
ToDay = Annotated[date | None, Query(description="Last local day, inclusive (default today in the tenant's zone)")]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows")]
SortBy = Annotated[service.Sort, Query(description="revenue (driven, default) | orders | comments | dms | fires | clicks")]
Weeks = Annotated[int | None, Query(ge=1, le=104, description="Whole weeks before the current one (default 6)")]
CSV = "The CSV file (formula-safe cells)"
CSV_LINK: dict[int, OpenAPIResponse] = {
    303: {
        "description": "Too large for a response: a presigned S3 link (valid one hour), also in the Location header",
        "content": {"application/json": {"model": ExportLink}},
    }
}
EXPORT_RUNNING_RESPONSE: OpenAPIResponse = {
    "description": "Another export run of this tenant is still going (`export_running`; the message names it and until when)",
    "content": {"application/json": {"model": ErrorBody}},
}


@app.get(
    "/v1/<tenant>/orders/<order_id>",
    summary="An order, its attribution and why",
    tags=["read"],
    responses=documented(200, "The order, its attribution and evidence", OrderDocument, *TEAM_ERRORS, 404, 409),
)
def get_order(tenant: TenantId, order_id: OrderId, source: SourceQuery = None) -> Response[OrderDocument]:
    """Explain how one order was attributed."""
    return json_response(200, order_document(attribute.order_views(services.repository(), tenant, order_id, source)))


@app.post(
    "/v1/<tenant>/orders/<order_id>/review",
    summary="Confirm or reject a soft match",
    tags=["read"],
    responses=documented(200, "The attribution after the decision", Attribution, *BODY_ERRORS, 404, 409),
)
def review_order(
    tenant: TenantId, order_id: OrderId, body: Annotated[ReviewRequest, Body()], source: SourceQuery = None
) -> Response[Attribution]:
    """Apply a person's decision to a soft-matched order."""
    decided = attribute.review(services.repository(), tenant, order_id, source, body.decision, services.now())
    return json_response(200, decided)


@app.get(
    "/v1/<tenant>/reviews",
    summary="Soft matches by review status",
    tags=["read"],
    responses=documented(200, "Soft matches in the status, oldest first", ReviewList, *TEAM_ERRORS),
)
def list_reviews(
    tenant: TenantId, status: Annotated[ReviewStatus, Query()] = "pending", limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response[ReviewList]:
    """List soft matches waiting for (or after) review."""
    return json_response(200, ReviewList(status=status, items=services.repository().list_reviews(tenant, status, limit)))


@app.get(
    "/v1/<tenant>/coupons",
    summary="Coupon mappings",
    tags=["config"],
    responses=documented(200, "Every coupon mapping", CouponList, *TEAM_ERRORS),
)
def list_coupons(tenant: TenantId) -> Response[CouponList]:
    """List the tenant's coupon codes and the creator links they belong to."""
    return json_response(200, CouponList(coupons=services.repository().list_coupons(tenant)))


@app.put(
    "/v1/<tenant>/coupons/<code>",
    summary="Map a coupon code to a creator link",
    tags=["config"],
    responses=documented(200, "The mapping as stored", CouponMapping, *BODY_ERRORS),
)
def put_coupon(tenant: TenantId, code: CouponCode, body: Annotated[CouponRequest, Body()]) -> Response[CouponMapping]:
    """Create or replace a coupon mapping."""
    mapping = CouponMapping(code=code, creator=body.creator, link_id=body.link_id)
    services.repository().put_coupon(tenant, mapping)
    return json_response(200, mapping)


@app.delete(
    "/v1/<tenant>/coupons/<code>",
    summary="Remove a coupon mapping",
    tags=["config"],
    responses=documented(204, "Removed", None, *TEAM_ERRORS, 404),
)
def delete_coupon(tenant: TenantId, code: CouponCode) -> Response[None]:
    """Delete a coupon mapping (404 when there is none)."""
    if not services.repository().delete_coupon(tenant, code):
        raise NotFound(f"coupon {code.upper()} is not mapped", field="code", code="coupon_not_found")
    return Response(status_code=204)


@app.get(
    "/v1/<tenant>/settings",
    summary="Settings: attribution and export",
    tags=["config"],
    responses=documented(200, "The settings, the token only as access_token_set", TenantSettingsView, *TEAM_ERRORS),
)
def get_settings_route(tenant: TenantId) -> Response[TenantSettingsView]:
    """The tenant's windows, priority, time zone and export settings (the token only as `access_token_set`)."""
    return json_response(200, tenant_config.settings_view(services.repository(), services.tenants(), tenant))


@app.put(
    "/v1/<tenant>/settings",
    summary="Replace settings",
    tags=["config"],
    responses=documented(200, "The settings as stored", TenantSettingsView, *BODY_ERRORS),
)
def put_settings(tenant: TenantId, body: Annotated[TenantSettings, Body()]) -> Response[TenantSettingsView]:
    """Replace the tenant's settings (later orders and exports use them); `steps.access_token` is write-only."""
    return json_response(200, tenant_config.replace_settings(services.repository(), services.tenants(), tenant, body))


@app.post(
    "/v1/<tenant>/conversions/export",
    summary="Start an export run to TikTok's Events API",
    tags=["export"],
    responses=documented(202, "The run, queued", ExportRun, *BODY_ERRORS, also={409: EXPORT_RUNNING_RESPONSE}),
)
def start_export(tenant: TenantId, body: Annotated[ExportRequest, Body()]) -> Response[ExportRun]:
    """Start a run over [from, to) (default: from the watermark); 202 with the run's id, 409 while another run is going."""
    run = steps.start_run(services.repository(), services.launcher(), tenant, body.from_, body.to, services.now())
    return json_response(202, run)


@app.get(
    "/v1/<tenant>/conversions/runs/<run_id>",
    summary="An export run: chunks, counts, per-event results, errors",
    tags=["export"],
    responses=documented(200, "The run's audit", ExportRunReport, *TEAM_ERRORS, 404),
)
def get_export_run(tenant: TenantId, run_id: RunId) -> Response[ExportRunReport]:
    """Everything a run did, for audit."""
    return json_response(200, steps.run_report(services.repository(), tenant, run_id))


@app.get(
    "/v1/<tenant>/reports/posts",
    summary="Posts by attributed revenue",
    tags=["reports"],
    responses=documented(200, "The report", PostsReport, *TEAM_ERRORS),
)
def posts_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[PostsReport]:
    """Per post: comments, DMs triggered, orders and revenue attributed."""
    return json_response(200, service.posts_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@app.get(
    "/v1/<tenant>/reports/flows",
    summary="Flows: users per step and drop-off",
    tags=["reports"],
    responses=documented(200, "The report", FlowsReport, *TEAM_ERRORS),
)
def flows_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[FlowsReport]:
    """Per flow: conversations, users at each step, drop-off, orders and revenue."""
    return json_response(200, service.flows_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@app.get(
    "/v1/<tenant>/reports/keywords",
    summary="Keywords by revenue",
    tags=["reports"],
    responses=documented(200, "The report", KeywordsReport, *TEAM_ERRORS),
)
def keywords_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[KeywordsReport]:
    """Per keyword: fires, DMs, orders, revenue, and whether it fires often and never sells."""
    return json_response(200, service.keywords_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@app.get(
    "/v1/<tenant>/reports/creators",
    summary="Creators: clicks, orders, revenue",
    tags=["reports"],
    responses=documented(200, "The report", CreatorsReport, *TEAM_ERRORS),
)
def creators_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[CreatorsReport]:
    """Per creator: link clicks, orders and revenue."""
    return json_response(200, service.creators_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@app.get(
    "/v1/<tenant>/reports/coupons",
    summary="Coupon codes: orders, revenue",
    tags=["reports"],
    responses=documented(200, "The report", CouponsReport, *TEAM_ERRORS),
)
def coupons_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[CouponsReport]:
    """Per coupon code: orders and revenue."""
    return json_response(200, service.coupons_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@app.get(
    "/v1/<tenant>/reports/time-to-order",
    summary="Time from first touch to order",
    tags=["reports"],
    responses=documented(200, "The report", TimeToOrderReport, *TEAM_ERRORS),
)
def time_to_order_report(tenant: TenantId, from_: FromDay = None, to: ToDay = None) -> Response[TimeToOrderReport]:
    """Median, quartiles, histogram, and the weekly median with its week-on-week change."""
    return json_response(200, service.time_to_order_report(services.repository(), tenant, from_, to, services.now()))


@app.get(
    "/v1/<tenant>/reports/insights",
    summary="TikTok Shop insights",
    tags=["reports"],
    responses=documented(200, "The report", InsightsReport, *TEAM_ERRORS),
)
def insights_report(tenant: TenantId, weeks: Weeks = None, from_: FromDay = None, to: ToDay = None) -> Response[InsightsReport]:
    """Orders, net receipts, AOV, customers: all time, the last 7 full days, and whole weeks."""
    return json_response(200, service.insights_report(services.repository(), tenant, weeks, from_, to, services.now()))


@app.get(
    "/v1/<tenant>/reports/crossover",
    summary="TikTok customers who bought elsewhere",
    tags=["reports"],
    responses=documented(200, "The report", CrossoverReport, *TEAM_ERRORS),
)
def crossover_report(
    tenant: TenantId, weeks: Annotated[int, Query(ge=1, le=104, description="Weeks in the series, this one included")] = 12
) -> Response[CrossoverReport]:
    """Crossover totals, the weekly cumulative series, the breakdown by orders and the list."""
    return json_response(200, service.crossover_report(services.repository(), tenant, weeks, services.now()))


@app.get(
    "/v1/<tenant>/exports/attributed-orders.csv",
    summary="Attributed orders as CSV",
    tags=["exports"],
    responses=documented(200, CSV, None, *TEAM_ERRORS, media="text/csv", also=CSV_LINK),
)
def attributed_orders_csv(tenant: TenantId, from_: FromDay = None, to: ToDay = None) -> Response[str]:
    """Attributed orders with their evidence (comment text, video URL, flow, keyword, creator, method, time-to-order)."""
    table = csv_tables.attributed_orders(services.repository(), tenant, from_, to, services.now())
    return csv_response(tenant, table)


@app.get(
    "/v1/<tenant>/exports/customers.csv",
    summary="TikTok customers as CSV",
    tags=["exports"],
    responses=documented(200, CSV, None, *TEAM_ERRORS, media="text/csv", also=CSV_LINK),
)
def customers_csv(tenant: TenantId, from_: FromDay = None, to: ToDay = None) -> Response[str]:
    """TikTok customers (id, name, address) for marketing; from/to keep those who ordered on those days."""
    return csv_response(tenant, csv_tables.customers(services.repository(), tenant, from_, to))


@app.get(
    "/v1/<tenant>/exports/crossover.csv",
    summary="Crossover customers as CSV",
    tags=["exports"],
    responses=documented(200, CSV, None, *TEAM_ERRORS, media="text/csv", also=CSV_LINK),
)
def crossover_csv(tenant: TenantId) -> Response[str]:
    """Customers who first bought on TikTok Shop and later at another store."""
    return csv_response(tenant, csv_tables.crossover_customers(services.repository(), tenant))


def csv_response(tenant: str, table: csv_tables.CsvTable) -> Response[str]:
    """The CSV itself (200), or a 303 to a presigned S3 link when it is too large for a response."""
    delivered = csv_tables.deliver(tenant, table, services.export_files(), get_environment().inline_csv_bytes)
    if delivered.link is not None:
        link = delivered.link
        return Response(303, content_types.APPLICATION_JSON, link.model_dump_json(), headers={"Location": link.url})
    disposition = f'attachment; filename="{delivered.filename}"'
    return Response(200, "text/csv; charset=utf-8", delivered.text, headers={"Content-Disposition": disposition})


@app.get(
    "/v1/<tenant>/dashboard",
    summary="The dashboard: one self-contained HTML page",
    tags=["reports"],
    responses=documented(200, "The page", None, *TEAM_ERRORS, media="text/html"),
)
def dashboard_page(tenant: TenantId) -> Response[str]:
    """Charts of the reports (server-rendered SVG, no scripts, nothing fetched from elsewhere)."""
    html = page.render(service.dashboard_data(services.repository(), tenant, services.now()))
    return Response(200, "text/html; charset=utf-8", html, headers={"Cache-Control": "no-store"})


@app.post(
    "/v1/<tenant>/dashboard/links",
    summary="A signed link to open the dashboard in a browser",
    tags=["reports"],
    responses=documented(201, "The link and when it expires", DashboardLink, *BODY_ERRORS),
)
def create_dashboard_link(
    tenant: TenantId, hours: Annotated[int, Query(ge=1, le=24, description="How long the link works (hours)")] = 1
) -> Response[DashboardLink]:
    """A browser cannot send the key: this link, signed with the caller's key, opens GET /dashboard until it expires."""
    key = auth.bearer_token(app.current_event.headers.get("authorization"))
    return json_response(201, dashboard_links.link_for(tenant, key, hours, services.now()))


@app.get("/v1/openapi.json", summary="This API as OpenAPI 3", tags=["meta"], include_in_schema=False)
def openapi_document() -> Response[str]:
    """Serve the committed OpenAPI document, generated from the handlers."""
    text = resources.files("ordertrail.api").joinpath("openapi.json").read_text()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=text)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return resolve(app, event, context, get_environment().max_body_bytes, team=True)
