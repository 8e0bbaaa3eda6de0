"""The Events API client: sends events in batches of at most 1,000, retries what TikTok says may be retried, reports each."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ordertrail.export.events_api.contract import iter_batches, request_body
from ordertrail.export.events_api.errors import (
    PARTIAL_SUCCESS,
    AuthenticationError,
    ExportError,
    PermanentExportError,
    backoff_delay,
    classify,
)
from ordertrail.runtime.observability import logger

if TYPE_CHECKING:
    import requests

TRACK_PATH = "/open_api/v1.3/event/track/"


@dataclass
class BatchResult:
    """What happened to one request's events: accepted (maybe partially) or rejected for good, with TikTok's reply."""

    status: Literal["accepted", "rejected"]
    code: int
    message: str
    request_id: str | None
    events: int
    attempts: int
    partial: bool = False


@dataclass(frozen=True)
class _Reply:
    """One HTTP exchange reduced to what classification needs (http_status 0 = no response)."""

    http_status: int
    code: int | None
    message: str
    request_id: str | None


def _code_of(envelope: dict[str, Any]) -> int | None:
    """TikTok's `code` as an int (it is an int, but a numeric string is tolerated); None if absent or odd."""
    code = envelope.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


class EventsApiClient:
    """Posts events to the Events API (`POST {base_url}/open_api/v1.3/event/track/`), ≤1,000 per request, with retries."""

    def __init__(
        self,
        base_url: str,
        access_token: str,
        pixel_code: str,
        *,
        test_event_code: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.url = base_url.rstrip("/") + TRACK_PATH
        # Kept private and out of every log line and error message.
        self._access_token = access_token
        self.pixel_code = pixel_code
        self.test_event_code = test_event_code or None
        if session is None:
            # Here, not at the top: requests costs the export function's cold start ~60 ms, and only a client needs it.
            import requests

            session = requests.Session()
        self.session = session
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.rng = rng

    def __repr__(self) -> str:
        """Names the endpoint and pixel, never the token."""
        return f"EventsApiClient(url={self.url!r}, pixel_code={self.pixel_code!r})"

    def send(self, events: Sequence[dict[str, Any]]) -> BatchResult:
        """Send ONE batch (1..1,000 events); retry retryable failures, raise AuthenticationError / RetryableExportError.

        A permanent refusal is returned as a rejected BatchResult (not raised) so the caller records it per event and goes on.
        """
        body = request_body(self.pixel_code, events, self.test_event_code)
        payload = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
        attempt = 0
        while True:
            attempt += 1
            reply = self._post(payload)
            error = classify(reply.code, reply.http_status)
            logger.info(
                "events api response",
                extra={
                    "pixel_code": self.pixel_code,
                    "events": len(events),
                    "attempt": attempt,
                    "http_status": reply.http_status,
                    "code": reply.code,
                    "request_id": reply.request_id,
                    "outcome": error.__name__ if error else "accepted",
                },
            )
            if error is None:
                assert reply.code is not None  # classify only accepts a JSON code of 0 or 20001
                return BatchResult(
                    "accepted", reply.code, reply.message, reply.request_id, len(events), attempt, reply.code == PARTIAL_SUCCESS
                )
            if error is PermanentExportError:
                code = reply.code if reply.code is not None else reply.http_status
                return BatchResult("rejected", code, reply.message, reply.request_id, len(events), attempt)
            if error is AuthenticationError or attempt >= self.max_attempts:
                raise error(reply.code, reply.message, reply.request_id, http_status=reply.http_status, attempts=attempt)
            self.sleep(backoff_delay(attempt, self.rng))

    def send_all(self, events: Sequence[dict[str, Any]]) -> list[BatchResult]:
        """Send every event in batches of at most 1,000, in order; stops at the first raised error (earlier results are lost)."""
        return [self.send(batch) for batch in iter_batches(events)]

    def _post(self, payload: bytes) -> _Reply:
        """One POST, reduced to status, code, message and request id; network failures become http_status 0."""
        import requests  # loaded with the session; for its exception types

        headers = {"Access-Token": self._access_token, "Content-Type": "application/json"}
        try:
            response = self.session.post(self.url, data=payload, headers=headers, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # Only the exception type: its text can carry the URL, and never the headers, but stay terse anyway.
            return _Reply(0, None, f"network error: {type(exc).__name__}", None)
        except requests.RequestException as exc:
            # An invalid URL or similar: a configuration fault no retry can fix, so fail the run plainly.
            raise ExportError(None, f"request could not be sent: {type(exc).__name__}") from None
        header_id = response.headers.get("X-Tt-Logid")
        try:
            envelope = response.json()
        except ValueError:
            return _Reply(response.status_code, None, f"HTTP {response.status_code} with a non-JSON body", header_id)
        if not isinstance(envelope, dict):
            return _Reply(response.status_code, None, f"HTTP {response.status_code} with an unexpected JSON body", header_id)
        request_id = envelope.get("request_id")
        return _Reply(
            response.status_code,
            _code_of(envelope),
            str(envelope.get("message") or response.reason or ""),
            str(request_id) if request_id else header_id,
        )
