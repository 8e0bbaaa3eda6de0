"""History imports as requested, stored and shown: the run, its ≤30-day windows and their page-by-page progress."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ImportSource = Literal["tiktok_shop", "shopify"]
ImportStatus = Literal["queued", "running", "succeeded", "failed"]
ImportTrigger = Literal["api", "connect"]


class ImportRequest(BaseModel):
    """POST /v1/{tenant}/imports: which store's orders, created in [from, to) (to defaults to now)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: ImportSource = Field(description="The store whose past orders to import: tiktok_shop or shopify")
    from_: AwareDatetime = Field(alias="from", description="Import orders created at or after this time (RFC 3339 with offset)")
    to: AwareDatetime | None = Field(default=None, description="…and before this time; default now")


class ImportWindow(BaseModel):
    """One window of at most 30 days and how far its pages got (each page is recorded once)."""

    index: int = Field(ge=0)
    start: AwareDatetime
    end: AwareDatetime
    done: bool = False
    pages: int = Field(default=0, description="Pages read from the store so far")
    page_token: str | None = Field(default=None, description="Where the next page starts (the store's cursor); None before the first")
    seen: int = Field(default=0, description="Orders the store listed in this window")
    imported: int = Field(default=0, description="Orders stored that OrderTrail did not have (or had in an older state)")
    duplicates: int = Field(default=0, description="Orders OrderTrail already had in this state (from a webhook or an earlier import)")
    unreadable: int = Field(default=0, description="Orders the store listed that could not be read (see last_error)")
    last_error: str | None = None


class ImportFailure(BaseModel):
    """Why an import stopped."""

    code: str
    message: str


class ImportRun(BaseModel):
    """An import run: what was asked and how it ended (the counts live on its windows)."""

    import_id: str
    tenant: str
    source: ImportSource
    trigger: ImportTrigger
    status: ImportStatus
    start: AwareDatetime
    end: AwareDatetime
    connected_at: AwareDatetime = Field(description="When the store was connected: orders placed before it are marked as history")
    windows_planned: int = 0
    error: ImportFailure | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ImportReport(BaseModel):
    """GET /v1/{tenant}/imports/{import_id}: the run, every window, and the totals (docs/api.md#imports)."""

    model_config = ConfigDict(extra="forbid")

    import_id: str
    source: ImportSource
    status: ImportStatus
    trigger: ImportTrigger
    start: AwareDatetime = Field(description="First instant imported (inclusive)")
    end: AwareDatetime = Field(description="End of the range (exclusive)")
    connected_at: AwareDatetime
    windows_planned: int
    windows_done: int
    pages: int
    seen: int = Field(description="Orders the store listed")
    imported: int = Field(description="Orders stored new (or newer than what OrderTrail had)")
    duplicates: int = Field(description="Orders OrderTrail already had in the same state (imported again, or received by webhook)")
    unreadable: int = Field(description="Orders that could not be read; see the window's last_error")
    windows: list[ImportWindow]
    error: ImportFailure | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class WindowRef(BaseModel):
    """A window as the state machine carries it."""

    index: int = Field(ge=0)
    start: AwareDatetime
    end: AwareDatetime


class ImportPlanInput(BaseModel):
    """ImportPlan's input: the run to plan."""

    tenant: str
    import_id: str


class ImportPagesInput(BaseModel):
    """ImportPages' input: one window of one run (its cursor is read from the table, not from the state)."""

    tenant: str
    import_id: str
    window: WindowRef
    done: bool = False


class ImportFinalizeInput(BaseModel):
    """ImportFinalize's input: the run and, on the failure path, the error Step Functions caught."""

    tenant: str
    import_id: str
    error: dict[str, Any] | None = None
