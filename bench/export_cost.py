"""Benchmark (not a test): HTTP requests and wall time to build and send N conversions to the local Events API sink.

Run `python bench/export_cost.py` (`--json` for one JSON object; `--sizes 10000,100000` by default). For each N it
seeds N attributed conversions (distinct users, one ad click each with a distinct ttclid, 19.99 USD, ordered over the
last days so none is too old) into the table built from template.yaml in moto (in-process, `mock_aws`), then runs the
real export code the state machine's steps call, in order and without Step Functions: `steps.plan` →
`steps.export_chunk` for each chunk → `steps.finalize`, sending to the EventsApiSink on 127.0.0.1, which checks every
request against the contract's JSON Schema. Targets: the requests the sink saw equal the sum over chunks of
ceil(conversions in the chunk / 1,000), every request is accepted, every conversion is accepted exactly once, and the
run succeeds with the watermark at its end.

The run covers `--run-days` (35 by default) ending at now minus the settle period, so it is cut into two chunks
([end-35d, end-5d) and [end-5d, end)) and the conversions are split across the boundary: the per-chunk batching shows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from offline import offline_env, use_repository_code

TABLE = "ordertrail-bench"
TENANT = "bench"
PIXEL = "CBENCHPIXEL0001"
TOKEN = "bench-events-token"
# Conversions are ordered over this span before the run's end (inside the default 7-day maximum event age).
SPREAD = timedelta(days=5, hours=12)
BATCH_WRITE_LIMIT = 25
MAX_EVENTS_PER_REQUEST = 1000


def conversion(index: int, ordered_at: datetime) -> Any:
    """One attributed conversion: a distinct user (id and email), one ad click 2 hours before with a distinct ttclid."""
    from ordertrail.core.conversions import ContentLine, Conversion, ConversionTouch

    clicked = ordered_at - timedelta(hours=2)
    return Conversion(
        order_id=f"{577_000_000_000_000_000 + index}",
        source="tiktok_shop",
        ordered_at=ordered_at,
        currency="USD",
        value=Decimal("19.99"),
        method="ad_click",
        counts=True,
        contents=[ContentLine(content_id="SKU-1", name="Glow serum", price=Decimal("19.99"), quantity=1)],
        user_id=f"bench-user-{index}",
        email=f"buyer{index}@example.com",
        touches=[
            ConversionTouch(
                id=f"click-{index}",
                kind="ad_click",
                at=clicked,
                arrival=clicked,
                ttclid=f"E.C.P.bench{index:08d}",
                ip="203.0.113.7",
                user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
                url="https://shop.example.com/products/glow-serum",
            )
        ],
    )


def seed(repo: Any, count: int, end: datetime) -> list[datetime]:
    """Write `count` conversions ordered over [end - SPREAD, end) with BatchWriteItem, in the repository's own item format.

    The product writes a conversion inside the order's attribution transaction; the bench stores the same item
    (`repository.conversion_item`) 25 at a time. Returns the order times (to compute the expected requests).
    """
    first = end - SPREAD
    step = SPREAD / count
    times = [first + index * step for index in range(count)]
    store_conversions(repo, (conversion(index, ordered_at) for index, ordered_at in enumerate(times)))
    return times


def store_conversions(repo: Any, conversions: Iterable[Any]) -> None:
    """Store conversions as the repository stores them (`conversion_item`), 25 to a BatchWriteItem, resending unprocessed ones."""
    from ordertrail.storage.attributions import conversion_item
    from ordertrail.storage.table import serialize

    puts = [{"PutRequest": {"Item": serialize(conversion_item(TENANT, c))}} for c in conversions]
    for start in range(0, len(puts), BATCH_WRITE_LIMIT):
        request: dict[str, Any] = {TABLE: puts[start : start + BATCH_WRITE_LIMIT]}
        while request:
            request = repo.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


class DynamoTimer:
    """Counts DynamoDB requests and the time spent in them (moto, in-process), by operation, via botocore's event hooks."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self._started = 0.0

    def _before(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        self.seconds[operation] += time.perf_counter() - self._started

    @contextmanager
    def measuring(self) -> Iterator[DynamoTimer]:
        """Count and time the client's requests inside the block."""
        self.client.meta.events.register("before-call.dynamodb.*", self._before)
        self.client.meta.events.register("after-call.dynamodb.*", self._after)
        try:
            yield self
        finally:
            self.client.meta.events.unregister("before-call.dynamodb.*", self._before)
            self.client.meta.events.unregister("after-call.dynamodb.*", self._after)

    def snapshot(self) -> dict[str, dict[str, float]]:
        """Requests and seconds per operation so far."""
        return {op: {"requests": self.calls[op], "seconds": round(self.seconds[op], 3)} for op in sorted(self.calls)}


def timed_client_factory(send_seconds: list[float]) -> Any:
    """The real EventsApiClient, with each `send` (HTTP round trip, including the in-process sink's validation) timed."""
    from ordertrail.export.events_api.client import EventsApiClient

    def factory(*args: Any, **kwargs: Any) -> EventsApiClient:
        client = EventsApiClient(*args, **kwargs)
        send = client.send

        def timed_send(events: Any) -> Any:
            started = time.perf_counter()
            try:
                return send(events)
            finally:
                send_seconds.append(time.perf_counter() - started)

        client.send = timed_send  # type: ignore[method-assign]
        return client

    return factory


def export_tenant(scratch: str, model: str | None = None) -> tuple[Any, Any, Any]:
    """An export-enabled tenant in a fresh table (inside mock_aws): (repository, tenant directory, settings).

    As PUT /settings does: settings to the table, the write-only token to the tenant's secret (a tenants file in `scratch`).
    """
    from ordertrail.core.tenant_settings import ExportSettings, TenantSettings
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.table import dynamodb_client
    from ordertrail.storage.tenant_config import replace_settings
    from ordertrail.storage.tenant_secrets import FileTenantDirectory
    from ordertrail_local.template import create_table

    tenants_file = Path(scratch) / "tenants.json"
    tenants_file.write_text(json.dumps({"tenants": {TENANT: {"api_keys": ["bench-key"], "tiktok_events": {"pixel_code": PIXEL}}}}))
    directory = FileTenantDirectory(tenants_file)
    client = dynamodb_client()  # the functions' own client settings
    create_table(client, TABLE)
    repo = Repository(TABLE, client)
    export = ExportSettings(enabled=True, pixel_code=PIXEL, access_token=TOKEN, **({"model": model} if model else {}))
    settings = TenantSettings(export=export)
    replace_settings(repo, directory, TENANT, settings)
    return repo, directory, settings


def export_cost(count: int, run_days: int, plain_moto: bool = False) -> dict[str, Any]:
    """Seed `count` conversions, run plan → export_chunk per chunk → finalize against the sink; figures for this N.

    `plain_moto` runs moto as released: `ordertrail_local.moto_patches.speed_up_moto` is not installed (it scopes each
    Query page to its partition and each transaction's rollback to its items; it cannot be uninstalled in a process).
    """
    from moto import mock_aws

    from ordertrail.core.export_runs import ExportRun
    from ordertrail.export import steps
    from ordertrail.tally.export_chunks import Chunk
    from ordertrail_local.events_api_sink import EventsApiSink
    from ordertrail_local.moto_patches import speed_up_moto

    now = datetime.now(UTC).replace(microsecond=0)
    if not plain_moto:
        speed_up_moto()
    with tempfile.TemporaryDirectory(prefix="ordertrail-bench-") as scratch, mock_aws(), EventsApiSink() as sink:
        repo, directory, settings = export_tenant(scratch)
        end = now - settings.settle_period
        start = end - timedelta(days=run_days)

        started = time.perf_counter()
        ordered = seed(repo, count, end)
        seed_seconds = time.perf_counter() - started

        timer = DynamoTimer(repo.client)
        send_seconds: list[float] = []
        run_id = f"bench-{count}"
        repo.create_run(
            ExportRun(run_id=run_id, tenant=TENANT, trigger="api", status="queued", requested_from=start, created_at=now, updated_at=now)
        )
        with timer.measuring():
            started = time.perf_counter()
            planned = steps.plan(repo, TENANT, run_id, start, None, now)
            chunk_results = [
                steps.export_chunk(
                    repo,
                    directory,
                    sink.url,
                    TENANT,
                    run_id,
                    Chunk.model_validate(item),
                    now,
                    client_factory=timed_client_factory(send_seconds),
                )
                for item in planned["chunks"]
            ]
            export_seconds = time.perf_counter() - started
            dynamo_export = timer.snapshot()
            started = time.perf_counter()
            finished = steps.finalize(repo, TENANT, run_id, planned["chunks"], None, now)
            finalize_seconds = time.perf_counter() - started
        dynamo_all = timer.snapshot()

        chunks = [Chunk.model_validate(item) for item in planned["chunks"]]
        per_chunk = [sum(1 for at in ordered if c.start <= at < c.end) for c in chunks]
        expected_per_chunk = [math.ceil(n / MAX_EVENTS_PER_REQUEST) for n in per_chunk]
        expected = sum(expected_per_chunk)
        sent_per_chunk = [result["requests"] for result in chunk_results]
        requests = sink.requests
        accepted_ids = [event["event_id"] for event in sink.accepted_events()]

    total_seconds = seed_seconds + export_seconds + finalize_seconds
    audit_write_seconds = dynamo_export.get("BatchWriteItem", {}).get("seconds", 0.0)
    dynamo_export_seconds = sum(op["seconds"] for op in dynamo_export.values())
    http_seconds = sum(send_seconds)
    return {
        "conversions": count,
        "chunks": len(chunks),
        "conversions_per_chunk": per_chunk,
        "requests": len(requests),
        "expected_requests": expected,
        "requests_ok": len(requests) == expected and all(r.accepted for r in requests) and sent_per_chunk == expected_per_chunk,
        "requests_per_chunk": sent_per_chunk,
        "largest_request_events": max((len(r.events) for r in requests), default=0),
        "events_accepted": len(accepted_ids),
        "events_skipped": sum(r["skipped"] for r in chunk_results),
        "events_ok": len(accepted_ids) == count == len(set(accepted_ids)) and sum(r["accepted"] for r in chunk_results) == count,
        "run_status": finished["status"],
        "watermark_at_end": finished["watermark"] == end.isoformat(),
        "seconds": {
            "total": round(total_seconds, 2),
            "seed": round(seed_seconds, 2),
            "plan_export": round(export_seconds, 2),
            "finalize": round(finalize_seconds, 2),
        },
        "plan_export_breakdown": {
            "dynamodb_moto": round(dynamo_export_seconds, 2),
            "audit_batch_write_moto": round(audit_write_seconds, 2),
            "http_send_and_sink": round(http_seconds, 2),
            "build_and_plan_events": round(export_seconds - dynamo_export_seconds - http_seconds, 2),
        },
        "events_per_second": round(count / export_seconds) if export_seconds else None,
        "dynamodb": dynamo_all,
    }


def _verdict(row: dict[str, Any]) -> str:
    """Where plan+export spent its time: the audit rows' BatchWriteItem share, and the largest part."""
    parts = row["plan_export_breakdown"]
    export_seconds = row["seconds"]["plan_export"] or 1.0
    audit = parts["audit_batch_write_moto"] / export_seconds
    biggest = max(("dynamodb_moto", "http_send_and_sink", "build_and_plan_events"), key=lambda name: parts[name])
    audit_text = (
        f"moto BatchWriteItem of the audit rows (3 per event: run result, ledger, first-conversion claim) "
        f"{'DOMINATES' if audit >= 0.5 else 'takes'} {audit:.0%} of plan+export"
    )
    return f"{audit_text}; largest part: {biggest} {parts[biggest] / export_seconds:.0%}"


def main() -> None:
    """Run each size and print a table (or one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default="10000,100000", help="conversions to export, comma-separated")
    parser.add_argument("--run-days", type=int, default=35, help="days the run covers, ending at now minus the settle period")
    parser.add_argument("--plain-moto", action="store_true", help="run moto as released, without ordertrail_local.moto_patches (slow)")
    args = parser.parse_args()
    use_repository_code()
    offline_env(TABLE)
    os.environ.pop("TIKTOK_EVENTS_API_URL", None)
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    for size in sizes:
        row = export_cost(size, args.run_days, args.plain_moto)
        row["verdict"] = _verdict(row)
        rows.append(row)
        if not args.json:
            print(f"N={size:,} done in {row['seconds']['total']:.1f}s", file=sys.stderr)
    result = {
        "moto_partition_scoped_queries": not args.plain_moto,
        "exports": rows,
        "targets": {
            "requests_equal_ceil_per_chunk": all(r["requests_ok"] for r in rows),
            "every_event_accepted_once": all(r["events_ok"] for r in rows),
            "runs_succeeded": all(r["run_status"] == "succeeded" and r["watermark_at_end"] for r in rows),
        },
    }
    if args.json:
        print(json.dumps(result))
        return
    print("Export to the local Events API sink (real export code, moto in-process, sink on 127.0.0.1)")
    header = (
        f"{'conversions':>11} | {'chunks':>6} | {'requests':>8} | {'expected':>8} | {'ok':>3} | {'accepted':>8} | "
        f"{'total s':>7} | {'seed s':>6} | {'plan+exp s':>10} | {'final s':>7} | {'events/s':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        s = r["seconds"]
        print(
            f"{r['conversions']:>11,} | {r['chunks']:>6} | {r['requests']:>8} | {r['expected_requests']:>8} | "
            f"{'yes' if r['requests_ok'] else 'NO':>3} | {r['events_accepted']:>8,} | {s['total']:>7.1f} | {s['seed']:>6.1f} | "
            f"{s['plan_export']:>10.1f} | {s['finalize']:>7.1f} | {r['events_per_second']:>8,}"
        )
    print("\nConversions per chunk and where plan+export spent its time")
    for r in rows:
        parts = ", ".join(f"{name} {value:.1f}s" for name, value in r["plan_export_breakdown"].items())
        print(f"{r['conversions']:>11,}: per chunk {r['conversions_per_chunk']}; {parts}")
        print(f"{'':>13}{r['verdict']}")
    print("\nDynamoDB requests (plan+export+finalize)")
    for r in rows:
        ops = ", ".join(f"{name} {v['requests']:,} ({v['seconds']:.1f}s)" for name, v in r["dynamodb"].items())
        print(f"{r['conversions']:>11,}: {ops}")
    if not args.plain_moto:
        print(
            "\nmoto speed-up (emulator only, product untouched: ordertrail_local.moto_patches): each Query page reads only its "
            "partition instead of moto sorting the whole table per page, and a transaction backs up only its items; "
            "--plain-moto leaves it out."
        )
        print("DynamoDB time is in-process moto (request parsing, response serialization); the sink validates in this process too.")
    print("\nTargets: " + ", ".join(f"{name}={'met' if ok else 'MISSED'}" for name, ok in result["targets"].items()))


if __name__ == "__main__":
    main()
