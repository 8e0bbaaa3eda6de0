"""Benchmark (not a test): events/s of one export chunk built and sent to the local Events API sink, and its Lambda time.

Run `python bench/export_speed.py` (`--json` for one JSON object; `--conversions 100000` by default; `--model`, the
tenant's credit model, `time_decay` by default; `--profile FILE` writes a cProfile of the chunk). It stores N
attributed conversions with multi-touch journeys (1-3 ad clicks with distinct ttclids, 0-5 other touches, 1-3
products, values from 1 to 500 USD, one buyer in ten ordering twice) in the table built from template.yaml in moto
(in-process, `mock_aws`), all inside one chunk, then runs the export steps as the ExportConversion functions run them:
`steps.plan`, `steps.export_chunk` (the real EventsApiClient posting to the EventsApiSink on 127.0.0.1, which checks
every request against the contract's JSON Schema as TikTok would) and `steps.finalize`.

The chunk's wall time is split into (a) DynamoDB: every call from botocore's `provide-client-params` to its
`after-call` hook (botocore's validation, serialization, signing and parsing, and moto's emulated server, shown apart),
(b) building events (`plan_events`: credit, hashing, the event dicts), (c) sending (`EventsApiClient.send`: JSON
encoding, the HTTP round trip, the sink's schema check) and the rest (reading items into models, building the audit
rows). The seeded table is frozen out of the garbage collector (it lives in moto, in this process; on Lambda it is in
DynamoDB).

Targets (issue 11, item 6): at least 5,000 events/s with the DynamoDB time left out, and the chunk's estimated time
on a 512 MB arm64 Lambda at most half the ExportChunkFunction's Timeout (read from template.yaml). Scaling
assumption: a 512 MB Lambda gets 512/1769 ≈ 0.289 of a vCPU (a full one at 1,769 MB), so the estimate is CPU seconds /
0.289, the CPU being the export thread's (`time.thread_time`) minus what moto's emulated server spent in it
(botocore's own work stays in; the sink runs in its own threads, as TikTok on its servers). The whole process's CPU
(`time.process_time`: moto and the sink included) is shown too. DynamoDB's network round trips are not in the
estimate (the request count is printed). The run exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from export_cost import TENANT, export_tenant, store_conversions
from offline import offline_env, use_repository_code

TABLE = "ordertrail-bench"
FUNCTION = "ExportChunkFunction"
EVENTS_PER_SECOND_TARGET = 5_000
# Share of the function's Timeout the chunk may take on Lambda: "well inside" it.
TIMEOUT_SHARE_TARGET = 0.5
LAMBDA_MEMORY_MB = 512
FULL_VCPU_MB = 1769  # Lambda allocates one full vCPU at 1,769 MB, CPU in proportion to memory below that
# Orders are spread over this span before the run's end: inside the 7-day lookback and maximum event age, one chunk.
SPREAD = timedelta(days=5, hours=12)
RUN_DAYS = 6
SEED = 20261202
OTHER_KINDS = ("creator_video", "comment", "dm", "shop_link", "live")
AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
)
PRODUCTS = (
    ("SKU-1", "Glow serum", "19.99"),
    ("SKU-2", "Night cream", "34.50"),
    ("SKU-3", "Lip oil", "12.00"),
    ("SKU-4", "SPF 50", "24.00"),
)


def cpu_share(memory_mb: int = LAMBDA_MEMORY_MB) -> float:
    """The share of one vCPU a Lambda of `memory_mb` gets (1.0 from 1,769 MB)."""
    return min(1.0, memory_mb / FULL_VCPU_MB)


def lambda_seconds(cpu_seconds: float, memory_mb: int = LAMBDA_MEMORY_MB) -> float:
    """Wall seconds `cpu_seconds` of one-core CPU take on a Lambda of `memory_mb` (CPU-bound: CPU / its vCPU share)."""
    return cpu_seconds / cpu_share(memory_mb)


def function_timeout(template: dict[str, Any], function: str = FUNCTION) -> int:
    """A function's Timeout in seconds: its own, else Globals.Function's, else Lambda's default of 3."""
    own = (template["Resources"][function].get("Properties") or {}).get("Timeout")
    inherited = ((template.get("Globals") or {}).get("Function") or {}).get("Timeout")
    return int(own if own is not None else inherited if inherited is not None else 3)


