"""Every day, week and time-zone helper: local days, today in the tenant's zone, Mondays and the weeks a report shows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from ordertrail.core.errors import Unprocessable

# Insights show the 6 full weeks before the current one; the crossover report the current week and the 11 before it.
INSIGHTS_WEEKS: Final = 6
CROSSOVER_WEEKS: Final = 12
MAX_WEEKS: Final = 104


def local_day(ts: datetime, time_zone: str) -> str:
    """The calendar day of a time in the tenant's zone, `yyyy-mm-dd`."""
    return ts.astimezone(ZoneInfo(time_zone)).date().isoformat()


def days_between(first: date, last: date) -> list[str]:
    """Every day from first to last inclusive, as `yyyy-mm-dd`."""
    return [date.fromordinal(ordinal).isoformat() for ordinal in range(first.toordinal(), last.toordinal() + 1)]


def today_in(time_zone: str, now: datetime) -> date:
    """Today's date in the tenant's zone."""
    return now.astimezone(ZoneInfo(time_zone)).date()


def last_full_days(today: date) -> tuple[date, date]:
    """The 7 local days before today (today's partial day excluded), first and last."""
    return today - timedelta(days=7), today - timedelta(days=1)


def monday(day: date) -> date:
    """The Monday starting the week (Monday to Sunday) a day is in."""
    return day - timedelta(days=day.weekday())


def week_starts(today: date, weeks: int | None = None, from_: date | None = None, to: date | None = None) -> list[date]:
    """The Mondays of the whole weeks to show, earliest first.

    Default: the 6 full weeks before the current week. `weeks=N`: the N full weeks before the current week.
    `from_`/`to`: every week touching [from_, to], snapped out to whole Mondays..Sundays (`to` defaults to today,
    `from_` to the start of the 6 weeks ending with `to`'s week). At most 104 weeks.
    """
    if weeks is not None and (from_ is not None or to is not None):
        raise Unprocessable("give either `weeks` or `from`/`to`, not both", field="weeks", code="invalid_value")
    if from_ is None and to is None:
        count = INSIGHTS_WEEKS if weeks is None else weeks
        if not 1 <= count <= MAX_WEEKS:
            raise Unprocessable(f"`weeks` must be between 1 and {MAX_WEEKS}", field="weeks", code="invalid_value")
        current = monday(today)
        return [current - timedelta(weeks=count - index) for index in range(count)]
    last_week = monday(to if to is not None else today)
    first_week = monday(from_) if from_ is not None else last_week - timedelta(weeks=INSIGHTS_WEEKS - 1)
    if first_week > last_week or (from_ is not None and to is not None and from_ > to):
        raise Unprocessable("`from` must not be after `to`", field="from", code="invalid_range")
    count = (last_week - first_week).days // 7 + 1
    if count > MAX_WEEKS:
        raise Unprocessable(f"the range covers {count} weeks; the limit is {MAX_WEEKS}", field="from", code="range_too_long")
    return [first_week + timedelta(weeks=index) for index in range(count)]


def weeks_back(today: date, weeks: int = CROSSOVER_WEEKS) -> list[date]:
    """The Mondays of the current local week and the weeks - 1 before it, oldest first (1 to 104 weeks)."""
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise Unprocessable(f"weeks must be a whole number from 1 to {MAX_WEEKS}", field="weeks", code="invalid_value")
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
