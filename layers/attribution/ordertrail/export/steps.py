"""Conversions back to TikTok: plan a run in ≤30-day chunks, export each chunk, finalize; start runs and report them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from ordertrail.core.errors import ExportRunning, NotFound, Unprocessable, caught_error_message
from ordertrail.core.export_runs import ChunkRecord, EventResult, ExportLease, ExportRun, ExportRunReport, RunError
from ordertrail.core.refs import order_ref
from ordertrail.export.events import Outgoing, PlanMemory, plan_events
from ordertrail.export.events_api.client import EventsApiClient
from ordertrail.export.events_api.contract import MAX_EVENTS_PER_REQUEST
from ordertrail.export.events_api.errors import AuthenticationError, ExportError
from ordertrail.export.events_api.hashing import event_id_for
from ordertrail.runtime.collector import collector_paused
from ordertrail.runtime.observability import logger, metrics
from ordertrail.tally import export_chunks

if TYPE_CHECKING:  # annotations only: the function's handler builds these, and the steps need not import them
    from ordertrail.core.conversions import Conversion
    from ordertrail.core.tenant_settings import ExportSettings
    from ordertrail.storage.executions import ExecutionLauncher
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.tenant_secrets import TenantDirectory

# The longest range one request may ask for: a year and a day (a 365-day backfill is 13 chunks).
MAX_RANGE = timedelta(days=366)
ClientFactory = Callable[..., EventsApiClient]
# How long a run's export lease holds unless renewed. Every step of a live run renews it (the start, Plan, each
# ExportChunk attempt), so the longest gap between two renewals is one ExportChunk attempt (its Lambda Timeout, 300 s)
# plus the longest Retry wait before the next one (MaxDelaySeconds, 300 s): 10 minutes. 15 leave half again for Step
# Functions' and Lambda's own delays; a crashed run (no Finalize) blocks its tenant's exports for at most that long.
# tests/unit/test_statemachine.py checks it against the template and the ASL.
LEASE_TTL = timedelta(minutes=15)


class ExportLeaseLost(Exception):
    """Another run took over this run's lapsed export lease: this run stops rather than export beside it."""


def _lease(run_id: str, now: datetime) -> ExportLease:
    """The lease a run writes at `now`."""
    return ExportLease(run_id=run_id, renewed_at=now, expires_at=now + LEASE_TTL)


def _keep_lease(repo: Repository, tenant: str, run_id: str, now: datetime) -> None:
    """Renew the run's export lease (or take it back if it lapsed and nobody took it); ExportLeaseLost otherwise."""
    holder = repo.take_export_lease(tenant, _lease(run_id, now), now, renew=True)
    if holder is not None:
        raise ExportLeaseLost(f"export run {holder.run_id} took over this tenant's export lease (until {holder.expires_at.isoformat()})")


def start_run(
    repo: Repository,
    launcher: ExecutionLauncher,
    tenant: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    trigger: Literal["api", "schedule"] = "api",
    run_id: str | None = None,
) -> ExportRun:
    """Record a new run and start its execution; the range is checked here so a bad request fails fast (422)."""
    if start is not None and end is not None and start >= end:
        raise Unprocessable("`from` must be before `to`", field="from", code="invalid_range")
    if start is not None and end is not None and end - start > MAX_RANGE:
        raise Unprocessable("a run covers at most 366 days; split the backfill", field="to", code="range_too_long")
    if end is not None and end > now:
        raise Unprocessable("`to` is in the future", field="to", code="invalid_range")
    run_id = run_id or uuid.uuid4().hex
    # The lease comes first: a run that cannot start leaves nothing behind (no run record, no execution).
    holder = repo.take_export_lease(tenant, _lease(run_id, now), now)
    if holder is not None:
        raise ExportRunning(holder.run_id, holder.expires_at)
    run = ExportRun(
        run_id=run_id,
        tenant=tenant,
        trigger=trigger,
        status="queued",
        requested_from=start,
        requested_to=end,
        created_at=now,
        updated_at=now,
    )
    if not repo.create_run(run):
        # The run exists already (a repeated trigger): this start runs nothing, so it holds no lease either.
        repo.release_export_lease(tenant, run.run_id)
        return repo.get_run(tenant, run.run_id) or run
    payload: dict[str, Any] = {"tenant": tenant, "run_id": run.run_id}
    payload.update({k: v.isoformat() for k, v in (("from", start), ("to", end)) if v is not None})
    try:
        launcher.start(run.run_id, payload)
    except Exception:
        repo.release_export_lease(tenant, run.run_id)  # no execution will ever finalize this run
        raise
    logger.info("export run started", extra={"tenant": tenant, "run_id": run.run_id, "trigger": trigger})
    return repo.get_run(tenant, run.run_id) or run


