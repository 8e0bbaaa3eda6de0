"""docs/reports.md#channels through the HTTP API: every model's credit per channel value equals credit.py on the journeys.

Three buyers' touchpoints and orders go in signed; the stream attributes them; GET /reports/channels answers for each of
the six dimensions. The test builds each order's journey from the payloads it sent, applies ordertrail.core.credit
itself, and compares every figure of every row and total (a cancelled order must leave nothing).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from ordertrail.core import credit
from ordertrail.core.credit import CREDIT_MODELS, Touch
from tests.conftest import Pipeline
from tests.integration.senders import ad_click, comment, dm, iso, moment, order, send_orders, send_touchpoints, team_call

D = Decimal
LOOKBACK = timedelta(days=7)  # the export's default lookback_days
DIMENSIONS = ("post", "flow", "keyword", "creator", "coupon", "ad_campaign")


def creator_click(tp_id: str, user: str, at: datetime, creator: str) -> dict[str, Any]:
    """A creator-link click."""
    return {"id": tp_id, "kind": "creator_click", "occurred_at": iso(at), "buyer": {"user_id": user}, "creator": creator}


def journeys_sent(touchpoints: list[dict[str, Any]], the_order: dict[str, Any]) -> dict[str, list[Touch]]:
    """The test's own reading of docs/reports.md#channels: which touch credits which value, per dimension."""
    found: dict[str, list[Touch]] = {dimension: [] for dimension in DIMENSIONS}
    for tp in touchpoints:
        at = datetime.fromisoformat(tp["occurred_at"])
        if tp["kind"] == "comment":
            found["post"].append(Touch(tp["id"], at, at, tp["post"]["id"]))
            for keyword in dict.fromkeys(k.casefold() for k in tp["keywords"]):
                found["keyword"].append(Touch(f"{tp['id']}#{keyword}", at, at, keyword))
        elif tp["kind"] in ("dm", "flow_step") and tp.get("flow"):
            found["flow"].append(Touch(tp["id"], at, at, tp["flow"]["id"]))
        elif tp["kind"] == "creator_click":
            found["creator"].append(Touch(tp["id"], at, at, tp["creator"]))
        elif tp["kind"] == "ad_click":
            found["ad_campaign"].append(Touch(tp["id"], at, at, (tp.get("campaign") or {}).get("id") or "(no campaign id)"))
    ordered = datetime.fromisoformat(the_order["created_at"])
    for code in the_order.get("coupon_codes", []):
        found["coupon"].append(Touch(f"coupon:{code}", ordered, ordered, code))
    return found