def verdicts(events_per_second: float, estimate_seconds: float, timeout_seconds: float) -> dict[str, bool]:
    """The two targets: events/s without DynamoDB time, and the Lambda estimate within its share of the Timeout."""
    return {
        f"at_least_{EVENTS_PER_SECOND_TARGET}_events_per_s": events_per_second >= EVENTS_PER_SECOND_TARGET,
        "lambda_estimate_within_half_the_timeout": estimate_seconds <= TIMEOUT_SHARE_TARGET * timeout_seconds,
    }


def conversion(index: int, ordered_at: datetime, rng: random.Random, repeat_of: int | None) -> Any:
    """One attributed conversion with a multi-touch journey in the 7 days before the order (`repeat_of`: the same buyer)."""
    from ordertrail.core.conversions import ContentLine, Conversion, ConversionTouch

    buyer = index if repeat_of is None else repeat_of
    touches = []
    for click in range(rng.randint(1, 3)):
        at = ordered_at - timedelta(seconds=rng.randrange(60, 6 * 86_400))
        touches.append(
            ConversionTouch(
                id=f"click-{index}-{click}",
                kind="ad_click",
                at=at,
                arrival=at + timedelta(seconds=rng.randrange(0, 5)),
                ttclid=f"E.C.P.bench{index:08d}{click}",
                ip=f"203.0.113.{rng.randrange(1, 255)}",
                user_agent=rng.choice(AGENTS),
                url=f"https://shop.example.com/products/p{rng.randrange(40)}?ttclid=E.C.P.bench{index:08d}{click}",
            )
        )
    for other in range(rng.randint(0, 5)):
        at = ordered_at - timedelta(seconds=rng.randrange(60, 6 * 86_400))
        touches.append(ConversionTouch(id=f"touch-{index}-{other}", kind=rng.choice(OTHER_KINDS), at=at, arrival=at))
    touches.sort(key=lambda t: (t.at, t.arrival, t.id))
    lines = [
        ContentLine(content_id=sku, name=name, price=Decimal(price), quantity=rng.randint(1, 3))
        for sku, name, price in rng.sample(PRODUCTS, rng.randint(1, 3))
    ]
    return Conversion(
        order_id=f"{577_000_000_000_000_000 + index}",
        source="tiktok_shop",
        ordered_at=ordered_at,
        currency="USD",
        value=Decimal(rng.randint(100, 50_000)).scaleb(-2),
        method="ad_click",
        counts=True,
        contents=lines,
        user_id=f"bench-user-{buyer}",
        email=f"buyer{buyer}@example.com",
        phone=f"+1555{buyer % 10_000_000:07d}",
        ip="198.51.100.20",
        user_agent=AGENTS[0],
        landing_url="https://shop.example.com/",
        touches=touches,
    )


def seed(repo: Any, count: int, end: datetime) -> None:
    """Write `count` conversions ordered over [end - SPREAD, end) with BatchWriteItem, in the repository's own item format."""
    rng = random.Random(SEED)
    first = end - SPREAD
    step = SPREAD / count

    def conversions() -> Iterator[Any]:
        for index in range(count):
            # One buyer in ten orders again later: only their first conversion is sent (only_first_conversion).
            repeat_of = rng.randrange(index) if index and rng.random() < 0.1 else None
            yield conversion(index, first + index * step, rng, repeat_of)

    store_conversions(repo, conversions())


