"""Routes tagged `exports`: CSV downloads of attributed orders and customers (inline, or a link when too large)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from ordertrail.api.resolver import TEAM_ERRORS, FromDay, TenantId, ToDay, documented
from ordertrail.core.environment import get_environment
from ordertrail.core.report_models import DownloadLink
from ordertrail.runtime import services

if TYPE_CHECKING:
    from ordertrail.reports.csv_tables import CsvTable

router = Router()
CSV = "The CSV file (formula-safe cells)"
CSV_LINK: dict[int, OpenAPIResponse] = {
    303: {
        "description": "Too large for a response: a presigned S3 link (valid one hour), also in the Location header",
        "content": {"application/json": {"model": DownloadLink}},
    }
}


@router.get(
    "/v1/<tenant>/exports/attributed-orders.csv",
    summary="Attributed orders as CSV",
    tags=["csv_downloads"],
    operation_id="download_attributed_orders_csv",
    responses=documented(200, CSV, None, *TEAM_ERRORS, media="text/csv", also=CSV_LINK),
)
def download_attributed_orders_csv(tenant: TenantId, from_: FromDay = None, to: ToDay = None) -> Response[str]:
    """Attributed orders with their evidence (comment text, video URL, flow, keyword, creator, method, time-to-order)."""
    from ordertrail.reports import csv_tables  # on first use: the CSV code serves these downloads alone

    table = csv_tables.attributed_orders(services.repository(), tenant, from_, to, services.now())
    return csv_response(tenant, table)


@router.get(
    "/v1/<tenant>/exports/customers.csv",
    summary="TikTok customers as CSV",
    tags=["csv_downloads"],
    operation_id="download_customers_csv",
    responses=documented(200, CSV, None, *TEAM_ERRORS, media="text/csv", also=CSV_LINK),
)
def download_customers_csv(tenant: TenantId, from_: FromDay = None, to: ToDay = None) -> Response[str]:
    """TikTok customers (id, name, address) for marketing; from/to keep those who ordered on those days."""
    from ordertrail.reports import csv_tables  # on first use, as above

    return csv_response(tenant, csv_tables.customers(services.repository(), tenant, from_, to))


@router.get(
    "/v1/<tenant>/exports/crossover.csv",
    summary="Crossover customers as CSV",
    tags=["csv_downloads"],
    operation_id="download_crossover_csv",
    responses=documented(200, CSV, None, *TEAM_ERRORS, media="text/csv", also=CSV_LINK),
)
def download_crossover_csv(tenant: TenantId) -> Response[str]:
    """Customers who first bought on TikTok Shop and later at another store."""
    from ordertrail.reports import csv_tables  # on first use, as above

    return csv_response(tenant, csv_tables.crossover_customers(services.repository(), tenant))


def csv_response(tenant: str, table: CsvTable) -> Response[str]:
    """The CSV itself (200), or a 303 to a presigned S3 link when it is too large for a response."""
    from ordertrail.reports import csv_tables  # loaded by the route that made the table

    delivered = csv_tables.deliver(tenant, table, services.download_files(), get_environment().inline_csv_bytes)
    if delivered.link is not None:
        link = delivered.link
        return Response(303, content_types.APPLICATION_JSON, link.model_dump_json(), headers={"Location": link.url})
    disposition = f'attachment; filename="{delivered.filename}"'
    return Response(200, "text/csv; charset=utf-8", delivered.text, headers={"Content-Disposition": disposition})
