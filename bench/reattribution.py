"""Benchmark (not a test): a re-attribution run after a settings change: DynamoDB requests per order, orders/s, AWS estimate.

Run `.venv/bin/python bench/reattribution.py` (`--orders 10000 100000` by default, one or more N; `--orders-per-day`,
300 by default; `--json` for one JSON object). For each N, in the table built from template.yaml in moto (in-process,
`mock_aws`), it stores N orders spread evenly over max(1, N // orders-per-day) UTC days ending yesterday, one buyer
each, with the journey of bench/attribution_cost.py (comment, DM, two flow steps, shop link, through `put_touchpoints`),
the shop link 1 hour + 0 to 6 days (even orders) or 7 to 13 days (odd ones) before the order, and attributes each order
once with `attribute_order`, as the stream does (all untimed). Then it shortens the conversation window from 14 to 7
days (`put_tenant_settings`), so the odd half goes from conversation to organic, and re-attributes every day:
`runs.start` (with a launcher that starts no execution), `runs.plan`, then `runs.reattribute_day` for each day until it
is done, exactly what each Distributed Map child of ReattributeOrdersStateMachine does, then `runs.finalize` and
`runs.report`.

Only the `reattribute_day` phase is timed and metered: its DynamoDB requests by operation (botocore's hooks, as
bench/export_speed.py counts them, with moto's emulated server timed apart), their request units sized from the items
by DynamoDB's rules (bench/aws_cost.py's rules; moto reports no consumed capacity), and the CPU seconds of the product's
code (this thread's, moto's server and the meters left out). Requests per order must be the same at every N: the
table shows them side by side.

The AWS estimate re-attributes ESTIMATE_ORDERS over ESTIMATE_DAYS days with these per-order figures: each order's Lambda
time is its requests' latencies (LATENCY_MS, assumptions) plus its CPU seconds scaled to the ReattributeDayFunction's
vCPU share (512 MB: 0.289 of a vCPU, as bench/export_speed.py scales), as many days at once as the map's MaxConcurrency (read
from the ASL); priced with bench/aws_cost.py's dated PRICES. Moto does not delete expired items (TTL), so every order
still finds its touchpoints however old it is.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from attribution_cost import journey, order_for
from aws_cost import (
    PRICES,
    PRICES_CHECKED,
    READ_OPERATIONS,
    WRITE_OPERATIONS,
    computed_write_units,
    function_memory,
    item_size,
    read_units,
    state_transitions,
)
from export_speed import DynamoHooks, Stopwatch, cpu_share, function_timeout
from offline import ROOT, offline_env, use_repository_code

if TYPE_CHECKING:
    from ordertrail.core.tenant_settings import TenantSettings
    from ordertrail.storage.repository import Repository

TABLE = "ordertrail-bench"
TENANT = "bench"
FUNCTION = "ReattributeDayFunction"
DEFAULT_ORDERS = (10_000, 100_000)
DEFAULT_ORDERS_PER_DAY = 300
TOUCHES = 5  # comment, DM, 2 flow steps, shop link
WINDOW_BEFORE_DAYS = 14  # the default conversation window the orders were attributed under
WINDOW_AFTER_DAYS = 7  # the run's: orders whose shop link is more than 7 days old become organic
# Order `index` comes 1 hour + 0..6 days (even index) or 7..13 days (odd) after its shop link: exactly half the orders
# (of an even N) change method under the shorter window, at every N, so requests per order compare across N.
GAP_CYCLE_DAYS = 7
ASL = ROOT / "infra" / "statemachine" / "reattribute_orders.asl.json"

# The AWS estimate: ESTIMATE_ORDERS placed evenly over ESTIMATE_DAYS (a year of a large shop, one run; a run covers at
# most 731 days). ASSUMPTIONS, not measurements: DynamoDB's latency per request as a Lambda in the table's region sees it
# (typical single-digit milliseconds; a transaction of ~17 items slower). Operations not listed take DEFAULT_LATENCY_MS.
ESTIMATE_ORDERS = 10_000_000
ESTIMATE_DAYS = 365
LATENCY_MS: dict[str, float] = {
    "Query": 6.0,
    "BatchGetItem": 8.0,
    "TransactWriteItems": 15.0,
    "GetItem": 5.0,
    "PutItem": 5.0,
    "UpdateItem": 5.0,
    "DeleteItem": 5.0,
}
DEFAULT_LATENCY_MS = 5.0


# ------------------------------------------------------------------------------------------------ request units
class UnitMeter:
    """Request units of every DynamoDB call by operation: writes from the request's items, reads from the items returned."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.units: dict[str, float] = defaultdict(float)
        self.cpu_seconds = 0.0  # the meter's own work, left out of the product's CPU

    def _keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """before-parameter-build.dynamodb: keep the request's parameters for sizing its units."""
        context["reattribution_params"] = params

    def _count(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """after-call.dynamodb: add the call's units (a failed condition pays all the same)."""
        started = time.thread_time()
        operation = model.name
        params = context.get("reattribution_params") or {}
        if operation in WRITE_OPERATIONS:
            self.units[operation] += computed_write_units(operation, params)
        elif operation in READ_OPERATIONS:
            self.units[operation] += returned_read_units(operation, params, parsed)
        self.cpu_seconds += time.thread_time() - started

    def installed(self) -> UnitMeter:
        """Register the hooks (until `remove`)."""
        self.client.meta.events.register("before-parameter-build.dynamodb", self._keep_params)
        self.client.meta.events.register("after-call.dynamodb", self._count)
        return self

    def remove(self) -> None:
        """Unregister the hooks."""
        self.client.meta.events.unregister("before-parameter-build.dynamodb", self._keep_params)
        self.client.meta.events.unregister("after-call.dynamodb", self._count)


def returned_read_units(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> float:
    """Read units of a read from what it returned: a Query's items summed, each key of a Get on its own (a miss pays the least)."""
    if operation == "GetItem":
        item = parsed.get("Item")
        return read_units(item_size(item) if item else 0, bool(params.get("ConsistentRead")))
    if operation in ("Query", "Scan"):
        return read_units(sum(item_size(i) for i in parsed.get("Items") or []), bool(params.get("ConsistentRead")))
    if operation == "BatchGetItem":
        total = 0.0
        for table, request in (params.get("RequestItems") or {}).items():
            consistent = bool(request.get("ConsistentRead"))
            found = (parsed.get("Responses") or {}).get(table) or []
            missing = max(0, len(request.get("Keys") or []) - len(found))
            total += sum(read_units(item_size(i), consistent) for i in found) + missing * read_units(0, consistent)
        return total
    return 0.0


# ------------------------------------------------------------------------------------------------ the state machine's shape
def map_state(asl: dict[str, Any]) -> dict[str, Any]:
    """The definition's Distributed Map state (ReattributeDays)."""
    return next(state for state in asl["States"].values() if state.get("Type") == "Map")


def child_transitions(asl: dict[str, Any], steps: int) -> int:
    """States one map child enters when its day takes `steps` ReattributeDay invocations: the loop `steps` times, then its end."""
    inner = map_state(asl)["ItemProcessor"]
    states, name, loop = inner["States"], inner["StartAt"], 0
    while states[name]["Type"] != "Choice":
        loop += 1
        name = states[name]["Next"]
    loop += 1  # the Choice itself, entered after every step
    return steps * loop + state_transitions({"StartAt": states[name]["Default"], "States": states})


# ------------------------------------------------------------------------------------------------ seeding
def day_orders(count: int, days: int, first_day: date) -> list[tuple[int, datetime]]:
    """Every order's index and placement time: spread evenly over the days, each day's orders evenly over its 24 hours."""
    placed = []
    for d in range(days):
        indices = range(d * count // days, (d + 1) * count // days)
        start = datetime.combine(first_day + timedelta(days=d), datetime.min.time(), UTC)
        placed += [(index, start + timedelta(seconds=(k + 0.5) * 86_400 / len(indices))) for k, index in enumerate(indices)]
    return placed


def gap_days(index: int) -> int:
    """Whole days between order `index`'s shop link and the order (plus 1 hour): 0..6 for an even index, 7..13 for an odd one."""
    return (index % 2) * GAP_CYCLE_DAYS + (index // 2) % GAP_CYCLE_DAYS


def changes_method(index: int) -> bool:
    """Whether order `index` goes from conversation to organic under the shorter window (its link is over 7 days older)."""
    return gap_days(index) >= WINDOW_AFTER_DAYS


def seed(repo: Repository, settings: TenantSettings, count: int, days: int, first_day: date, now: datetime) -> int:
    """Store the touchpoints and orders and attribute each order once, as the stream does; the orders the run should change."""
    from ordertrail.attribution.attribute import attribute_order
    from ordertrail.runtime.observability import metrics
    from ordertrail.storage.orders import StoredOrder

    expected = 0
    for index, ordered_at in day_orders(count, days, first_day):
        buyer = f"buyer-{index}"
        link_at = ordered_at - timedelta(days=gap_days(index), hours=1)
        repo.put_touchpoints(TENANT, journey(buyer, TOUCHES, link_at - timedelta(minutes=TOUCHES + 1)), settings)
        order = order_for(buyer, f"{576_000_000_000_000_000 + index}").model_copy(
            update={"created_at": ordered_at, "updated_at": ordered_at}
        )
        received = ordered_at + timedelta(seconds=30)
        repo.put_order(TENANT, order, received)
        decision = attribute_order(repo, StoredOrder(TENANT, order, received), now, settings)
        metrics.clear_metrics()  # the stream's handler flushes them after each batch (log_metrics)
        if decision.method != "conversation":
            raise RuntimeError(f"order {index} attributed {decision.method}, not conversation: the seed is not the journey meant")
        expected += changes_method(index)
    return expected


# ------------------------------------------------------------------------------------------------ the run
def reattribution(count: int, per_day: int) -> dict[str, Any]:
    """Seed `count` orders, shorten the window, re-attribute every day as the map's children do; the run's figures."""
    from moto import mock_aws

    from ordertrail.core.reattribution_runs import ReattributionRequest
    from ordertrail.reattribution import runs
    from ordertrail.runtime.observability import metrics
    from ordertrail.storage.executions import ExecutionLauncher
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.table import dynamodb_client
    from ordertrail_local.moto_patches import speed_up_moto
    from ordertrail_local.template import create_table

    class NoLauncher(ExecutionLauncher):
        """Starts no execution: the bench runs the state machine's steps itself."""

        def start(self, run_id: str, payload: dict[str, Any]) -> str:
            """Nothing to start; the execution's would-be ARN."""
            return f"{self.state_machine_arn}:{run_id}"

    days = max(1, count // per_day)
    now = datetime.now(UTC).replace(microsecond=0)
    first_day = now.date() - timedelta(days=days)
    speed_up_moto()
    with mock_aws():
        client = dynamodb_client()  # the functions' own client settings
        create_table(client, TABLE)
        repo = Repository(TABLE, client)
        settings = repo.get_tenant_settings(TENANT).model_copy(update={"conversation_window_days": WINDOW_BEFORE_DAYS})
        repo.put_tenant_settings(TENANT, settings)
        started = time.perf_counter()
        expected = seed(repo, settings, count, days, first_day, now)
        seed_seconds = time.perf_counter() - started
        # The seeded table lives in moto, in this process (on Lambda it is in DynamoDB): out of the collector's walks.
        gc.collect()
        gc.freeze()

        repo.put_tenant_settings(TENANT, settings.model_copy(update={"conversation_window_days": WINDOW_AFTER_DAYS}))
        run_now = datetime.now(UTC).replace(microsecond=0)
        request = ReattributionRequest.model_validate(
            {"from": first_day.isoformat(), "to": (first_day + timedelta(days=days - 1)).isoformat()}
        )
        setup = Stopwatch()
        with DynamoHooks(client, setup).installed():
            run_id = runs.start(
                repo, NoLauncher("arn:aws:states:us-east-1:123456789012:stateMachine:bench"), TENANT, request, run_now
            ).run_id
            planned = runs.plan(repo, TENANT, run_id, run_now)

        watch, meter, steps = Stopwatch(), UnitMeter(client).installed(), 0
        with DynamoHooks(client, watch).installed():
            wall, cpu = time.perf_counter(), time.thread_time()
            for on_day in planned["days"]:
                done = False
                while not done:  # the child's ReattributeDay → DayDone? loop
                    step = runs.reattribute_day(
                        repo, lambda _tenant: None, TENANT, run_id, date.fromisoformat(on_day), run_now, lambda: 900.0
                    )
                    metrics.clear_metrics()  # day_handler's log_metrics flushes them after each invocation
                    done, steps = bool(step["done"]), steps + 1
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        meter.remove()
        with DynamoHooks(client, setup).installed():
            finished = runs.finalize(repo, TENANT, run_id, None, run_now)
        report = runs.report(repo, TENANT, run_id)
    gc.unfreeze()
    gc.collect()

    calls = {part.split(":", 1)[1]: n for part, n in sorted(watch.calls.items()) if part.startswith("dynamodb:")}
    seen = report.orders_seen
    product_cpu = cpu - watch.cpu["moto_server"] - meter.cpu_seconds
    return {
        "orders": count,
        "days": days,
        "orders_per_day": round(count / days, 1),
        "day_invocations": steps,
        "seed_seconds": round(seed_seconds, 1),
        "reattribution_seconds": round(wall, 2),
        "orders_per_second": round(seen / wall, 1) if wall else None,
        "moto_server_seconds": round(watch.wall["moto_server"], 2),
        "cpu_ms_per_order": round(product_cpu * 1000 / seen, 3),
        "run_status": finished["status"],
        "orders_seen": seen,
        "orders_changed": report.orders_changed,
        "method_changed": report.method_changed,
        "errors": report.errors,
        "expected_method_changed": expected,
        "requests": calls,
        "requests_per_order": {op: round(n / seen, 4) for op, n in calls.items()},
        "requests_per_order_total": round(sum(calls.values()) / seen, 4),
        "units_per_order": {op: round(units / seen, 4) for op, units in sorted(meter.units.items())},
        "start_plan_finalize_requests": {p.split(":", 1)[1]: n for p, n in sorted(setup.calls.items()) if p.startswith("dynamodb:")},
    }


# ------------------------------------------------------------------------------------------------ AWS estimate
def aws_estimate(row: dict[str, Any], asl: dict[str, Any], memory_mb: int, timeout_s: int) -> dict[str, Any]:
    """Wall time and dollars of re-attributing ESTIMATE_ORDERS on AWS with one N's per-order figures."""
    from ordertrail.reattribution.runs import PAGE_SIZE, PAGES_PER_STEP

    per_order = row["requests_per_order"]
    latency_s = sum(n * LATENCY_MS.get(op, DEFAULT_LATENCY_MS) for op, n in per_order.items()) / 1000
    cpu_s = row["cpu_ms_per_order"] / 1000 / cpu_share(memory_mb)
    order_s = latency_s + cpu_s
    concurrency = int(map_state(asl)["MaxConcurrency"])
    orders_per_day = math.ceil(ESTIMATE_ORDERS / ESTIMATE_DAYS)
    steps_per_day = math.ceil(orders_per_day / (PAGE_SIZE * PAGES_PER_STEP))
    invocations = ESTIMATE_DAYS * steps_per_day + 2  # + Plan and Finalize
    lambda_s = ESTIMATE_ORDERS * order_s
    waves = math.ceil(ESTIMATE_DAYS / concurrency)
    transitions = state_transitions(asl, chunks=0) + ESTIMATE_DAYS * child_transitions(asl, steps_per_day)
    units = row["units_per_order"]
    write_units = sum(u for op, u in units.items() if op in WRITE_OPERATIONS) * ESTIMATE_ORDERS
    read_units_ = sum(u for op, u in units.items() if op in READ_OPERATIONS) * ESTIMATE_ORDERS
    usd = {
        "lambda_duration": lambda_s * memory_mb / 1024 * PRICES["lambda_arm64_gb_second"]["usd"],
        "lambda_requests": invocations * PRICES["lambda_request"]["usd"],
        "step_functions": transitions * PRICES["step_functions_state_transition"]["usd"],
        "dynamodb_writes": write_units * PRICES["dynamodb_write_request_unit"]["usd"],
        "dynamodb_reads": read_units_ * PRICES["dynamodb_read_request_unit"]["usd"],
    }
    return {
        "orders": ESTIMATE_ORDERS,
        "days": ESTIMATE_DAYS,
        "orders_per_day": orders_per_day,
        "concurrency": concurrency,
        "order_ms": {
            "dynamodb_latency": round(latency_s * 1000, 2),
            "cpu_at_vcpu_share": round(cpu_s * 1000, 2),
            "total": round(order_s * 1000, 2),
        },
        "step_seconds": round(PAGE_SIZE * PAGES_PER_STEP * order_s, 1),
        "step_timeout_seconds": timeout_s,
        "wall_hours": round(waves * orders_per_day * order_s / 3600, 2),
        "lambda_invocations": invocations,
        "lambda_gb_seconds": round(lambda_s * memory_mb / 1024),
        "state_transitions": transitions,
        "write_units": round(write_units),
        "read_units": round(read_units_),
        "peak_write_units_per_second": round(concurrency * sum(u for op, u in units.items() if op in WRITE_OPERATIONS) / order_s),
        "usd": {name: round(value, 2) for name, value in usd.items()},
        "usd_total": round(sum(usd.values()), 2),
    }


# ------------------------------------------------------------------------------------------------ output
def print_table(result: dict[str, Any]) -> None:
    """The human-readable report: one column per N."""
    rows, estimates = result["runs"], result["aws_estimate"]
    width = 15

    def line(label: str, values: list[str]) -> None:
        print(f"{label:<40}" + "".join(f" | {v:>{width}}" for v in values))

    print(
        f"Re-attribution after conversation_window_days {WINDOW_BEFORE_DAYS} -> {WINDOW_AFTER_DAYS}: runs.reattribute_day over every day "
        "(moto in-process, one process)"
    )
    line("N (orders stored and re-attributed)", [f"{r['orders']:,}" for r in rows])
    line("days (orders a day)", [f"{r['days']} ({r['orders_per_day']:.0f})" for r in rows])
    line("ReattributeDay invocations", [f"{r['day_invocations']:,}" for r in rows])
    line("seen / changed / method changed", [f"{r['orders_seen']}/{r['orders_changed']}/{r['method_changed']}" for r in rows])
    line("expected method changed; errors", [f"{r['expected_method_changed']}; {r['errors']}" for r in rows])
    line("wall s (moto's server s)", [f"{r['reattribution_seconds']:.1f} ({r['moto_server_seconds']:.1f})" for r in rows])
    line("orders/s (moto, one process)", [f"{r['orders_per_second']:,.1f}" for r in rows])
    line("CPU ms per order (moto's server out)", [f"{r['cpu_ms_per_order']:.2f}" for r in rows])
    line("DynamoDB requests per order", [f"{r['requests_per_order_total']:.4f}" for r in rows])
    for op in sorted({op for r in rows for op in r["requests_per_order"]}):
        line(f"  {op}", [f"{r['requests_per_order'].get(op, 0):.4f}" for r in rows])
    line("write units per order (sized)", [f"{sum(u for o, u in r['units_per_order'].items() if o in WRITE_OPERATIONS):.3f}" for r in rows])
    line("read units per order (sized)", [f"{sum(u for o, u in r['units_per_order'].items() if o in READ_OPERATIONS):.3f}" for r in rows])
    first = estimates[0]
    print(
        f"\nAWS estimate: {first['orders']:,} orders over {first['days']} days ({first['orders_per_day']:,} a day), "
        f"{first['concurrency']} days at once, {result['memory_mb']} MB arm64 ({cpu_share(result['memory_mb']):.3f} of a vCPU); "
        f"prices checked {PRICES_CHECKED}"
    )
    print("assumed DynamoDB latencies (ms): " + ", ".join(f"{op} {ms:g}" for op, ms in LATENCY_MS.items()))
    line("from the figures of N =", [f"{r['orders']:,}" for r in rows])
    line(
        "ms per order: DynamoDB + CPU = total",
        [
            f"{e['order_ms']['dynamodb_latency']:.1f}+{e['order_ms']['cpu_at_vcpu_share']:.1f}={e['order_ms']['total']:.1f}"
            for e in estimates
        ],
    )
    line("s per step of 2,000 orders (Timeout)", [f"{e['step_seconds']:.0f} ({e['step_timeout_seconds']})" for e in estimates])
    line("wall hours", [f"{e['wall_hours']:.2f}" for e in estimates])
    line("Lambda invocations / GB-s", [f"{e['lambda_invocations']:,}/{e['lambda_gb_seconds']:,}" for e in estimates])
    line("state transitions", [f"{e['state_transitions']:,}" for e in estimates])
    line(f"peak write units/s ({first['concurrency']} days at once)", [f"{e['peak_write_units_per_second']:,}" for e in estimates])
    for name in first["usd"]:
        line(f"$ {name.replace('_', ' ')}", [f"{e['usd'][name]:,.2f}" for e in estimates])
    line("$ total", [f"{e['usd_total']:,.2f}" for e in estimates])
    constant = result["requests_per_order_constant"]
    print(f"\nRequests per order the same at every N (within {result['tolerance']}): {'yes' if constant else 'NO'}")


def main() -> None:
    """Run each N and print the table (or one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--orders", type=int, nargs="+", default=list(DEFAULT_ORDERS), help="orders to re-attribute (one or more N)")
    parser.add_argument("--orders-per-day", type=int, default=DEFAULT_ORDERS_PER_DAY, help="orders placed a day")
    args = parser.parse_args()
    use_repository_code()
    offline_env(TABLE)
    from ordertrail.core.reattribution_runs import MAX_DAYS
    from ordertrail_local.template import load_template

    if min(args.orders) < 1 or args.orders_per_day < 1:
        parser.error("--orders and --orders-per-day must be at least 1")
    if max(n // args.orders_per_day for n in args.orders) > MAX_DAYS:
        parser.error(f"a run covers at most {MAX_DAYS} days: raise --orders-per-day")
    template = load_template()
    memory = function_memory(template).get(FUNCTION, 512)
    timeout = function_timeout(template, FUNCTION)
    asl = json.loads(ASL.read_text(encoding="utf-8"))
    rows = []
    for count in args.orders:
        rows.append(reattribution(count, args.orders_per_day))
        if not args.json:
            print(f"N={count:,} done (seed {rows[-1]['seed_seconds']:.0f}s, run {rows[-1]['reattribution_seconds']:.0f}s)", file=sys.stderr)
    # Per-page and per-day requests are spread over slightly different day sizes at each N: equal to 1%.
    tolerance = 0.01
    totals = [r["requests_per_order_total"] for r in rows]
    result = {
        "memory_mb": memory,
        "latency_ms_assumed": LATENCY_MS,
        "prices_checked": PRICES_CHECKED,
        "runs": rows,
        "aws_estimate": [aws_estimate(r, asl, memory, timeout) for r in rows],
        "tolerance": tolerance,
        "requests_per_order_constant": max(totals) - min(totals) <= tolerance * min(totals),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