class Stopwatch:
    """Wall and this thread's CPU seconds, and calls, per part; `timing(part)` adds one span."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def timing(self, part: str) -> Iterator[None]:
        """Time the block under `part`."""
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.wall[part] += time.perf_counter() - wall
            self.cpu[part] += time.thread_time() - cpu
            self.calls[part] += 1


class DynamoHooks:
    """Every DynamoDB call's wall and thread CPU seconds by operation (botocore's hooks), and moto's own share of them.

    A call runs from `provide-client-params` (before botocore validates and serializes the request) to `after-call`
    (its response parsed); moto's part is its request handler (`BotocoreStubber.process_request`), the emulated
    DynamoDB server, which a Lambda does not run.
    """

    def __init__(self, client: Any, watch: Stopwatch) -> None:
        self.client = client
        self.watch = watch
        self._started = (0.0, 0.0)

    def _before(self, **_: Any) -> None:
        self._started = (time.perf_counter(), time.thread_time())

    def _after(self, event_name: str, **_: Any) -> None:
        part = "dynamodb:" + event_name.rsplit(".", 1)[-1]
        self.watch.wall[part] += time.perf_counter() - self._started[0]
        self.watch.cpu[part] += time.thread_time() - self._started[1]
        self.watch.calls[part] += 1

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Hooks on inside the block."""
        from moto.core.botocore_stubber import BotocoreStubber

        process_request = BotocoreStubber.process_request
        watch = self.watch

        def timed_process_request(stubber: Any, request: Any) -> Any:
            if ".dynamodb." not in str(request.url) and "//dynamodb." not in str(request.url):
                return process_request(stubber, request)
            with watch.timing("moto_server"):
                return process_request(stubber, request)

        events = self.client.meta.events
        hooks = (
            ("provide-client-params.dynamodb.*", self._before),
            ("after-call.dynamodb.*", self._after),
            ("after-call-error.dynamodb.*", self._after),
        )
        for name, hook in hooks:
            events.register(name, hook)
        BotocoreStubber.process_request = timed_process_request  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
            for name, hook in hooks:
                events.unregister(name, hook)


@contextmanager
def timed_export_code(watch: Stopwatch) -> Iterator[Any]:
    """Time `plan_events` (as steps calls it) under "build"; yields a client factory whose `send` is timed under "send"."""
    from ordertrail.export import steps
    from ordertrail.export.events_api.client import EventsApiClient

    plan_events = steps.plan_events

    def timed_plan_events(*args: Any, **kwargs: Any) -> Any:
        with watch.timing("build"):
            return plan_events(*args, **kwargs)

    def factory(*args: Any, **kwargs: Any) -> EventsApiClient:
        client = EventsApiClient(*args, **kwargs)
        send = client.send

        def timed_send(events: Any) -> Any:
            with watch.timing("send"):
                return send(events)

        client.send = timed_send  # type: ignore[method-assign]
        return client

    steps.plan_events = timed_plan_events
    try:
        yield factory
    finally:
        steps.plan_events = plan_events


