"""`python -m ordertrail_local.serve [--port 3000]`: the local stack, empty, serving until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from ordertrail_local.stack import LocalStack, configure_logging


def wait_for_shutdown() -> None:
    """Block until SIGTERM or SIGINT (both end the process cleanly with exit status 0)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # A timed wait lets the main thread notice the signal promptly on every platform.
    while not stop.wait(0.5):
        pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Serve the OrderTrail API locally (moto DynamoDB, real handlers).")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="port on 127.0.0.1 (default $PORT or 3000)")
    parser.add_argument("--tenants-file", default=None, help="tenants JSON (default $ORDERTRAIL_TENANTS_FILE or events/tenants.local.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the stack without replaying anything, print `ready: <url>`, serve until told to stop."""
    args = parse_args(argv)
    configure_logging()
    stack = LocalStack(tenants_file=args.tenants_file)
    try:
        stack.start()
        port = stack.serve(args.port)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    print(f"ready: http://127.0.0.1:{port} (tenants from {stack.tenants_file}; TikTok Shop API at {stack.tiktok_shop_api_url})", flush=True)
    try:
        wait_for_shutdown()
    finally:
        stack.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
