"""The Events API's answers as errors: which codes are retried, which mean a bad token, and the backoff between tries."""

from __future__ import annotations

import random
from collections.abc import Callable

SUCCESS = 0
PARTIAL_SUCCESS = 20001
RETRYABLE_CODES = frozenset({40100, 40132, 61000, 50000, 50002})
AUTHENTICATION_CODES = frozenset({40102, 40104, 40105})
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 8.0


class ExportError(Exception):
    """The Events API refused or could not take a batch; carries TikTok's code, message and request id."""

    def __init__(
        self,
        code: int | None,
        message: str,
        request_id: str | None = None,
        *,
        http_status: int | None = None,
        attempts: int = 1,
    ) -> None:
        label = code if code is not None else f"HTTP {http_status}" if http_status else "no response"
        super().__init__(f"TikTok Events API {label}: {message}" + (f" (request_id {request_id})" if request_id else ""))
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.attempts = attempts


class RetryableExportError(ExportError):
    """Rate limit, server error, non-JSON body or network failure: try again later (Step Functions Retry matches this name)."""


class AuthenticationError(ExportError):
    """The access token is expired (40102), invalid (40105) or empty (40104): stop the run until it is replaced."""


class PermanentExportError(ExportError):
    """TikTok refused the batch for good (bad parameters, permission, batch size, unhashed PII): record, don't retry."""


def classify(code: int | None, http_status: int) -> type[ExportError] | None:
    """The error class for a response (None = accepted: HTTP 200 with code 0 or 20001 partial success).

    `code` is None when there was no usable JSON body (or no response at all: pass http_status 0).
    """
    if code in AUTHENTICATION_CODES:
        return AuthenticationError
    if code is None or code in RETRYABLE_CODES or http_status >= 500 or http_status == 429 or http_status == 0:
        return RetryableExportError
    if http_status == 200 and code in (SUCCESS, PARTIAL_SUCCESS):
        return None
    return PermanentExportError


def backoff_delay(
    retry: int, rng: Callable[[], float] = random.random, *, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(retry−1))) for the n-th retry (n ≥ 1)."""
    return rng() * min(cap, base * 2 ** (retry - 1))
