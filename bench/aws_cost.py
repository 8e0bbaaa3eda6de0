"""Benchmark (not a test): AWS cost per 1 million orders, counted in a real local run and priced at us-east-1 list prices.

Run `make bench` (or `python bench/aws_cost.py --json`, `--orders N`). Each order is a 10-webhook journey (9 touchpoints:
comment, DM, 3 flow steps, shop link, ad click, creator click, a second comment; then 1 TikTok Shop order notification)
sent through the template's HTTP API to the real handlers, the table on DynamoDB Local, its stream delivered to the real
stream functions, the order detail fetched from the TikTok Shop stand-in. botocore event hooks ask DynamoDB for its own
consumed capacity on every call (ReturnConsumedCapacity=TOTAL) and sum it per operation; the runtime counts invocations,
wall time and log bytes per function. The figures are priced with PRICES and printed next to FLOOR (the least any design
could pay for the same job). Target: total <= 1.5 x the floor; exit 1 when it is missed.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from offline import ROOT, use_repository_code

TENANT = "demo"
TABLE = "ordertrail-aws-cost"
DEFAULT_ORDERS = 200
TARGET_RATIO = 1.5
MILLION = 1_000_000
# Orders a month the amortised figures (secret reads, the daily export) are spread over: the 1 million orders priced.
ORDERS_PER_MONTH = MILLION
SECONDS_PER_MONTH = 30 * 86_400
EXPORT_RUNS_PER_MONTH = 30  # the daily schedule, one tenant

# us-east-1 list prices, checked 2026-12-02 (the public pricing pages below, read through stored copies; the DynamoDB
# on-demand figures are those after the 1 November 2024 cut, confirmed by two independent write-ups of the change).
PRICES_CHECKED = "2026-12-02"
PRICES: dict[str, dict[str, Any]] = {
    "dynamodb_write_request_unit": {
        "usd": 0.625 / MILLION,
        "unit": "write request unit (on-demand)",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    "dynamodb_read_request_unit": {
        "usd": 0.125 / MILLION,
        "unit": "read request unit (on-demand)",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    "dynamodb_streams_read_request": {
        "usd": 0.0,
        "unit": "GetRecords by a Lambda trigger (free; $0.02 per 100,000 for other readers)",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    "lambda_request": {"usd": 0.20 / MILLION, "unit": "Lambda request", "source": "https://aws.amazon.com/lambda/pricing/"},
    "lambda_arm64_gb_second": {
        "usd": 0.0000133334,
        "unit": "arm64 GB-second (first 7.5 billion a month)",
        "source": "https://aws.amazon.com/lambda/pricing/",
    },
    "http_api_request": {
        "usd": 1.00 / MILLION,
        "unit": "HTTP API request (first 300 million a month, 512 KB each)",
        "source": "https://aws.amazon.com/api-gateway/pricing/",
    },
    "cloudwatch_logs_gb_ingested": {
        "usd": 0.50,
        "unit": "GB of Lambda logs ingested (Standard class, first 10 TB)",
        "source": "https://aws.amazon.com/cloudwatch/pricing/",
    },
    "secrets_manager_api_call": {
        "usd": 0.05 / 10_000,
        "unit": "Secrets Manager API call",
        "source": "https://aws.amazon.com/secrets-manager/pricing/",
    },
    "step_functions_state_transition": {
        "usd": 0.025 / 1_000,
        "unit": "Standard workflow state transition",
        "source": "https://aws.amazon.com/step-functions/pricing/",
    },
}

# DynamoDB's documented size rules (Developer Guide, "Read/write capacity mode" and "Item sizes"): writes in 1 KB units,
# reads in 4 KB units (half for eventually consistent), transactional requests twice.
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
READ_OPERATIONS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")

# The floor: the least any design could pay for the same 10 webhooks. Each webhook is one HTTP API request and one Lambda
# invocation of FLOOR_INVOCATION_MS (a handler that checks an HMAC and makes one DynamoDB round trip cannot be much
# quicker; the TikTok Shop order's fetch and its attribution run in the order webhook's own invocation, no stream
# consumer); each touchpoint and the order written once with a plain put of <= 1 KB (1 WCU each), one attribution write
# (1 WCU), one eventually consistent Query of the buyer's touchpoints (<= 4 KB: 0.5 RCU), no transactions; logs are only
# Lambda's own START/END/REPORT lines; the tenant's secret cached as long as ours by one function; no state machine.
FLOOR_INVOCATION_MS = 10
FLOOR_MEMORY_MB = 512
FLOOR_SECRET_READERS = 1
WEBHOOKS_PER_ORDER = 10
FLOOR_WRITE_UNITS = 9 + 1 + 1
FLOOR_READ_UNITS = 0.5

# Lambda's own lines per invocation (START, END, REPORT with X-Ray, as the template's `Tracing: Active` writes them).
_REQUEST_ID = "8f5a4c2e-0e0b-4c64-9a8e-2f1b7f7c1d3a"
PLATFORM_LINES = (
    f"START RequestId: {_REQUEST_ID} Version: $LATEST\n"
    f"END RequestId: {_REQUEST_ID}\n"
    f"REPORT RequestId: {_REQUEST_ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 98 MB\t\n"
    "XRAY TraceId: 1-674d9a3c-5f1e2d3c4b5a69788796a5b4\tSegmentId: 6a5b4c3d2e1f0a9b\tSampled: true\t\n"
)
PLATFORM_LOG_BYTES = len(PLATFORM_LINES.encode())


# ------------------------------------------------------------------------------------------------ pure arithmetic
def attribute_value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's JSON, by the documented rules (numbers: about 1 byte per 2 digits + 1)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_value_size({kind[0]: member}) for member in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_value_size(member) for member in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + attribute_value_size(member) for name, member in inner.items())
    raise ValueError(f"not a DynamoDB attribute value type: {kind}")


def item_size(item: dict[str, Any]) -> int:
    """Bytes of an item in DynamoDB's JSON: each attribute's name plus its value."""
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in item.items())


def write_units(size_bytes: int, transactional: bool = False) -> int:
    """Write request units of one item write: 1 per started KB (at least 1), twice in a transaction."""
    units = max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))
    return units * 2 if transactional else units


def read_units(size_bytes: int, consistent: bool = False, transactional: bool = False) -> float:
    """Read request units of one read of `size_bytes`: 1 per started 4 KB; half when eventually consistent, twice in a transaction."""
    units = float(max(1, math.ceil(size_bytes / READ_UNIT_BYTES)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


def computed_write_units(operation: str, params: dict[str, Any]) -> float:
    """Write units of a request from its own items, when DynamoDB returned no figure (a failed condition still pays).

    An update or delete is sized as 1 unit: the stored item it touches is not in the request (the least it can cost).
    """
    if operation == "PutItem":
        return write_units(item_size(params.get("Item") or {}))
    if operation in ("UpdateItem", "DeleteItem"):
        return 1
    if operation == "BatchWriteItem":
        total = 0
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests:
                put = request.get("PutRequest")
                total += write_units(item_size(put["Item"])) if put else 1
        return total
    if operation == "TransactWriteItems":
        total = 0
        for entry in params.get("TransactItems") or []:
            put = entry.get("Put")
            total += write_units(item_size(put["Item"]), transactional=True) if put else write_units(0, transactional=True)
        return total
    return 0


# The table's global secondary indexes (template.yaml) and what each copies of an item: GSI1 projects ALL, GSI2 KEYS_ONLY.
INDEX_PROJECTIONS = {"GSI1PK": "ALL", "GSI2PK": "KEYS_ONLY"}
KEYS_ONLY_BYTES = 200  # an item's table and index keys: always under one write unit


def index_write_units(operation: str, params: dict[str, Any]) -> float:
    """Write units the indexes take for a request's put items: one index write per index whose key the item carries.

    DynamoDB writes an index's copy at the standard rate (a transaction doubles only the table's writes), sized by what
    the index projects. An upper bound for a keys-only index when an item is replaced with its keys unchanged (that
    writes nothing to it); updates and deletes are not counted (the request does not show the stored item).
    """
    items: list[dict[str, Any]] = []
    if operation == "PutItem":
        items = [params.get("Item") or {}]
    elif operation == "BatchWriteItem":
        items = [r["PutRequest"]["Item"] for rs in (params.get("RequestItems") or {}).values() for r in rs if "PutRequest" in r]
    elif operation == "TransactWriteItems":
        items = [entry["Put"]["Item"] for entry in params.get("TransactItems") or [] if "Put" in entry]
    total = 0
    for item in items:
        for key, projection in INDEX_PROJECTIONS.items():
            if key in item:
                total += write_units(item_size(item) if projection == "ALL" else KEYS_ONLY_BYTES)
    return total


def computed_read_units(operation: str, params: dict[str, Any]) -> float:
    """Read units of a request with no figure from DynamoDB: the least it can cost (one unit per item asked for)."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem" or operation in ("Query", "Scan"):
        return read_units(0, consistent)
    if operation == "BatchGetItem":
        keys = sum(len(request.get("Keys") or []) for request in (params.get("RequestItems") or {}).values())
        return keys * read_units(0, consistent)
    if operation == "TransactGetItems":
        return len(params.get("TransactItems") or []) * read_units(0, transactional=True)
    return 0


