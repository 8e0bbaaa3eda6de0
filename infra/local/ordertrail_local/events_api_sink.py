"""A local stand-in for TikTok's Events API: checks each track request against the contract's JSON Schema and records it.

`POST /open_api/v1.3/event/track/` with a non-empty `Access-Token` header and a body valid against
`events/contract/tiktok_events_request.schema.json` answers like TikTok on success (HTTP 200,
`{"code": 0, "message": "OK", "request_id": ..., "data": {}}`); errors come with HTTP 200 too, as on TikTok:
40104 for a missing token, 40061 for more than 1,000 events, 40002 for a body that is not JSON or breaks the
schema (the message says where). Tests can queue canned answers (`queue_response`) to play rate limits or
expired tokens against the real client.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from ordertrail_local import template as tpl
from ordertrail_local.loopback import json_response, start_server, stop_server, write_response

log = logging.getLogger("ordertrail_local.events_api_sink")

TRACK_PATH = "/open_api/v1.3/event/track/"
DEFAULT_SCHEMA = Path("events") / "contract" / "tiktok_events_request.schema.json"
MAX_EVENTS_PER_REQUEST = 1000

CODE_OK = 0
CODE_INVALID_PARAMS = 40002
CODE_EMPTY_TOKEN = 40104
CODE_BATCH_TOO_LARGE = 40061


@dataclass(frozen=True)
class SinkRequest:
    """One request the sink received and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any
    access_token: str
    status: int
    response: dict[str, Any]
    received_at: float = field(default_factory=time.time)

    @property
    def accepted(self) -> bool:
        """True when the sink answered code 0."""
        return self.status == 200 and self.response.get("code") == CODE_OK

    @property
    def events(self) -> list[dict[str, Any]]:
        """The request's `data` events (empty when the body had none)."""
        data = self.body.get("data") if isinstance(self.body, dict) else None
        return [event for event in data if isinstance(event, dict)] if isinstance(data, list) else []


class EventsApiSink:
    """A threaded HTTP server on 127.0.0.1 answering TikTok Events API track requests; `start()`, `url`, `stop()`."""

    def __init__(self, schema_path: str | Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        """Load the request schema (default: the repository's contract schema); nothing listens before start()."""
        import jsonschema

        path = Path(schema_path) if schema_path is not None else tpl.repo_root() / DEFAULT_SCHEMA
        if not path.is_file():
            raise FileNotFoundError(f"Events API request schema not found: {path}")
        self.schema_path = path
        self.schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        validator_class = jsonschema.validators.validator_for(self.schema)
        validator_class.check_schema(self.schema)
        self._validator = validator_class(self.schema, format_checker=validator_class.FORMAT_CHECKER)
        self._fast_valid = _fast_validity(self.schema)
        self.host = host
        self._port = port
        self._requests: list[SinkRequest] = []
        self._canned: deque[tuple[int, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> EventsApiSink:
        """Listen (port 0 picks a free one) in a daemon thread; idempotent."""
        if self._server is not None:
            return self
        sink = self

        class Handler(BaseHTTPRequestHandler):
            """HTTP glue around EventsApiSink.handle."""

            server_version = "ordertrail-events-api-sink"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                write_response(self, json_response(*sink.handle(self.command, self.path, dict(self.headers.items()), raw)))

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                """One access-log line per request at DEBUG."""
                log.debug(format, *args)

        self._server, self._thread = start_server((self.host, self._port), Handler, "events-api-sink")
        return self

    def stop(self) -> None:
        """Stop listening."""
        stop_server(self._server, self._thread)
        self._server = self._thread = None

    def __enter__(self) -> EventsApiSink:
        """Start on entering the block."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop on leaving it."""
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (0 before start)."""
        return int(self._server.server_address[1]) if self._server is not None else 0

    @property
    def url(self) -> str:
        """Base URL to use as TIKTOK_EVENTS_API_URL (the client appends /open_api/v1.3/event/track/)."""
        return f"http://{self.host}:{self.port}"

    # -- what it saw -----------------------------------------------------------------------------------
    @property
    def requests(self) -> list[SinkRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    def accepted_events(self) -> list[dict[str, Any]]:
        """The events of every request answered with code 0, in order."""
        return [event for request in self.requests if request.accepted for event in request.events]

    def clear(self) -> None:
        """Forget the recorded requests and any queued canned answers."""
        with self._lock:
            self._requests.clear()
            self._canned.clear()

    def queue_response(self, body: dict[str, Any], status: int = 200) -> None:
        """Answer the next track request with this body and status instead of validating it (FIFO; recorded as usual)."""
        with self._lock:
            self._canned.append((status, dict(body)))

    # -- the endpoint ----------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request as TikTok would and record it; returns (HTTP status, JSON body)."""
        request_id = _request_id()
        token = next((value for key, value in headers.items() if key.lower() == "access-token"), "").strip()
        body: Any = None
        if path.split("?", 1)[0] != TRACK_PATH or method != "POST":
            status, answer = 404, {"code": 40400, "message": f"no such endpoint: {method} {path}", "request_id": request_id}
        else:
            with self._lock:
                canned = self._canned.popleft() if self._canned else None
            parse_error: str | None = None
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                parse_error = f"request body is not JSON: {exc}"
            if canned is not None:
                status, answer = canned[0], {"request_id": request_id, **canned[1]}
            else:
                status, answer = 200, self._verdict(token, body, parse_error, request_id)
        record = SinkRequest(method, path, dict(headers), raw, body, token, status, answer)
        with self._lock:
            self._requests.append(record)
        if not record.accepted:
            log.info("Events API sink refused a request: %s %s", answer.get("code"), answer.get("message"))
        return status, answer

    def _verdict(self, token: str, body: Any, parse_error: str | None, request_id: str) -> dict[str, Any]:
        """TikTok's answer to a track request: token first, then JSON, batch size, then the schema."""
        if not token:
            return {"code": CODE_EMPTY_TOKEN, "message": "Access token is empty", "request_id": request_id}
        if parse_error is not None:
            return {"code": CODE_INVALID_PARAMS, "message": parse_error, "request_id": request_id}
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, list) and len(data) > MAX_EVENTS_PER_REQUEST:
            message = f"data holds {len(data)} events; at most {MAX_EVENTS_PER_REQUEST} per request"
            return {"code": CODE_BATCH_TOO_LARGE, "message": message, "request_id": request_id}
        # The compiled validator answers a valid body in microseconds; jsonschema decides (and words) every refusal.
        errors = [] if self._fast_valid(body) else sorted(self._validator.iter_errors(body), key=lambda error: list(error.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(part) for part in first.absolute_path) or "(body)"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return {"code": CODE_INVALID_PARAMS, "message": f"{where}: {first.message}{more}", "request_id": request_id}
        return {"code": CODE_OK, "message": "OK", "request_id": request_id, "data": {}}


def _fast_validity(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """jsonschema-rs's compiled `is_valid` for the schema (the same draft, formats checked).

    jsonschema checks a 1,000-event request in about 0.7 s, which made the sink, not the export, the bottleneck of the
    export benches; jsonschema-rs checks it in milliseconds. Only a body it finds valid skips jsonschema.
    """
    import jsonschema_rs  # beside jsonschema's import above: only a sink that is built needs it

    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    return validator.is_valid


def _request_id() -> str:
    """A request id shaped like TikTok's (a timestamp then random hex)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + uuid.uuid4().hex[:18].upper()
