"""Reading the loosely typed values stores send: optional strings and exact decimal money."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


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
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {value!r}") from None
