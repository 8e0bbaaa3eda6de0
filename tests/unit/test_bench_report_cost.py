"""bench/report_cost.py keeps running: with tiny sizes the reports make the same requests and read only counters."""

from __future__ import annotations

import importlib
import json
from contextlib import redirect_stdout
from io import StringIO
from typing import Any

import pytest

from ordertrail_local.template import repo_root

SIZES = (50, 500)
POSTS, KEYWORDS, PRODUCTS = 3, 3, 5
SOURCES = 3  # the insights report reads the `orders` counters of tiktok_shop, shopify and other


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    """One run of the bench's main with 50 and 500 orders and a small catalogue, as JSON."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(repo_root() / "bench"))
        bench = importlib.import_module("report_cost")
        # The bench's own offline environment, set for this module only (offline_env would set it for good).
        for name, value in importlib.import_module("offline").environment(bench.TABLE).items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        argv = [
            "--json",
            "--sizes",
            ",".join(map(str, SIZES)),
            "--posts",
            str(POSTS),
            "--keywords",
            str(KEYWORDS),
            "--products",
            str(PRODUCTS),
        ]
        out = StringIO()
        with redirect_stdout(out):
            code = bench.main(argv)
    assert code == 0
    parsed: dict[str, Any] = json.loads(out.getvalue())
    return parsed


def test_requests_are_the_same_for_50_and_500_orders(result: dict[str, Any]) -> None:
    """Given 50 then 500 orders in range, when both reports run, then each makes exactly as many requests."""
    small, large = result["runs"]
    assert [small["orders"], large["orders"]] == list(SIZES)
    for report in ("insights", "posts"):
        assert small[report]["requests"] == large[report]["requests"], report
        assert small[report]["by_operation"] == large[report]["by_operation"], report
    assert all(result["targets"].values())


def test_items_read_are_counters_bounded_by_days_and_ids(result: dict[str, Any]) -> None:
    """Then each report reads exactly the counter items of its days (no order or attribution item), at most days × ids.

    The bound depends on the days and the catalogue only: 500 orders cannot make a report read more than it, and it is
    below the 1,000 order and attribution items the table holds.
    """
    for run in result["runs"]:
        insights, posts = run["insights"], run["posts"]
        assert insights["items_read"] == insights["counter_items_in_range"]
        assert posts["items_read"] == posts["counter_items_in_range"]
        # days × (sources + customers + products) + the ALL items (sources + customers) + the settings item
        assert insights["items_read"] <= insights["days"] * (SOURCES + 1 + PRODUCTS) + SOURCES + 1 + 1
        assert posts["items_read"] <= posts["days"] * POSTS + 1
        # The table holds every order and attribution beside the counters (and the settings item).
        assert run["stored"]["table_items"] == run["stored"]["order_and_attribution_items"] + run["stored"]["counter_items"] + 1
    large = result["runs"][-1]
    assert large["insights"]["items_read"] < large["stored"]["order_and_attribution_items"]
    assert large["posts"]["items_read"] < large["orders"]


def test_the_reports_show_what_the_orders_add_up_to(result: dict[str, Any]) -> None:
    """Then the figures shown (orders, customers, post orders, comments, DMs) equal those counted from the orders."""
    for run in result["runs"]:
        assert run["figures_match"], run["figures"]
        assert run["figures"]["tiktok_orders_all_time"]["shown"] > 0
