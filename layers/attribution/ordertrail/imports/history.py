"""History imports end to end: start a run, plan its ≤30-day windows, import each window page by page, finalize, report.

Every imported order goes through ingest's store_order, the path webhooks take: an order imported twice, or imported
and also delivered by webhook, is one order (the stored state only moves forward by `updated_at`), and AttributeFunction
attributes it from the table's stream like any other. A window's cursor is kept in the table and advanced once per page
under a condition, so a retried or repeated step resumes where the last recorded page ended.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ordertrail.core.errors import NotFound, Unprocessable, UpstreamError, caught_error_message
from ordertrail.core.import_runs import ImportFailure, ImportReport, ImportRequest, ImportRun, ImportTrigger, ImportWindow, WindowRef
from ordertrail.ingest.stored_orders import store_order
from ordertrail.runtime.observability import logger, metrics
from ordertrail.storage.table import Unstorable
from ordertrail.tally import export_chunks

if TYPE_CHECKING:
    from ordertrail.imports.stores import OrderPages
    from ordertrail.storage.executions import ExecutionLauncher
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.tenant_secrets import TenantDirectory

# TikTok Shop and Shopify keep years of orders; two years is what a seller's "all time" needs and bounds one run.
MAX_RANGE = timedelta(days=731)
WINDOW = timedelta(days=30)
# Pages one ImportPages invocation reads before handing back to the state machine (at ≤250 orders a page, well inside
# its Lambda timeout); the state machine loops until the window is done.
PAGES_PER_STEP = 10
PagesFactory = Callable[[ImportRun], "OrderPages"]


def start_import(
    repo: Repository,
    launcher: ExecutionLauncher,
    directory: TenantDirectory,
    tenant: str,
    request: ImportRequest,
    now: datetime,
    trigger: ImportTrigger = "api",
    import_id: str | None = None,
) -> ImportReport:
    """Record a new import and start its execution; the range and the store's connection are checked first (422, 409)."""
    end = request.to or now
    if request.from_ >= end:
        raise Unprocessable("`from` must be before `to`", field="from", code="invalid_range")
    if end > now:
        raise Unprocessable("`to` is in the future", field="to", code="invalid_range")
    if end - request.from_ > MAX_RANGE:
        raise Unprocessable("an import covers at most two years (731 days); split it", field="from", code="range_too_long")
    from ordertrail.imports.stores import connected_store  # on first use: the import function's steps never check a store

    connected_store(directory, tenant, request.source)
    connection = repo.get_connection(tenant, request.source) if request.source == "tiktok_shop" else None
    run = ImportRun(
        import_id=import_id or uuid.uuid4().hex,
        tenant=tenant,
        source=request.source,
        trigger=trigger,
        status="queued",
        start=request.from_,
        end=end,
        connected_at=(connection.connected_at if connection is not None and connection.connected_at else now),
        created_at=now,
        updated_at=now,
    )
    if repo.create_import(run):
        try:
            launcher.start(run.import_id, {"tenant": tenant, "import_id": run.import_id})
        except Exception as exc:  # no execution will ever finalize this run: say so on it, and 502 (retry)
            failure = ImportFailure(code="start_failed", message=f"the import's execution could not start: {type(exc).__name__}")
            repo.save_import(run.model_copy(update={"status": "failed", "error": failure}))
            raise UpstreamError("the history import could not start (Step Functions refused it); try again") from exc
        logger.info("history import started", extra={"tenant": tenant, "import_id": run.import_id, "source": run.source})
    return report(repo, tenant, run.import_id)


def import_on_connect(
    repo: Repository, launcher_of: Callable[[], ExecutionLauncher], directory: TenantDirectory, tenant: str, days: int, now: datetime
) -> ImportReport | None:
    """The import a newly connected TikTok Shop starts: its last `days` days (none for 0); a failure to start is logged.

    The connection itself has succeeded by then, so nothing here may fail the callback: a team can start the same
    import with POST /imports (docs/operations.md#import-history).
    """
    if days <= 0:
        return None
    request = ImportRequest(source="tiktok_shop", from_=now - timedelta(days=days), to=now)
    try:
        return start_import(
            repo, launcher_of(), directory, tenant, request, now, trigger="connect", import_id=f"connect-{uuid.uuid4().hex}"
        )
    except Exception:  # any failure to start (no state machine, Step Functions refused): the seller still sees "connected"
        logger.exception("the history import on connect could not start", extra={"tenant": tenant})
        metrics.add_metric(name="ImportOnConnectFailed", unit="Count", value=1)
        return None


def plan(repo: Repository, tenant: str, import_id: str, now: datetime) -> dict[str, Any]:
    """ImportPlan: cut the run's range into windows of at most 30 days (a window planned before keeps its progress)."""
    run = _run(repo, tenant, import_id)
    windows = [ImportWindow(index=c.index, start=c.start, end=c.end) for c in export_chunks.cut(run.start, run.end, WINDOW)]
    repo.plan_windows(run, windows)
    repo.save_import(run.model_copy(update={"status": "running", "windows_planned": len(windows), "updated_at": now}))
    refs = [WindowRef(index=w.index, start=w.start, end=w.end).model_dump(mode="json") for w in windows]
    return {"tenant": tenant, "import_id": import_id, "windows": refs}