def plan(repo: Repository, tenant: str, run_id: str, start: datetime | None, end: datetime | None, now: datetime) -> dict[str, Any]:
    """Plan: cut [start, end) into ≤30-day chunks; start defaults to the watermark, end to now minus the settle period."""
    _keep_lease(repo, tenant, run_id, now)
    settings = repo.get_tenant_settings(tenant)
    watermark = repo.get_watermark(tenant)
    end = end or now - settings.settle_period
    start = start or watermark or end - settings.export.max_event_age
    chunks = export_chunks.cut(start, end)
    run = repo.get_run(tenant, run_id) or ExportRun(
        run_id=run_id, tenant=tenant, trigger="schedule", status="queued", created_at=now, updated_at=now
    )
    repo.save_run(
        run.model_copy(
            update={
                "status": "running",
                "start": start,
                "end": end,
                "chunks_planned": len(chunks),
                "watermark_before": watermark,
                "updated_at": now,
            }
        )
    )
    return {"tenant": tenant, "run_id": run_id, "chunks": [c.model_dump(mode="json") for c in chunks]}


@collector_paused
def export_chunk(
    repo: Repository,
    directory: TenantDirectory,
    events_api_url: str,
    tenant: str,
    run_id: str,
    chunk: export_chunks.Chunk,
    now: datetime,
    client_factory: ClientFactory = EventsApiClient,
) -> dict[str, Any]:
    """Send one chunk's conversions, batch by batch, recording every result; auth errors and exhausted retries raise."""
    _keep_lease(repo, tenant, run_id, now)
    settings = repo.get_tenant_settings(tenant).export
    secrets = directory.get(tenant)
    events_secrets = secrets.tiktok_events if secrets else None
    token = events_secrets.access_token if events_secrets else ""
    pixel = settings.pixel_code or (events_secrets.pixel_code if events_secrets else "")
    if not token:
        raise AuthenticationError(40104, "no Events API access token is set for this tenant: PUT /settings with export.access_token")
    if not pixel:
        raise Unprocessable("no pixel code is set: PUT /settings with export.pixel_code", field="export.pixel_code", code="no_pixel")
    client = client_factory(events_api_url, token, pixel, test_event_code=settings.test_event_code)
    # An earlier attempt of this chunk (a Step Functions Retry) left its record: its requests count too. Accepted,
    # rejected and skipped need no carrying over: this attempt counts every conversion of the chunk again.
    previous = repo.get_chunk(tenant, run_id, chunk.index)
    attempts = (previous.attempts if previous else 0) + 1
    counts = {"requests": previous.requests if previous else 0, "accepted": 0, "rejected": 0, "skipped": 0}
    # The chunk is planned one Query page of conversions at a time and sent 1,000 events at a time, so the function holds
    # a page and a batch, never the chunk: 100,000 conversions fit a 512 MB Lambda (docs/decisions/2026-12-02-write-costs.md).
    memory = PlanMemory()
    outgoing: list[Outgoing] = []
    try:
        for page in repo.conversion_pages(tenant, chunk.start, chunk.end):
            outgoing += _plan_page(repo, tenant, run_id, chunk, page, settings, now, memory, counts)
            while len(outgoing) >= MAX_EVENTS_PER_REQUEST:
                _send(repo, client, tenant, run_id, chunk, outgoing[:MAX_EVENTS_PER_REQUEST], now, counts)
                del outgoing[:MAX_EVENTS_PER_REQUEST]
        if outgoing:
            _send(repo, client, tenant, run_id, chunk, outgoing, now, counts)
    except Exception as error:  # whatever stopped the attempt, the requests it made are on record for the next one
        _fail_chunk(repo, tenant, run_id, chunk, attempts, counts, error, now)
        raise
    repo.save_chunk(
        tenant,
        run_id,
        ChunkRecord(index=chunk.index, start=chunk.start, end=chunk.end, status="complete", attempts=attempts, finished_at=now, **counts),
    )
    metrics.add_metric(name="ConversionsAccepted", unit="Count", value=counts["accepted"])
    logger.info("export chunk done", extra={"tenant": tenant, "run_id": run_id, "chunk": chunk.index, "attempts": attempts, **counts})
    return {"index": chunk.index, "attempts": attempts, **counts}


