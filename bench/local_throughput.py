"""Benchmark (not a test): signed orders and touchpoints per second through `make serve`'s HTTP API, at 1,000 and 20,000 items.

Run `make bench` (or `python bench/local_throughput.py --json`). For each DynamoDB backend (moto; DynamoDB Local when
installed) it starts `python -m ordertrail_local.serve` on a free loopback port, fills its table straight through boto3,
and times POST /v1/demo/orders and POST /v1/demo/touchpoints in batches (the HTTP answers only: the stream is delivered in
the background), beside bare put_item against the same DynamoDB. Each round ends by waiting (untimed) until the stream has
delivered everything, so the stream never falls further behind; how long that took is reported as the stream's lag.
Targets: the rate at 20,000 items is at least 0.8 x the rate at 1,000; the stack's rate is at least 0.5 x bare put_item's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from offline import ROOT, use_repository_code

TENANT = "demo"
SIZES = (1_000, 20_000)
# A sender batching what arrived in the last moments (a store connector, a DM tool's webhook relay): 25 per request.
BATCH = 25
ROUNDS = 5
PER_ROUND = 100
BARE_PUTS = 200
TARGET_SIZE_RATIO = 0.8
TARGET_BARE_RATIO = 0.5
# Generous: a busy 2-core machine; a passing run returns as soon as each condition holds.
WAIT_LIMIT = 900.0


class Served:
    """`python -m ordertrail_local.serve` in a child process, as `make serve` starts it."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        env = {**os.environ, "ORDERTRAIL_DYNAMODB": backend, "POWERTOOLS_LOG_LEVEL": "ERROR"}
        env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("layers/attribution", "infra/local", "."))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ordertrail_local.serve", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []

    def wait_ready(self) -> Any:
        """Read start-up lines until "ready" (fails after WAIT_LIMIT) and return where the API and the table are."""
        from ordertrail_local import load

        found = threading.Event()

        def reader() -> None:
            # Keep reading to the end: a full pipe would block the server's next print (Powertools prints EMF lines).
            assert self.process.stdout is not None
            for line in self.process.stdout:
                if not found.is_set():
                    self.lines.append(line)
                if line.startswith("ready"):
                    found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(WAIT_LIMIT):
            raise RuntimeError(f"serve did not get ready: {''.join(self.lines)[-1000:]}")
        return load.parse_served(self.lines)

    def stop(self) -> float:
        """SIGTERM, wait for the exit; seconds it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=WAIT_LIMIT)
        return time.monotonic() - started


def wait_until(condition: Callable[[], bool], what: str) -> float:
    """Poll until the condition holds (RuntimeError after WAIT_LIMIT); seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > WAIT_LIMIT:
            raise RuntimeError(f"{what}: not after {WAIT_LIMIT:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


class Bench:
    """One served stack: fill its table, time the HTTP API and bare put_item, wait for the stream."""

    def __init__(self, served: Any, secret: str) -> None:
        import boto3
        import requests

        self.served = served
        self.secret = secret
        self.client = boto3.client(
            "dynamodb", endpoint_url=served.dynamodb_endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        self.session = requests.Session()
        self.items = 0
        self.sent = 0

    def fill_to(self, size: int) -> None:
        """Add filler items until the table holds `size` (BatchWriteItem, four requests in flight), then let the stream catch up."""
        from ordertrail_local import load

        self.items += load.fill_table(self.client, self.served.table, size - self.items, first=self.items)
        self.catch_up()

    def post(self, member: str, items: list[dict[str, Any]]) -> float:
        """POST the items in batches of BATCH to /v1/demo/<member>; seconds spent waiting for the HTTP answers."""
        from ordertrail_local import load

        spent = 0.0
        for batch in load.batches(items, BATCH):
            body, headers = load.signed_request(member, batch, self.secret)
            started = time.perf_counter()
            answer = self.session.post(f"{self.served.url}/v1/{TENANT}/{member}", data=body, headers=headers, timeout=WAIT_LIMIT)
            spent += time.perf_counter() - started
            if answer.status_code != 202 or answer.json().get("accepted") != len(batch):
                raise RuntimeError(f"POST {member} -> {answer.status_code} {answer.text[:300]}")
        return spent

    def catch_up(self) -> float:
        """Post one sentinel order and wait until its attribution is stored; seconds it took.

        The stream is in order: once the sentinel is attributed, everything posted before it was delivered too.
        """
        from ordertrail_local import load

        self.sent += 1
        (sentinel,) = load.orders(1, f"sentinel{self.sent}")
        self.post("orders", [sentinel])
        key = load.attribution_key(TENANT, sentinel)
        return wait_until(lambda: "Item" in self.client.get_item(TableName=self.served.table, Key=key), "the stream catching up")

    def rate(self, member: str, make: Callable[[int, str], list[dict[str, Any]]]) -> dict[str, Any]:
        """ROUNDS rounds of PER_ROUND items: the median round's items/s (HTTP answers; end to end) and each round's lag.

        The median, because the machine is shared: one disturbed round must not make the figure.
        """
        rates, ends, lags = [], [], []
        for _ in range(ROUNDS):
            self.sent += 1
            answered = self.post(member, make(PER_ROUND, f"{member[:1]}{self.sent}"))
            lag = self.catch_up()
            rates.append(PER_ROUND / answered)
            # End to end: until the stream had delivered the round too (the rate a sender could keep up for ever).
            ends.append(PER_ROUND / (answered + lag))
            lags.append(round(lag, 2))
        return {
            "per_second": round(statistics.median(rates), 1),
            "end_to_end_per_second": round(statistics.median(ends), 1),
            "stream_lag_seconds": lags,
        }

    def bare_put_rate(self) -> float:
        """Sequential put_item of filler-sized items against the same DynamoDB: the median of ROUNDS rounds (items/s)."""
        from ordertrail_local import load

        rates = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for n in range(BARE_PUTS):
                self.client.put_item(TableName=self.served.table, Item=load.filler_item(1_000_000 + self.items + n))
            rates.append(BARE_PUTS / (time.perf_counter() - started))
            self.items += BARE_PUTS
        return round(statistics.median(rates), 1)


def measure(backend: str, secret: str) -> dict[str, Any]:
    """Every figure of one backend, at each table size."""
    from ordertrail_local import load

    server = Served(backend)
    try:
        bench = Bench(server.wait_ready(), secret)
        # Untimed warm-up: the first requests fill caches and connection pools, and DynamoDB Local's JIT compiles.
        bench.post("orders", load.orders(PER_ROUND, "warm"))
        bench.post("touchpoints", load.touchpoints(PER_ROUND, "warm"))
        bench.bare_put_rate()
        by_size: dict[str, Any] = {}
        for size in SIZES:
            bench.fill_to(size)
            orders = bench.rate("orders", load.orders)
            touchpoints = bench.rate("touchpoints", load.touchpoints)
            bare = bench.bare_put_rate()
            by_size[str(size)] = {"items": bench.items, "orders": orders, "touchpoints": touchpoints, "bare_put_item_per_second": bare}
        stop_seconds = server.stop()
    finally:
        if server.process.poll() is None:
            server.process.kill()
    return {"by_size": by_size, "sigterm_exit_seconds": round(stop_seconds, 2)}


def ratios(figures: dict[str, Any]) -> dict[str, float]:
    """20k/1k per kind, and stack/bare put_item per kind at the larger size."""
    small, large = (figures["by_size"][str(size)] for size in SIZES)
    out = {}
    for kind in ("orders", "touchpoints"):
        out[f"{kind}_20k_over_1k"] = round(large[kind]["per_second"] / small[kind]["per_second"], 2)
        out[f"{kind}_over_bare_put_item"] = round(large[kind]["per_second"] / large["bare_put_item_per_second"], 2)
    return out


def main() -> None:
    """Measure each backend and print a table (or one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    use_repository_code()
    from ordertrail_local.dynamodb_local import unavailable_reason

    tenants = json.loads((ROOT / "events" / "tenants.local.json").read_text(encoding="utf-8"))
    secret = tenants["tenants"][TENANT]["touchpoint_secret"]
    backends = ["moto"]
    skipped = unavailable_reason()
    if skipped is None:
        backends.append("dynamodb-local")
    result: dict[str, Any] = {"batch_size": BATCH, "rounds": ROUNDS, "per_round": PER_ROUND, "backends": {}}
    if skipped:
        result["dynamodb_local_skipped"] = skipped
    for backend in backends:
        figures = measure(backend, secret)
        figures["ratios"] = ratios(figures)
        figures["targets"] = {
            name: value >= (TARGET_SIZE_RATIO if "20k" in name else TARGET_BARE_RATIO) for name, value in figures["ratios"].items()
        }
        result["backends"][backend] = figures
    if args.json:
        print(json.dumps(result))
        return
    print(f"Local stack over HTTP (signed, {BATCH} per request; median of {ROUNDS} rounds of {PER_ROUND}; stream in the background)")
    print("(per s: HTTP answers only; e2e: until the stream had delivered them too; lag: each round's wait for the stream)")
    header = f"{'backend':<15} {'items':>7} | {'orders/s':>8} {'e2e':>6} {'lag s':>14} | {'touchpoints/s':>13} {'e2e':>6} {'lag s':>14}"
    print(f"{header} | {'put_item/s':>10}")
    for backend, figures in result["backends"].items():
        for size in SIZES:
            row = figures["by_size"][str(size)]
            cells = []
            for kind in ("orders", "touchpoints"):
                lags = "/".join(f"{x:.1f}" for x in row[kind]["stream_lag_seconds"])
                width = 8 if kind == "orders" else 13
                cells.append(f"{row[kind]['per_second']:>{width}.1f} {row[kind]['end_to_end_per_second']:>6.1f} {lags:>14}")
            print(f"{backend:<15} {size:>7,} | {cells[0]} | {cells[1]} | {row['bare_put_item_per_second']:>10.1f}")
    print(f"\n{'backend':<15} {'ratio':<32} {'value':>6}  target")
    for backend, figures in result["backends"].items():
        for name, value in figures["ratios"].items():
            target = TARGET_SIZE_RATIO if "20k" in name else TARGET_BARE_RATIO
            print(f"{backend:<15} {name:<32} {value:>6.2f}  >= {target} {'met' if figures['targets'][name] else 'MISSED'}")
        stopped = figures["sigterm_exit_seconds"]
        print(f"{backend:<15} {'SIGTERM to exit (s)':<32} {stopped:>6.2f}  <= 5 {'met' if stopped <= 5 else 'MISSED'}")
    if skipped:
        print(f"\ndynamodb-local skipped: {skipped}")


if __name__ == "__main__":
    main()