def per_million(per_order: float, price_usd: float) -> float:
    """Dollars per 1 million orders of something used `per_order` times an order at `price_usd` each."""
    return per_order * price_usd * MILLION


def gb_seconds(seconds: float, memory_mb: int) -> float:
    """Lambda's GB-seconds of one invocation: its duration rounded up to the millisecond, times the configured memory."""
    billed = math.ceil(round(seconds * 1000, 6)) / 1000
    return billed * memory_mb / 1024


def ratio(ours: float, floor: float) -> float | None:
    """Ours over the floor (None when the floor pays nothing)."""
    return ours / floor if floor > 0 else None


def state_transitions(asl: dict[str, Any], chunks: int = 1) -> int:
    """States a successful run enters (each one a Standard transition): along `Next` from StartAt, a Map's inner states once per chunk."""
    count, name = 0, asl.get("StartAt")
    states = asl.get("States") or {}
    while name:
        state = states[name]
        count += 1
        if state.get("Type") == "Map":
            inner = state.get("ItemProcessor") or state.get("Iterator") or {}
            count += chunks * state_transitions(inner, 1)
        name = state.get("Next") if not state.get("End") else None
    return count


def secret_calls_per_order(readers: int, cache_seconds: int, tenants: int = 1) -> float:
    """Secrets Manager GetSecretValue calls an order costs: each warm container re-reads each tenant's secret once per cache period."""
    calls_per_month = readers * tenants * SECONDS_PER_MONTH / max(1, cache_seconds)
    return calls_per_month / ORDERS_PER_MONTH


