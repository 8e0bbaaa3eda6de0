"""Routes tagged `reports`: the ranked reports (posts, flows, keywords, creators, coupons), time to order, insights, crossover."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from ordertrail.api.resolver import TEAM_ERRORS, FromDay, TenantId, ToDay, documented, json_response
from ordertrail.core.report_models import (
    CouponsReport,
    CreatorsReport,
    CrossoverReport,
    FlowsReport,
    InsightsReport,
    KeywordsReport,
    PostsReport,
    TimeToOrderReport,
)
from ordertrail.reports import service
from ordertrail.runtime import services

router = Router()
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows")]
SortBy = Annotated[service.Sort, Query(description="revenue (driven, default) | orders | comments | dms | fires | clicks")]
Weeks = Annotated[int | None, Query(ge=1, le=104, description="Whole weeks before the current one (default 6)")]


@router.get(
    "/v1/<tenant>/reports/posts",
    summary="Posts by attributed revenue",
    tags=["reports"],
    operation_id="posts_report",
    responses=documented(200, "The report", PostsReport, *TEAM_ERRORS),
)
def posts_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[PostsReport]:
    """Per post: comments, DMs triggered, orders and revenue attributed."""
    return json_response(200, service.posts_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@router.get(
    "/v1/<tenant>/reports/flows",
    summary="Flows: users per step and drop-off",
    tags=["reports"],
    operation_id="flows_report",
    responses=documented(200, "The report", FlowsReport, *TEAM_ERRORS),
)
def flows_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[FlowsReport]:
    """Per flow: conversations, users at each step, drop-off, orders and revenue."""
    return json_response(200, service.flows_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@router.get(
    "/v1/<tenant>/reports/keywords",
    summary="Keywords by revenue",
    tags=["reports"],
    operation_id="keywords_report",
    responses=documented(200, "The report", KeywordsReport, *TEAM_ERRORS),
)
def keywords_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[KeywordsReport]:
    """Per keyword: fires, DMs, orders, revenue, and whether it fires often and never sells."""
    return json_response(200, service.keywords_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@router.get(
    "/v1/<tenant>/reports/creators",
    summary="Creators: clicks, orders, revenue",
    tags=["reports"],
    operation_id="creators_report",
    responses=documented(200, "The report", CreatorsReport, *TEAM_ERRORS),
)
def creators_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[CreatorsReport]:
    """Per creator: link clicks, orders and revenue."""
    return json_response(200, service.creators_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@router.get(
    "/v1/<tenant>/reports/coupons",
    summary="Coupon codes: orders, revenue",
    tags=["reports"],
    operation_id="coupons_report",
    responses=documented(200, "The report", CouponsReport, *TEAM_ERRORS),
)
def coupons_report(
    tenant: TenantId, from_: FromDay = None, to: ToDay = None, sort: SortBy = "revenue", limit: Limit = 100
) -> Response[CouponsReport]:
    """Per coupon code: orders and revenue."""
    return json_response(200, service.coupons_report(services.repository(), tenant, from_, to, sort, limit, services.now()))


@router.get(
    "/v1/<tenant>/reports/time-to-order",
    summary="Time from first touch to order",
    tags=["reports"],
    operation_id="time_to_order_report",
    responses=documented(200, "The report", TimeToOrderReport, *TEAM_ERRORS),
)
def time_to_order_report(tenant: TenantId, from_: FromDay = None, to: ToDay = None) -> Response[TimeToOrderReport]:
    """Median, quartiles, histogram, and the weekly median with its week-on-week change."""
    return json_response(200, service.time_to_order_report(services.repository(), tenant, from_, to, services.now()))


@router.get(
    "/v1/<tenant>/reports/insights",
    summary="TikTok Shop insights",
    tags=["reports"],
    operation_id="insights_report",
    responses=documented(200, "The report", InsightsReport, *TEAM_ERRORS),
)
def insights_report(tenant: TenantId, weeks: Weeks = None, from_: FromDay = None, to: ToDay = None) -> Response[InsightsReport]:
    """Orders, net receipts, AOV, customers: all time, the last 7 full days, and whole weeks."""
    return json_response(200, service.insights_report(services.repository(), tenant, weeks, from_, to, services.now()))


@router.get(
    "/v1/<tenant>/reports/crossover",
    summary="TikTok customers who bought elsewhere",
    tags=["reports"],
    operation_id="crossover_report",
    responses=documented(200, "The report", CrossoverReport, *TEAM_ERRORS),
)
def crossover_report(
    tenant: TenantId, weeks: Annotated[int, Query(ge=1, le=104, description="Weeks in the series, this one included")] = 12
) -> Response[CrossoverReport]:
    """Crossover totals, the weekly cumulative series, the breakdown by orders and the list."""
    return json_response(200, service.crossover_report(services.repository(), tenant, weeks, services.now()))
