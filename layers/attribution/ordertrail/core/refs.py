"""Identifiers safe inside a composite key: one escaped key component, and the store-qualified reference of an order."""

from __future__ import annotations


def part(value: str) -> str:
    """Escape one key component so `#` inside an id cannot split or forge a key."""
    return value.replace("%", "%25").replace("#", "%23")


def order_ref(source: str, order_id: str) -> str:
    """A store-qualified order reference, unique per tenant."""
    return f"{source}#{part(order_id)}"
