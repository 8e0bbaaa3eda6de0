"""Routes tagged `reports`: the ranked reports (posts, flows, keywords, creators, coupons), channels, time to order, insights, crossover."""

from __future__ import annotations

from typing import Annotated, TypeVar, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from ordertrail.api.negotiation import ReportFormat, report_format
from ordertrail.api.resolver import TEAM_ERRORS, FromDay, TenantId, ToDay, documented
from ordertrail.core.credit import CreditModel
from ordertrail.core.report_models import (
    ChannelsReport,
    CouponsReport,
    CreatorsReport,
    CrossoverReport,
    DownloadLink,
    FlowsReport,
    InsightsReport,
    KeywordsReport,
    PostsReport,
    TimeToOrderReport,
)
from ordertrail.reports import service
from ordertrail.runtime import services
from ordertrail.tally.channels import ChannelDimension

router = Router()
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows")]
SortBy = Annotated[service.Sort, Query(description="revenue (driven, default) | orders | comments | dms | fires | clicks")]
Weeks = Annotated[int | None, Query(ge=1, le=104, description="Whole weeks before the current one (default 6)")]
Format = Annotated[
    ReportFormat | None,
    Query(alias="format", description="csv: one of the report's tables as CSV, as `Accept: text/csv` asks (docs/api.md#reports-as-csv)"),
]
Table = Annotated[
    str | None, Query(max_length=40, description="With CSV: which of the report's tables (default its first; docs/api.md#reports-as-csv)")
]
M = TypeVar("M", bound=BaseModel)
REPORT_CSV: dict[int, OpenAPIResponse] = {
    303: {
        "description": "A CSV too large for a response: a presigned S3 link (valid one hour), also in the Location header",
        "content": {"application/json": {"model": DownloadLink}},
    }
}


def reported(description: str, model: type[BaseModel]) -> dict[int, OpenAPIResponse]:
    """A report route's answers: the report as JSON or one of its tables as CSV, the CSV's S3 link, and the team errors."""
    responses = documented(200, description, model, *TEAM_ERRORS, also=REPORT_CSV)
    responses[200]["content"] = {**responses[200].get("content", {}), "text/csv": {"schema": {"type": "string"}}}
    return responses


def answer(tenant: str, name: str, report: M, format_: ReportFormat | None, table: str | None) -> Response[M | str]:
    """The report as JSON, or the table asked for as CSV (formula-safe, like every download); either way `Vary: Accept`."""
    wants_csv = report_format(format_, router.current_event.headers.get("accept")) == "csv"
    if wants_csv or table is not None:
        # Here, not at the top: the CSV forms (and the check of `table`) serve only the requests that name them.
        from ordertrail.reports import report_tables

        chosen = report_tables.choose(type(report), table)  # an unknown table is a 422 whatever the form asked
    if not wants_csv:
        return Response(200, content_types.APPLICATION_JSON, report, headers={"Vary": "Accept"})
    from routes.csv_downloads import csv_response  # this function's own code root (docs/architecture.md#handlers)

    response = csv_response(tenant, report_tables.report_table(name, report, chosen))
    response.headers["Vary"] = "Accept"
    return cast("Response[M | str]", response)


