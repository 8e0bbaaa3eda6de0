"""Re-attribution runs end to end: start one, plan its days, re-attribute each day page by page, finalize, report.

A run reads the tenant's settings once, when it is asked for, and applies that snapshot to every order: a settings
change made while it goes is picked up by the next run, never half-applied. Its days are UTC days (the order
partitions, docs/data-model.md), spread over a Distributed Map; a day's cursor is kept in the table and advanced once
per page under a condition, so a retried step resumes where the last recorded page ended, and re-attributing an order
twice writes nothing the second time (docs/reattribution.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ordertrail.attribution.reattribute import reattribute_order
from ordertrail.core.errors import Conflict, NotFound, Unprocessable, UpstreamError, caught_error_message
from ordertrail.core.models import DmTouchpoint
from ordertrail.core.reattribution_runs import (
    MAX_DAYS,
    ReattributionDay,
    ReattributionDayProgress,
    ReattributionFailure,
    ReattributionReport,
    ReattributionRequest,
    ReattributionRun,
    attribution_part,
    local_range,
    settings_digest,
    utc_days,
)
from ordertrail.runtime.observability import logger, metrics
from ordertrail.storage.table import Unstorable
from ordertrail.tally import counters

if TYPE_CHECKING:
    from datetime import date

    from ordertrail.storage.executions import ExecutionLauncher
    from ordertrail.storage.orders import StoredOrder
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.touchpoints import EngagementPage

# Orders one page reads (one GSI2 Query, one BatchGetItem); each order then costs its own Query, BatchGetItem and,
# when it changed, one transaction (and the buyer's orders, a Query and a BatchGetItem, when it gave a shop link up).
PAGE_SIZE = 100
# Pages one ReattributeDay invocation handles before handing back to the state machine (which loops until the day is
# done): about 2,000 orders, fewer when its pages are slow (see SAFETY_SECONDS); each step renews the lease.
PAGES_PER_STEP = 20
# How long the lease outlives the last step that renewed it: a run whose execution vanished frees the tenant after this.
LEASE_HOLD = timedelta(hours=2)
# Seconds a step keeps in hand below its Lambda timeout, past two of its slowest pages.
SAFETY_SECONDS = 5.0
SaltLookup = Callable[[str], str | None]
TimeLeft = Callable[[], float]


def start(repo: Repository, launcher: ExecutionLauncher, tenant: str, request: ReattributionRequest, now: datetime) -> ReattributionReport:
    """Record a run under the settings of now and start its execution (422 for a bad range, 409 while another run goes)."""
    if request.to < request.from_:
        raise Unprocessable("`to` must not be before `from`", field="to", code="invalid_range")
    if (request.to - request.from_).days + 1 > MAX_DAYS:
        raise Unprocessable(f"a run covers at most {MAX_DAYS} days; split it", field="from", code="range_too_long")
    settings = repo.get_tenant_settings(tenant)
    start_at, end_at = local_range(request.from_, request.to, settings.time_zone)
    if start_at > now:
        raise Unprocessable("`from` is in the future", field="from", code="invalid_range")
    run = ReattributionRun(
        run_id=uuid.uuid4().hex,
        tenant=tenant,
        status="queued",
        from_date=request.from_,
        to_date=request.to,
        start=start_at,
        end=end_at,
        settings=settings,
        settings_digest=settings_digest(settings),
        created_at=now,
        updated_at=now,
    )
    holder = repo.take_reattribution_lease(tenant, run.run_id, now, LEASE_HOLD)
    if holder is not None:
        raise Conflict(f"re-attribution run {holder} is still going; wait for it to finish", field="from", code="run_in_progress")
    repo.create_reattribution(run)
    try:
        launcher.start(run.run_id, {"tenant": tenant, "run_id": run.run_id})
    except Exception as exc:  # no execution will ever finalize this run: say so on it, free the tenant, and 502 (retry)
        failure = ReattributionFailure(code="start_failed", message=f"the run's execution could not start: {type(exc).__name__}")
        repo.save_reattribution(run.model_copy(update={"status": "failed", "error": failure}))
        repo.release_reattribution_lease(tenant, run.run_id)
        raise UpstreamError("the re-attribution could not start (Step Functions refused it); try again") from exc
    logger.info("re-attribution started", extra={"tenant": tenant, "run_id": run.run_id, "settings": run.settings_digest})
    return report(repo, tenant, run.run_id)


def plan(repo: Repository, tenant: str, run_id: str, now: datetime) -> dict[str, Any]:
    """ReattributePlan: the run's UTC days, each one item of the Distributed Map (a day planned before keeps its progress)."""
    run = _run(repo, tenant, run_id)
    days = utc_days(run.start, run.end)
    repo.plan_days(run, [ReattributionDay(day=d) for d in days])
    repo.save_reattribution(run.model_copy(update={"status": "running", "days_planned": len(days), "updated_at": now}))
    return {"tenant": tenant, "run_id": run_id, "days": [d.isoformat() for d in days]}


