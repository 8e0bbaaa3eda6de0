"""`make run`'s first act: the demo shop connects through TikTok Shop's OAuth flow and six weeks of history come in.

Over the served API, as a seller's browser and team would: the chat tools' past touchpoints are sent (signed), the
seller authorizes the app (authorize → the stand-in's consent page → the callback, which stores the tokens and starts
importing the shop's history), the team imports Shopify's history with POST /imports, and both imports are followed
at GET /imports/{id} until they end. The sample day's TikTok orders are kept out of the stand-in meanwhile: they are
today's, and arrive by webhook when the day is replayed.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from ordertrail.sources.signatures import sign_ordertrail
from ordertrail_local import demo_history
from ordertrail_local.stack import LocalStack

# Batches a RecordTouchpointFunction invocation stores well within its 10 s timeout on the local stack.
TOUCHPOINT_BATCH = 40
IMPORT_WAIT_SECONDS = 600.0
_IMPORT_ID = re.compile(r"import <code>([A-Za-z0-9_-]+)</code>")


@dataclass
class ConnectOutcome:
    """What the connect-and-import act did: the shop, each import's final report, and anything that went wrong."""

    shop: str = ""
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)
    touchpoints: int = 0
    problems: list[str] = field(default_factory=list)


def connect_and_import(stack: LocalStack, tenant: str, api_key: str, secret: str, history: demo_history.DemoHistory) -> ConnectOutcome:
    """Send the history's touchpoints, connect the TikTok Shop through OAuth, import Shopify, and wait for both imports."""
    outcome = ConnectOutcome()
    if stack.stand_in is None or stack.shopify_admin is None:
        outcome.problems.append("the TikTok Shop and Shopify stand-ins are not running (TIKTOK_SHOP_API_URL or SHOPIFY_ADMIN_URL is set)")
        return outcome
    stack.stand_in.put_orders(history.tiktok_orders)
    stack.shopify_admin.put_orders(demo_history.SHOP_DOMAIN, history.shopify_orders)
    base = f"{stack.url}/v1/{tenant}"
    key = {"Authorization": f"Bearer {api_key}"}
    with requests.Session() as session:
        outcome.touchpoints = _send_touchpoints(session, base, secret, history.touchpoints, outcome.problems)
        tiktok_import = _connect(session, stack, base, key, outcome)
        shopify = session.post(
            f"{base}/imports",
            json={"source": "shopify", "from": history.start.isoformat(), "to": history.end.isoformat()},
            headers=key,
            timeout=30,
        )
        if shopify.status_code != 202:
            outcome.problems.append(f"POST /imports (shopify) -> {shopify.status_code} {shopify.text[:300]}")
        started = {"tiktok_shop": tiktok_import, "shopify": shopify.json().get("import_id") if shopify.status_code == 202 else None}
        for source, import_id in started.items():
            if import_id:
                outcome.imports[source] = _wait(session, base, key, import_id, outcome.problems)
    return outcome


def _send_touchpoints(session: requests.Session, base: str, secret: str, touchpoints: list[dict[str, Any]], problems: list[str]) -> int:
    """POST the past touchpoints in signed batches; returns how many were accepted."""
    accepted = 0
    for start in range(0, len(touchpoints), TOUCHPOINT_BATCH):
        body = json.dumps({"touchpoints": touchpoints[start : start + TOUCHPOINT_BATCH]}, separators=(",", ":")).encode()
        headers = {"content-type": "application/json", "x-ordertrail-signature": sign_ordertrail(secret, body, int(time.time()))}
        answer = session.post(f"{base}/touchpoints", data=body, headers=headers, timeout=120)
        if answer.status_code != 202:
            problems.append(f"POST /touchpoints (history) -> {answer.status_code} {answer.text[:300]}")
            continue
        result = answer.json()
        accepted += int(result.get("accepted", 0)) + int(result.get("duplicates", 0))
        problems += [f"history touchpoint rejected: {error}" for error in result.get("errors", [])]
    return accepted


def _connect(session: requests.Session, stack: LocalStack, base: str, key: dict[str, str], outcome: ConnectOutcome) -> str | None:
    """Authorize → consent on the stand-in's page → the callback; returns the import the callback started."""
    authorize = session.get(f"{base}/connections/tiktok-shop/authorize", headers=key, allow_redirects=False, timeout=30)
    if authorize.status_code != 302:
        outcome.problems.append(f"GET /connections/tiktok-shop/authorize -> {authorize.status_code} {authorize.text[:300]}")
        return None
    consent = session.get(authorize.headers["location"], allow_redirects=False, timeout=30)
    if consent.status_code != 302:
        outcome.problems.append(f"TikTok Shop's authorization page -> {consent.status_code} {consent.text[:300]}")
        return None
    callback = session.get(consent.headers["location"], timeout=60)
    if callback.status_code != 200:
        outcome.problems.append(f"GET /connections/tiktok-shop/callback -> {callback.status_code} {callback.text[:300]}")
        return None
    connections = session.get(f"{base}/connections", headers=key, timeout=30).json().get("connections", [])
    shop: dict[str, Any] = next((c for c in connections if c.get("store") == "tiktok_shop"), {})
    outcome.shop = f"{shop.get('shop_name')} ({shop.get('status')})"
    found = _IMPORT_ID.search(callback.text)
    if found is None:
        outcome.problems.append("the callback started no history import (see the log above)")
        return None
    return found.group(1)


def _wait(session: requests.Session, base: str, key: dict[str, str], import_id: str, problems: list[str]) -> dict[str, Any]:
    """Follow GET /imports/{id} until the import ends; its last report."""
    deadline = time.monotonic() + IMPORT_WAIT_SECONDS
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        # The local stack runs one function at a time: a read waits while an import step stores a page.
        report = session.get(f"{base}/imports/{import_id}", headers=key, timeout=120).json()
        if report.get("status") in ("succeeded", "failed"):
            break
        time.sleep(1.0)  # each read is an invocation the import's own steps wait behind locally
    if report.get("status") != "succeeded":
        problems.append(f"history import {import_id} ended {report.get('status')}: {report.get('error')}")
    return report


def render(outcome: ConnectOutcome, history: demo_history.DemoHistory) -> str:
    """The connect-and-import act in a few lines."""
    lines = [
        "",
        f"Connected the demo TikTok Shop through OAuth (authorize, consent, callback): {outcome.shop}",
        f"  {outcome.touchpoints} touchpoints of the last {demo_history.WEEKS} weeks sent by the chat and link tools",
    ]
    for source, report in outcome.imports.items():
        lines.append(
            f"  history import {source} ({report.get('trigger')}, {report.get('start', '')[:10]} to {report.get('end', '')[:10]}): "
            f"{report.get('status')}, {report.get('windows_done')}/{report.get('windows_planned')} windows, {report.get('pages')} pages, "
            f"{report.get('imported')} orders imported, {report.get('duplicates')} duplicates"
        )
    generated = f"{len(history.tiktok_orders)} TikTok Shop and {len(history.shopify_orders)} Shopify orders"
    lines.append(f"  generated: {generated} since {history.start.date()}")
    return "\n".join(lines)
