"""The dashboard in a real browser (the machine's chromium through playwright).

1. Rendered from hand-made data with `page.set_content`: it draws with no console or page error and loads nothing.
2. Served by the local stack after the sample day (USD) is replayed and one Canadian order in CAD is added: GET
   /v1/<tenant>/dashboard with the tenant's API key answers text/html; nothing on the page fails; every `data-figure`
   whose name starts with a report (insights, posts, flows, keywords, creators, time_to_order, crossover,
   pending_reviews) holds exactly the value the matching endpoint answers through the same server with the same key,
   found by walking the figure's path in its JSON; and money shows one figure per currency, each with its code.
Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from ordertrail.reports.dashboard.page import render
from ordertrail.sources.signatures import sign_ordertrail
from ordertrail_local import run, sample_day
from ordertrail_local.stack import LocalStack
from tests.browser.conftest import WatchedPage
from tests.unit.test_dashboard import dashboard_data
from tests.waits import WAIT_LIMIT

pytestmark = pytest.mark.browser
TENANT = run.TENANT
# The first part of a figure's name → (the endpoint under /v1/<tenant>/ that answers it, the member its path starts in).
ENDPOINTS: dict[str, tuple[str, str]] = {
    "insights": ("reports/insights", ""),
    "posts": ("reports/posts", ""),
    "flows": ("reports/flows", ""),
    "keywords": ("reports/keywords", ""),
    "creators": ("reports/creators", ""),
    "time_to_order": ("reports/time-to-order", ""),
    "crossover": ("reports/crossover", ""),
    "pending_reviews": ("reviews?status=pending", "items"),
}
MUST_COMPARE = ("insights", "posts", "time_to_order", "crossover")
FIGURES_JS = "els => els.map(e => [e.getAttribute('data-figure'), e.getAttribute('data-value')])"
TEXTS_JS = "els => els.map(e => [e.getAttribute('data-figure'), e.textContent])"


def walk(doc: Any, path: str) -> Any:
    """The value at `a.b[2].c` (or `[0].c`) in a JSON document; a member the API leaves out (no value) is null."""
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        doc = doc[int(index)] if index else doc.get(key) if isinstance(doc, dict) and key not in doc else doc[key]
        if doc is None:
            return None
    return doc


def as_api_shows(value: Any) -> str:
    """A JSON value as data-value holds it: a string as it is, anything else as JSON text."""
    return value if isinstance(value, str) else json.dumps(value)


def split_figure(name: str) -> tuple[str, str]:
    """`posts.rows[0].driven_revenue` → ("posts", "rows[0].driven_revenue"); `pending_reviews[0].revenue` → (…, "[0].revenue")."""
    head = re.match(r"[^.\[]+", name)
    prefix = head.group(0) if head else name
    return prefix, name[len(prefix) :].lstrip(".")


# ------------------------------------------------------------------------------------------------ hand-made data
def test_the_rendered_page_draws_without_errors(open_page: Callable[..., WatchedPage]) -> None:
    # given the dashboard of a small hand-made tenant (with hostile comment text), when chromium draws it
    watched = open_page()
    html = render(dashboard_data())
    watched.page.set_content(html, wait_until="load")
    # then nothing went wrong, no script ran, and every figure of the markup is in the DOM
    shot = watched.screenshot("dashboard_sample.png")
    assert watched.problems() == []
    assert watched.page.title() == "OrderTrail · demo · dashboard"
    assert watched.page.evaluate("document.scripts.length") == 0
    assert watched.page.locator("[data-figure]").count() == html.count("data-figure=")
    assert watched.page.locator("svg[role=img]").count() > 20
    # and the page fits the window across (no sideways scrolling), and the hostile text shows as text
    assert watched.page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert watched.page.get_by_text('<script>alert("x")</script>', exact=False).count() >= 1
    assert shot.stat().st_size > 10_000
    # and on a phone-sized window it still fits across
    watched.page.set_viewport_size({"width": 390, "height": 800})
    assert watched.page.evaluate("document.documentElement.scrollWidth") <= 390


# ------------------------------------------------------------------------------------------------ through the local stack
def canadian_order(at: datetime) -> dict[str, Any]:
    """A TikTok Shop order in CAD with the sample day's MAYA15 coupon (so maya.makeup drives revenue in two currencies)."""
    placed = at.isoformat()
    return {
        "id": "576653688135269901",
        "source": "tiktok_shop",
        "status": "AWAITING_SHIPMENT",
        "created_at": placed,
        "updated_at": placed,
        "buyer": {"user_id": "tt-cad-demo", "name": "Mia Tremblay"},
        "currency": "CAD",
        "line_items": [{"sku": "LIPOIL-ROSE", "product_id": "1729384756100001", "name": "Lip Oil", "quantity": 2, "unit_price": "16.00"}],
        "subtotal": "32.00",
        "tax": "4.16",
        "discounts": "4.80",
        "total": "31.36",
        "coupon_codes": ["MAYA15"],
        "shipping_address": {"name": "Mia Tremblay", "line1": "50 King St W", "postal_code": "M5H 1J8", "country": "CA"},
    }


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalStack, str]]:
    """The local stack serving over HTTP with the sample day replayed and a CAD order added (placed 30 hours ago, so
    in the last 7 full days); yields it and the demo tenant's API key."""
    sample = sample_day.load()
    with LocalStack(sample=sample) as stack:
        stack.serve(0)
        tenants = json.loads(stack.tenants_file.read_text(encoding="utf-8"))
        problems = run.replay(stack.url, run.plan(sample, tenants))
        # Served requests answer before the stream is delivered: the reports must wait for the attributions.
        assert stack.wait_for_stream(WAIT_LIMIT), "the stream did not catch up"
        assert problems == [] and stack.dead_letters == [], problems
        body = json.dumps(canadian_order(datetime.now(UTC) - timedelta(hours=30)), separators=(",", ":")).encode()
        signature = sign_ordertrail(tenants["tenants"][TENANT]["touchpoint_secret"], body, int(time.time()))
        headers = {"content-type": "application/json", "x-ordertrail-signature": signature}
        answer = requests.post(f"{stack.url}/v1/{TENANT}/orders", data=body, headers=headers, timeout=WAIT_LIMIT)
        assert answer.status_code == 202 and answer.json()["accepted"] == 1, answer.text
        assert stack.wait_for_stream(WAIT_LIMIT), "the stream did not deliver the CAD order"
        assert stack.dead_letters == []
        yield stack, tenants["tenants"][TENANT]["api_keys"][0]