def reattribute_day(
    repo: Repository, salts: SaltLookup, tenant: str, run_id: str, on_day: date, now: datetime, time_left: TimeLeft
) -> dict[str, Any]:
    """ReattributeDay: up to PAGES_PER_STEP pages of one day's orders, each page's counts recorded once; `done` at the end."""
    run = _run(repo, tenant, run_id)
    day = repo.get_day(run, on_day)
    if day is None:
        raise NotFound(f"day {on_day} of re-attribution {run_id} was never planned", code="day_not_found")
    repo.take_reattribution_lease(tenant, run_id, now, LEASE_HOLD, renew=True)
    salt = salts(tenant)
    slowest = 0.0
    for n in range(PAGES_PER_STEP):
        if day.done or (n and time_left() < 2 * slowest + SAFETY_SECONDS):
            break  # every step does one page; another only with time left for two pages as slow as the slowest
        began = time.monotonic()
        if day.phase == "orders":
            page = repo.orders_of_day(tenant, on_day, run.start, run.end, day.cursor, PAGE_SIZE)
            after = _page_counts(repo, run, day, page.orders, salt, now)
            after = after.model_copy(update={"cursor": page.cursor, "phase": "orders" if page.cursor else "touchpoints"})
        else:
            touchpoints = repo.engagement_of_day(tenant, on_day, run.start, run.end, run.settings.time_zone, day.cursor, PAGE_SIZE)
            after = _engagement_counts(repo, run, day, touchpoints)
            after = after.model_copy(update={"cursor": touchpoints.cursor, "done": touchpoints.cursor is None})
        after = after.model_copy(update={"pages": day.pages + 1})
        if not repo.advance_day(run, day, after):
            # Another attempt of this step recorded the page first: carry on from what it recorded.
            logger.info("re-attribution day moved on elsewhere; reading it again", extra={"run_id": run_id, "day": str(on_day)})
            day = repo.get_day(run, on_day) or day
            continue
        day = after
        slowest = max(slowest, time.monotonic() - began)
    return {"tenant": tenant, "run_id": run_id, "day": on_day.isoformat(), "done": day.done}


def _page_counts(
    repo: Repository, run: ReattributionRun, day: ReattributionDay, orders: list[StoredOrder], salt: str | None, now: datetime
) -> ReattributionDay:
    """Re-attribute one page's orders; the day with the page's counts added (an order that cannot be stored is an error)."""
    changed = method_changed = expired = errors = 0
    last_error = day.last_error
    for stored in orders:
        try:
            outcome = reattribute_order(repo, stored, run, now, salt)
        except Unstorable as exc:
            errors += 1
            last_error = f"order {stored.order.source}#{stored.order.id} could not be re-attributed: {str(exc)[:300]}"
            continue
        changed += outcome in ("changed", "method_changed")
        method_changed += outcome == "method_changed"
        expired += outcome == "expired"
    metrics.add_metric(name="OrdersReattributed", unit="Count", value=len(orders))
    return day.model_copy(
        update={
            "seen": day.seen + len(orders),
            "changed": day.changed + changed,
            "method_changed": day.method_changed + method_changed,
            "expired": day.expired + expired,
            "errors": day.errors + errors,
            "last_error": last_error,
        }
    )


