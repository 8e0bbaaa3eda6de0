"""Response bodies of the HTTP API, as pydantic models (they type the handlers and document the OpenAPI file)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ordertrail.core.models import Attribution, CouponMapping, Order, ReviewStatus


class ErrorDetail(BaseModel):
    """The `error` member of every error response."""

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The error body of docs/api.md#error-shape."""

    error: ErrorDetail


class Received(BaseModel):
    """A webhook's acknowledgement."""

    received: bool = True
    stored: int | None = Field(default=None, description="Orders stored (absent when nothing needed storing)")
    ignored: str | None = Field(default=None, description="Why the notification was acknowledged without storing anything")
    queued: str | None = Field(default=None, description="The order whose detail is fetched next (its notification is stored first)")


class BatchItemError(BaseModel):
    """Why one item of a batch was refused."""

    index: int
    code: str
    message: str
    field: str | None = None


class BatchResult(BaseModel):
    """What happened to each item of a touchpoint or order batch."""

    accepted: int = Field(description="Items stored now")
    duplicates: int = Field(description="Items already stored (or an order state no newer than the stored one)")
    errors: list[BatchItemError] = Field(default_factory=list, description="Refused items, by index")


class ReviewList(BaseModel):
    """Soft matches in one review status."""

    status: ReviewStatus
    items: list[Attribution]


class CouponList(BaseModel):
    """A tenant's coupon mappings."""

    coupons: list[CouponMapping]


class OrderDocument(BaseModel):
    """One order explained: the order, when it arrived, its attribution with evidence, and its store link."""

    order: Order
    received_at: datetime
    attribution: Attribution | None = Field(description="null until AttributeFunction has run")
    counts_as_attributed: bool = Field(description="Counts toward OrderTrail-driven revenue (soft matches only once confirmed)")
    store_url: str | None = Field(default=None, description="The order in the store's seller center")
