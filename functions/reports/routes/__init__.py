"""The team API's routes, one Powertools Router per tag; ROUTERS lists them in the order ReportsFunction includes them."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from . import connections, conversions, coupons, csv_downloads, dashboard, imports, meta, orders, reattributions, reports, settings

ROUTERS: tuple[Router, ...] = (
    orders.router,
    coupons.router,
    settings.router,
    conversions.router,
    reports.router,
    csv_downloads.router,
    dashboard.router,
    connections.router,
    imports.router,
    reattributions.router,
    meta.router,
)
