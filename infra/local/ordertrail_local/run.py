"""`python -m ordertrail_local.run [--port 3000] [--no-serve]`: start the stack, replay the sample day, summarise, serve."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import requests

from ordertrail.api import dashboard_links
from ordertrail.sources.signatures import sign_ordertrail, sign_shopify_webhook, sign_tiktok_webhook
from ordertrail_local import connect_demo, demo_history, report_summary, sample_day
from ordertrail_local.serve import announce, exit_now, open_stack, shutdown_event, stop_within_limit, wait_for_shutdown
from ordertrail_local.stack import MEMORY_NOTICE, STREAM_WAIT_LIMIT, LocalStack, configure_logging

TENANT = "demo"
SHOP_DOMAIN = "glowhouse.myshopify.com"
TOUCHPOINT_PHASES = ("comments", "dms", "flow_steps", "shop_links", "ad_clicks", "creator_clicks")


@dataclass
class Step:
    """One HTTP request of the replay."""

    label: str
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    sign: Callable[[bytes], dict[str, str]] | None = None
    late: bool = False


class Progress:
    """A hand-written progress bar on stderr (redrawn in place on a terminal, every 10% otherwise)."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total, self.width, self.done = max(total, 1), width, 0
        self.tty = sys.stderr.isatty()

    def advance(self, label: str) -> None:
        """Count one step and redraw."""
        self.done += 1
        if not self.tty and self.done % max(self.total // 10, 1) and self.done != self.total:
            return
        filled = self.width * self.done // self.total
        line = f"replaying [{'#' * filled}{'.' * (self.width - filled)}] {self.done:3d}/{self.total} {label[:40]:<40}"
        sys.stderr.write(("\r" if self.tty else "") + line + ("" if self.tty and self.done < self.total else "\n"))
        sys.stderr.flush()


def _json(data: Any) -> bytes:
    """Compact JSON bytes, as a platform would send them."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def plan(sample: sample_day.SampleDay, tenants: dict[str, Any]) -> list[Step]:
    """Every request of the replay, in order: coupons, touchpoints by phase, orders in time order, late data, repeats."""
    config = tenants["tenants"][TENANT]
    api_key = config["api_keys"][0]
    secret = config["touchpoint_secret"]
    shop = config["tiktok_shop"]
    shopify_secret = config["shopify"]["client_secret"]
    base = f"/v1/{TENANT}"

    def ordertrail_signed(body: bytes) -> dict[str, str]:
        # Signed when sent, not when planned: the signature must be fresh (300 s tolerance).
        return {"x-ordertrail-signature": sign_ordertrail(secret, body, int(time.time()))}

    def touchpoint(tp: dict[str, Any]) -> Step:
        return Step(f"{tp['kind']} {tp['id']}", "POST", f"{base}/touchpoints", _json(tp), sign=ordertrail_signed)

    def notification(note: dict[str, Any]) -> Step:
        body = _json(note)
        headers = {"authorization": sign_tiktok_webhook(shop["app_key"], shop["app_secret"], body)}
        return Step(
            f"TikTok order {note['data']['order_id']} {note['data']['order_status']}", "POST", f"{base}/webhooks/tiktok-shop", body, headers
        )

    def shopify(order: dict[str, Any]) -> Step:
        body = _json(order)
        # Shopify retries a delivery with the same webhook id; derive it from the order so repeats match.
        webhook_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"shopify-webhook/{order['id']}"))
        headers = {
            "x-shopify-topic": "orders/create",
            "x-shopify-shop-domain": SHOP_DOMAIN,
            "x-shopify-api-version": "2025-04",
            "x-shopify-webhook-id": webhook_id,
            "x-shopify-event-id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"shopify-event/{order['id']}")),
            "x-shopify-triggered-at": order["created_at"],
            "x-shopify-hmac-sha256": sign_shopify_webhook(shopify_secret, body),
        }
        return Step(f"Shopify order {order['name']}", "POST", f"{base}/webhooks/shopify", body, headers)

    def other(order: dict[str, Any]) -> Step:
        return Step(f"store order {order['id']}", "POST", f"{base}/orders", _json(order), sign=ordertrail_signed)

    late_ids = set(sample.replay.get("late_touchpoints", []))
    steps = [
        Step(
            f"coupon {c['code']}",
            "PUT",
            f"{base}/coupons/{c['code']}",
            _json({k: v for k, v in c.items() if k != "code"}),
            {"authorization": f"Bearer {api_key}"},
        )
        for c in sample.coupons
    ]
    for phase in TOUCHPOINT_PHASES:
        items = sorted((t for t in sample.touchpoints[phase] if t["id"] not in late_ids), key=lambda t: t["occurred_at"])
        steps += [touchpoint(t) for t in items]
    timed: list[tuple[float, Step]] = []
    timed += [(float(n["data"]["update_time"]), notification(n)) for n in sample.tiktok_notifications]
    timed += [(sample_day.parse_time(o["created_at"]), shopify(o)) for o in sample.shopify_orders]
    timed += [(sample_day.parse_time(o["created_at"]), other(o)) for o in sample.other_orders]
    steps += [step for _, step in sorted(timed, key=lambda pair: pair[0])]
    late = [t for phase in TOUCHPOINT_PHASES for t in sample.touchpoints[phase] if t["id"] in late_ids]
    steps += [replace(touchpoint(t), late=True) for t in sorted(late, key=lambda t: t["occurred_at"])]
    # Platforms deliver at least once: send some of the same webhooks again, byte for byte.
    repeats = sample.replay.get("duplicate_deliveries", {})
    notes = {n["tts_notification_id"]: n for n in sample.tiktok_notifications}
    shop_orders = {str(o["id"]): o for o in sample.shopify_orders}
    others = {str(o["id"]): o for o in sample.other_orders}
    touchpoints = {t["id"]: t for phase in TOUCHPOINT_PHASES for t in sample.touchpoints[phase]}
    steps += [notification(notes[i]) for i in repeats.get("tiktok_notifications", [])]
    steps += [shopify(shop_orders[str(i)]) for i in repeats.get("shopify_orders", [])]
    steps += [other(others[str(i)]) for i in repeats.get("other_orders", [])]
    steps += [touchpoint(touchpoints[i]) for i in repeats.get("touchpoints", [])]
    return steps


def replay(base_url: str, steps: list[Step], before_late: Callable[[], None] | None = None) -> list[str]:
    """Send every step over HTTP to the local API (calling before_late once, first); return a line per unexpected answer."""
    problems: list[str] = []
    progress = Progress(len(steps))
    with requests.Session() as session:
        for step in steps:
            if step.late and before_late is not None:
                before_late()
                before_late = None
            headers = {"content-type": "application/json", **step.headers}
            if step.sign is not None:
                headers.update(step.sign(step.body))
            response = session.request(step.method, base_url + step.path, data=step.body, headers=headers, timeout=60)
            if response.status_code >= 300:
                problems.append(f"{step.method} {step.path} ({step.label}) -> {response.status_code} {response.text[:300]}")
            progress.advance(step.label)
    return problems


def wait_for_attribution(stack: LocalStack, timeout: float = STREAM_WAIT_LIMIT) -> list[str]:
    """Wait until the background pump delivered every stream record so far (the HTTP answers did not wait for it)."""
    started = time.monotonic()
    if stack.wait_for_stream(timeout):
        return []
    return [f"the stream was still delivering after {time.monotonic() - started:.0f} s: attributions read back may be missing"]


def late_buyers_orders(sample: sample_day.SampleDay) -> list[tuple[str, str]]:
    """(order id, source) of the TikTok orders whose buyers have late touchpoints."""
    late_ids = set(sample.replay.get("late_touchpoints", []))
    buyers = {(t.get("buyer") or {}).get("user_id") for phase in sample.touchpoints.values() for t in phase if t["id"] in late_ids}
    return [(str(o["id"]), "tiktok_shop") for o in sample.tiktok_orders if o.get("user_id") in buyers]


# ------------------------------------------------------------------------------------------------ summary
def _money(value: Any) -> Decimal:
    """Decimal of a money string (zero when missing)."""
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _fmt(amounts: dict[str, Decimal]) -> str:
    """Amounts as "USD 12.00", joined per currency when there are several."""
    return " + ".join(f"{cur} {amt.quantize(Decimal('0.01'))}" for cur, amt in sorted(amounts.items())) or "0.00"


def sample_orders(sample: sample_day.SampleDay) -> list[tuple[str, str]]:
    """(order id, source) of every order of the sample day."""
    wanted = [(str(o["id"]), "tiktok_shop") for o in sample.tiktok_orders]
    wanted += [(str(o["id"]), "shopify") for o in sample.shopify_orders]
    wanted += [(str(o["id"]), str(o.get("source", "other"))) for o in sample.other_orders]
    return wanted


def fetch_orders(base_url: str, api_key: str, wanted: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Read orders back through the API (GET /orders/{id}?source=...)."""
    found, problems = [], []
    with requests.Session() as session:
        for order_id, source in wanted:
            response = session.get(
                f"{base_url}/v1/{TENANT}/orders/{order_id}",
                params={"source": source},
                headers={"authorization": f"Bearer {api_key}"},
                timeout=30,
            )
            if response.status_code != 200:
                problems.append(f"GET order {order_id} ({source}) -> {response.status_code} {response.text[:200]}")
                continue
            found.append({**response.json(), "_id": order_id, "_source": source})
    return found, problems


def summarise(orders: list[dict[str, Any]]) -> str:
    """The readable summary: every order, orders and revenue by method, attributed and pending revenue, top posts."""
    by_method: dict[str, list[int]] = defaultdict(lambda: [0])
    revenue: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    attributed: dict[str, Decimal] = defaultdict(Decimal)
    pending: dict[str, Decimal] = defaultdict(Decimal)
    posts: dict[str, dict[str, Any]] = {}
    lines = [
        "",
        "Orders (read back through GET /v1/demo/orders/{id})",
        f"  {'order':<20} {'source':<12} {'status':<18} {'method':<18} {'total':>10}  {'time to order':>13}  via",
    ]
    cancelled = copies = 0
    for entry in orders:
        order, attribution = entry.get("order") or {}, entry.get("attribution") or {}
        method = str(attribution.get("method") or "unattributed")
        status = str(order.get("status") or "?")
        currency = str(order.get("currency") or attribution.get("currency") or "USD")
        amount = _money(attribution.get("revenue", order.get("total")))
        is_cancelled = bool(attribution.get("cancelled")) or status.lower() in ("cancelled", "canceled", "cancel")
        is_copy = bool(order.get("connector_copy_of"))
        post = attribution.get("post") or {}
        via = post.get("url") or attribution.get("creator") or attribution.get("coupon") or attribution.get("ttclid") or ""
        if method == "coupon" and attribution.get("coupon"):
            via = f"coupon {attribution['coupon']} -> {attribution.get('creator') or '?'}"
        if method == "conversation_soft":
            via = f"[{attribution.get('review_status') or 'pending'}] {via}"
        ttc = attribution.get("time_to_order_seconds")
        ttc_text = f"{int(ttc) // 3600}h {int(ttc) % 3600 // 60:02d}m" if isinstance(ttc, int | float) else "-"
        note = " (cancelled)" if is_cancelled else " (connector copy)" if is_copy else ""
        lines.append(f"  {entry['_id']:<20} {entry['_source']:<12} {status:<18} {method:<18} {amount:>10}  {ttc_text:>13}  {via}{note}")
        if is_cancelled:
            cancelled += 1
            continue
        if is_copy:
            copies += 1  # the TikTok order itself is already counted; its store copy must not count twice
            continue
        by_method[method][0] += 1
        revenue[method][currency] += amount
        if method == "organic":
            continue
        if method == "conversation_soft" and attribution.get("review_status") != "confirmed":
            pending[currency] += amount
            continue
        attributed[currency] += amount
        if post.get("id"):
            slot = posts.setdefault(post["id"], {"url": post.get("url") or post["id"], "orders": 0, "revenue": defaultdict(Decimal)})
            slot["orders"] += 1
            slot["revenue"][currency] += amount
    lines += [
        "",
        "Orders by attribution method (cancelled orders and connector copies excluded)",
        f"  {'method':<20} {'orders':>6}  revenue",
    ]
    order_of = ["coupon", "conversation", "ad_click", "creator_link", "conversation_soft", "organic"]
    for method in sorted(by_method, key=lambda m: (order_of.index(m) if m in order_of else 99, m)):
        lines.append(f"  {method:<20} {by_method[method][0]:>6}  {_fmt(revenue[method])}")
    lines += [
        "",
        f"Attributed revenue (OrderTrail-driven):  {_fmt(attributed)}",
        f"Pending review (soft conversation):      {_fmt(pending)}",
        f"Cancelled orders (left the metrics):     {cancelled}",
        f"Connector copies of TikTok orders:       {copies}",
        "",
        "Top posts by attributed revenue",
    ]
    # Amounts in two currencies are never added: posts rank by revenue in the sample's main currency, then the others.
    currencies = sorted(attributed, key=lambda code: (-attributed[code], code))
    ranked = sorted(posts.items(), key=lambda kv: tuple(-kv[1]["revenue"].get(code, Decimal(0)) for code in currencies))
    for rank, (_, slot) in enumerate(ranked[:5], start=1):
        lines.append(f"  {rank}. {_fmt(slot['revenue']):>12}  {slot['orders']} order(s)  {slot['url']}")
    if not ranked:
        lines.append("  (none)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ export
DEMO_EXPORT = {"enabled": True, "pixel_code": "DEMOPIXEL0001", "access_token": "demo-events-api-token", "max_event_age_days": 7}


def export_demo(stack: LocalStack, api_key: str, start: datetime, end: datetime, timeout: float = 300.0) -> tuple[str, list[str]]:
    """Export the replayed day through the API: turn the export on, POST a run, wait, and read its audit back.

    The run is the real state machine executed by moto's interpreter with the real handlers; events go to the local
    Events API sink (which checks each request against the contract's JSON Schema) unless TIKTOK_EVENTS_API_URL is set.
    """
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    base = f"{stack.url}/v1/{TENANT}"
    sink = stack.events_sink
    already = len(sink.requests) if sink is not None else 0
    problems: list[str] = []
    with requests.Session() as session:
        settings = session.get(f"{base}/settings", headers=headers, timeout=30).json()
        settings["export"] = {**{k: v for k, v in settings["export"].items() if k != "access_token_set"}, **DEMO_EXPORT}
        answer = session.put(f"{base}/settings", json=settings, headers=headers, timeout=30)
        if answer.status_code != 200:
            return "", [f"PUT /settings -> {answer.status_code} {answer.text[:300]}"]
        answer = session.post(
            f"{base}/conversions/export", json={"from": start.isoformat(), "to": end.isoformat()}, headers=headers, timeout=30
        )
        if answer.status_code != 202:
            return "", [f"POST /conversions/export -> {answer.status_code} {answer.text[:300]}"]
        run_id = answer.json()["run_id"]
        deadline = time.monotonic() + timeout
        report: dict[str, Any] = {}
        while time.monotonic() < deadline:
            report = session.get(f"{base}/conversions/runs/{run_id}", headers=headers, timeout=30).json()
            if report.get("run", {}).get("status") in ("succeeded", "failed"):
                break
            time.sleep(0.2)
    run = report.get("run", {})
    totals = report.get("totals", {})
    lines = ["", f"Conversion export to TikTok's Events API (run {run_id}: POST /conversions/export, the state machine run by moto)"]
    lines.append(
        f"  status {run.get('status')}, {len(report.get('chunks', []))} chunk(s), {totals.get('requests', 0)} request(s): "
        f"{totals.get('accepted', 0)} accepted, {totals.get('rejected', 0)} rejected, {totals.get('skipped', 0)} skipped"
    )
    if run.get("status") != "succeeded":
        problems.append(f"export run {run_id} ended {run.get('status')}: {run.get('error')}")
    reasons: dict[str, int] = {}
    for event in report.get("events", []):
        if event["outcome"] == "skipped":
            reasons[event["reason"]] = reasons.get(event["reason"], 0) + 1
    if reasons:
        lines.append("  skipped: " + ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items())))
    sent = [e for e in report.get("events", []) if e["outcome"] != "skipped"]
    if sent:
        lines.append(f"  {'event_id':<40} {'value':>9} currency  order                 result")
    for event in sent[:20]:
        lines.append(
            f"  {str(event.get('event_id'))[:40]:<40} {event.get('value')!s:>9} {event.get('currency')!s:<8}  "
            f"{event['order_id']:<20}  {event['outcome']}"
        )
    if sink is not None:
        received = sink.requests[already:]
        refused = [r for r in received if not r.accepted]
        lines.append(
            f"  the local Events API sink received {len(received)} request(s), each checked against {sink.schema_path.name}"
            + (f"; {len(refused)} refused" if refused else "")
        )
        problems += [f"the Events API sink refused a request: {r.response.get('message')}" for r in refused]
    else:
        lines.append(f"  events were sent to {stack.tiktok_events_api_url}")
    return "\n".join(lines), problems


