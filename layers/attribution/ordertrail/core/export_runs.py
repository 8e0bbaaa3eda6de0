"""Export runs as stored and shown: the run, its chunks and every conversion's result (the audit)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from ordertrail.core.models import Timestamp

RunStatus = Literal["queued", "running", "succeeded", "failed"]
ChunkStatus = Literal["complete", "failed"]
EventOutcome = Literal["accepted", "rejected", "skipped"]


class RunError(BaseModel):
    """Why a run stopped: `authentication_error` (fix the token, then rerun) or another failure."""

    code: str
    message: str
    chunk: int | None = None


class ChunkRecord(BaseModel):
    """One chunk's outcome: complete (every conversion accepted, rejected or skipped) or failed."""

    index: int
    start: AwareDatetime
    end: AwareDatetime
    status: ChunkStatus
    attempts: int = Field(default=1, description="How many times ExportChunk ran this chunk (a Step Functions Retry runs it again)")
    requests: int = Field(default=0, description="Events API requests TikTok answered, over every attempt")
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    finished_at: AwareDatetime


class EventResult(BaseModel):
    """What happened to one conversion (or one of its ttclids) in a run."""

    chunk: int
    order_id: str
    source: str
    outcome: EventOutcome
    event_id: str | None = None
    ttclid: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    reason: str | None = Field(default=None, description="Why it was skipped: too_old, not_first_conversion, no_ttclid, ...")
    code: int | None = Field(default=None, description="Events API code when sent (0 = accepted)")
    message: str | None = None
    request_id: str | None = None
    at: AwareDatetime


class ExportRun(BaseModel):
    """An export run: what was asked, how far it got, and why it stopped."""

    run_id: str
    tenant: str
    trigger: Literal["api", "schedule"]
    status: RunStatus
    requested_from: AwareDatetime | None = None
    requested_to: AwareDatetime | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    chunks_planned: int = 0
    watermark_before: AwareDatetime | None = None
    watermark_after: AwareDatetime | None = None
    error: RunError | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ExportLease(BaseModel):
    """The tenant's export lease: the one run that may export now, until `expires_at` unless one of its steps renews it."""

    run_id: str
    renewed_at: AwareDatetime
    expires_at: AwareDatetime


class ExportRunReport(BaseModel):
    """GET /conversions/runs/{id}: the run, its chunks, totals and per-event results."""

    run: ExportRun
    chunks: list[ChunkRecord]
    totals: dict[str, int]
    events: list[EventResult]


class ExportRequest(BaseModel):
    """POST /conversions/export: the range to (re)send; both optional (default: from the watermark to now − settle)."""

    model_config = {"populate_by_name": True}

    from_: Timestamp | None = Field(default=None, alias="from", description="Start of the range (inclusive), RFC 3339")
    to: Timestamp | None = Field(default=None, description="End of the range (exclusive), RFC 3339")


class PlanInput(BaseModel):
    """The state machine's input to Plan."""

    model_config = {"populate_by_name": True}

    tenant: str
    run_id: str
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None


class ChunkInput(BaseModel):
    """The Map's input to ExportChunk: one chunk of one run."""

    tenant: str
    run_id: str
    chunk: ChunkSpan


class ChunkSpan(BaseModel):
    """A planned chunk as the state passes it on."""

    index: int
    start: AwareDatetime
    end: AwareDatetime


class FinalizeInput(BaseModel):
    """The whole state at Finalize (or RecordFailure): the plan, and the caught error if the run stopped."""

    tenant: str
    run_id: str
    chunks: list[dict[str, Any]] = Field(default_factory=list)
    error: dict[str, Any] | None = None


ChunkInput.model_rebuild()
