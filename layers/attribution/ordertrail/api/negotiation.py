"""Which form a report is answered in: JSON by default, CSV when `?format=csv` or an Accept header prefers `text/csv`."""

from __future__ import annotations

from typing import Literal

ReportFormat = Literal["json", "csv"]
CSV_TYPES = ("text/csv", "text/*")
JSON_TYPES = ("application/json", "application/*")


def report_format(format_: ReportFormat | None, accept: str | None) -> ReportFormat:
    """`format` when given; else CSV when Accept names text/csv (or text/*) at least as highly as JSON; else JSON.

    `*/*` alone, or no Accept at all, is JSON: a client that names no type gets what the API documents first.
    """
    if format_ is not None:
        return format_
    weights = _weights(accept or "")
    csv = max((weights.get(kind, 0.0) for kind in CSV_TYPES), default=0.0)
    json = max((weights.get(kind, 0.0) for kind in JSON_TYPES), default=0.0)
    return "csv" if csv > 0 and csv >= json else "json"


def _weights(accept: str) -> dict[str, float]:
    """Accept's media ranges (lower case) with their q values (RFC 9110 §12.5.1); an unreadable q counts as 0."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        kind, *params = (piece.strip() for piece in part.split(";"))
        if not kind:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _q_value(value)
        weights[kind.lower()] = max(q, weights.get(kind.lower(), 0.0))
    return weights


def _q_value(text: str) -> float:
    """A q value from 0 to 1; anything else (unreadable, out of range, nan) counts as 0: not acceptable."""
    try:
        q = float(text)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0
