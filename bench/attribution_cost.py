"""Benchmark (not a test): DynamoDB requests per attributed order at growing table sizes, and the pure engine's orders/second.

Run `make bench` (or `python bench/attribution_cost.py --json`). Targets: the request count is the same at every table
size and at most 4; the engine attributes at least 20,000 five-touch orders per second on one core.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from offline import offline_env, use_repository_code

TABLE = "ordertrail-bench"
TENANT = "bench"
ORDER_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def journey(buyer: str, touches: int, start: datetime) -> list[Any]:
    """A realistic journey: comment → DM → flow steps → shop link(s), ending shortly before the order."""
    from ordertrail.core.models import CommentTouchpoint, DmTouchpoint, FlowStepTouchpoint, ShopLinkTouchpoint

    user = {"user_id": buyer}
    items: list[Any] = [
        CommentTouchpoint(
            kind="comment",
            id=f"{buyer}-c",
            occurred_at=start,
            buyer=user,
            post={"id": "v1", "url": "https://t/v1"},
            text="LINK",
            keywords=["LINK"],
        ),
        DmTouchpoint(
            kind="dm",
            id=f"{buyer}-d",
            occurred_at=start + timedelta(minutes=1),
            buyer=user,
            conversation_id=f"{buyer}-conv",
            comment_id=f"{buyer}-c",
            flow={"id": "f1", "name": "Glow"},
        ),
    ]
    for step in range(1, touches - 2):
        items.append(
            FlowStepTouchpoint(
                kind="flow_step",
                id=f"{buyer}-s{step}",
                occurred_at=start + timedelta(minutes=1 + step),
                buyer=user,
                conversation_id=f"{buyer}-conv",
                flow={"id": "f1", "name": "Glow"},
                step=step,
            )
        )
    items.append(
        ShopLinkTouchpoint(
            kind="shop_link",
            id=f"{buyer}-l",
            occurred_at=start + timedelta(minutes=touches + 1),
            buyer=user,
            conversation_id=f"{buyer}-conv",
            skus=["SKU-1"],
        )
    )
    return items[:touches]


def order_for(buyer: str, order_id: str) -> Any:
    """An order of SKU-1 by the buyer at ORDER_AT."""
    from ordertrail.core.models import Order

    return Order(
        id=order_id,
        source="tiktok_shop",
        status="paid",
        created_at=ORDER_AT,
        updated_at=ORDER_AT,
        buyer={"user_id": buyer},
        line_items=[{"sku": "SKU-1", "quantity": 1, "unit_price": Decimal("19.99")}],
        total=Decimal("19.99"),
    )


def _seed_other_touchpoints(client: Any, count: int) -> None:
    """Fill the table with other buyers' touchpoints in bulk (BatchWriteItem; the product writes them one by one)."""
    from ordertrail.storage import keys
    from ordertrail.storage.table import serialize

    batch: list[dict[str, Any]] = []
    for index in range(count):
        at = ORDER_AT - timedelta(minutes=index % 20_000)
        key = keys.buyer_touchpoint_key(TENANT, f"other-{index % 5000}", at, f"o{index}")
        batch.append({"PutRequest": {"Item": serialize({**key, "type": "touchpoint", "data": "{}"})}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={TABLE: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={TABLE: batch})


def requests_per_order(other_touchpoints: int) -> dict[str, Any]:
    """Attribute one order in a table holding `other_touchpoints` other rows; count the DynamoDB requests it made."""
    import boto3
    from moto import mock_aws

    from ordertrail.attribution import attribute
    from ordertrail.storage.orders import StoredOrder
    from ordertrail.storage.repository import Repository
    from ordertrail_local.template import create_table

    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client, TABLE)
        _seed_other_touchpoints(client, other_touchpoints)
        repo = Repository(TABLE, client)
        settings = repo.get_tenant_settings(TENANT)
        for touchpoint in journey("buyer-1", 5, ORDER_AT - timedelta(days=2)):
            repo.put_touchpoint(TENANT, touchpoint, settings)
        order = order_for("buyer-1", "576000000000000001")
        repo.put_order(TENANT, order, ORDER_AT)
        calls: Counter[str] = Counter()

        def count(event_name: str, **_: Any) -> None:
            calls[event_name.rsplit(".", 1)[-1]] += 1

        client.meta.events.register("before-call.dynamodb.*", count)
        decision = attribute.attribute_order(repo, StoredOrder(TENANT, order, ORDER_AT), ORDER_AT)
        client.meta.events.unregister("before-call.dynamodb.*", count)
    assert decision.method == "conversation", decision.method
    return {"other_touchpoints": other_touchpoints, "requests": sum(calls.values()), "by_operation": dict(sorted(calls.items()))}


def engine_rate(touches: int, seconds: float) -> dict[str, Any]:
    """Orders per second of the pure engine (rules.attribute) for journeys of `touches` touchpoints, on this one core."""
    from ordertrail.core import rules
    from ordertrail.core.tenant_settings import AttributionSettings

    settings = AttributionSettings()
    candidates = rules.Candidates(touchpoints=journey("buyer-1", touches, ORDER_AT - timedelta(days=2)))
    order = order_for("buyer-1", "1")
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(200):
            rules.attribute(order, candidates, settings, ORDER_AT)
        done += 200
    elapsed = time.perf_counter() - started
    return {"touches": touches, "orders": done, "seconds": round(elapsed, 3), "orders_per_second": round(done / elapsed)}


def main() -> None:
    """Run both measurements and print a table (or one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default="10,1000,100000", help="other touchpoints in the table, comma-separated")
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent per engine measurement")
    args = parser.parse_args()
    use_repository_code()
    offline_env(TABLE)
    sizes = [int(size) for size in args.sizes.split(",")]
    cost = [requests_per_order(size) for size in sizes]
    engine = [engine_rate(touches, args.seconds) for touches in (5, 50)]
    counts = {row["requests"] for row in cost}
    result = {
        "requests_per_order": cost,
        "engine": engine,
        "targets": {
            "requests_constant": len(counts) == 1,
            "requests_at_most_4": max(counts) <= 4,
            "engine_5_touch_at_least_20000_per_s": engine[0]["orders_per_second"] >= 20_000,
        },
    }
    if args.json:
        print(json.dumps(result))
        return
    print("DynamoDB requests per attributed order")
    print(f"{'other touchpoints':>18} | {'requests':>8} | by operation")
    for row in cost:
        ops = ", ".join(f"{name} {n}" for name, n in row["by_operation"].items())
        print(f"{row['other_touchpoints']:>18,} | {row['requests']:>8} | {ops}")
    print("\nPure engine (rules.attribute), one core")
    print(f"{'touches per journey':>20} | {'orders/s':>10}")
    for row in engine:
        print(f"{row['touches']:>20} | {row['orders_per_second']:>10,}")
    print("\nTargets: " + ", ".join(f"{name}={'met' if ok else 'MISSED'}" for name, ok in result["targets"].items()))


if __name__ == "__main__":
    main()
