"""Benchmark (not a test): DynamoDB requests and items read by the 6-week insights and the posts report, by orders in range.

Run `make bench` (or `python bench/report_cost.py --json`; `--sizes 1000,100000` by default, `--quick` for 1000,10000).
Target: each report makes the same number of requests whatever the orders in its range (within `--tolerance`); the
run exits 1 when it does not.

Why it is O(days): the reports never read orders. They read daily counter items, one per (dimension, id, local day),
that the attribution path keeps up to date with ADD updates: the insights report reads the `orders` and `customers`
counters of every day of the 6 weeks and the last 7 days with BatchGetItem (100 known keys per request) and one
`product` Query per day; the posts report reads one `post` Query per day. So the requests depend on the days asked
(and the number of ids, through Query pages of 1 MB), and the items read are the counter items of those days: at most
days × ids (posts, products, ...), however many orders the days hold. With few orders not every id has a counter on
every day, so items read grow with orders only until every id is active every day.

How the table is filled: loading 100,000 orders through the real stream and attribution path in moto would take too
long, so the bench builds N orders spread over the days read (tenant zone America/New_York, crossing the end of DST),
on 50 posts, 20 keywords and 200 products, bought by customers drawn from N/3, with a realistic mix of attributions
(hard, soft pending/confirmed/rejected, organic) and some cancellations. It sums what the real pure functions say each
contributes (`counters.order_contribution`, `counters.touchpoint_contribution` for the comment and DM behind each
conversation, `customers.customer_contribution` for each customer's activity) and stores the summed counters as the
repository's own ADD updates (`Repository._counter_writes`) leave them (BatchWriteItem; a sample goes through the real
UpdateItem and must come out identical). It also stores every order and its attribution item, so the table really
holds them and the items read show the reports do not touch them. The reports are the real `service.insights_report`
(default 6 weeks) and `service.posts_report` (the same 6 weeks), on a Repository whose client counts requests and the
items they returned (botocore event hooks); their figures are compared with those counted from the orders. Ids are
drawn uniformly: the most distinct counter items per day for a given number of orders, the costliest case for reads.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from offline import offline_env, use_repository_code

TABLE = "ordertrail-bench"
TENANT = "bench"
TIME_ZONE = "America/New_York"
# Friday 20 November 2026, noon in New York: the 6 full weeks are 5 October .. 15 November (DST ends on 1 November),
# the last 7 full days 13 .. 19 November.
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
SOURCES: tuple[tuple[str, float], ...] = (("tiktok_shop", 0.8), ("shopify", 0.15), ("other", 0.05))
METHODS: tuple[tuple[str, float], ...] = (
    ("conversation", 0.35),
    ("conversation_soft", 0.1),
    ("ad_click", 0.15),
    ("creator_link", 0.08),
    ("coupon", 0.07),
    ("organic", 0.25),
)
CREATORS = 12
COUPONS = 8
FLOWS = 4
CANCELLED_SHARE = 0.03
SEED = 20261120
BATCH_WRITE_LIMIT = 25


@dataclass(frozen=True)
class Catalogue:
    """How many posts, keywords and products the shop has (fixed whatever the number of orders)."""

    posts: int = 50
    keywords: int = 20
    products: int = 200


@dataclass
class Seeded:
    """The counters summed from N orders, and what the reports should show, worked out from the orders themselves."""

    counts: dict[Any, dict[str, Decimal]] = field(default_factory=dict)
    labels: dict[Any, dict[str, str]] = field(default_factory=dict)
    order_items: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)


def report_days() -> tuple[list[str], list[str]]:
    """The local days the insights report reads (6 weeks and the last 7 days) and the posts report's 6 weeks."""
    from ordertrail.tally import periods

    today = NOW.astimezone(ZoneInfo(TIME_ZONE)).date()
    last_days = periods.last_full_days(today)
    mondays = periods.week_starts(today)
    weeks = periods.days_between(mondays[0], mondays[-1] + timedelta(days=6))
    read = periods.days_between(min(last_days[0], mondays[0]), max(last_days[1], mondays[-1] + timedelta(days=6)))
    return read, weeks


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    """One name drawn by weight."""
    return rng.choices([name for name, _ in weighted], weights=[weight for _, weight in weighted])[0]


