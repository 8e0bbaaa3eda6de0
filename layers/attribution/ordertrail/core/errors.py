"""Errors the API reports, each with its HTTP status, a snake_case code and the field at fault."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError


class OrderTrailError(Exception):
    """An error the caller caused or must know about; maps to the error body of docs/api.md#error-shape."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON error body docs/api.md#error-shape defines."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class MalformedRequest(OrderTrailError):
    """The body is not JSON, or a value has the wrong type (400)."""

    status, code = 400, "malformed_request"


class Unauthorized(OrderTrailError):
    """A signature or key is missing or wrong (401)."""

    status, code = 401, "unauthorized"


class Forbidden(OrderTrailError):
    """Valid credentials for another tenant (403)."""

    status, code = 403, "forbidden"


class NotFound(OrderTrailError):
    """The thing asked for does not exist for this tenant (404)."""

    status, code = 404, "not_found"


class MethodNotAllowed(OrderTrailError):
    """The path exists, but not with this method (405)."""

    status, code = 405, "method_not_allowed"


class Conflict(OrderTrailError):
    """The request conflicts with the current state (409)."""

    status, code = 409, "conflict"


class ExportRunning(Conflict):
    """Another export run of the tenant holds its export lease (409 `export_running`): start again once it has ended."""

    code = "export_running"

    def __init__(self, run_id: str, until: datetime) -> None:
        super().__init__(
            f"export run {run_id} is still running for this tenant: it holds the export lease until "
            f"{until.astimezone(UTC).isoformat().replace('+00:00', 'Z')} (renewed while it works); start another run once it has ended"
        )
        self.run_id = run_id
        self.until = until


class PayloadTooLarge(OrderTrailError):
    """The body is over the 1 MiB limit (413)."""

    status, code = 413, "payload_too_large"


class UnsupportedMediaType(OrderTrailError):
    """The body is of a media type the route does not read (415)."""

    status, code = 415, "unsupported_media_type"


class Unprocessable(OrderTrailError):
    """Valid JSON that breaks a rule, such as an unknown touchpoint kind (422)."""

    status, code = 422, "unprocessable"


class UpstreamError(Exception):
    """An outside API (TikTok Shop) failed; the platform retries the webhook."""


# How pydantic names the member of a plain union it tried (`str`, `int`, `function-before[...]`): never a field of ours.
_UNION_MEMBER = re.compile(r"^(str|int|float|bool|none|decimal|[a-z]+(-[a-z]+)*\[.*\])$")
# The body as a whole has the wrong type (an array or a string where an object belongs): no one field is at fault.
BODY_TYPE = "wrong_body_type"
# pydantic error types that mean "wrong type" (400); every other validation error breaks a rule (422).
_TYPE_ERRORS = ("_type", "_parsing", "json_invalid", "model_attributes_type", "dict_type", "list_type")
_RULE_CODES = {"missing": "missing_field", "union_tag_invalid": "unknown_kind", "union_tag_not_found": "missing_field"}


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """Render a pydantic location as a JSON path such as `touchpoints[3].post.id`."""
    path = prefix
    for item in loc:
        if isinstance(item, int):
            path += f"[{item}]"
        elif item in ("comment", "dm", "flow_step", "shop_link", "ad_click", "creator_click") and (not path or path.endswith("]")):
            continue  # pydantic names the discriminated member; callers know it from `kind`
        elif _UNION_MEMBER.match(item):
            continue  # pydantic names which member of a union (`int | str`) it tried; the field is the same
        else:
            path = f"{path}.{item}" if path else str(item)
    return path


def from_validation(exc: ValidationError, prefix: str = "") -> OrderTrailError:
    """Turn the first pydantic error into a 400 (wrong type) or 422 (rule broken) naming the field."""
    first = exc.errors(include_url=False)[0]
    kind = str(first["type"])
    field = field_path(tuple(first["loc"]), prefix)
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        field = field_path((*tuple(first["loc"]), "kind"), prefix)
    message = f"{field or 'body'}: {first['msg']}"
    if kind.endswith(_TYPE_ERRORS) or kind in _TYPE_ERRORS:
        return MalformedRequest(message, field=field or None, code="wrong_type" if field else BODY_TYPE)
    return Unprocessable(message, field=field or None, code=_RULE_CODES.get(kind, "invalid_value"))


def caught_error_message(cause: str) -> str:
    """The message of an error Step Functions caught: a Lambda error's Cause is its JSON (errorMessage, errorType, stackTrace)."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return str(parsed.get("errorMessage") or cause) if isinstance(parsed, dict) else cause
