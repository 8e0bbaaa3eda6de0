"""The CSV downloads: attributed orders, TikTok customers and crossover customers; inline when small, else an S3 link."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ordertrail.core.errors import PayloadTooLarge, Unprocessable
from ordertrail.core.report_models import DownloadLink
from ordertrail.reports import crossover, service
from ordertrail.reports.csv_format import ATTRIBUTED_ORDER_COLUMNS, attributed_order_row, rows_to_csv
from ordertrail.storage.files import LINK_SECONDS, DownloadFiles

if TYPE_CHECKING:
    from ordertrail.storage.repository import Repository

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "tiktok_customer_id",
    "name",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "first_order_at",
    "orders",
    "order_days",
)
CROSSOVER_COLUMNS: tuple[str, ...] = (
    "address_key",
    "tiktok_customer_id",
    "name",
    "first_tiktok_order_at",
    "first_other_order_at",
    "tiktok_orders",
    "other_orders",
    "currency",
    "other_net_receipts",
)


@dataclass(frozen=True)
class CsvTable:
    """A CSV download before delivery: its file name, header and rows."""

    filename: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]


@dataclass(frozen=True)
class CsvDelivery:
    """A CSV download as delivered: the text itself, or a presigned link when it is too large for a response."""

    filename: str
    text: str | None = None
    link: DownloadLink | None = None


def _instants(days: service.Period) -> tuple[datetime, datetime]:
    """The period's local days as [start, end) instants."""
    zone = ZoneInfo(days.time_zone)
    return datetime.combine(days.first, time.min, zone), datetime.combine(days.last + timedelta(days=1), time.min, zone)


def attributed_orders(repo: Repository, tenant: str, from_: date | None, to: date | None, now: datetime) -> CsvTable:
    """Attributed, uncancelled orders placed in the local days asked (default the last 30), oldest first, with evidence."""
    days = service.period(repo.get_tenant_settings(tenant), from_, to, now)
    start, end = _instants(days)
    views = repo.attributed_orders_between(tenant, start, end)
    rows = [attributed_order_row(view.order, view.attribution) for view in views]
    return CsvTable(f"attributed-orders_{days.first}_{days.last}.csv", ATTRIBUTED_ORDER_COLUMNS, rows)


def customers(repo: Repository, tenant: str, from_: date | None, to: date | None) -> CsvTable:
    """TikTok customers (id, name, address) by first order; with from/to, those with an order on one of those days."""
    if from_ is not None and to is not None and from_ > to:
        raise Unprocessable("`from` must not be after `to`", field="from", code="invalid_range")
    first, last = (from_ or date.min).isoformat(), (to or date.max).isoformat()
    rows: list[Sequence[object]] = []
    for customer in repo.list_customers(tenant):
        if not any(first <= day <= last for day in customer.days):
            continue
        address = customer.address
        rows.append(
            [
                customer.user_id,
                customer.name,
                address.line1 if address else None,
                address.line2 if address else None,
                address.city if address else None,
                address.region if address else None,
                address.postal_code if address else None,
                address.country if address else None,
                customer.first_order_at,
                customer.orders,
                len(customer.days),
            ]
        )
    return CsvTable("customers.csv", CUSTOMER_COLUMNS, rows)


def crossover_customers(repo: Repository, tenant: str) -> CsvTable:
    """Customers who first bought on TikTok Shop and later at another store, by when they crossed.

    One row per customer and currency of their other-store orders: `other_orders` and `other_net_receipts` are that
    currency's (amounts in two currencies are never added), the rest is the customer's.
    """
    rows: list[Sequence[object]] = []
    for profile in repo.crossover_profiles(tenant):
        c = crossover.crossover_customer(profile)
        if c is None:
            continue
        head = [c.address_key, c.tiktok_customer_id, c.name, c.first_tiktok_order_at, c.first_other_order_at, c.tiktok_orders]
        rows += [[*head, orders, code, net] for code, (orders, net) in crossover.other_receipts(profile).items()]
    return CsvTable("crossover.csv", CROSSOVER_COLUMNS, rows)


def deliver(tenant: str, table: CsvTable, files: DownloadFiles | None, inline_limit: int) -> CsvDelivery:
    """The CSV in the response when it fits, else written to the exports bucket and handed out as a link."""
    text = "".join(rows_to_csv(table.header, table.rows))
    if len(text.encode("utf-8")) <= inline_limit:
        return CsvDelivery(table.filename, text=text)
    if files is None:
        raise PayloadTooLarge(
            "this export is too large for a response and no exports bucket is configured; ask for fewer days",
            field="from",
            code="export_too_large",
        )
    key = f"exports/{tenant}/{uuid.uuid4().hex}/{table.filename}"
    url = files.publish(key, text, table.filename)
    return CsvDelivery(table.filename, link=DownloadLink(url=url, expires_in_seconds=LINK_SECONDS, rows=len(table.rows)))