def _order(rng: random.Random, index: int, day: str, catalogue: Catalogue, customers: int) -> Any:
    """Order `index`: placed on a local day between 08:00 and 23:00, 1-3 product lines, by one of the customers."""
    from ordertrail.core.models import Address, Buyer, LineItem, Order

    local = datetime.fromisoformat(day).replace(hour=8, tzinfo=ZoneInfo(TIME_ZONE)) + timedelta(seconds=rng.randrange(15 * 3600))
    placed = local.astimezone(UTC)
    source = _pick(rng, SOURCES)
    lines = []
    for product in rng.sample(range(catalogue.products), rng.choice((1, 1, 1, 2, 2, 3))):
        price = Decimal(9 + product % 40) + Decimal("0.99")
        lines.append(LineItem(product_id=f"P{product:04d}", name=f"Product {product}", quantity=rng.choice((1, 1, 2)), unit_price=price))
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
    customer = rng.randrange(customers)
    buyer = (
        Buyer(user_id=f"buyer-{customer}", name=f"Buyer {customer}") if source == "tiktok_shop" else Buyer(email=f"b{customer}@example.com")
    )
    return Order(
        id=f"{578_000_000_000_000_000 + index}",
        source=source,
        status="cancelled" if rng.random() < CANCELLED_SHARE else "awaiting_shipment",
        created_at=placed,
        updated_at=placed,
        buyer=buyer,
        line_items=lines,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        shipping_address=Address(city="Austin", region="TX", postal_code="78701", country="US"),
    )


def _attribution(rng: random.Random, order: Any, catalogue: Catalogue) -> tuple[Any, list[tuple[Any, Any]]]:
    """A realistic attribution of the order, and the (touchpoint, conversation) pairs behind it (comment and DM)."""
    from ordertrail.core.models import Attribution, CommentTouchpoint, Conversation, DmTouchpoint, Flow, Post

    method = _pick(rng, METHODS) if order.source == "tiktok_shop" else rng.choice(("ad_click", "creator_link", "coupon", "organic"))
    at = order.ordered_at
    first_touch = at - timedelta(seconds=rng.randrange(60, 3 * 86_400))
    fields: dict[str, Any] = {"order_id": order.id, "source": order.source, "method": method, "ordered_at": at}
    fields.update({"attributed_at": at + timedelta(minutes=1), "cancelled": order.is_cancelled, "revenue": order.total})
    touchpoints: list[tuple[Any, Any]] = []
    if method in ("conversation", "conversation_soft"):
        post_id = f"post-{rng.randrange(catalogue.posts):03d}"
        post = Post(id=post_id, url=f"https://www.tiktok.com/@shop/video/{post_id}")
        flow = Flow(id=f"flow-{rng.randrange(FLOWS)}", name="Glow flow")
        words = [f"kw{k:02d}" for k in rng.sample(range(catalogue.keywords), rng.choice((1, 1, 2)))]
        buyer, conversation_id, comment_id = order.buyer, f"conv-{order.id}", f"c-{order.id}"
        comment = CommentTouchpoint(kind="comment", id=comment_id, occurred_at=first_touch, buyer=buyer, post=post, keywords=words)
        dm = DmTouchpoint(
            kind="dm",
            id=f"dm-{order.id}",
            occurred_at=first_touch + timedelta(seconds=30),
            buyer=buyer,
            conversation_id=conversation_id,
            flow=flow,
        )
        conversation = Conversation(conversation_id=conversation_id, comment_id=comment_id, post=post, keywords=words, flow=flow)
        touchpoints = [(comment, None), (dm, conversation)]
        fields.update({"post": post, "flow": flow, "flow_step": rng.randint(1, 3), "keywords": words, "conversation_id": conversation_id})
        fields["rule"] = "conversation_hard" if method == "conversation" else "conversation_soft"
        if method == "conversation_soft":
            fields["review_status"] = rng.choice(("pending", "pending", "confirmed", "rejected"))
    elif method == "ad_click":
        fields.update({"rule": "ad_click", "ttclid": f"E.C.P.{order.id}"})
    elif method == "creator_link":
        fields.update({"rule": "creator_link", "creator": f"creator-{rng.randrange(CREATORS)}", "link_id": f"link-{order.id}"})
    elif method == "coupon":
        fields.update({"rule": "coupon", "coupon": f"SAVE{rng.randrange(COUPONS)}"})
    if method != "organic":
        fields.update({"first_touch_at": first_touch, "time_to_order_seconds": int((at - first_touch).total_seconds())})
    return Attribution.model_validate(fields), touchpoints


