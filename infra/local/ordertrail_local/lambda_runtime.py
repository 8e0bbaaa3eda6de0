"""A minimal in-process Lambda runtime: load a handler from its code directory, give it a context, invoke it."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

log = logging.getLogger("ordertrail_local.lambda")

# Handlers keep module-level state (clients, caches, Powertools singletons) and Lambda never runs two events
# in one instance at once; one process-wide lock keeps that promise whatever thread (HTTP server, stream
# pump) delivers the event.
INVOKE_LOCK = threading.RLock()

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        """Start the clock when the invocation starts."""
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        """The ARN Lambda would report for this function."""
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """Log group name, as on AWS."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """A fixed local log stream name."""
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the configured timeout (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationError(Exception):
    """The handler raised: Lambda would report a function error."""

    def __init__(self, function_name: str, error: BaseException) -> None:
        super().__init__(f"{function_name} failed: {type(error).__name__}: {error}")
        self.function_name = function_name
        self.error = error
        self.error_type = type(error).__name__


def module_name(code_dir: str, handler: str = "app.lambda_handler") -> str:
    """`functions/ingest_order` + `app.lambda_handler` → `functions.ingest_order.app`."""
    package = ".".join(part for part in Path(code_dir).parts if part not in ("", "."))
    module = handler.rsplit(".", 1)[0]
    return f"{package}.{module}" if package else module


def import_handler_module(root: Path, code_dir: str, handler: str = "app.lambda_handler") -> ModuleType:
    """Import a function's handler module as `functions.<dir>.app`, with its code directory importable as on Lambda.

    Lambda puts the function's code root on sys.path, so a handler imports its own folder's modules by their top-level
    names (functions/reports/app.py: `from routes import ROUTERS`); the repository root keeps `functions.` importable.
    """
    for path in (Path(root).resolve(), (Path(root) / code_dir).resolve()):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return importlib.import_module(module_name(code_dir, handler))


class LambdaRuntime:
    """Loads handlers from code directories under a root (the repo) and invokes them one at a time."""

    def __init__(self, root: Path, memory_mb: int = 512, timeouts: dict[str, float] | None = None) -> None:
        self.root = Path(root).resolve()
        self.memory_mb = memory_mb
        self.timeouts = dict(timeouts or {})
        self._handlers: dict[tuple[str, str], Handler] = {}

    def load(self, code_dir: str, handler: str = "app.lambda_handler") -> Handler:
        """Import the handler's module once (see import_handler_module) and keep its entry point."""
        key = (code_dir, handler)
        if key not in self._handlers:
            module = import_handler_module(self.root, code_dir, handler)
            self._handlers[key] = getattr(module, handler.rsplit(".", 1)[1])
        return self._handlers[key]

    def invoke(self, function_name: str, code_dir: str, event: dict[str, Any], handler: str = "app.lambda_handler") -> Any:
        """Run one event through the handler with a fresh context; a raised error becomes InvocationError."""
        function = self.load(code_dir, handler)
        context = LambdaContext(
            function_name=function_name, memory_limit_in_mb=self.memory_mb, timeout_seconds=self.timeouts.get(function_name, 10.0)
        )
        with INVOKE_LOCK:
            # Lambda sets these per function; Powertools reads them (idempotency keys are namespaced by the name).
            os.environ.update(
                {
                    "AWS_LAMBDA_FUNCTION_NAME": function_name,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                }
            )
            started = time.monotonic()
            try:
                return function(event, context)
            except Exception as exc:
                # Lambda logs the traceback in the function's log group; here it goes to stderr.
                log.error("%s raised %s\n%s", function_name, type(exc).__name__, traceback.format_exc())
                raise InvocationError(function_name, exc) from exc
            finally:
                elapsed = time.monotonic() - started
                if elapsed > context.timeout_seconds:
                    # A thread cannot be killed; say loudly what Lambda would have cut off.
                    log.warning(
                        "%s took %.1f s, over its %.0f s timeout (Lambda would have stopped it)",
                        function_name,
                        elapsed,
                        context.timeout_seconds,
                    )


def function_timeouts(template: dict[str, Any]) -> dict[str, float]:
    """Each function's Timeout from template.yaml (its own, else Globals.Function's, else Lambda's 3 s)."""
    default = float(((template.get("Globals") or {}).get("Function") or {}).get("Timeout", 3))
    timeouts: dict[str, float] = {}
    for name, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            timeouts[name] = float((resource.get("Properties") or {}).get("Timeout", default))
    return timeouts