def connect_history(
    stack: LocalStack, sample: sample_day.SampleDay, history: demo_history.DemoHistory, api_key: str, secret: str
) -> list[str]:
    """Connect the demo shop through OAuth and import its six weeks of history (today's orders held back), then print it."""
    stand_in = stack.stand_in
    # Today's orders are in TikTok Shop only once their notifications come: the import on connect must not see them.
    today = [stand_in.orders.pop(str(o["id"])) for o in sample.tiktok_orders if str(o["id"]) in stand_in.orders] if stand_in else []
    outcome = connect_demo.connect_and_import(stack, TENANT, api_key, secret, history)
    problems = outcome.problems + wait_for_attribution(stack)
    if stand_in is not None:
        stand_in.put_orders(today)
    print(connect_demo.render(outcome, history), flush=True)
    return problems


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Run OrderTrail locally: replay a sample day, summarise it, keep serving.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="port on 127.0.0.1 (default $PORT or 3000)")
    parser.add_argument("--no-serve", action="store_true", help="exit after the summary")
    parser.add_argument("--sample-dir", type=Path, default=None, help="sample day directory (default events/sample_day)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start, replay, summarise, then serve until SIGTERM/Ctrl-C (or exit with --no-serve)."""
    args = parse_args(argv)
    configure_logging()
    sample = sample_day.load(args.sample_dir)
    # --no-serve still replays over real HTTP, on a free port so it never clashes with a running server.
    stack = open_stack(0 if args.no_serve else args.port, args.port, sample=sample)
    if isinstance(stack, int):
        return stack
    port = stack.port
    print(announce(stack), flush=True)
    problems: list[str] = []
    try:
        tenants = json.loads(stack.tenants_file.read_text(encoding="utf-8"))
        api_key = tenants["tenants"][TENANT]["api_keys"][0]
        history = demo_history.generate(end=sample_day.first_time(sample) - timedelta(hours=1))
        problems += connect_history(stack, sample, history, api_key, tenants["tenants"][TENANT]["touchpoint_secret"])
        steps = plan(sample, tenants)
        started = time.monotonic()
        before: dict[str, str] = {}

        def snapshot() -> None:
            # What the late touchpoints' orders looked like before those touchpoints arrived (once attributed).
            problems.extend(wait_for_attribution(stack))
            for entry in fetch_orders(stack.url, api_key, late_buyers_orders(sample))[0]:
                before[entry["_id"]] = str((entry.get("attribution") or {}).get("method"))

        problems += replay(stack.url, steps, snapshot)
        elapsed = time.monotonic() - started
        problems += wait_for_attribution(stack)
        orders, read_problems = fetch_orders(stack.url, api_key, sample_orders(sample))
        touchpoint_count = sum(len(v) for v in sample.touchpoints.values())
        print(
            f"\nOrderTrail local stack: sample day replayed ({len(steps)} requests, {touchpoint_count} touchpoints, "
            f"{len(orders)} orders, {elapsed:.1f} s; times shifted by {sample.shift})"
        )
        print(summarise(orders))
        after = {entry["_id"]: str((entry.get("attribution") or {}).get("method")) for entry in orders}
        for order_id, method in before.items():
            print(f"Late touchpoints: order {order_id} was {method} before they arrived, {after.get(order_id)} after")
        problems += read_problems
        report_bodies, report_problems = report_summary.fetch_reports(stack.url, TENANT, api_key)
        print(report_summary.render(report_bodies))
        problems += report_problems
        now = datetime.now(UTC)
        # The sample day ends just before now: export the last three days, up to now (a settle delay would exclude it).
        export_summary, export_problems = export_demo(stack, api_key, now - timedelta(days=3), now)
        print(export_summary)
        problems += export_problems
        if stack.dead_letters:
            problems.append(f"{len(stack.dead_letters)} stream batch(es) were dropped after retries (see the log above)")
        if problems:
            print(f"\n{len(problems)} problem(s):", file=sys.stderr)
            for line in problems:
                print(f"  {line}", file=sys.stderr)
        if args.no_serve:
            return 1 if problems else 0
        stop = shutdown_event()
        print(f"\nready: http://127.0.0.1:{port} ({MEMORY_NOTICE})", flush=True)
        # The same signed link POST /v1/demo/dashboard/links?hours=24 would hand out: a browser cannot send the key.
        link = dashboard_links.link_for(TENANT, api_key, 24, datetime.now(UTC))
        print(f"dashboard (open in a browser, valid 24 h): http://127.0.0.1:{port}{link.path}", flush=True)
        wait_for_shutdown(stop)
        return 0
    finally:
        stop_within_limit(stack)


if __name__ == "__main__":
    exit_now(main())