def seed_data(count: int, catalogue: Catalogue) -> Seeded:
    """N orders over the insights days: the counters they add (summed), their stored items, and the expected figures."""
    from ordertrail.core import refs
    from ordertrail.storage import keys
    from ordertrail.storage.table import model_json
    from ordertrail.tally import counters, periods
    from ordertrail.tally.customers import CustomerActivity, customer_contribution

    read, weeks = report_days()
    week_days = set(weeks)
    rng = random.Random(SEED + count)
    customers = max(1, count // 3)
    total = counters.Tally()
    activity: dict[str, Any] = {}
    seeded = Seeded()
    expected: defaultdict[str, int] = defaultdict(int)
    for index in range(count):
        day = read[index * len(read) // count]
        order = _order(rng, index, day, catalogue, customers)
        attribution, touchpoints = _attribution(rng, order, catalogue)
        parts = [counters.order_contribution(order, attribution, TIME_ZONE)]
        parts += [counters.touchpoint_contribution(tp, conversation, TIME_ZONE) for tp, conversation in touchpoints]
        for part in parts:
            for key, values in part.counts.items():
                total.add(key, values, part.labels.get(key))
        counted = counters.counts_in_reports(order)
        buyer = order.buyer.matchable_user_id
        if order.source == "tiktok_shop" and buyer:
            current = activity.get(buyer) or CustomerActivity(user_id=buyer)
            activity[buyer] = current.with_order(refs.order_ref(order.source, order.id), day, order.ordered_at, counted, order.buyer.name)
        # What the reports must show, counted from the orders (not from the counters).
        if counted and order.source == "tiktok_shop":
            expected["tiktok_orders_all_time"] += 1
            expected["tiktok_orders_in_weeks"] += day in week_days
        for touchpoint, _ in touchpoints:
            expected[f"post_{touchpoint.kind}s"] += periods.local_day(touchpoint.at, TIME_ZONE) in week_days
        if day in week_days:
            expected["orders_in_posts_range"] += 1
            if counted and attribution.post is not None and attribution.counts_as_attributed:
                expected["post_driven_orders"] += 1
        seeded.order_items += [
            {
                **keys.order_key(TENANT, order.source, order.id),
                "type": "order",
                "data": model_json(order),
                "updated_at": keys.iso(order.updated_at),
                "received_at": keys.iso(order.updated_at),
                "order_status": order.status,
                **(keys.buyer_orders_gsi(TENANT, buyer, order.ordered_at, order.source, order.id) if buyer else {}),
            },
            {
                **keys.attribution_key(TENANT, order.source, order.id),
                "type": "attribution",
                "data": model_json(attribution),
                "method": attribution.method,
                "order_updated_at": keys.iso(order.updated_at),
                "contrib": counters.dump(parts[0].counts),
                "rev": 1,
            },
        ]
    for customer in activity.values():
        for key, values in customer_contribution(customer).counts.items():
            total.add(key, values)
    expected["tiktok_customers"] = sum(1 for customer in activity.values() if customer.active_days)
    seeded.counts, seeded.labels, seeded.expected = total.counts, total.labels, dict(expected)
    return seeded


def counter_item(update: dict[str, Any]) -> dict[str, Any]:
    """The item one of the repository's counter updates leaves when the counter did not exist yet (wire format).

    `Repository._counter_writes` makes `SET <labels and meta> ADD <numbers>` updates; on a missing item each SET and
    ADD just stores its value. Anything else in the expression means the repository changed: fail rather than guess.
    """
    names, values = update.get("ExpressionAttributeNames", {}), update["ExpressionAttributeValues"]
    match = re.fullmatch(r"SET (.+) ADD (.+)", update["UpdateExpression"])
    if match is None:
        raise RuntimeError(f"unexpected counter update: {update['UpdateExpression']}")
    item = dict(update["Key"])
    pairs = [part.split(" = ") for part in match[1].split(", ")] + [part.split(" ") for part in match[2].split(", ")]
    for pair in pairs:
        if len(pair) != 2 or not re.fullmatch(r"#?\w+", pair[0]) or pair[1] not in values:
            raise RuntimeError(f"unexpected counter update: {update['UpdateExpression']}")
        item[names.get(pair[0], pair[0])] = values[pair[1]]
    return item


def write_counters(repo: Any, seeded: Seeded, checked: int = 40) -> int:
    """Store the summed counters as the repository's own ADD updates leave them; how many counter items.

    moto parses each update expression slowly (about 6 ms each), so the items those updates produce are written 25 per
    BatchWriteItem; `checked` of them, spread over every dimension, go through the real UpdateItem instead and must come
    out identical (the bench stops when the repository's counter format changed).
    """
    writes = [write["Update"] for write in repo._counter_writes(TENANT, seeded.counts, seeded.labels)]
    step = max(1, len(writes) // checked)
    for update in writes[::step]:
        repo.client.update_item(**update)
        stored = repo.client.get_item(TableName=update["TableName"], Key=update["Key"])["Item"]
        if stored != counter_item(update):
            raise RuntimeError(f"counter item differs from the repository's update: {stored} != {counter_item(update)}")
    puts = [{"PutRequest": {"Item": counter_item(update)}} for update in writes]
    _batch_put(repo.client, puts)
    return len(writes)


def write_orders(repo: Any, items: list[dict[str, Any]]) -> None:
    """Store the order and attribution items, 25 per BatchWriteItem (the product writes them one by one)."""
    from ordertrail.storage.table import serialize

    _batch_put(repo.client, [{"PutRequest": {"Item": serialize(item)}} for item in items])


def _batch_put(client: Any, puts: list[dict[str, Any]]) -> None:
    """BatchWriteItem, 25 puts per request, retrying unprocessed items."""
    for start in range(0, len(puts), BATCH_WRITE_LIMIT):
        request: dict[str, Any] = {TABLE: puts[start : start + BATCH_WRITE_LIMIT]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


class ReadCounter:
    """Counts DynamoDB requests by operation and the items they returned (Query Count, BatchGetItem Responses, GetItem)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: dict[str, int] = defaultdict(int)
        self.items = 0

    def _after(self, event_name: str, parsed: dict[str, Any], **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1
        if "Count" in parsed:
            self.items += int(parsed["Count"])
        self.items += sum(len(found) for found in (parsed.get("Responses") or {}).values())
        self.items += 1 if "Item" in parsed else 0

    @contextmanager
    def measuring(self) -> Iterator[dict[str, Any]]:
        """Count the client's requests inside the block; the dict yielded is filled in when the block ends."""
        self.calls.clear()
        self.items = 0
        figures: dict[str, Any] = {}
        self.client.meta.events.register("after-call.dynamodb.*", self._after)
        started = time.perf_counter()
        try:
            yield figures
        finally:
            seconds = time.perf_counter() - started
            self.client.meta.events.unregister("after-call.dynamodb.*", self._after)
            figures.update(
                requests=sum(self.calls.values()),
                items_read=self.items,
                by_operation=dict(sorted(self.calls.items())),
                seconds=round(seconds, 3),
            )


def counter_items_read(seeded: Seeded, dimensions: Sequence[str], days: Sequence[str]) -> int:
    """How many counter items exist for these dimensions on these days (and ALL): what a report over them can read."""
    wanted = set(days) | {"ALL"}
    return sum(1 for key in seeded.counts if key.dimension in dimensions and key.day in wanted)


def report_cost(count: int, catalogue: Catalogue, plain_moto: bool = False) -> dict[str, Any]:
    """Fill a moto table with `count` orders' counters and items, run both reports, and count what they read."""
    import boto3
    from moto import mock_aws

    from ordertrail.core.tenant_settings import TenantSettings
    from ordertrail.reports import service
    from ordertrail.storage.repository import Repository
    from ordertrail_local.moto_patches import speed_up_moto
    from ordertrail_local.template import create_table

    read, weeks = report_days()
    started = time.perf_counter()
    seeded = seed_data(count, catalogue)
    build_seconds = time.perf_counter() - started
    if not plain_moto:
        speed_up_moto()
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client, TABLE)
        repo = Repository(TABLE, client)
        repo.put_tenant_settings(TENANT, TenantSettings(time_zone=TIME_ZONE))
        started = time.perf_counter()
        counter_items = write_counters(repo, seeded)
        write_orders(repo, seeded.order_items)
        write_seconds = time.perf_counter() - started
        stored = client.describe_table(TableName=TABLE)["Table"].get("ItemCount")
        counter = ReadCounter(client)
        with counter.measuring() as insights_cost:
            insights = service.insights_report(repo, TENANT, None, None, None, NOW)
        first, last = date.fromisoformat(weeks[0]), date.fromisoformat(weeks[-1])
        with counter.measuring() as posts_cost:
            posts = service.posts_report(repo, TENANT, first, last, "revenue", 1000, NOW)
    expected = seeded.expected
    shown = {
        "tiktok_orders_all_time": insights.all_time.orders,
        "tiktok_orders_in_weeks": insights.weekly.totals.orders,
        "tiktok_customers": insights.all_time.customers,
        "post_driven_orders": sum(row.driven_orders for row in posts.rows),
        "post_comments": sum(row.comments for row in posts.rows),
        "post_dms": sum(row.dms for row in posts.rows),
    }
    insights_counters = counter_items_read(seeded, ("orders", "customers", "product"), read)
    posts_counters = counter_items_read(seeded, ("post",), weeks)
    return {
        "orders": count,
        "orders_in_posts_range": expected.get("orders_in_posts_range", 0),
        "customers": expected.get("tiktok_customers", 0),
        "stored": {"order_and_attribution_items": len(seeded.order_items), "counter_items": counter_items, "table_items": stored},
        "seconds": {"build": round(build_seconds, 2), "write": round(write_seconds, 2)},
        # +1: the tenant's settings item (GetItem) each report reads first.
        "insights": {**insights_cost, "days": len(read), "counter_items_in_range": insights_counters + 1},
        "posts": {**posts_cost, "days": len(weeks), "counter_items_in_range": posts_counters + 1, "rows": posts.total_rows},
        "figures": {name: {"expected": expected.get(name, 0), "shown": value} for name, value in shown.items()},
        "figures_match": all(expected.get(name, 0) == value for name, value in shown.items()),
    }


def _constant(rows: list[dict[str, Any]], report: str, tolerance: float) -> bool:
    """Whether the report's request count stays within `tolerance` of the first size's at every size."""
    base = rows[0][report]["requests"]
    return all(abs(row[report]["requests"] - base) <= tolerance * base for row in rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run each size and print a table (or one JSON object with --json); 1 when requests grow with orders or figures differ."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default="1000,100000", help="orders in range, comma-separated")
    parser.add_argument("--quick", action="store_true", help="smoke run: --sizes 1000,10000")
    parser.add_argument("--posts", type=int, default=Catalogue.posts, help="posts the orders come from")
    parser.add_argument("--keywords", type=int, default=Catalogue.keywords, help="trigger keywords")
    parser.add_argument("--products", type=int, default=Catalogue.products, help="products in the catalogue")
    parser.add_argument("--tolerance", type=float, default=0.03, help="allowed relative difference in requests between sizes")
    parser.add_argument("--plain-moto", action="store_true", help="run moto as released: no ordertrail_local.moto_patches (slower)")
    args = parser.parse_args(argv)
    use_repository_code()
    offline_env(TABLE)
    sizes = [1000, 10000] if args.quick else [int(size) for size in args.sizes.split(",")]
    catalogue = Catalogue(posts=args.posts, keywords=args.keywords, products=args.products)
    rows = []
    for size in sizes:
        started = time.perf_counter()
        rows.append(report_cost(size, catalogue, args.plain_moto))
        if not args.json:
            print(f"N={size:,} done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    read, weeks = report_days()
    result: dict[str, Any] = {
        "now": NOW.isoformat(),
        "time_zone": TIME_ZONE,
        "insights_days": [read[0], read[-1]],
        "posts_days": [weeks[0], weeks[-1]],
        "catalogue": {"posts": catalogue.posts, "keywords": catalogue.keywords, "products": catalogue.products},
        "moto_partition_scoped_queries": not args.plain_moto,
        "runs": rows,
        "targets": {
            "insights_requests_constant": _constant(rows, "insights", args.tolerance),
            "posts_requests_constant": _constant(rows, "posts", args.tolerance),
        },
    }
    failed = [name for name, ok in result["targets"].items() if not ok]
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(result)
    if failed:
        print(f"report_cost: requests differ between sizes ({', '.join(failed)}; tolerance {args.tolerance:.0%})", file=sys.stderr)
    if not all(row["figures_match"] for row in rows):
        # Cheap reads are worthless if they read the wrong numbers.
        print("report_cost: the reports' figures differ from those counted from the orders", file=sys.stderr)
    return 1 if failed or not all(row["figures_match"] for row in rows) else 0


def _print_table(result: dict[str, Any]) -> None:
    """The figures as a table."""
    rows = result["runs"]
    first, last = result["insights_days"]
    print(f"Reports at {result['now']} ({result['time_zone']}): insights reads {first}..{last}, posts {'..'.join(result['posts_days'])}")
    header = (
        f"{'orders in range':>15} | {'insights requests':>17} | {'insights items read':>19} | {'insights s':>10} | "
        f"{'posts requests':>14} | {'posts items read':>16} | {'posts s':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        i, p = row["insights"], row["posts"]
        print(
            f"{row['orders']:>15,} | {i['requests']:>17} | {i['items_read']:>19,} | {i['seconds']:>10.2f} | "
            f"{p['requests']:>14} | {p['items_read']:>16,} | {p['seconds']:>7.2f}"
        )
    print("\nBy operation, counter items that exist for the days read, and the table")
    for row in rows:
        i, p = row["insights"], row["posts"]
        ops = "; ".join(
            f"{name} " + ", ".join(f"{op} {n}" for op, n in cost["by_operation"].items()) + f" ({cost['days']} days)"
            for name, cost in (("insights", i), ("posts", p))
        )
        print(f"{row['orders']:>15,}: {ops}")
        print(
            f"{'':>17}counter items in range (+ settings): insights {i['counter_items_in_range']:,}, "
            f"posts {p['counter_items_in_range']:,}; "
            f"table holds {row['stored']['table_items']:,} items ({row['stored']['order_and_attribution_items']:,} orders + attributions); "
            f"built {row['seconds']['build']:.1f}s, written {row['seconds']['write']:.1f}s"
        )
    matched = all(row["figures_match"] for row in rows)
    print(f"\nFigures the reports show vs counted from the orders: {'all match' if matched else 'MISMATCH'}")
    for row in rows:
        mismatched = {name: f for name, f in row["figures"].items() if f["expected"] != f["shown"]}
        if mismatched:
            print(f"{row['orders']:>15,}: {mismatched}")
    print("\nTargets: " + ", ".join(f"{name}={'met' if ok else 'MISSED'}" for name, ok in result["targets"].items()))


if __name__ == "__main__":
    raise SystemExit(main())
