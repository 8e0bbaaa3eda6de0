"""A function in its own process, as Lambda runs each function in its own container (used for the served stack's stream).

In one process every handler shares one lock (they share module state and environment variables), so a stream batch
being attributed held up every HTTP request behind it, and both fought over one interpreter lock. The served stack
delivers the stream to AttributeFunction in a child process instead: HTTP answers never wait for the stream, and the two
use both cores. The child inherits the environment the stack set up (endpoints, table, tenants file).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger("ordertrail_local.function_process")

# The child imports boto3, Powertools and the handler first; on a busy 2-core machine that can take a while.
START_TIMEOUT = 300.0


class FunctionProcessError(RuntimeError):
    """The function raised in its process (the pump treats it as a function error), or the process is gone."""


def _serve(connection: Connection, root: str, function_name: str, code_dir: str, handler: str, timeout: float, level: int) -> None:
    """The child's loop: load the handler, say "ready", then run one event per message until told to stop."""
    from ordertrail_local.lambda_runtime import InvocationError, LambdaRuntime
    from ordertrail_local.stack import configure_logging

    # Ctrl-C in a terminal reaches the whole process group: the parent decides when this process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(level)
    runtime = LambdaRuntime(Path(root), timeouts={function_name: timeout})
    runtime.load(code_dir, handler)
    connection.send(("ready", None))
    while True:
        try:
            event = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if event is None:
            return
        try:
            connection.send(("ok", runtime.invoke(function_name, code_dir, event, handler)))
        except InvocationError as exc:
            connection.send(("error", str(exc)))


class FunctionProcess:
    """One function's container: a spawned child that runs its events one at a time; `invoke` blocks for the result."""

    def __init__(self, root: Path, function_name: str, code_dir: str, handler: str = "app.lambda_handler", timeout: float = 10.0) -> None:
        self.root = root
        self.function_name = function_name
        self.code_dir = code_dir
        self.handler = handler
        self.timeout = timeout
        self._process: Any = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> FunctionProcess:
        """Spawn the child (not fork: this process runs threads) and wait until it has loaded the handler."""
        if self._process is not None:
            return self
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        level = logging.getLogger("ordertrail_local").getEffectiveLevel()
        args = (child, str(self.root), self.function_name, self.code_dir, self.handler, self.timeout, level)
        self._process = context.Process(target=_serve, args=args, name=f"lambda-{self.function_name}", daemon=True)
        self._process.start()
        child.close()
        self._connection = parent
        if not parent.poll(START_TIMEOUT):
            self.stop()
            raise FunctionProcessError(f"{self.function_name}'s process did not load its handler within {START_TIMEOUT:.0f} s")
        try:
            parent.recv()
        except EOFError:
            self.stop()
            raise FunctionProcessError(f"{self.function_name}'s process exited while loading its handler (see the log above)") from None
        return self

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run one event in the child; its result, or FunctionProcessError with the handler's error."""
        with self._lock:
            if self._connection is None:
                raise FunctionProcessError(f"{self.function_name}'s process is not running")
            try:
                self._connection.send(event)
                status, value = self._connection.recv()
            except (EOFError, OSError) as exc:
                raise FunctionProcessError(f"{self.function_name}'s process is gone: {exc}") from exc
        if status == "error":
            raise FunctionProcessError(str(value))
        return value

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the child at once: SIGTERM, then SIGKILL after `timeout`.

        A batch in hand is abandoned, as when a container is shut down; an invoke() waiting for it fails.
        """
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(timeout)
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __enter__(self) -> FunctionProcess:
        """Start on entering the block."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop on leaving it."""
        self.stop()
