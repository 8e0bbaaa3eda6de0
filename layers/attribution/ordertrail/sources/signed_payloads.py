"""Our own JSON payloads (orders and touchpoints, one or a batch) → validated models, with per-item errors by index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from ordertrail.core.errors import BODY_TYPE, MalformedRequest, OrderTrailError, Unprocessable, from_validation
from ordertrail.core.models import Order, Touchpoint, check_storable
from ordertrail.core.responses import BatchItemError

MAX_TOUCHPOINTS = 500
MAX_ORDERS = 100
T = TypeVar("T")
_TOUCHPOINT = TypeAdapter(Touchpoint)
_ORDER = TypeAdapter(Order)


@dataclass
class Parsed(Generic[T]):
    """The valid items of a batch (with their indexes) and the refused ones."""

    items: list[tuple[int, T]] = field(default_factory=list)
    errors: list[BatchItemError] = field(default_factory=list)


def _batch(body: Any, member: str, limit: int) -> tuple[list[Any], str]:
    """Unwrap `{member: [...]}` or a single object into a list and the JSON path prefix of its items."""
    if isinstance(body, dict) and member in body:
        items = body[member]
        if not isinstance(items, list):
            raise MalformedRequest(f"{member} must be an array", field=member, code="wrong_type")
        if not items:
            raise Unprocessable(f"{member} is empty", field=member, code="empty_batch")
        if len(items) > limit:
            raise Unprocessable(f"{member} holds {len(items)} items; the limit is {limit}", field=member, code="batch_too_large")
        return items, member
    if isinstance(body, dict):
        return [body], ""
    raise MalformedRequest(f'the body must be an object or {{"{member}": [...]}}', code=BODY_TYPE)


def _parse(body: Any, member: str, limit: int, adapter: TypeAdapter[T], check: Callable[[T], T] | None = None) -> Parsed[T]:
    items, prefix = _batch(body, member, limit)
    parsed: Parsed[T] = Parsed()
    for index, raw in enumerate(items):
        where = f"{prefix}[{index}]" if prefix else None
        try:
            if not isinstance(raw, dict):
                raise MalformedRequest("each item must be an object", code="wrong_type" if where else BODY_TYPE, field=where)
            item = adapter.validate_python(raw)
            if check is not None:
                try:
                    item = check(item)
                except ValueError as exc:
                    raise Unprocessable(str(exc), field=where, code="too_large") from exc
            parsed.items.append((index, item))
        except ValidationError as exc:
            error = from_validation(exc, prefix=f"{prefix}[{index}]" if prefix else "")
            parsed.errors.append(BatchItemError(index=index, code=error.code, message=error.message, field=error.field))
        except OrderTrailError as error:
            parsed.errors.append(BatchItemError(index=index, code=error.code, message=error.message, field=error.field))
    return parsed


def parse_touchpoints(body: Any) -> Parsed[Touchpoint]:
    """One touchpoint or `{"touchpoints": [...]}` (up to 500)."""
    return _parse(body, "touchpoints", MAX_TOUCHPOINTS, _TOUCHPOINT)


def parse_orders(body: Any) -> Parsed[Order]:
    """One normalised order or `{"orders": [...]}` (up to 100), each small enough to be stored as one item."""
    return _parse(body, "orders", MAX_ORDERS, _ORDER, check_storable)


def single_or_raise(parsed: Parsed[T]) -> None:
    """For a single (unbatched) item, its error is the request's error."""
    if len(parsed.items) + len(parsed.errors) == 1 and parsed.errors:
        error = parsed.errors[0]
        wrong_type = error.code in ("wrong_type", BODY_TYPE)
        status_error: OrderTrailError = MalformedRequest(error.message) if wrong_type else Unprocessable(error.message)
        status_error.code, status_error.field = error.code, error.field
        raise status_error


class TouchpointBatch(BaseModel):
    """`{"touchpoints": [...]}`: up to 500 touchpoints in one request."""

    touchpoints: list[Touchpoint] = Field(min_length=1, max_length=MAX_TOUCHPOINTS)


class OrderBatch(BaseModel):
    """`{"orders": [...]}`: up to 100 normalised orders in one request."""

    orders: list[Order] = Field(min_length=1, max_length=MAX_ORDERS)


# What the signed routes accept, for the OpenAPI document (they read the raw body themselves to check signatures).
TOUCHPOINTS_BODY: TypeAdapter[Any] = TypeAdapter(Touchpoint | TouchpointBatch)
ORDERS_BODY: TypeAdapter[Any] = TypeAdapter(Order | OrderBatch)