def floor_usage(cache_seconds: int) -> dict[str, float]:
    """What the floor design uses per order, in the same units as `usage_per_order`."""
    return {
        "http_api_requests": WEBHOOKS_PER_ORDER,
        "lambda_requests": WEBHOOKS_PER_ORDER,
        "lambda_gb_seconds": WEBHOOKS_PER_ORDER * gb_seconds(FLOOR_INVOCATION_MS / 1000, FLOOR_MEMORY_MB),
        "dynamodb_write_units": FLOOR_WRITE_UNITS,
        "dynamodb_read_units": FLOOR_READ_UNITS,
        "log_bytes": WEBHOOKS_PER_ORDER * PLATFORM_LOG_BYTES,
        "secret_calls": secret_calls_per_order(FLOOR_SECRET_READERS, cache_seconds),
        "state_transitions": 0.0,
    }


def dollars(usage: dict[str, float]) -> dict[str, float]:
    """Dollars per 1 million orders per service from per-order usage."""
    return {
        "API Gateway (HTTP API)": per_million(usage["http_api_requests"], PRICES["http_api_request"]["usd"]),
        "Lambda requests": per_million(usage["lambda_requests"], PRICES["lambda_request"]["usd"]),
        "Lambda duration": per_million(usage["lambda_gb_seconds"], PRICES["lambda_arm64_gb_second"]["usd"]),
        "DynamoDB writes": per_million(usage["dynamodb_write_units"], PRICES["dynamodb_write_request_unit"]["usd"]),
        "DynamoDB reads": per_million(usage["dynamodb_read_units"], PRICES["dynamodb_read_request_unit"]["usd"]),
        "DynamoDB Streams": 0.0,
        "CloudWatch Logs": per_million(usage["log_bytes"] / 1024**3, PRICES["cloudwatch_logs_gb_ingested"]["usd"]),
        "Secrets Manager": per_million(usage["secret_calls"], PRICES["secrets_manager_api_call"]["usd"]),
        "Step Functions": per_million(usage["state_transitions"], PRICES["step_functions_state_transition"]["usd"]),
    }


# ------------------------------------------------------------------------------------------------ metering
@dataclass
class Meter:
    """Everything counted in the run, attributed to the function invoking when it happened."""

    active: str | None = None
    api_requests: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    gb_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    log_bytes: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    units: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    units_by_function: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    computed: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    sized: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    index_units: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    reported: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    raised: Counter[str] = field(default_factory=Counter)
    transaction_items: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    stream_get_records: int = 0
    orders: int = 1
    secret_readers: set[str] = field(default_factory=set)
    outside_invocations: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        """Forget everything counted so far (after the warm-up)."""
        fresh = Meter()
        for name in self.__dataclass_fields__:
            if name != "active":
                setattr(self, name, getattr(fresh, name))


METER = Meter()
_LOCK = threading.Lock()


