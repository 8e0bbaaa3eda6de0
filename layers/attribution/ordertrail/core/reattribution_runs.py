"""Re-attribution runs as requested, stored and shown: the run, its settings snapshot and its days' progress (docs/reattribution.md)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ordertrail.core.models import Attribution, PreviousDecision, ReattributionStamp
from ordertrail.core.tenant_settings import AttributionSettings, TenantSettings

ReattributionStatus = Literal["queued", "running", "succeeded", "failed"]
DayPhase = Literal["orders", "touchpoints"]
# A run covers at most two years (as a history import does): its days then fit in one state's input (256 KB).
MAX_DAYS = 731
# Fields of a decision that say when and by what it was made, not what it is: a re-run compares the rest.
VOLATILE_FIELDS = frozenset({"attributed_at", "reattributed", "previous"})


class ReattributionRequest(BaseModel):
    """POST /v1/{tenant}/reattributions: re-attribute the orders placed on these days (the tenant's time zone, both included)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from", description="First day (yyyy-mm-dd, in the tenant's time zone)")
    to: date = Field(description="Last day, included (yyyy-mm-dd, in the tenant's time zone)")


class ReattributionFailure(BaseModel):
    """Why a run stopped."""

    code: str
    message: str


class ReattributionRun(BaseModel):
    """A run: the range asked for, the settings it applies (read once, when it started) and how it ended."""

    run_id: str
    tenant: str
    status: ReattributionStatus
    from_date: date
    to_date: date
    start: AwareDatetime = Field(description="First instant re-attributed (the from day's start in the time zone)")
    end: AwareDatetime = Field(description="End of the range (exclusive): the day after `to`, in the time zone")
    settings: TenantSettings = Field(description="The settings the run applies, as they were when it was asked for")
    settings_digest: str
    days_planned: int = 0
    error: ReattributionFailure | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ReattributionDayProgress(BaseModel):
    """How far one UTC day of a run got, as GET /reattributions/{run_id} shows it."""

    day: date
    done: bool = False
    pages: int = 0
    seen: int = Field(default=0, description="Orders placed in the range on this day")
    changed: int = Field(default=0, description="Orders whose decision this run changed")
    method_changed: int = Field(default=0, description="…of which the method changed (e.g. from a conversation to organic)")
    expired: int = Field(default=0, description="Orders kept as they were: touchpoints their decision rests on have expired (TTL)")
    errors: int = Field(default=0, description="Orders that could not be re-attributed (see last_error)")
    touchpoints_seen: int = Field(default=0, description="Touchpoints that counted on a day: comments, DMs, flow steps, creator clicks")
    touchpoints_moved: int = Field(default=0, description="…whose counts this run moved to another local day (a time-zone change)")
    touchpoints_kept: int = Field(default=0, description="…left on their day: DMs whose comment is not stored (yet, or any more)")
    last_error: str | None = None


class ReattributionDay(ReattributionDayProgress):
    """One UTC day as stored: its progress, which pass it is in and where its next page starts (each page is recorded once)."""

    phase: DayPhase = Field(default="orders", description="Orders first, then the day's touchpoints (their engagement counts)")
    cursor: str | None = Field(default=None, description="Where the next page starts (DynamoDB's LastEvaluatedKey, as JSON)")


class ReattributionReport(BaseModel):
    """GET /v1/{tenant}/reattributions/{run_id}: the run, its settings, each day and the totals (docs/api.md#reattributions)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    run_id: str
    status: ReattributionStatus
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    time_zone: str
    settings_digest: str = Field(description="Named by every order this run changed (attribution.reattributed)")
    settings: AttributionSettings = Field(description="The attribution settings applied (windows, priority, time zone)")
    lookback_days: int = Field(description="The export's credit lookback applied to the channel credit (export.lookback_days)")
    days_planned: int
    days_done: int
    orders_seen: int
    orders_changed: int
    method_changed: int = Field(description="Orders whose method changed")
    expired: int = Field(description="Orders kept as they were: touchpoints their decision rests on have expired (TTL)")
    errors: int
    touchpoints_seen: int = Field(description="Touchpoints whose counts are on a day (comments, DMs, flow steps, creator clicks)")
    touchpoints_moved: int = Field(description="…moved to another local day (a time-zone change)")
    touchpoints_kept: int = Field(description="…left on their day: DMs whose comment is not stored")
    days: list[ReattributionDayProgress]
    error: ReattributionFailure | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ReattributionPlanInput(BaseModel):
    """ReattributePlan's input from the state machine."""

    tenant: str
    run_id: str


class ReattributionDayInput(ReattributionPlanInput):
    """ReattributeDay's input: one day of the run (UTC, yyyy-mm-dd)."""

    day: date


class ReattributionFinalizeInput(ReattributionPlanInput):
    """ReattributeFinalize's (and RecordFailure's) input: `error` when a step failed for good."""

    error: dict[str, Any] | None = None


def attribution_part(settings: TenantSettings) -> AttributionSettings:
    """The attribution settings of a tenant's settings (what a run shows it applies, beside the lookback)."""
    return AttributionSettings.model_validate(settings.model_dump(include=set(AttributionSettings.model_fields)))


def local_range(from_date: date, to_date: date, time_zone: str) -> tuple[datetime, datetime]:
    """The instants [start, end) the tenant's days from..to (both included) cover, in UTC."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(from_date, time.min, zone).astimezone(UTC)
    end = datetime.combine(to_date + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days an instant range [start, end) touches: the order partitions to read."""
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def settings_digest(settings: TenantSettings) -> str:
    """A short digest of everything a decision or its counters depend on (not the export's delivery settings)."""
    relevant = settings.model_dump_json(include={*settings.__class__.model_fields} - {"reports", "export"})
    relevant += f"|lookback={settings.export.lookback_days}"
    return hashlib.sha256(relevant.encode()).hexdigest()[:12]


def same_decision(before: Attribution, after: Attribution) -> bool:
    """Tell whether two decisions say the same thing (when and by which run they were made aside)."""
    return before.model_dump(exclude=set(VOLATILE_FIELDS)) == after.model_dump(exclude=set(VOLATILE_FIELDS))


def previous_of(decision: Attribution) -> PreviousDecision:
    """The summary of a decision kept on the one a run replaces it with."""
    return PreviousDecision(
        method=decision.method,
        rule=decision.rule,
        review_status=decision.review_status,
        conversation_id=decision.conversation_id,
        post_id=decision.post.id if decision.post else None,
        creator=decision.creator,
        link_id=decision.link_id,
        coupon=decision.coupon,
        ttclid=decision.ttclid,
        attributed_at=decision.attributed_at,
        run_id=decision.reattributed.run_id if decision.reattributed else None,
    )


def stamped(decision: Attribution, before: Attribution | None, run: ReattributionRun, now: datetime) -> Attribution:
    """A run's decision as stored: naming the run and its settings, with the decision it replaced."""
    stamp = ReattributionStamp(run_id=run.run_id, settings_digest=run.settings_digest, at=now)
    return decision.model_copy(update={"reattributed": stamp, "previous": previous_of(before) if before else None})
