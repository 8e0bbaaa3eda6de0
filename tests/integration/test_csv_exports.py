"""CSV exports through the real ReportsFunction: the evidence in columns, safe cells, and large files as S3 links."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import requests

from ordertrail_local.stack import reset_process_caches
from tests.integration.senders import comment, dm, journey, moment, order, send_orders, send_touchpoints, shop_link, team_call
from tests.waits import WAIT_LIMIT


def header(response, name: str) -> str:
    """A response header, whatever its case."""
    return {key.lower(): value for key, value in response.headers.items()}[name.lower()]


def rows_of(text: str) -> list[dict[str, str]]:
    """Parse CSV text into dicts by header."""
    return list(csv.DictReader(io.StringIO(text)))


def attributed_day(pipeline) -> str:
    """Two attributed orders and an organic one today; returns today's date (UTC, the default zone)."""
    at = moment(days_ago=0.2)
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    hostile = comment("c-u2", "u2", at, post="v2")
    hostile["text"] = '=HYPERLINK("http://evil.test","click"), "quoted"\nsecond line'
    send_touchpoints(
        pipeline,
        "acme",
        {"touchpoints": [hostile, dm("d-u2", "u2", at + timedelta(minutes=1), "conv-2", "c-u2"), shop_link("s-u2", "u2", at, "conv-2")]},
    )
    send_orders(pipeline, "acme", order("1001", "u1", at + timedelta(hours=1)))
    send_orders(pipeline, "acme", order("1002", "u2", at + timedelta(hours=2)))
    send_orders(pipeline, "acme", order("1003", "u3", at + timedelta(hours=3)))
    return (at + timedelta(hours=1)).date().isoformat()


def test_attributed_orders_csv_carries_the_evidence_and_leaves_organic_orders_out(pipeline):
    """Given two attributed orders and an organic one, when attributed-orders.csv is asked for their day,
    then it lists the two with comment text, post URL, flow name, keyword, method and time-to-order, as an attachment."""
    day = attributed_day(pipeline)
    response = team_call(pipeline, "GET", "acme", "exports/attributed-orders.csv", query=f"from={day}&to={day}")
    assert response.status == 200, response.body
    assert header(response, "Content-Type").startswith("text/csv")
    assert "attachment" in header(response, "Content-Disposition")
    rows = {row["order_id"]: row for row in rows_of(response.body.decode())}
    assert set(rows) == {"1001", "1002"}
    first = rows["1001"]
    evidence = (first["method"], first["comment_text"], first["flow_name"], first["keywords"])
    assert evidence == ("conversation", "LINK please", "Glow flow", "LINK")
    assert first["post_url"] == "https://www.tiktok.com/@acme/video/v1"
    assert first["time_to_order_seconds"] == "3600"
    assert first["total"] == "12.00"


def test_a_comment_that_looks_like_a_formula_stays_text_and_quotes_survive(pipeline):
    """Given a comment starting with `=HYPERLINK(` with commas, quotes and a newline, when exported,
    then the cell starts with a quote (a spreadsheet shows text, runs nothing) and the rest round-trips exactly."""
    day = attributed_day(pipeline)
    text = team_call(pipeline, "GET", "acme", "exports/attributed-orders.csv", query=f"from={day}&to={day}").body.decode()
    cell = {row["order_id"]: row for row in rows_of(text)}["1002"]["comment_text"]
    assert cell == '\'=HYPERLINK("http://evil.test","click"), "quoted"\nsecond line'


def test_an_export_too_large_for_a_response_is_a_link_to_the_same_file(pipeline, monkeypatch):
    """Given exports larger than INLINE_CSV_BYTES, when one is asked for, then the answer is a 303 to a presigned
    S3 link (expiring within an hour) whose file is byte for byte the CSV the API would have returned inline."""
    day = attributed_day(pipeline)
    inline = team_call(pipeline, "GET", "acme", "exports/attributed-orders.csv", query=f"from={day}&to={day}").body
    monkeypatch.setenv("INLINE_CSV_BYTES", "100")
    reset_process_caches()
    response = team_call(pipeline, "GET", "acme", "exports/attributed-orders.csv", query=f"from={day}&to={day}")
    assert response.status == 303, response.body
    link = response.json()
    assert header(response, "Location") == link["url"]
    assert (link["rows"], link["expires_in_seconds"]) == (2, 3600)
    assert "X-Amz-Signature=" in link["url"] or "Signature=" in link["url"]
    assert requests.get(link["url"], timeout=WAIT_LIMIT).content == inline


def test_customers_csv_lists_tiktok_customers_with_their_address(pipeline):
    """Given a TikTok Shop order with a shipping address, when customers.csv is asked for, then the customer is listed
    with id, name and address; an order from another store adds no customer."""
    at = moment(days_ago=0.2)
    address = {"name": "Ava Reed", "line1": "123 Main Street", "line2": "Apt. 4B", "city": "Los Angeles", "postal_code": "90012-3401"}
    tiktok = order("T-1", "tt-user-1", at, source="tiktok_shop", shipping_address={**address, "region": "CA", "country": "US"})
    tiktok["buyer"]["name"] = "Ava Reed"
    send_orders(pipeline, "acme", tiktok)
    send_orders(pipeline, "acme", order("S-1", None, at, source="shopify", shipping_address=address))
    response = team_call(pipeline, "GET", "acme", "exports/customers.csv")
    assert response.status == 200, response.body
    rows = rows_of(response.body.decode())
    assert [(r["tiktok_customer_id"], r["name"], r["address_line1"], r["postal_code"], r["orders"]) for r in rows] == [
        ("tt-user-1", "Ava Reed", "123 Main Street", "90012-3401", "1")
    ]


def test_a_backwards_range_is_refused_naming_the_field(pipeline):
    """Given from after to, when an export is asked for, then 422 names `from`; a date that is not one is a 400 naming it."""
    response = team_call(pipeline, "GET", "acme", "exports/attributed-orders.csv", query="from=2026-11-10&to=2026-11-01")
    assert response.status == 422
    assert response.json()["error"]["field"] == "from"
    bad = team_call(pipeline, "GET", "acme", "exports/attributed-orders.csv", query="from=yesterday")
    assert (bad.status, bad.json()["error"]["field"]) == (400, "from")