def _plan_page(
    repo: Repository,
    tenant: str,
    run_id: str,
    chunk: export_chunks.Chunk,
    conversions: list[Conversion],
    settings: ExportSettings,
    now: datetime,
    memory: PlanMemory,
    counts: dict[str, int],
) -> list[Outgoing]:
    """Plan one page of the chunk's conversions: record its skipped results and first claims; returns its events to send."""
    # Users this chunk already claimed need no lookup: their claim is in `memory`.
    users = sorted({c.user_key for c in conversions} - memory.first_claims.keys())
    firsts = repo.first_conversions(tenant, users) if settings.only_first_conversion and users else {}
    candidate_ids = _candidate_event_ids(conversions)
    accepted = repo.accepted_events(tenant, candidate_ids) if candidate_ids else {}
    decisions = plan_events(conversions, settings, now, frozenset(accepted), firsts, memory)
    # A Step Functions Retry of this chunk finds the batches THIS run already got accepted in the ledger: they are not
    # sent again, and their `accepted` results stand (a `skipped` result must not overwrite them) and still count.
    ours = {
        s.event_id
        for s in decisions.skipped
        if s.reason == "already_accepted" and accepted.get(s.event_id) == (run_id, order_ref(s.conversion.source, s.conversion.order_id))
    }
    results = [
        EventResult(
            chunk=chunk.index,
            order_id=s.conversion.order_id,
            source=s.conversion.source,
            outcome="skipped",
            event_id=s.event_id or None,
            reason=s.reason,
            at=now,
        )
        for s in decisions.skipped
        if not (s.reason == "already_accepted" and s.event_id in ours)
    ]
    claims = {user: f"{c.source}#{c.order_id}" for user, c in decisions.first_claims.items() if user not in firsts}
    if results or claims:
        repo.record_results(tenant, run_id, results, claims)
    counts["accepted"] += len(ours)
    counts["skipped"] += len(results)
    return decisions.outgoing


def _send(
    repo: Repository,
    client: EventsApiClient,
    tenant: str,
    run_id: str,
    chunk: export_chunks.Chunk,
    batch: list[Outgoing],
    now: datetime,
    counts: dict[str, int],
) -> None:
    """Send one request of at most 1,000 events and record each event's outcome."""
    outcome = client.send([o.event for o in batch])
    counts["requests"] += 1
    counts[outcome.status] += len(batch)
    repo.record_results(
        tenant,
        run_id,
        [
            EventResult(
                chunk=chunk.index,
                order_id=o.conversion.order_id,
                source=o.conversion.source,
                outcome=outcome.status,
                event_id=o.event_id,
                ttclid=o.ttclid,
                value=o.value,
                currency=o.conversion.currency,
                code=outcome.code,
                message=outcome.message,
                request_id=outcome.request_id,
                at=now,
            )
            for o in batch
        ],
        {},
    )


def _candidate_event_ids(conversions: list[Any]) -> list[str]:
    """Every event id the chunk could send (to look up which ones TikTok already accepted)."""
    return sorted({event_id_for(t.ttclid, c.ordered_at.date()) for c in conversions for t in c.touches if t.ttclid})


def _fail_chunk(
    repo: Repository,
    tenant: str,
    run_id: str,
    chunk: export_chunks.Chunk,
    attempts: int,
    counts: dict[str, int],
    error: Exception,
    now: datetime,
) -> None:
    """Record the chunk as failed with what this attempt (and those before it) did."""
    repo.save_chunk(
        tenant,
        run_id,
        ChunkRecord(index=chunk.index, start=chunk.start, end=chunk.end, status="failed", attempts=attempts, finished_at=now, **counts),
    )
    logger.warning(
        "export chunk failed",
        extra={
            "tenant": tenant,
            "run_id": run_id,
            "chunk": chunk.index,
            "attempts": attempts,
            "error": type(error).__name__,
            "code": error.code if isinstance(error, ExportError) else None,
        },
    )