def import_pages(repo: Repository, pages_of: PagesFactory, tenant: str, import_id: str, ref: WindowRef, now: datetime) -> dict[str, Any]:
    """ImportPages: up to PAGES_PER_STEP pages of one window, each stored then recorded; `done` once the last page is in."""
    run = _run(repo, tenant, import_id)
    window = repo.get_window(tenant, import_id, ref.index)
    if window is None:
        raise NotFound(f"window {ref.index} of import {import_id} was never planned", code="window_not_found")
    reader = pages_of(run) if not window.done else None
    for _ in range(PAGES_PER_STEP):
        if reader is None or window.done:
            break
        page = reader.page(window.start, window.end, window.page_token)
        after = _store_page(repo, reader, run, window, page.orders, now)
        after = after.model_copy(update={"pages": window.pages + 1, "page_token": page.next_token, "done": page.next_token is None})
        if not repo.advance_window(run, window, after):
            # Another attempt of this step recorded the page first: carry on from what it recorded.
            logger.info("import window moved on elsewhere; reading it again", extra={"import_id": import_id, "window": ref.index})
            window = repo.get_window(tenant, import_id, ref.index) or window
            continue
        window = after
    return {"tenant": tenant, "import_id": import_id, "window": ref.model_dump(mode="json"), "done": window.done}


def _store_page(
    repo: Repository, reader: OrderPages, run: ImportRun, window: ImportWindow, raws: list[dict[str, Any]], now: datetime
) -> ImportWindow:
    """Store one page's orders through the ingest path; the window with the page's counts added."""
    from ordertrail.storage.orders import ImportMark  # with the repository's first write, not at the function's cold start

    imported = duplicates = unreadable = 0
    last_error = window.last_error
    for raw in raws:
        try:
            order = reader.normalise(raw)
            mark = ImportMark(run.import_id, run.connected_at) if order.ordered_at < run.connected_at else None
            outcome = store_order(repo, run.tenant, order, now, mark)
        except (ValidationError, ValueError, TypeError, KeyError, Unstorable) as exc:
            unreadable += 1
            last_error = f"order {raw.get('id', '?')} could not be read: {str(exc).splitlines()[0][:300]}"
            continue
        imported += outcome == "stored"
        duplicates += outcome == "stale"
    metrics.add_metric(name="OrdersImported", unit="Count", value=imported)
    return window.model_copy(
        update={
            "seen": window.seen + len(raws),
            "imported": window.imported + imported,
            "duplicates": window.duplicates + duplicates,
            "unreadable": window.unreadable + unreadable,
            "last_error": last_error,
        }
    )


def finalize(repo: Repository, tenant: str, import_id: str, error: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """ImportFinalize (or RecordFailure): record how the run ended; the counts stay on its windows (GET /imports/{id})."""
    run = _run(repo, tenant, import_id)
    failure = _failure(error) if error else None
    finished = run.model_copy(update={"status": "failed" if failure else "succeeded", "error": failure, "updated_at": now})
    repo.save_import(finished)
    logger.info(
        "history import finished",
        extra={"tenant": tenant, "import_id": import_id, "status": finished.status, "error": failure.code if failure else None},
    )
    return {"import_id": import_id, "status": finished.status}


def _failure(error: dict[str, Any]) -> ImportFailure:
    """The failure Step Functions caught, in words: an authorization failure says what to do."""
    code = error.get("Error", "States.ALL")
    message = caught_error_message(error.get("Cause", "") or code)
    if code == "ImportAuthorizationError":
        return ImportFailure(code="authorization_error", message=f"{message}; connect the store again, then start the import again")
    return ImportFailure(code=code, message=message[:1000])


def report(repo: Repository, tenant: str, import_id: str) -> ImportReport:
    """An import's progress: windows done, pages, orders seen, imported, duplicates, unreadable (404 when unknown)."""
    run, windows = repo.import_contents(tenant, import_id)
    if run is None:
        raise NotFound(f"no import {import_id}", code="import_not_found")
    return ImportReport(
        import_id=run.import_id,
        source=run.source,
        status=run.status,
        trigger=run.trigger,
        start=run.start,
        end=run.end,
        connected_at=run.connected_at,
        windows_planned=run.windows_planned,
        windows_done=sum(w.done for w in windows),
        pages=sum(w.pages for w in windows),
        seen=sum(w.seen for w in windows),
        imported=sum(w.imported for w in windows),
        duplicates=sum(w.duplicates for w in windows),
        unreadable=sum(w.unreadable for w in windows),
        windows=windows,
        error=run.error,
        created_at=run.created_at,
        updated_at=run.updated_at,
    )


def _run(repo: Repository, tenant: str, import_id: str) -> ImportRun:
    """The run a step works on (NotFound when it was never started)."""
    run = repo.get_import(tenant, import_id)
    if run is None:
        raise NotFound(f"no import {import_id}", code="import_not_found")
    return run
