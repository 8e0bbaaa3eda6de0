"""The crossover report, read side: weekly and cumulative shares from the counters, and the crossed customers' rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from ordertrail.core import money
from ordertrail.core.report_models import CrossoverBreakdown, CrossoverCustomer, CrossoverReport, CrossoverWeek
from ordertrail.tally import counters
from ordertrail.tally.crossover import ADDRESS_KEY_LENGTH, AddressProfile, breakdown_field

# Crossed customers by their number of other-store orders; the last row is "5 or more".
BREAKDOWN_ROWS: Final = ("1", "2", "3", "4", "5+")


def crossover_customer(profile: AddressProfile | None) -> CrossoverCustomer | None:
    """The customer-list row of a crossed profile (None when it has not crossed)."""
    if profile is None:
        return None
    first, first_other = profile.first, profile.first_other
    if first is None or first_other is None:
        return None
    others = profile.other_orders
    return CrossoverCustomer(
        address_key=profile.address_hash[:ADDRESS_KEY_LENGTH],
        tiktok_customer_id=profile.tiktok_customer_id,
        name=profile.name,
        first_tiktok_order_at=first.ordered_at,
        first_other_order_at=first_other.ordered_at,
        tiktok_orders=len(profile.tiktok_orders),
        other_orders=len(others),
        other_net_receipts={code: net for code, (_orders, net) in other_receipts(profile).items()},
    )


def other_receipts(profile: AddressProfile) -> dict[str, tuple[int, Decimal]]:
    """A sourced profile's other-store orders and net receipts per currency code (stored before currencies: LEGACY_CURRENCY)."""
    found: dict[str, tuple[int, Decimal]] = {}
    for order in profile.other_orders:
        code = order.currency or money.LEGACY_CURRENCY
        orders, net = found.get(code, (0, Decimal(0)))
        found[code] = (orders + 1, net + order.net)
    return dict(sorted(found.items()))


def _share(part: int, whole: int) -> float | None:
    """The share part / whole, None when the whole is 0."""
    return part / whole if whole else None


def _whole(fields: Mapping[str, Decimal], name: str) -> int:
    """A counter field as a whole number (0 when absent)."""
    return int(fields.get(name, Decimal(0)))


def crossover_report(
    *,
    time_zone: str,
    all_time: Mapping[str, Decimal],
    days: Mapping[str, Mapping[str, Decimal]],
    week_starts: list[date],
    today: date,
    customers: list[CrossoverCustomer],
) -> CrossoverReport:
    """The crossover report from the ALL item, the day items since the first week, and the crossed customers.

    `days` maps `yyyy-mm-dd` to the fields of that day's crossover item and must hold every stored day from the
    first week's Monday on. A week counts the customers sourced and crossed on its days; its cumulative figures
    are those at its end (at today for the current week): the all-time totals minus every day after that.
    """
    sourced, crossed = _whole(all_time, "sourced"), _whole(all_time, "crossed")
    share = _share(crossed, sourced)
    dated = [(date.fromisoformat(day), fields) for day, fields in days.items() if day != counters.ALL_TIME]
    weeks: list[CrossoverWeek] = []
    for week_start in week_starts:
        cut_off = min(week_start + timedelta(days=6), today)
        in_week = [fields for day, fields in dated if week_start <= day <= cut_off]
        after = [fields for day, fields in dated if day > cut_off]
        cumulative_sourced = sourced - sum(_whole(fields, "sourced") for fields in after)
        cumulative_crossed = crossed - sum(_whole(fields, "crossed") for fields in after)
        weeks.append(
            CrossoverWeek(
                week_start=week_start,
                crossed=sum(_whole(fields, "crossed") for fields in in_week),
                sourced=sum(_whole(fields, "sourced") for fields in in_week),
                cumulative_crossed=cumulative_crossed,
                cumulative_sourced=cumulative_sourced,
                cumulative_share=_share(cumulative_crossed, cumulative_sourced),
            )
        )
    breakdown = [
        CrossoverBreakdown(other_orders=row, customers=_whole(all_time, breakdown_field(index)))
        for index, row in enumerate(BREAKDOWN_ROWS, start=1)
    ]
    return CrossoverReport(
        time_zone=time_zone,
        sourced_customers=sourced,
        crossover_customers=crossed,
        crossover_share=share,
        non_crossover_share=None if share is None else 1 - share,
        other_net_receipts=money.reported(all_time, "other_net", "other_orders"),
        weeks=weeks,
        breakdown=breakdown,
        customers=sorted(customers, key=lambda row: (row.first_other_order_at, row.address_key)),
    )