def _engagement_counts(repo: Repository, run: ReattributionRun, day: ReattributionDay, page: EngagementPage) -> ReattributionDay:
    """Move what one page's touchpoints counted onto the days of the run's zone; the day with the page's counts added.

    A touchpoint counted in another zone moves exactly once: its index entry names the zone, and the move is conditional
    on it. A DM whose comment is not stored is left where it is: the comment may still come and add to its counts there.
    """
    zone = run.settings.time_zone
    moved = kept = 0
    for counted in page.elsewhere:
        touchpoint = counted.touchpoint
        comment_id = touchpoint.comment_id if isinstance(touchpoint, DmTouchpoint) else None
        comment = page.comments.get(comment_id) if comment_id else None
        if comment_id and comment is None:
            kept += 1
            continue
        move = counters.engagement_move(touchpoint, comment, counted.counted_in, zone)
        # On the same local day in both zones nothing moves, and nothing is written: the entry keeps the zone it names.
        if move.counts and repo.move_engagement(run.tenant, counted, zone, move):
            moved += 1
    metrics.add_metric(name="TouchpointsRebucketed", unit="Count", value=moved)
    return day.model_copy(
        update={
            "touchpoints_seen": day.touchpoints_seen + page.listed,
            "touchpoints_moved": day.touchpoints_moved + moved,
            "touchpoints_kept": day.touchpoints_kept + kept,
        }
    )


def finalize(repo: Repository, tenant: str, run_id: str, error: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """ReattributeFinalize (or RecordFailure): record how the run ended and free the tenant for the next run."""
    run = _run(repo, tenant, run_id)
    failure = _failure(error) if error else None
    finished = run.model_copy(update={"status": "failed" if failure else "succeeded", "error": failure, "updated_at": now})
    repo.save_reattribution(finished)
    repo.release_reattribution_lease(tenant, run_id)
    logger.info("re-attribution finished", extra={"tenant": tenant, "run_id": run_id, "status": finished.status})
    return {"run_id": run_id, "status": finished.status}


def _failure(error: dict[str, Any]) -> ReattributionFailure:
    """The failure Step Functions caught, in words."""
    code = str(error.get("Error", "States.ALL"))
    return ReattributionFailure(code=code, message=caught_error_message(str(error.get("Cause", "") or code))[:1000])


def report(repo: Repository, tenant: str, run_id: str) -> ReattributionReport:
    """A run's progress: days done, orders seen, changed, whose method changed, errors (404 when unknown)."""
    run, days = repo.reattribution_contents(tenant, run_id)
    if run is None:
        raise NotFound(f"no re-attribution run {run_id}", field="run_id", code="reattribution_not_found")
    return ReattributionReport(
        run_id=run.run_id,
        status=run.status,
        from_=run.from_date,
        to=run.to_date,
        time_zone=run.settings.time_zone,
        settings_digest=run.settings_digest,
        settings=attribution_part(run.settings),
        lookback_days=run.settings.export.lookback_days,
        days_planned=run.days_planned,
        days_done=sum(d.done for d in days),
        orders_seen=sum(d.seen for d in days),
        orders_changed=sum(d.changed for d in days),
        method_changed=sum(d.method_changed for d in days),
        expired=sum(d.expired for d in days),
        errors=sum(d.errors for d in days),
        touchpoints_seen=sum(d.touchpoints_seen for d in days),
        touchpoints_moved=sum(d.touchpoints_moved for d in days),
        touchpoints_kept=sum(d.touchpoints_kept for d in days),
        days=[ReattributionDayProgress.model_validate(d.model_dump(exclude={"cursor", "phase"})) for d in days],
        error=run.error,
        created_at=run.created_at,
        updated_at=run.updated_at,
    )


def _run(repo: Repository, tenant: str, run_id: str) -> ReattributionRun:
    """The run a step works on (NotFound when it was never started)."""
    run = repo.get_reattribution(tenant, run_id)
    if run is None:
        raise NotFound(f"no re-attribution run {run_id}", field="run_id", code="reattribution_not_found")
    return run