def resident_mb() -> float:
    """The resident memory of this process now, in MB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_resident_mb() -> float:
    """The peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_speed(count: int, model: str, profile: str | None = None) -> dict[str, Any]:
    """Seed `count` conversions, run plan → export_chunk → finalize against the sink; the chunk's figures."""
    from moto import mock_aws

    from ordertrail.core.export_runs import ExportRun
    from ordertrail.export import steps
    from ordertrail.tally.export_chunks import Chunk
    from ordertrail_local.events_api_sink import EventsApiSink
    from ordertrail_local.moto_patches import speed_up_moto
    from ordertrail_local.template import load_template

    now = datetime.now(UTC).replace(microsecond=0)
    speed_up_moto()
    timeout = function_timeout(load_template())
    with tempfile.TemporaryDirectory(prefix="ordertrail-bench-") as scratch, mock_aws(), EventsApiSink() as sink:
        repo, directory, settings = export_tenant(scratch, model)
        end = now - settings.settle_period
        started = time.perf_counter()
        seed(repo, count, end)
        seed_seconds = time.perf_counter() - started
        # The seeded table lives in moto, in this process (on Lambda it is in DynamoDB): frozen, the garbage collector
        # no longer walks its millions of objects on every full collection the export triggers.
        gc.collect()
        gc.freeze()

        run_id = f"bench-speed-{count}"
        repo.create_run(ExportRun(run_id=run_id, tenant=TENANT, trigger="api", status="queued", created_at=now, updated_at=now))
        planned = steps.plan(repo, TENANT, run_id, end - timedelta(days=RUN_DAYS), None, now)
        (chunk_item,) = planned["chunks"]
        watch = Stopwatch()
        profiler = cProfile.Profile() if profile else None
        with DynamoHooks(repo.client, watch).installed(), timed_export_code(watch) as factory:
            rss_before = resident_mb()
            process_cpu = time.process_time()
            if profiler:
                profiler.enable()
            with watch.timing("chunk"):
                result = steps.export_chunk(
                    repo, directory, sink.url, TENANT, run_id, Chunk.model_validate(chunk_item), now, client_factory=factory
                )
            if profiler:
                profiler.disable()
            process_cpu = time.process_time() - process_cpu
            peak_growth = peak_resident_mb() - rss_before
        if profiler and profile:
            profiler.dump_stats(profile)
        finished = steps.finalize(repo, TENANT, run_id, planned["chunks"], None, now)
        requests = sink.requests
        sent = sum(len(r.events) for r in requests)
        all_accepted = all(r.accepted for r in requests)

    dynamo_ops = sorted(part for part in watch.wall if part.startswith("dynamodb:"))
    dynamo_wall = sum(watch.wall[p] for p in dynamo_ops)
    dynamo_cpu = sum(watch.cpu[p] for p in dynamo_ops)
    chunk_wall, chunk_cpu = watch.wall["chunk"], watch.cpu["chunk"]
    without_dynamo = chunk_wall - dynamo_wall
    events_per_second = sent / without_dynamo if without_dynamo > 0 else 0.0
    moto_cpu = watch.cpu["moto_server"]
    export_cpu = chunk_cpu - moto_cpu
    estimate = lambda_seconds(export_cpu)
    return {
        "conversions": count,
        "model": model,
        "events_sent": sent,
        "requests": len(requests),
        "accepted": result["accepted"],
        "skipped": result["skipped"],
        "all_requests_accepted": all_accepted and result["accepted"] == sent,
        "run_status": finished["status"],
        "seed_seconds": round(seed_seconds, 2),
        "chunk_seconds": {
            "total": round(chunk_wall, 2),
            "dynamodb": round(dynamo_wall, 2),
            "dynamodb_of_which_moto_server": round(watch.wall["moto_server"], 2),
            "build_events": round(watch.wall["build"], 2),
            "send_to_sink": round(watch.wall["send"], 2),
            "other": round(chunk_wall - dynamo_wall - watch.wall["build"] - watch.wall["send"], 2),
        },
        "events_per_second_without_dynamodb": round(events_per_second),
        "events_per_second_with_dynamodb": round(sent / chunk_wall) if chunk_wall else 0,
        "cpu_seconds": {
            "process": round(process_cpu, 2),
            "export_thread": round(chunk_cpu, 2),
            "export_thread_in_dynamodb_calls": round(dynamo_cpu, 2),
            "export_thread_in_moto_server": round(moto_cpu, 2),
            "export_thread_without_moto_server": round(export_cpu, 2),
        },
        "lambda": {
            "memory_mb": LAMBDA_MEMORY_MB,
            "vcpu_share": round(cpu_share(), 3),
            "estimate_seconds": round(estimate, 1),
            "estimate_seconds_all_process_cpu": round(lambda_seconds(process_cpu), 1),
            "timeout_seconds": timeout,
        },
        # Moto's new audit items are in it too (on Lambda they are in DynamoDB), so it overstates the chunk's own need.
        "memory_mb": {"peak_growth_during_chunk": round(peak_growth), "lambda_memory": LAMBDA_MEMORY_MB},
        "dynamodb_requests": {p.split(":", 1)[1]: watch.calls[p] for p in dynamo_ops},
        "targets": verdicts(events_per_second, estimate, timeout),
    }