@router.get(
    "/v1/<tenant>/reports/posts",
    summary="Posts by attributed revenue",
    tags=["reports"],
    operation_id="posts_report",
    responses=reported("The report", PostsReport),
)
def posts_report(
    tenant: TenantId,
    from_: FromDay = None,
    to: ToDay = None,
    sort: SortBy = "revenue",
    limit: Limit = 100,
    format_: Format = None,
    table: Table = None,
) -> Response[PostsReport | str]:
    """Per post: comments, DMs triggered, orders and revenue attributed."""
    report = service.posts_report(services.repository(), tenant, from_, to, sort, limit, services.now())
    return answer(tenant, "posts", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/flows",
    summary="Flows: users per step and drop-off",
    tags=["reports"],
    operation_id="flows_report",
    responses=reported("The report", FlowsReport),
)
def flows_report(
    tenant: TenantId,
    from_: FromDay = None,
    to: ToDay = None,
    sort: SortBy = "revenue",
    limit: Limit = 100,
    format_: Format = None,
    table: Table = None,
) -> Response[FlowsReport | str]:
    """Per flow: conversations, users at each step, drop-off, orders and revenue."""
    report = service.flows_report(services.repository(), tenant, from_, to, sort, limit, services.now())
    return answer(tenant, "flows", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/keywords",
    summary="Keywords by revenue",
    tags=["reports"],
    operation_id="keywords_report",
    responses=reported("The report", KeywordsReport),
)
def keywords_report(
    tenant: TenantId,
    from_: FromDay = None,
    to: ToDay = None,
    sort: SortBy = "revenue",
    limit: Limit = 100,
    format_: Format = None,
    table: Table = None,
) -> Response[KeywordsReport | str]:
    """Per keyword: fires, DMs, orders, revenue, and whether it fires often and never sells."""
    report = service.keywords_report(services.repository(), tenant, from_, to, sort, limit, services.now())
    return answer(tenant, "keywords", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/creators",
    summary="Creators: clicks, orders, revenue",
    tags=["reports"],
    operation_id="creators_report",
    responses=reported("The report", CreatorsReport),
)
def creators_report(
    tenant: TenantId,
    from_: FromDay = None,
    to: ToDay = None,
    sort: SortBy = "revenue",
    limit: Limit = 100,
    format_: Format = None,
    table: Table = None,
) -> Response[CreatorsReport | str]:
    """Per creator: link clicks, orders and revenue."""
    report = service.creators_report(services.repository(), tenant, from_, to, sort, limit, services.now())
    return answer(tenant, "creators", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/coupons",
    summary="Coupon codes: orders, revenue",
    tags=["reports"],
    operation_id="coupons_report",
    responses=reported("The report", CouponsReport),
)
def coupons_report(
    tenant: TenantId,
    from_: FromDay = None,
    to: ToDay = None,
    sort: SortBy = "revenue",
    limit: Limit = 100,
    format_: Format = None,
    table: Table = None,
) -> Response[CouponsReport | str]:
    """Per coupon code: orders and revenue."""
    report = service.coupons_report(services.repository(), tenant, from_, to, sort, limit, services.now())
    return answer(tenant, "coupons", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/channels",
    summary="Every credit model side by side per post, flow, keyword, creator, coupon or ad campaign",
    tags=["reports"],
    operation_id="channels_report",
    responses=reported("The report", ChannelsReport),
)
def channels_report(
    tenant: TenantId,
    dimension: Annotated[ChannelDimension, Query(description="post | flow | keyword | creator | coupon | ad_campaign")],
    from_: FromDay = None,
    to: ToDay = None,
    sort: Annotated[CreditModel, Query(description="The model whose credited orders rank the rows (default linear)")] = "linear",
    limit: Limit = 100,
    format_: Format = None,
    table: Table = None,
) -> Response[ChannelsReport | str]:
    """Per channel value: orders and revenue under first touch, last touch, linear, participation, U-shaped and time decay."""
    report = service.channels_report(services.repository(), tenant, dimension, from_, to, sort, limit, services.now())
    return answer(tenant, f"channels-{dimension}", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/time-to-order",
    summary="Time from first touch to order",
    tags=["reports"],
    operation_id="time_to_order_report",
    responses=reported("The report", TimeToOrderReport),
)
def time_to_order_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, format_: Format = None, table: Table = None
) -> Response[TimeToOrderReport | str]:
    """Median, quartiles, histogram, and the weekly median with its week-on-week change."""
    report = service.time_to_order_report(services.repository(), tenant, from_, to, services.now())
    return answer(tenant, "time-to-order", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/insights",
    summary="TikTok Shop insights",
    tags=["reports"],
    operation_id="insights_report",
    responses=reported("The report", InsightsReport),
)
def insights_report(
    tenant: TenantId, weeks: Weeks = None, from_: FromDay = None, to: ToDay = None, format_: Format = None, table: Table = None
) -> Response[InsightsReport | str]:
    """Orders, net receipts, AOV, customers: all time, the last 7 full days, and whole weeks."""
    report = service.insights_report(services.repository(), tenant, weeks, from_, to, services.now())
    return answer(tenant, "insights", report, format_, table)


@router.get(
    "/v1/<tenant>/reports/crossover",
    summary="TikTok customers who bought elsewhere",
    tags=["reports"],
    operation_id="crossover_report",
    responses=reported("The report", CrossoverReport),
)
def crossover_report(
    tenant: TenantId,
    weeks: Annotated[int, Query(ge=1, le=104, description="Weeks in the series, this one included")] = 12,
    format_: Format = None,
    table: Table = None,
) -> Response[CrossoverReport | str]:
    """Crossover totals, the weekly cumulative series, the breakdown by orders and the list."""
    report = service.crossover_report(services.repository(), tenant, weeks, services.now())
    return answer(tenant, "crossover", report, format_, table)