def expected_report(sent: list[tuple[list[dict[str, Any]], dict[str, Any]]], dimension: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(orders credited, per value {model: (orders, revenue per currency)}, totals) from credit.py on the sent journeys."""
    rows: dict[str, dict[str, tuple[Decimal, dict[str, Decimal]]]] = {}
    orders = 0
    for touchpoints, the_order in sent:
        touches = journeys_sent(touchpoints, the_order)[dimension]
        ordered, total, currency = datetime.fromisoformat(the_order["created_at"]), D(the_order["total"]), the_order["currency"]
        if not credit.eligible(touches, ordered, LOOKBACK):
            continue
        orders += 1
        for model in CREDIT_MODELS:
            counted = credit.credit(model, touches, ordered, LOOKBACK, D(1), 4)
            money = credit.credit(model, touches, ordered, LOOKBACK, total, 2)
            for value, share in counted.items():
                had_orders, had_money = rows.setdefault(value, {}).get(model, (D(0), {}))
                revenue = {**had_money, currency: had_money.get(currency, D(0)) + money[value]}
                rows[value][model] = (had_orders + share, {code: amount for code, amount in revenue.items() if amount})
    totals: dict[str, tuple[Decimal, dict[str, Decimal]]] = {}
    for models in rows.values():
        for model, (count, money) in models.items():
            had_count, had_money = totals.get(model, (D(0), {}))
            totals[model] = (had_count + count, {code: had_money.get(code, D(0)) + money.get(code, D(0)) for code in {*had_money, *money}})
    return orders, rows, totals


def as_reported(figures: dict[str, Any]) -> dict[str, tuple[Decimal, dict[str, Decimal]]]:
    """A row's (or the totals') credit per model as the API gives it, without the models that credit nothing."""
    out = {}
    for model in CREDIT_MODELS:
        count = D(figures[model]["orders"])
        if count:
            out[model] = (count, {code: D(amount) for code, amount in figures[model]["revenue"].items()})
    return out


@pytest.fixture
def journeys(pipeline: Pipeline) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Three buyers' journeys and orders, sent through the API and attributed; Cy's order is then cancelled."""
    ordered = moment(1.0)
    ago = lambda hours: ordered - timedelta(hours=hours)  # noqa: E731
    ava = [
        comment("c-ava-1", "ava", ago(50), post="p1", keywords=("LINK",)),
        comment("c-ava-2", "ava", ago(20), post="p2", keywords=("LINK", "Glow")),
        {**dm("d-ava", "ava", ago(19), "k-ava", "c-ava-2"), "flow": {"id": "f1", "name": "Glow flow"}},
        creator_click("cc-ava", "ava", ago(5), "maya"),
        {**ad_click("a-ava", "ava", ago(3), "ttclid-ava"), "campaign": {"id": "cmp1", "name": "Spring"}},
        comment("c-ava-3", "ava", ago(1), post="p1", keywords=("link",)),
    ]
    ben = [comment("c-ben-old", "ben", ago(24 * 9), post="p9"), comment("c-ben-1", "ben", ago(2), post="p3", keywords=("GLOW",))]
    cy = [comment("c-cy", "cy", ago(3), post="p2")]
    orders = {
        "ava": order("7001", "ava", ordered, ("SKU-1", "SKU-2"), coupon_codes=["MAYA15"]),
        "ben": order("7002", "ben", ordered),
        "cy": order("7003", "cy", ordered, currency="CAD"),
    }
    for touchpoints in (ava, ben, cy):
        assert send_touchpoints(pipeline, "acme", {"touchpoints": touchpoints}).status == 202
    for placed in orders.values():
        assert send_orders(pipeline, "acme", placed).status == 202
    cancelled = {**orders["cy"], "status": "cancelled", "updated_at": iso(ordered + timedelta(hours=1))}
    assert send_orders(pipeline, "acme", cancelled).status == 202
    return [(ava, orders["ava"]), (ben, orders["ben"])]  # Cy's cancelled order credits nothing


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_every_models_credit_per_value_equals_credit_py_on_the_same_journeys(
    pipeline: Pipeline, journeys: list[tuple[list[dict[str, Any]], dict[str, Any]]], dimension: str
) -> None:
    """Given Ava (two posts, two keywords, a flow's DM, a creator click, an ad campaign, a coupon), Ben (a post outside
    the lookback and one inside) and Cy (a cancelled order), when the channel report is read for a dimension, then each
    value's orders and revenue under each of the six models, each model's total and the orders credited equal
    credit.credit applied to the journeys the test sent; the post outside the lookback and Cy's post get nothing."""
    today = datetime.now().date()
    query = {"dimension": dimension, "from": str(today - timedelta(days=30)), "to": str(today)}
    response = team_call(pipeline, "GET", "acme", "reports/channels", query=urlencode(query))
    assert response.status == 200, response.body
    body = response.json()
    orders, rows, totals = expected_report(journeys, dimension)
    assert rows, f"the journeys credit nothing on {dimension}: the test would prove nothing"
    assert body["orders"] == orders
    assert {row["value"]: as_reported(row) for row in body["rows"]} == rows
    assert as_reported(body["totals"]) == totals
    for row in body["rows"]:
        credited = [model for model in CREDIT_MODELS if model in rows[row["value"]]]
        assert row["credited_by"] == credited
        assert row.get("only_model") == (credited[0] if len(credited) == 1 else None)
    assert [row["value"] for row in body["rows"]] == sorted(rows, key=lambda v: (-rows[v].get("linear", (D(0),))[0], v))
    if dimension == "post":
        assert "p9" not in rows and body["totals"]["linear"]["orders"] == str(D(orders).quantize(D("0.0001")))


def test_a_channel_only_one_model_credits_stands_out(pipeline: Pipeline, journeys: list[Any]) -> None:
    """Given Ava commented on p1 first and last and on p2 between, when the post report is read, then p2 is credited by
    every model but first and last touch, and under first touch only p1 (Ava's) and p3 (Ben's) have credit."""
    response = team_call(pipeline, "GET", "acme", "reports/channels", query=urlencode({"dimension": "post", "sort": "first_touch"}))
    assert response.status == 200, response.body
    rows = {row["value"]: row for row in response.json()["rows"]}
    assert rows["p2"]["credited_by"] == ["linear", "participation", "u_shaped", "time_decay"]
    assert [value for value, row in rows.items() if D(row["first_touch"]["orders"])] == ["p1", "p3"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"dimension": "video"}, "dimension"), ({}, "dimension"), ({"dimension": "post", "sort": "revenue"}, "sort")],
)
def test_an_unknown_dimension_or_model_is_a_422_naming_it(pipeline: Pipeline, query: dict[str, str], field: str) -> None:
    """Given the channel report, when asked for a dimension or a sort it does not have (or no dimension), then 422 names the field."""
    response = team_call(pipeline, "GET", "acme", "reports/channels", query=urlencode(query))
    assert response.status == 422, response.body
    assert response.json()["error"]["field"] == field