def finalize(
    repo: Repository, tenant: str, run_id: str, planned: list[dict[str, Any]], error: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """Move the watermark to the end of the last chunk of the unbroken run of complete chunks; record how the run ended."""
    run, chunks = repo.get_run(tenant, run_id), repo.run_chunks(tenant, run_id)
    complete = {c.index for c in chunks if c.status == "complete"}
    watermark = None
    for item in planned:
        chunk = export_chunks.Chunk.model_validate(item)
        if chunk.index not in complete:
            break
        watermark = chunk.end
    if watermark is not None:
        repo.advance_watermark(tenant, watermark)
    failed_chunk = next((c.index for c in sorted(chunks, key=lambda c: c.index) if c.status == "failed"), None)
    run_error = _run_error(error, failed_chunk) if error else None
    base = run or ExportRun(run_id=run_id, tenant=tenant, trigger="schedule", status="running", created_at=now, updated_at=now)
    finished = base.model_copy(
        update={
            "status": "failed" if run_error else "succeeded",
            "error": run_error,
            "watermark_after": repo.get_watermark(tenant),
            "updated_at": now,
        }
    )
    repo.save_run(finished)
    # Last: whoever takes the lease next finds this run finished and the watermark where it left it.
    repo.release_export_lease(tenant, run_id)
    logger.info("export run finished", extra={"tenant": tenant, "run_id": run_id, "status": finished.status})
    return {
        "run_id": run_id,
        "status": finished.status,
        "watermark": finished.watermark_after.isoformat() if finished.watermark_after else None,
    }


def _run_error(error: dict[str, Any], chunk: int | None) -> RunError:
    """Turn the state machine's caught error into the run's error: authentication errors say what to do."""
    name = str(error.get("Error", "ExportFailed"))
    cause = str(error.get("Cause", ""))
    message = caught_error_message(cause)[:500]
    if name == "ExportLeaseLost":
        return RunError(
            code="lease_lost", chunk=chunk, message=f"this run stalled past its export lease and another run took over: {message}"
        )
    if name == "AuthenticationError":
        return RunError(
            code="authentication_error",
            chunk=chunk,
            message=f"TikTok refused the access token ({message}); set a new token with PUT /settings, then rerun",
        )
    return RunError(
        code="export_failed" if name != "RetryableExportError" else "retries_exhausted", message=f"{name}: {message}", chunk=chunk
    )


def run_report(repo: Repository, tenant: str, run_id: str) -> ExportRunReport:
    """A run with its chunks, totals and every conversion's result (404 when unknown)."""
    run, chunks, events = repo.run_contents(tenant, run_id)
    if run is None:
        raise NotFound(f"export run {run_id} was not found", field="run_id", code="run_not_found")
    totals = {outcome: sum(1 for e in events if e.outcome == outcome) for outcome in ("accepted", "rejected", "skipped")}
    totals["requests"] = sum(c.requests for c in chunks)
    return ExportRunReport(run=run, chunks=sorted(chunks, key=lambda c: c.index), totals=totals, events=events)


def schedule_daily(repo: Repository, launcher: ExecutionLauncher, now: datetime) -> dict[str, list[str]]:
    """Start today's run for every tenant with the export on; returns those started and those skipped (a run is going)."""
    # A skipped tenant's next daily run resumes from its watermark; a repeated trigger starts nothing twice.
    started, skipped = [], []
    for tenant in repo.exporting_tenants():
        run_id = f"daily-{tenant}-{now:%Y%m%d}"
        if repo.get_run(tenant, run_id) is not None:
            continue
        try:
            started.append(start_run(repo, launcher, tenant, None, None, now, trigger="schedule", run_id=run_id).run_id)
        except ExportRunning as running:
            skipped.append(tenant)
            logger.warning(
                "daily export skipped: another run holds the tenant's export lease",
                extra={"tenant": tenant, "run_id": run_id, "holder": running.run_id, "until": running.until.isoformat()},
            )
    return {"started": started, "skipped": skipped}
