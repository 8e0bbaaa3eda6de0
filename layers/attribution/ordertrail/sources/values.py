"""Reading the loosely typed values stores send: optional text, exact money, and the shape types of payload checks.

The shape types let a payload model check objects, lists and scalars before a normaliser reads them, so that a wrong
type is refused naming its field instead of failing somewhere inside the normaliser.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictInt, ValidationError

from ordertrail.core.models import MAX_AMOUNT


def text(value: Any) -> str | None:
    """A non-empty stripped string or None (masked values are kept as they are)."""
    if value is None:
        return None
    stripped = str(value).strip()
    return stripped or None


def money(value: Any) -> Decimal:
    """Decimal from a store's decimal string, exactly; missing or empty is zero."""
    if value is None or str(value).strip() == "":
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount


def _scalar(value: Any) -> Any:
    """A JSON string or number (or null); an object, a list or a boolean is the wrong type here."""
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise ValueError(f"must be a string or a number, not {type(value).__name__}")


def _amount(value: Any) -> Any:
    """An amount as stores send it (a decimal string or a number): finite, not negative, not absurd."""
    amount = money(_scalar(value))
    if amount < 0:
        raise ValueError("must not be negative (a refund is a status, not a negative amount)")
    if amount > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT:,}")
    return value


def _whole_number(value: Any) -> Any:
    """An integer (a boolean is not one, whatever Python thinks)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


# A field a normaliser reads as text: any JSON scalar.
Scalar = Annotated[Any, BeforeValidator(_scalar)]
# A field a normaliser reads as money.
Amount = Annotated[Any, BeforeValidator(_amount)]
# A field that must be a JSON integer (booleans refused with a rule error, strings with a type error).
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_number)]
# Payload shape models ignore fields OrderTrail does not read.
PAYLOAD_CONFIG = ConfigDict(extra="ignore")


M = TypeVar("M", bound=BaseModel)


def fitting(model: type[M], values: dict[str, Any]) -> M:
    """The model from a store's values, leaving out each value it cannot hold (too long, not an IP, not ASCII, ...).

    For the parts of an order that describe it rather than price it (landing data, the buyer, the address): a store's
    oversized tracking parameter or name must not lose the whole order, only that one value.
    """
    kept = {name: value for name, value in values.items() if value is not None}
    while True:
        try:
            return model.model_validate(kept)
        except ValidationError as exc:
            wrong = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            if not wrong & set(kept):
                raise
            kept = {name: value for name, value in kept.items() if name not in wrong}
