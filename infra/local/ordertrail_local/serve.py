"""`python -m ordertrail_local.serve [--port 3000]`: the local stack, empty, serving until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from ordertrail_local.dynamodb_local import DynamoDBLocalError
from ordertrail_local.stack import DYNAMODB_ENV, MEMORY_NOTICE, LocalStack, configure_logging

# SIGTERM to exit: an orderly stop takes about a second; past this limit the process leaves without finishing it.
SHUTDOWN_LIMIT = 4.5
FORCED_EXIT_STATUS = 3


def shutdown_event() -> threading.Event:
    """Install SIGTERM and SIGINT handlers that set the returned event.

    Install them before saying "ready": a signal sent right after that line must not meet the default handler.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def wait_for_shutdown(stop: threading.Event | None = None) -> None:
    """Block until SIGTERM or SIGINT (both end the process cleanly with exit status 0)."""
    stop = stop or shutdown_event()
    # A timed wait lets the main thread notice the signal promptly on every platform.
    while not stop.wait(0.5):
        pass


def exit_anyway_after(seconds: float = SHUTDOWN_LIMIT) -> threading.Timer:
    """A daemon timer that ends the process (status 3) if the orderly stop has not finished by then; cancel it when it has.

    Every thread of the stack is a daemon and the pump stops between batches, so this only fires when something hangs;
    DynamoDB Local's JVM dies with the process (PR_SET_PDEATHSIG).
    """

    def leave() -> None:
        print(f"stop took over {seconds:.1f} s: exiting without finishing it", file=sys.stderr, flush=True)
        os._exit(FORCED_EXIT_STATUS)

    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()
    return timer


def stop_within_limit(stack: LocalStack) -> None:
    """Stop the stack, bounded by SHUTDOWN_LIMIT; say whether the stream pump was still busy."""
    timer = exit_anyway_after()
    busy = stack.pipeline is not None and any(pump.busy for pump in stack.pipeline.pumps)
    stack.stop()
    timer.cancel()
    note = " (the stream pump was busy: its undelivered records are gone with the data)" if busy else ""
    print(f"stopped{note}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=f"Serve the OrderTrail API locally (real handlers; moto, or DynamoDB Local with {DYNAMODB_ENV}=dynamodb-local)."
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="port on 127.0.0.1 (default $PORT or 3000)")
    parser.add_argument("--tenants-file", default=None, help="tenants JSON (default $ORDERTRAIL_TENANTS_FILE or events/tenants.local.json)")
    return parser.parse_args(argv)


def open_stack(port: int, requested_port: int | None = None, **options: Any) -> LocalStack | int:
    """Make a LocalStack (options as LocalStack takes them), say where its data lives, start it and serve on port.

    Returns the serving stack, or the exit status after saying why not: 2 for an unknown $ORDERTRAIL_DYNAMODB, 1 when
    DynamoDB Local cannot start or the port (named as requested_port, default port) cannot be listened on.
    """
    try:
        stack = LocalStack(**options)
    except ValueError as exc:  # an unknown $ORDERTRAIL_DYNAMODB
        print(exc, file=sys.stderr)
        return 2
    print(f"OrderTrail local stack on {stack.dynamodb}: {MEMORY_NOTICE}", flush=True)
    try:
        stack.start()
        stack.serve(port)
    except DynamoDBLocalError as exc:
        print(f"cannot start DynamoDB Local: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{port if requested_port is None else requested_port}: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    return stack


def main(argv: list[str] | None = None) -> int:
    """Start the stack without replaying anything, print `ready: <url>`, serve until told to stop."""
    args = parse_args(argv)
    configure_logging()
    stack = open_stack(args.port, tenants_file=args.tenants_file)
    if isinstance(stack, int):
        return stack
    port = stack.port
    stop = shutdown_event()
    print(announce(stack), flush=True)
    print(f"ready: http://127.0.0.1:{port} (tenants from {stack.tenants_file}; TikTok Shop API at {stack.tiktok_shop_api_url})", flush=True)
    try:
        wait_for_shutdown(stop)
    finally:
        stop_within_limit(stack)
    return 0


def announce(stack: LocalStack) -> str:
    """The line naming where the table lives (the endpoint lets a script fill or inspect it with boto3)."""
    return f"dynamodb: {stack.dynamodb} at {stack.dynamodb_endpoint_url} (table {stack.table_name}, in memory)"


def exit_now(status: int) -> None:
    """Leave without the interpreter's teardown (everything that needs closing was stopped already).

    Freeing a large in-memory table object by object took seconds, and the data is being thrown away anyway.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_now(main())
