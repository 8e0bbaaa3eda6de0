"""Reading a request body as JSON, without the resolver: the ingest paths that parse bodies need only this."""

from __future__ import annotations

import json
from typing import Any

from ordertrail.core.errors import MalformedRequest

TOO_DEEP = "the body is nested too deeply to be read as JSON"


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body; malformed JSON is a 400."""
    if not raw.strip():
        raise MalformedRequest("the body is empty; send JSON", code="malformed_json")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc}", code="malformed_json") from exc
    except RecursionError:
        raise MalformedRequest(TOO_DEEP, code="malformed_json") from None