def _ask_for_capacity(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    """before-parameter-build.dynamodb: ask for DynamoDB's own figure; keep the request for sizing when none comes back."""
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params["ReturnConsumedCapacity"] = "TOTAL"
    context["aws_cost_params"] = copy.deepcopy(params)


def _count_capacity(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    """after-call.dynamodb: add the request and its consumed capacity (or the units computed from its items) to the meter."""
    operation = model.name
    if operation not in WRITE_OPERATIONS + READ_OPERATIONS:
        return
    with _LOCK:
        if METER.active is None:
            # The harness's own calls (none are made through the handlers' clients) must not be billed to the product.
            METER.outside_invocations[operation] += 1
            return
        METER.requests[operation] += 1
        params = context.get("aws_cost_params") or {}
        compute = computed_write_units if operation in WRITE_OPERATIONS else computed_read_units
        # The request's own sizing beside DynamoDB's figure: a cross-check (and the figure when DynamoDB gives none).
        sized = compute(operation, params)
        if operation in WRITE_OPERATIONS:
            indexed = index_write_units(operation, params)
            METER.index_units[operation] += indexed
            sized += indexed
        METER.sized[operation] += sized
        if operation == "TransactWriteItems":
            METER.transaction_items[METER.active] += len(params.get("TransactItems") or [])
        consumed = parsed.get("ConsumedCapacity")
        if consumed is not None:
            entries = consumed if isinstance(consumed, list) else [consumed]
            reported = sum(float(entry.get("CapacityUnits") or 0) for entry in entries)
            METER.reported[operation] += reported
        else:
            reported = 0.0
        # DynamoDB Local's figure, never below what the documented rules give for the request's own items: it reports a
        # transaction of N small items as far fewer than 2N units, and some empty Query results as none.
        units = max(reported, sized)
        if sized > reported:
            METER.computed[operation] += units - reported
            METER.raised[operation] += 1
        if "Error" in parsed:
            METER.failed[f"{operation} {parsed['Error'].get('Code', '?')}"] += 1
        METER.units[operation] += units
        METER.units_by_function[f"{METER.active} {operation}"] += units


def _count_stream_read(**_: Any) -> None:
    """after-call.dynamodb-streams.GetRecords: the event source mapping's reads (free for Lambda triggers)."""
    with _LOCK:
        METER.stream_get_records += 1


def install_hooks() -> None:
    """Register the hooks on every botocore session made from now on (and on boto3's default one if it exists)."""
    import boto3
    import botocore.handlers

    hooks = [
        ("before-parameter-build.dynamodb", _ask_for_capacity),
        ("after-call.dynamodb", _count_capacity),
        ("after-call.dynamodb-streams.GetRecords", _count_stream_read),
    ]
    # Every botocore session registers BUILTIN_HANDLERS when it is made: the handlers' clients (boto3's default session,
    # Powertools' own sessions) all get the hooks, whichever session they come from.
    botocore.handlers.BUILTIN_HANDLERS.extend(hooks)
    if boto3.DEFAULT_SESSION is not None:
        for name, hook in hooks:
            boto3.DEFAULT_SESSION.events.register(name, hook)


class CountingStream(io.TextIOBase):
    """sys.stdout/sys.stderr for the run: what an invocation writes is its log (CloudWatch Logs on AWS), counted and swallowed."""

    def __init__(self, target: Any) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        """Count an invocation's output; pass the harness's own through."""
        function = METER.active
        if function is None:
            return int(self.target.write(text))
        with _LOCK:
            METER.log_bytes[function] += len(text.encode())
        return len(text)

    def flush(self) -> None:
        """Flush the real stream."""
        self.target.flush()

    def isatty(self) -> bool:
        """Never a terminal (Powertools must not colour anything)."""
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """UTF-8, as on Lambda."""
        return "utf-8"


def metered_runtime(template: dict[str, Any], memory: dict[str, int]) -> Any:
    """A LambdaRuntime that times each invocation (wall and CPU) and marks which function is running for the hooks."""
    from ordertrail_local import template as tpl
    from ordertrail_local.lambda_runtime import INVOKE_LOCK, LambdaRuntime, function_timeouts

    class MeteredRuntime(LambdaRuntime):
        """The local runtime, metered."""

        def invoke(self, function_name: str, code_dir: str, event: dict[str, Any], handler: str = "app.lambda_handler") -> Any:
            """Invoke as LambdaRuntime does, counting the invocation, its duration × configured memory and its log bytes."""
            self.load(code_dir, handler)  # an import (the cold start) is not part of the invocation measured
            with INVOKE_LOCK:
                outer, METER.active = METER.active, function_name
                started, cpu_started = time.perf_counter(), time.thread_time()
                try:
                    return super().invoke(function_name, code_dir, event, handler)
                finally:
                    elapsed = time.perf_counter() - started
                    with _LOCK:
                        METER.invocations[function_name] += 1
                        METER.seconds[function_name] += elapsed
                        METER.cpu_seconds[function_name] += time.thread_time() - cpu_started
                        METER.gb_seconds[function_name] += gb_seconds(elapsed, memory.get(function_name, 512))
                        METER.log_bytes[function_name] += PLATFORM_LOG_BYTES
                    METER.active = outer

    return MeteredRuntime(tpl.repo_root(), timeouts=function_timeouts(template))


def function_memory(template: dict[str, Any]) -> dict[str, int]:
    """Each function's MemorySize from template.yaml (its own, else Globals.Function's, else Lambda's 128 MB)."""
    default = int(((template.get("Globals") or {}).get("Function") or {}).get("MemorySize", 128))
    return {
        name: int((resource.get("Properties") or {}).get("MemorySize", default))
        for name, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def count_secret_readers() -> None:
    """Record which functions consult the tenant directory (on AWS each is a Secrets Manager reader with its own cache)."""
    from ordertrail.storage import tenant_secrets

    for cls in (tenant_secrets.FileTenantDirectory, tenant_secrets.SecretsManagerTenantDirectory):
        for method in ("get", "others", "tenant_of_key"):
            original = getattr(cls, method)

            def wrapped(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                if METER.active is not None:
                    METER.secret_readers.add(METER.active)
                return _original(self, *args, **kwargs)

            setattr(cls, method, wrapped)


# ------------------------------------------------------------------------------------------------ the journey
def iso(at: datetime) -> str:
    """RFC 3339 in UTC."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def touchpoints_of(n: int, start: datetime) -> list[dict[str, Any]]:
    """The 9 touchpoints of order n's buyer, a minute apart from `start` (the shapes of tests/integration/senders.py)."""
    buyer, conversation = {"user_id": f"74948452709{n:08d}"}, f"conv-{n}"
    flow = {"id": "f-glow", "name": "Glow flow"}
    at = [iso(start + timedelta(minutes=m)) for m in range(9)]
    return [
        {
            "id": f"c1-{n}",
            "kind": "comment",
            "occurred_at": at[0],
            "buyer": buyer,
            "post": {"id": "7490001", "url": "https://www.tiktok.com/@glowhouse/video/7490001"},
            "text": "LINK please",
            "keywords": ["LINK"],
        },
        {
            "id": f"dm-{n}",
            "kind": "dm",
            "occurred_at": at[1],
            "buyer": buyer,
            "conversation_id": conversation,
            "comment_id": f"c1-{n}",
            "flow": flow,
        },
        *(
            {
                "id": f"fs{step}-{n}",
                "kind": "flow_step",
                "occurred_at": at[1 + step],
                "buyer": buyer,
                "conversation_id": conversation,
                "flow": flow,
                "step": step,
                "step_name": f"step {step}",
            }
            for step in (1, 2, 3)
        ),
        {
            "id": f"sl-{n}",
            "kind": "shop_link",
            "occurred_at": at[5],
            "buyer": buyer,
            "conversation_id": conversation,
            "skus": ["LIPOIL-ROSE"],
            "url": "https://shop.tiktok.com/view/product/1729384756100001",
        },
        {
            "id": f"ad-{n}",
            "kind": "ad_click",
            "occurred_at": at[6],
            "buyer": buyer,
            "ttclid": f"E.C.P.cost{n}",
            "url": f"https://shop.tiktok.com/view/product/1729384756100001?ttclid=E.C.P.cost{n}",
        },
        {
            "id": f"cc-{n}",
            "kind": "creator_click",
            "occurred_at": at[7],
            "buyer": buyer,
            "creator": "@maya.glow",
            "link_id": "maya-1",
            "token": f"tok{n}",
        },
        {
            "id": f"c2-{n}",
            "kind": "comment",
            "occurred_at": at[8],
            "buyer": buyer,
            "post": {"id": "7490002", "url": "https://www.tiktok.com/@glowhouse/video/7490002"},
            "text": "ordered!",
            "keywords": [],
        },
    ]


def tiktok_order_of(n: int, sample: dict[str, Any], created: datetime) -> dict[str, Any]:
    """Order n as Get Order Detail returns it: the sample day's first TikTok Shop order with its id, buyer, address and times replaced.

    Each buyer ships to its own address, as households do: one address for every order would grow one address profile
    by an entry per order (up to crossover.MAX_PROFILE_ORDERS) and bill its growing size on every write.
    """
    order = copy.deepcopy(sample)
    order_id = f"5766536881{n:08d}"
    stamp = int(created.timestamp())
    order.update(id=order_id, user_id=f"74948452709{n:08d}", create_time=stamp, paid_time=stamp + 40, update_time=stamp + 60)
    if isinstance(order.get("recipient_address"), dict):
        order["recipient_address"] = {**order["recipient_address"], "address_line1": f"{n} Bench Street"}
    for index, line in enumerate(order.get("line_items") or []):
        line["id"] = f"{order_id}{index}"
    return order


def notification_of(order: dict[str, Any], n: int) -> dict[str, Any]:
    """TikTok Shop's order status change (type 1) naming the order."""
    return {
        "type": 1,
        "tts_notification_id": f"73800662840{n:08d}",
        "shop_id": "7495540735365777507",
        "timestamp": order["update_time"],
        "data": {"order_id": order["id"], "order_status": order["status"], "is_on_hold_order": False, "update_time": order["update_time"]},
    }


class Journey:
    """Sends orders' journeys through a started LocalStack, each webhook signed as its sender signs it."""

    def __init__(self, stack: Any, tenants: dict[str, Any], sample_order: dict[str, Any]) -> None:
        self.stack = stack
        self.secrets = tenants["tenants"][TENANT]
        self.sample_order = sample_order
        self.now = datetime.now(UTC).replace(microsecond=0)

    def post(self, route: str, raw: bytes, headers: dict[str, str]) -> None:
        """One webhook through the HTTP API (the stream is drained by `order`); it must be accepted."""
        METER.api_requests += 1
        answer = self.stack.request("POST", f"/v1/{TENANT}/{route}", raw, {"content-type": "application/json", **headers}, sync=False)
        if answer.status not in (200, 202):
            raise RuntimeError(f"POST {route} -> {answer.status} {answer.body[:300]!r}")

    def order(self, n: int) -> str:
        """Order n's 10 webhooks (9 touchpoints one per request, then the order notification), then the stream delivered; its order id."""
        from ordertrail.sources.signatures import sign_ordertrail, sign_tiktok_webhook

        start = self.now - timedelta(days=1, minutes=30) + timedelta(seconds=n)
        for touchpoint in touchpoints_of(n, start):
            raw = json.dumps({"touchpoints": [touchpoint]}, separators=(",", ":")).encode()
            self.post(
                "touchpoints", raw, {"x-ordertrail-signature": sign_ordertrail(self.secrets["touchpoint_secret"], raw, int(time.time()))}
            )
        # The stream as Lambda reads it at this rate (1 million orders a month is about 4 webhooks a second, under the
        # batching window): one order's records delivered together, in batches of the template's size.
        self.stack.drain()
        order = tiktok_order_of(n, self.sample_order, start + timedelta(minutes=20))
        self.stack.stand_in.put_orders([order])
        raw = json.dumps(notification_of(order, n), separators=(",", ":")).encode()
        shop = self.secrets["tiktok_shop"]
        self.post("webhooks/tiktok-shop", raw, {"authorization": sign_tiktok_webhook(shop["app_key"], shop["app_secret"], raw)})
        self.stack.drain()
        return str(order["id"])


# ------------------------------------------------------------------------------------------------ the run
def run(orders: int) -> dict[str, Any]:
    """Start the local stack on DynamoDB Local, send a warm-up order and then `orders` journeys, and return the counts."""
    from ordertrail.storage import keys
    from ordertrail_local import template as tpl
    from ordertrail_local.dynamodb_local import unavailable_reason
    from ordertrail_local.stack import LocalStack

    reason = unavailable_reason()
    if reason is not None:
        raise SystemExit(f"bench/aws_cost.py needs DynamoDB Local: {reason}")
    tenants = json.loads((ROOT / "events" / "tenants.local.json").read_text(encoding="utf-8"))
    stack = LocalStack(table_name=TABLE, dynamodb="dynamodb-local", log_level=os.environ["POWERTOOLS_LOG_LEVEL"])
    memory = function_memory(stack.template)
    # Swap in the metered runtime before start(): the pipeline and the state machines are built on stack.runtime.
    stack.runtime = metered_runtime(stack.template, memory)
    started = time.monotonic()
    with stack:
        sample_order = stack.sample.tiktok_orders[0] if stack.sample and stack.sample.tiktok_orders else {}
        journey = Journey(stack, tenants, sample_order)
        journey.order(0)  # warm-up: first calls build clients and caches, as a warm container already has them
        METER.reset()
        order_ids = [journey.order(n) for n in range(1, orders + 1)]
        elapsed = time.monotonic() - started
        client = stack.dynamodb_client()
        attributed = 0
        for order_id in order_ids:
            key = {name: {"S": value} for name, value in keys.attribution_key(TENANT, "tiktok_shop", order_id).items()}
            attributed += "Item" in client.get_item(TableName=TABLE, Key=key)
        dead_letters = len(stack.dead_letters)
        asl = tpl.repo_root() / "infra" / "statemachine" / "export_conversions.asl.json"
    if attributed != orders or dead_letters:
        raise RuntimeError(f"{attributed} of {orders} orders attributed, {dead_letters} dead letters: the run is not the product's path")
    return {
        "orders": orders,
        "seconds": round(elapsed, 1),
        "memory_mb": {name: memory.get(name, 512) for name in METER.invocations},
        "export_transitions_per_run": state_transitions(json.loads(asl.read_text(encoding="utf-8")), chunks=1),
    }


def secret_cache_seconds() -> int:
    """How long a container keeps a tenant's secret (SECRET_CACHE_SECONDS, the environment's default when unset)."""
    from ordertrail.core.environment import Environment

    return int(Environment.model_fields["secret_cache_seconds"].default)


def usage_per_order(measured: dict[str, Any], cache_seconds: int) -> dict[str, float]:
    """The run's counts per order, in the units `dollars` prices."""
    n = measured["orders"]
    writes = sum(units for op, units in METER.units.items() if op in WRITE_OPERATIONS)
    reads = sum(units for op, units in METER.units.items() if op in READ_OPERATIONS)
    return {
        "http_api_requests": METER.api_requests / n,
        "lambda_requests": sum(METER.invocations.values()) / n,
        "lambda_gb_seconds": sum(METER.gb_seconds.values()) / n,
        "dynamodb_write_units": writes / n,
        "dynamodb_read_units": reads / n,
        "log_bytes": sum(METER.log_bytes.values()) / n,
        "secret_calls": secret_calls_per_order(len(METER.secret_readers), cache_seconds),
        "state_transitions": measured["export_transitions_per_run"] * EXPORT_RUNS_PER_MONTH / ORDERS_PER_MONTH,
    }


def obtained(operation: str) -> str:
    """How an operation's units were obtained: DynamoDB's own figure, or the documented size rules where those give more."""
    raised, requests = METER.raised[operation], METER.requests[operation]
    indexed = METER.index_units[operation] / max(1, METER.orders)
    with_index = f"; {indexed:.2f} of them index writes" if indexed else ""
    if raised == 0:
        return f"DynamoDB's ConsumedCapacity{with_index}"
    reported = METER.reported[operation] / max(1, METER.orders)
    if raised == requests:
        return f"computed from item sizes (DynamoDB Local reported {reported:.2f}){with_index}"
    return f"ConsumedCapacity, raised to the size rules on {raised} of {requests} requests (reported {reported:.2f}){with_index}"


def report(measured: dict[str, Any]) -> dict[str, Any]:
    """Every figure of the run: usage per order, $ per million orders per service next to the floor, the target."""
    cache = secret_cache_seconds()
    ours_usage, floor_use = usage_per_order(measured, cache), floor_usage(cache)
    ours, floor = dollars(ours_usage), dollars(floor_use)
    n = METER.orders = measured["orders"]
    services = {
        name: {
            "ours": round(ours[name], 2),
            "floor": round(floor[name], 2),
            "ratio": None if (r := ratio(ours[name], floor[name])) is None else round(r, 2),
        }
        for name in ours
    }
    total, floor_total = sum(ours.values()), sum(floor.values())
    how = {op: obtained(op) for op in METER.units}
    cpu = sum(METER.cpu_seconds.values())
    return {
        **measured,
        "prices_checked": PRICES_CHECKED,
        "prices": PRICES,
        "per_order": {
            **{name: round(value, 4) for name, value in ours_usage.items()},
            "lambda_invocations": {name: round(count / n, 2) for name, count in sorted(METER.invocations.items())},
            "lambda_ms": {name: round(METER.seconds[name] * 1000 / METER.invocations[name], 1) for name in sorted(METER.invocations)},
            "lambda_cpu_share": round(cpu / max(1e-9, sum(METER.seconds.values())), 2),
            "log_bytes_by_function": {name: round(count / n) for name, count in sorted(METER.log_bytes.items())},
            "dynamodb_requests": {op: round(count / n, 2) for op, count in sorted(METER.requests.items())},
            "dynamodb_units": {op: round(units / n, 2) for op, units in sorted(METER.units.items())},
            "dynamodb_units_by_function": {key: round(units / n, 2) for key, units in sorted(METER.units_by_function.items())},
            "dynamodb_units_obtained": how,
            "dynamodb_units_sized_from_requests": {op: round(units / n, 2) for op, units in sorted(METER.sized.items())},
            "transaction_items": {name: round(count / n, 2) for name, count in sorted(METER.transaction_items.items())},
            "dynamodb_failed_requests": {key: round(count / n, 3) for key, count in sorted(METER.failed.items())},
            "stream_get_records": round(METER.stream_get_records / n, 2),
        },
        "harness_dynamodb_calls_not_billed": dict(METER.outside_invocations),
        "secret_readers": sorted(METER.secret_readers),
        "secret_cache_seconds": cache,
        "floor_per_order": floor_use,
        "dollars_per_million_orders": services,
        "total": {"ours": round(total, 2), "floor": round(floor_total, 2), "ratio": round(total / floor_total, 2)},
        "target": {"ratio_at_most": TARGET_RATIO, "met": total <= TARGET_RATIO * floor_total},
    }


def print_table(result: dict[str, Any]) -> None:
    """The human-readable report."""
    per, floor = result["per_order"], result["floor_per_order"]
    print(f"AWS cost per 1 million orders: {result['orders']} orders of 9 touchpoints + 1 TikTok Shop order webhook each")
    print(f"(a real local run on DynamoDB Local, {result['seconds']} s; us-east-1 list prices checked {result['prices_checked']})\n")
    print(f"{'service':<24} {'ours $':>9} {'floor $':>9} {'ratio':>7}")
    for name, row in result["dollars_per_million_orders"].items():
        shown = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        print(f"{name:<24} {row['ours']:>9.2f} {row['floor']:>9.2f} {shown:>7}")
    total = result["total"]
    verdict = "PASS" if result["target"]["met"] else "MISS"
    print(f"{'total':<24} {total['ours']:>9.2f} {total['floor']:>9.2f} {total['ratio']:>6.2f}x  target <= {TARGET_RATIO}x: {verdict}\n")
    invocations = ", ".join(f"{name} {count}" for name, count in per["lambda_invocations"].items())
    durations = ", ".join(f"{name} {ms}" for name, ms in per["lambda_ms"].items())
    readers = ", ".join(result["secret_readers"])
    rows = [
        ("HTTP API requests", f"{per['http_api_requests']:.1f}", f"{floor['http_api_requests']:.0f}", ""),
        ("Lambda invocations", f"{per['lambda_requests']:.2f}", f"{floor['lambda_requests']:.0f}", f"{invocations}; a stream batch is one"),
        (
            "Lambda GB-s",
            f"{per['lambda_gb_seconds']:.4f}",
            f"{floor['lambda_gb_seconds']:.4f}",
            f"local estimate, wall ms x MemorySize: {durations}",
        ),
        ("DynamoDB write units", f"{per['dynamodb_write_units']:.2f}", f"{floor['dynamodb_write_units']:.0f}", ""),
        ("DynamoDB read units", f"{per['dynamodb_read_units']:.2f}", f"{floor['dynamodb_read_units']}", ""),
        (
            "Stream GetRecords",
            f"{per['stream_get_records']:.2f}",
            "0",
            "free: a Lambda trigger's reads of DynamoDB Streams are not charged",
        ),
        (
            "Log bytes",
            f"{per['log_bytes']:.0f}",
            f"{floor['log_bytes']:.0f}",
            f"handlers' output + {PLATFORM_LOG_BYTES} B START/END/REPORT each",
        ),
        (
            "Secrets Manager calls",
            f"{per['secret_calls']:.4f}",
            f"{floor['secret_calls']:.4f}",
            f"readers: {readers}; 1 per {result['secret_cache_seconds']} s each",
        ),
        (
            "Step Functions",
            f"{per['state_transitions']:.6f}",
            "0",
            f"{result['export_transitions_per_run']} transitions a daily run, 30 a month",
        ),
    ]
    print(f"{'per order':<22} {'ours':>9} {'floor':>7}")
    for name, ours, least, note in rows:
        print(f"{name:<22} {ours:>9} {least:>7}  {note}")
    print("\nDynamoDB per order, by operation (requests, units, how the units were obtained) and by function:")
    for op, units in per["dynamodb_units"].items():
        print(f"  {op:<20} {per['dynamodb_requests'][op]:>6.2f} {units:>7.2f}  {per['dynamodb_units_obtained'][op]}")
    for key, units in per["dynamodb_units_by_function"].items():
        print(f"  {key:<44} {units:>7.2f}")
    if per["dynamodb_failed_requests"]:
        print(f"  failed requests (billed all the same): {per['dynamodb_failed_requests']}")
    print(f"\nTarget: total <= {TARGET_RATIO}x the floor: {verdict}")


def main() -> None:
    """Run the journeys, print the table (or one JSON object with --json); exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help=f"orders to send (default {DEFAULT_ORDERS})")
    args = parser.parse_args()
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    # Before anything makes a botocore session or a Powertools logger: the hooks and the counting streams must be there first.
    install_hooks()
    sys.stdout = CountingStream(sys.stdout)
    sys.stderr = CountingStream(sys.stderr)
    use_repository_code()
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }.items():
        os.environ.setdefault(name, value)
    # As deployed: the template's default LogLevel, and metrics on (their EMF lines are log bytes on AWS).
    os.environ["POWERTOOLS_LOG_LEVEL"] = "INFO"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    os.environ.pop("TIKTOK_SHOP_API_URL", None)  # the stand-in answers the order detail fetch
    count_secret_readers()
    result = report(run(args.orders))
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    sys.exit(0 if result["target"]["met"] else 1)


if __name__ == "__main__":
    main()