def main() -> None:
    """Run the chunk and print its figures (or one JSON object with --json); exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--conversions", type=int, default=100_000, help="conversions in the chunk")
    parser.add_argument("--model", default="time_decay", help="the tenant's credit model")
    parser.add_argument("--profile", help="write a cProfile of export_chunk to this file")
    args = parser.parse_args()
    use_repository_code()
    offline_env(TABLE)
    os.environ.pop("TIKTOK_EVENTS_API_URL", None)
    row = export_speed(args.conversions, args.model, args.profile)
    met = all(row["targets"].values()) and row["all_requests_accepted"] and row["run_status"] == "succeeded"
    if args.json:
        print(json.dumps(row))
    else:
        s, cpu, lam = row["chunk_seconds"], row["cpu_seconds"], row["lambda"]
        print(f"One export chunk of {row['conversions']:,} conversions ({row['model']}), real client to the local sink, moto in-process")
        print(
            f"events sent {row['events_sent']:,} in {row['requests']} requests (all accepted: "
            f"{'yes' if row['all_requests_accepted'] else 'NO'}), skipped {row['skipped']:,}; seed {row['seed_seconds']:.1f}s"
        )
        print(
            f"chunk wall {s['total']:.1f}s = DynamoDB calls {s['dynamodb']:.1f}s (moto's server {s['dynamodb_of_which_moto_server']:.1f}s) "
            f"+ build events {s['build_events']:.1f}s + send to sink {s['send_to_sink']:.1f}s + other {s['other']:.1f}s"
        )
        print(
            f"events/s without DynamoDB time: {row['events_per_second_without_dynamodb']:,} (target >= {EVENTS_PER_SECOND_TARGET:,}); "
            f"with it: {row['events_per_second_with_dynamodb']:,}"
        )
        print(
            f"CPU: process {cpu['process']:.1f}s (moto and sink included); export thread {cpu['export_thread']:.1f}s, of which "
            f"DynamoDB calls {cpu['export_thread_in_dynamodb_calls']:.1f}s, moto's server {cpu['export_thread_in_moto_server']:.1f}s "
            f"-> without moto's server {cpu['export_thread_without_moto_server']:.1f}s"
        )
        print(
            f"512 MB arm64 Lambda gets {LAMBDA_MEMORY_MB}/{FULL_VCPU_MB} = {lam['vcpu_share']} of a vCPU: "
            f"{cpu['export_thread_without_moto_server']:.1f}s / {lam['vcpu_share']} = {lam['estimate_seconds']:.1f}s "
            f"(all process CPU: {lam['estimate_seconds_all_process_cpu']:.1f}s) vs {FUNCTION} Timeout {lam['timeout_seconds']}s "
            f"(target <= {TIMEOUT_SHARE_TARGET:.0%}); DynamoDB round trips not included"
        )
        memory = row["memory_mb"]
        print(
            f"peak memory grew {memory['peak_growth_during_chunk']:,} MB during the chunk (moto's new audit items included; "
            f"a {memory['lambda_memory']} MB Lambda holds only the export's own)"
        )
        print("DynamoDB requests: " + ", ".join(f"{op} {n:,}" for op, n in row["dynamodb_requests"].items()))
        print("Targets: " + ", ".join(f"{name}={'met' if ok else 'MISSED'}" for name, ok in row["targets"].items()))
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