@pytest.mark.slow
def test_the_served_dashboard_shows_what_the_report_endpoints_answer(
    served: tuple[LocalStack, str], open_page: Callable[..., WatchedPage]
) -> None:
    # given the sample day replayed into the local stack, and a browser sending the tenant's API key
    stack, key = served
    watched = open_page(extra_http_headers={"Authorization": f"Bearer {key}"})
    # when it opens the dashboard
    response = watched.page.goto(f"{stack.url}/v1/{TENANT}/dashboard", wait_until="load")
    assert response is not None
    assert response.status == 200, f"GET /v1/{TENANT}/dashboard answered {response.status}: {response.text()[:500]}"
    assert response.headers.get("content-type", "").startswith("text/html"), response.headers
    watched.screenshot("dashboard.png")
    # then nothing on the page failed
    assert watched.problems() == []
    assert watched.page.evaluate("document.scripts.length") == 0
    # and every figure that belongs to a report equals that report's answer (same server, same key)
    figures: list[list[str]] = watched.page.eval_on_selector_all("[data-figure]", FIGURES_JS)
    answers: dict[str, Any] = {}
    mismatches, compared = [], dict.fromkeys(ENDPOINTS, 0)
    for name, shown in figures:
        prefix, path = split_figure(name)
        if prefix not in ENDPOINTS:
            continue
        endpoint, member = ENDPOINTS[prefix]
        if prefix not in answers:
            api = watched.context.request.get(f"{stack.url}/v1/{TENANT}/{endpoint}")
            assert api.status == 200, f"GET /v1/{TENANT}/{endpoint} answered {api.status}: {api.text()[:500]}"
            answers[prefix] = api.json()[member] if member else api.json()
        try:
            expected = as_api_shows(walk(answers[prefix], path))
        except (KeyError, IndexError, TypeError):
            mismatches.append(f"{name}: shown {shown!r}, not in GET /v1/{TENANT}/{endpoint}")
            continue
        compared[prefix] += 1
        if shown != expected:
            mismatches.append(f"{name}: shown {shown!r}, GET /v1/{TENANT}/{endpoint} says {expected!r}")
    assert mismatches == []
    assert all(compared[prefix] > 0 for prefix in MUST_COMPARE), compared
    # and the CAD order shows as CAD figures beside the USD ones (never their sum), each printed with its code
    texts: list[list[str]] = watched.page.eval_on_selector_all("span[data-figure], text[data-figure]", TEXTS_JS)
    cad = {name for name, _ in figures if name.endswith(".CAD")}
    assert {"insights.all_time.net_receipts.CAD", "insights.all_time.net_receipts.USD"} <= {name for name, _ in figures}
    assert any(name.startswith("creators.rows[") and name.endswith(".driven_revenue.CAD") for name in cad), sorted(cad)
    assert any(name.startswith("insights.last_7_days.days[") for name in cad), sorted(cad)
    for name, text in texts:
        code = name.rsplit(".", 1)[-1]
        if re.fullmatch(r"[A-Z]{3}", code):
            assert text.startswith(f"{code} "), (name, text)
