"""Re-attribution after a settings change (docs/reattribution.md), through the HTTP API and the template's state machine.

POST /reattributions runs ReattributeOrdersStateMachine in moto's interpreter, Distributed Map included, with the real
Plan, Day and Finalize handlers. Every test compares against a fresh replay: the same touchpoints and orders sent to a
second tenant whose settings were the new ones from the start. The counters (every report figure is read from them),
customers, address profiles and conversions of the re-attributed tenant must then equal the replay's, item by item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ordertrail.storage.table import ConcurrentChange, unpacked
from tests.conftest import ExportPipeline
from tests.integration.senders import ad_click, comment, dm, iso, order, send_orders, send_touchpoints, shop_link, team_call

REPLAY = "globex"  # the fresh replay's tenant
TENANT = "acme"
NOW = datetime.now(UTC).replace(microsecond=0)
# Items a run adds or that say when and by what something was decided, not what: left out of the comparison.
RUN_ITEM_TYPES = {"reattribution_run", "reattribution_day", "reattribution_lease"}


def without_arrival(value: Any) -> Any:
    """A stored document without `arrival` (when a touchpoint reached OrderTrail: the replay's came later)."""
    if isinstance(value, dict):
        return {k: without_arrival(v) for k, v in value.items() if k != "arrival"}
    if isinstance(value, list):
        return [without_arrival(v) for v in value]
    return value


@dataclass
class Seller:
    """The pipeline with the re-attribution state machine, and the calls a seller's team makes."""

    api: ExportPipeline

    def put_settings(self, tenant: str, **settings: Any) -> None:
        """PUT /settings (fields not given take their defaults)."""
        response = team_call(self.api, "PUT", tenant, "settings", settings)
        assert response.status == 200, response.body

    def send(self, tenant: str, touchpoints: list[dict[str, Any]], orders: list[dict[str, Any]]) -> None:
        """Signed touchpoints, then orders; the stream attributes them."""
        if touchpoints:
            assert send_touchpoints(self.api, tenant, {"touchpoints": touchpoints}).status == 202
        for one in orders:
            assert send_orders(self.api, tenant, one).status in (200, 202)

    def start(self, first: date, last: date, tenant: str = TENANT) -> Any:
        """POST /reattributions (the raw response)."""
        return team_call(self.api, "POST", tenant, "reattributions", {"from": first.isoformat(), "to": last.isoformat()})

    def run(self, first: date, last: date) -> dict[str, Any]:
        """Start a run, wait for its execution, deliver the stream, and read GET /reattributions/{id}."""
        response = self.start(first, last)
        assert response.status == 202, response.body
        return self.finish(response.json()["run_id"])

    def execution_arn(self, run_id: str) -> str:
        """The run's execution (named by the run id)."""
        assert self.api.sfn is not None
        return f"{self.api.sfn.arn_of('ReattributeOrdersStateMachine').replace(':stateMachine:', ':execution:')}:{run_id}"

    def finish(self, run_id: str) -> dict[str, Any]:
        """Wait for a run's execution, deliver the stream, read the run."""
        assert self.api.sfn is not None
        self.api.sfn.wait(self.execution_arn(run_id), timeout=900, poll=0.5)
        self.api.harness.drain()
        return self.report(run_id)

    def report(self, run_id: str) -> dict[str, Any]:
        """GET /reattributions/{id}."""
        response = team_call(self.api, "GET", TENANT, f"reattributions/{run_id}")
        assert response.status == 200, response.body
        return dict(response.json())

    def attribution(self, order_id: str, tenant: str = TENANT) -> dict[str, Any]:
        """GET /orders/{id}'s attribution."""
        response = team_call(self.api, "GET", tenant, f"orders/{order_id}")
        assert response.status == 200, response.body
        return dict(response.json()["attribution"])

    def state(self, tenant: str) -> dict[tuple[str, str], Any]:
        """What a tenant's reports, customers, crossover and export read: counters, customers, addresses, conversions."""
        prefix = f"T#{tenant}#"
        found: dict[tuple[str, str], Any] = {}
        for item in self.api.items():
            if not item["PK"].startswith(prefix) or item.get("type") in RUN_ITEM_TYPES:
                continue
            pk = item["PK"][len(prefix) :]
            if "#AGG#" in f"#{pk}":
                # A field moved to zero reads as the zero a replay never wrote: every report shows both as 0.
                figures = {k: v for k, v in item.items() if isinstance(v, Decimal) and v != 0}
                if figures:
                    found[(pk, item["SK"])] = figures
            elif item["SK"] in ("CUSTOMER", "PROFILE") or pk.startswith("CONVERSIONS#"):
                data = item["data"] if isinstance(item["data"], str) else unpacked(item["data"])
                found[(pk, item["SK"])] = (without_arrival(json.loads(data or "{}")), item.get("counts"))
            elif item["SK"] == "ATTR":
                decision = json.loads(item["data"])
                found[(pk, item["SK"])] = (decision["method"], decision.get("rule"), decision.get("claimed_shop_link_id"))
        return found

    def table_of(self, tenant: str) -> list[dict[str, Any]]:
        """Every item of a tenant but the run's own (for "a re-run changes nothing")."""
        return sorted(
            (i for i in self.api.items() if i["PK"].startswith(f"T#{tenant}#") and i.get("type") not in RUN_ITEM_TYPES),
            key=lambda i: (i["PK"], i["SK"]),
        )


@pytest.fixture
def seller(export_pipeline: ExportPipeline) -> Iterator[Seller]:
    """acme (to re-attribute) and globex (the fresh replay), both on default settings."""
    yield Seller(export_pipeline)


def conversation_orders(prefix: str, gaps_days: list[float], base: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One buyer per gap: comment, DM and shop link, then an order `gap` days after the link."""
    touchpoints, orders = [], []
    for n, gap in enumerate(gaps_days):
        user, at = f"{prefix}u{n}", base - timedelta(days=gap, hours=n)
        conversation = f"{prefix}conv{n}"
        touchpoints += [
            comment(f"{prefix}c{n}", user, at, post=f"v{n % 2}"),
            dm(f"{prefix}d{n}", user, at + timedelta(minutes=1), conversation, f"{prefix}c{n}"),
            shop_link(f"{prefix}s{n}", user, at + timedelta(minutes=2), conversation),
        ]
        orders.append(order(f"{prefix}o{n}", user, at + timedelta(days=gap), total="24.00", subtotal="24.00"))
    return touchpoints, orders


def same_for_both(seller: Seller, touchpoints: list[dict[str, Any]], orders: list[dict[str, Any]]) -> None:
    """Send the same data to the tenant to re-attribute and to the replay."""
    for tenant in (TENANT, REPLAY):
        seller.send(tenant, touchpoints, orders)


# ------------------------------------------------------------------------------------------------ the tests
def test_shortening_the_conversation_window_makes_older_orders_organic_exactly_as_a_fresh_replay(seller: Seller) -> None:
    """Given six conversation orders 1 to 12 days after their shop links, attributed under the 14-day window,
    when the seller shortens the window to 7 days and re-attributes the last 30 days,
    then the three orders more than 7 days after their link become organic, their evidence names the run and its
    settings, GET /orders shows the previous decision, the run counts them, and every counter equals a fresh replay."""
    seller.put_settings(REPLAY, conversation_window_days=7)
    touchpoints, orders = conversation_orders("w", [1, 3, 6, 8, 10, 12], NOW - timedelta(hours=1))
    same_for_both(seller, touchpoints, orders)
    assert {seller.attribution(o["id"])["method"] for o in orders} == {"conversation"}

    seller.put_settings(TENANT, conversation_window_days=7)
    run = seller.run((NOW - timedelta(days=30)).date(), NOW.date())

    assert run["status"] == "succeeded", run
    assert (run["from"], run["to"]) == ((NOW - timedelta(days=30)).date().isoformat(), NOW.date().isoformat())
    assert (run["orders_seen"], run["orders_changed"], run["method_changed"], run["errors"]) == (6, 3, 3, 0)
    assert seller.api.sfn is not None
    # moto's interpreter ran the days as a Distributed Map (a map run), not inline.
    assert "MapRunStarted" in {event["type"] for event in seller.api.sfn.history(seller.execution_arn(run["run_id"]))}
    assert run["days_done"] == run["days_planned"] == 31
    assert run["settings"]["conversation_window_days"] == 7
    for old in orders[3:]:
        decision = seller.attribution(old["id"])
        assert decision["method"] == "organic"
        assert decision["reattributed"]["run_id"] == run["run_id"]
        assert decision["reattributed"]["settings_digest"] == run["settings_digest"]
        assert decision["previous"]["method"] == "conversation"
        assert decision["previous"]["rule"] == "conversation_hard"
        shop_rule = next(e for e in decision["evidence"] if e["rule"] == "conversation_hard")
        assert shop_rule["matched"] is False
    for kept in orders[:3]:
        assert seller.attribution(kept["id"])["method"] == "conversation"
        assert "reattributed" not in seller.attribution(kept["id"])  # unchanged orders are not rewritten
    assert seller.state(TENANT) == seller.state(REPLAY)


def test_swapping_two_rules_moves_only_the_orders_that_match_both(seller: Seller) -> None:
    """Given one buyer who came through a conversation and also clicked an ad, and one who only clicked an ad,
    when the seller puts ad_click before conversation_hard and re-attributes,
    then only the order that matched both moves (to the ad click), and the counters equal a fresh replay."""
    priority = ["coupon", "ad_click", "conversation_hard", "creator_link", "conversation_soft"]
    seller.put_settings(REPLAY, priority=priority)
    at = NOW - timedelta(days=3)
    touchpoints, orders = conversation_orders("p", [1], at)
    touchpoints.append(ad_click("pclick0", "pu0", at - timedelta(days=1), "tt-both"))
    touchpoints.append(ad_click("pclick1", "solo", at - timedelta(hours=5), "tt-solo"))
    orders.append(order("p-solo", "solo", at, total="30.00", subtotal="30.00"))
    same_for_both(seller, touchpoints, orders)
    assert seller.attribution("po0")["method"] == "conversation"

    seller.put_settings(TENANT, priority=priority)
    run = seller.run((NOW - timedelta(days=10)).date(), NOW.date())

    # Both decisions are rewritten (their evidence lists the rules in the new order); one changes method.
    assert (run["orders_seen"], run["orders_changed"], run["method_changed"]) == (2, 2, 1)
    moved = seller.attribution("po0")
    assert (moved["method"], moved["rule"], moved["previous"]["method"]) == ("ad_click", "ad_click", "conversation")
    solo = seller.attribution("p-solo")
    assert (solo["method"], solo["previous"]["method"]) == ("ad_click", "ad_click")
    assert [e["rule"] for e in solo["evidence"]] == priority
    assert seller.state(TENANT) == seller.state(REPLAY)


def test_a_shop_link_an_order_gives_up_goes_to_the_buyers_next_order_as_in_a_fresh_replay(seller: Seller) -> None:
    """Given one buyer's shop link, a first order that also followed an ad click and a second order eight days later, so
    the link credits the first order only, when ad clicks move ahead of conversations and the range is re-attributed,
    then the first order goes to its ad click and gives the link up, the second takes it, and the counters and claims
    equal a fresh replay under the new priority."""
    priority = ["coupon", "ad_click", "conversation_hard", "creator_link", "conversation_soft"]
    seller.put_settings(REPLAY, priority=priority)
    link_at = NOW - timedelta(days=12)
    touchpoints = [
        comment("hc", "hu", link_at),
        dm("hd", "hu", link_at + timedelta(minutes=1), "hconv", "hc"),
        shop_link("hs", "hu", link_at + timedelta(minutes=2), "hconv"),
        ad_click("hclick", "hu", link_at + timedelta(days=1), "tt-first"),
    ]
    first = order("h-first", "hu", link_at + timedelta(days=2), landing={"ttclid": "tt-first"})
    # Ten days after the link (inside the 14-day conversation window), nine after the click (outside its 7 days).
    second = order("h-second", "hu", link_at + timedelta(days=10))
    same_for_both(seller, touchpoints, [first, second])
    assert [seller.attribution(o)["method"] for o in ("h-first", "h-second")] == ["conversation", "organic"]

    seller.put_settings(TENANT, priority=priority)
    run = seller.run((NOW - timedelta(days=20)).date(), NOW.date())

    assert run["status"] == "succeeded"
    assert [seller.attribution(o)["method"] for o in ("h-first", "h-second")] == ["ad_click", "conversation"]
    assert seller.attribution("h-second")["claimed_shop_link_id"] == "hs"
    assert seller.state(TENANT) == seller.state(REPLAY)


def test_a_time_zone_change_rebuckets_every_figure_as_a_fresh_replay_in_the_new_zone(seller: Seller) -> None:
    """Given orders, comments and DMs early in the UTC morning (the previous evening in Los Angeles),
    when the seller switches the time zone to America/Los_Angeles and re-attributes,
    then no method changes but every figure moves to the Los Angeles day, as a fresh replay in that zone: the order
    figures (orders, revenue, attribution, channel credit, customers) and what the touchpoints counted on arrival
    (comments, keyword fires, DMs on the post and the flow); a second run moves nothing."""
    seller.put_settings(REPLAY, time_zone="America/Los_Angeles")
    morning = datetime.combine(NOW.date() - timedelta(days=4), datetime.min.time(), UTC) + timedelta(hours=3)
    touchpoints, orders = conversation_orders("z", [1, 2], morning)
    same_for_both(seller, touchpoints, orders)
    before = seller.state(TENANT)
    assert before != seller.state(REPLAY)

    seller.put_settings(TENANT, time_zone="America/Los_Angeles")
    run = seller.run((NOW - timedelta(days=10)).date(), NOW.date())

    assert run["time_zone"] == "America/Los_Angeles"
    assert (run["orders_seen"], run["orders_changed"], run["method_changed"]) == (2, 2, 0)
    # Two comments and two DMs counted on arrival; the shop links count nothing and are not listed.
    assert (run["touchpoints_seen"], run["touchpoints_moved"], run["touchpoints_kept"]) == (4, 4, 0)
    assert seller.state(TENANT) == seller.state(REPLAY)
    items = seller.table_of(TENANT)

    again = seller.run((NOW - timedelta(days=10)).date(), NOW.date())
    assert (again["orders_changed"], again["touchpoints_seen"], again["touchpoints_moved"]) == (0, 4, 0)
    assert seller.table_of(TENANT) == items


def test_running_again_with_nothing_changed_changes_nothing(seller: Seller) -> None:
    """Given a run that shortened the window, when the same range is re-attributed again with the same settings,
    then the second run sees every order, changes none, and not one item of the tenant differs."""
    touchpoints, orders = conversation_orders("r", [2, 9], NOW - timedelta(hours=2))
    seller.send(TENANT, touchpoints, orders)
    seller.put_settings(TENANT, conversation_window_days=7)
    first = seller.run((NOW - timedelta(days=20)).date(), NOW.date())
    assert first["orders_changed"] == 1
    items = seller.table_of(TENANT)

    second = seller.run((NOW - timedelta(days=20)).date(), NOW.date())

    assert (second["status"], second["orders_seen"], second["orders_changed"]) == ("succeeded", 2, 0)
    assert seller.table_of(TENANT) == items


def test_a_failure_mid_run_is_retried_from_the_last_recorded_page_without_counting_twice(
    seller: Seller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given pages of two orders, and a crash after the second page's orders were re-attributed but before the page was
    recorded, when the run goes on, then the step is retried from the last recorded page, the run counts each order once,
    and the counters equal a fresh replay."""
    from ordertrail.reattribution import runs
    from ordertrail.storage.reattributions import ReattributionRecords

    monkeypatch.setattr(runs, "PAGE_SIZE", 2)
    seller.put_settings(REPLAY, conversation_window_days=7)
    base = datetime.combine(NOW.date() - timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=20)
    touchpoints, orders = [], []
    for n, gap in enumerate([1, 8, 9, 10, 11]):  # five orders on one UTC day: three pages
        user, link_at = f"fu{n}", base - timedelta(days=gap, minutes=n)
        touchpoints += [
            comment(f"fc{n}", user, link_at),
            dm(f"fd{n}", user, link_at + timedelta(seconds=10), f"fconv{n}", f"fc{n}"),
            shop_link(f"fs{n}", user, link_at + timedelta(seconds=20), f"fconv{n}"),
        ]
        orders.append(order(f"fo{n}", user, base + timedelta(minutes=n)))
    same_for_both(seller, touchpoints, orders)
    seller.put_settings(TENANT, conversation_window_days=7)

    real_advance = ReattributionRecords.advance_day
    crashes = []

    def crash_once_on_the_second_page(self: Any, run: Any, before: Any, after: Any) -> bool:
        if before.pages == 1 and not crashes:
            crashes.append(after)
            raise ConcurrentChange("the Lambda died before the page was recorded")
        return real_advance(self, run, before, after)

    monkeypatch.setattr(ReattributionRecords, "advance_day", crash_once_on_the_second_page)
    run = seller.run(base.date(), base.date())

    assert crashes, "the crash was never injected"
    assert run["status"] == "succeeded"
    day = next(d for d in run["days"] if d["day"] == base.date().isoformat())
    # Three pages of orders, then one of the day's touchpoints (none: they came on earlier days).
    assert (day["pages"], day["seen"], day["changed"], day["method_changed"]) == (4, 5, 4, 4)
    assert seller.state(TENANT) == seller.state(REPLAY)


def engagement_day(prefix: str, evening: datetime) -> list[dict[str, Any]]:
    """Comments, DMs, flow steps (one of them twice for the same conversation) and creator clicks on one UTC evening."""
    touchpoints: list[dict[str, Any]] = []
    for n in range(3):
        user, at = f"{prefix}u{n}", evening + timedelta(minutes=10 * n)
        conversation, flow = f"{prefix}conv{n}", {"id": "f1", "name": "Glow flow"}
        step = {"kind": "flow_step", "buyer": {"user_id": user}, "conversation_id": conversation, "flow": flow, "step": 2}
        touchpoints += [
            comment(f"{prefix}c{n}", user, at, post=f"v{n % 2}", keywords=("LINK", "GLOW")),
            dm(f"{prefix}d{n}", user, at + timedelta(minutes=1), conversation, f"{prefix}c{n}"),
            {**step, "id": f"{prefix}f{n}", "occurred_at": iso(at + timedelta(minutes=2)), "step_name": "Pick a shade"},
            {**step, "id": f"{prefix}g{n}", "occurred_at": iso(at + timedelta(minutes=3))},  # the same user at the same step
            {"id": f"{prefix}k{n}", "kind": "creator_click", "occurred_at": iso(at), "buyer": {"user_id": user}, "creator": "maya"},
        ]
    return touchpoints


def test_a_failure_while_moving_touchpoint_counts_moves_each_once(seller: Seller, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given comments, DMs, flow steps and creator clicks one UTC evening (the next day in Tokyo), pages of two, and a
    crash after a page of touchpoints was moved but before it was recorded, when the seller switches to Asia/Tokyo and
    the run goes on, then each touchpoint's counts move once, and every counter equals a fresh replay in Tokyo."""
    from ordertrail.reattribution import runs
    from ordertrail.storage.reattributions import ReattributionRecords

    monkeypatch.setattr(runs, "PAGE_SIZE", 2)
    seller.put_settings(REPLAY, time_zone="Asia/Tokyo")
    evening = datetime.combine(NOW.date() - timedelta(days=3), datetime.min.time(), UTC) + timedelta(hours=18)
    same_for_both(seller, engagement_day("e", evening), [])
    seller.put_settings(TENANT, time_zone="Asia/Tokyo")

    real_advance = ReattributionRecords.advance_day
    crashes = []

    def crash_once_on_a_touchpoint_page(self: Any, run: Any, before: Any, after: Any) -> bool:
        if before.phase == "touchpoints" and after.touchpoints_moved > before.touchpoints_moved and not crashes:
            crashes.append(after.touchpoints_moved - before.touchpoints_moved)
            raise ConcurrentChange("the Lambda died before the page was recorded")
        return real_advance(self, run, before, after)

    monkeypatch.setattr(ReattributionRecords, "advance_day", crash_once_on_a_touchpoint_page)
    run = seller.run(evening.date(), (evening + timedelta(days=1)).date())

    assert crashes, "the crash was never injected"
    assert run["status"] == "succeeded"
    # 3 comments, 3 DMs, 3 counted flow steps and 3 clicks; the repeated steps counted nothing and are not listed.
    assert run["touchpoints_seen"] == 12
    # The retried page found its touchpoints moved already: it moved nothing again, so it counts nothing again.
    assert run["touchpoints_moved"] == 12 - crashes[0]
    assert seller.state(TENANT) == seller.state(REPLAY)


def test_a_dm_still_waiting_for_its_comment_stays_on_its_day_until_the_comment_comes(seller: Seller) -> None:
    """Given a DM in the UTC evening whose comment has not arrived, when the seller switches to Asia/Tokyo and
    re-attributes, then the DM is kept on its day (the comment could still add to it there); once the comment comes,
    what it adds to the DM joins the DM's counts on that day, and the next run moves them, as a fresh replay in Tokyo."""
    seller.put_settings(REPLAY, time_zone="Asia/Tokyo")
    evening = datetime.combine(NOW.date() - timedelta(days=3), datetime.min.time(), UTC) + timedelta(hours=18)
    late_comment = comment("wc", "wu", evening - timedelta(minutes=1), keywords=("GLOW",))
    waiting_dm = dm("wd", "wu", evening, "wconv", "wc")
    seller.send(REPLAY, [late_comment, waiting_dm], [])
    seller.send(TENANT, [waiting_dm], [])
    seller.put_settings(TENANT, time_zone="Asia/Tokyo")
    days = (evening.date(), (evening + timedelta(days=1)).date())

    first = seller.run(*days)
    assert (first["touchpoints_seen"], first["touchpoints_moved"], first["touchpoints_kept"]) == (1, 0, 1)
    seller.send(TENANT, [late_comment], [])
    second = seller.run(*days)

    # The comment arrived after the switch and counted on its Tokyo day; the DM, with what the comment added to it, moves.
    assert (second["touchpoints_seen"], second["touchpoints_moved"], second["touchpoints_kept"]) == (2, 1, 0)
    assert seller.state(TENANT) == seller.state(REPLAY)


def test_a_settings_change_made_while_a_run_goes_is_the_next_runs_never_half_applied(
    seller: Seller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a run asked for under a 7-day window, when the seller changes the window to 2 days while the run is planning,
    then the whole run applies 7 days (its snapshot), and the next run applies 2 days."""
    from ordertrail.core.tenant_settings import TenantSettings
    from ordertrail.reattribution import runs
    from ordertrail.runtime import services

    touchpoints, orders = conversation_orders("m", [1, 4, 9], NOW - timedelta(hours=2))
    seller.send(TENANT, touchpoints, orders)
    seller.put_settings(TENANT, conversation_window_days=7)
    real_plan = runs.plan

    def plan_while_the_seller_changes_settings(repo: Any, tenant: str, run_id: str, now: datetime) -> dict[str, Any]:
        repo.put_tenant_settings(tenant, TenantSettings(conversation_window_days=2))
        return real_plan(repo, tenant, run_id, now)

    monkeypatch.setattr(runs, "plan", plan_while_the_seller_changes_settings)
    during = seller.run((NOW - timedelta(days=20)).date(), NOW.date())
    monkeypatch.setattr(runs, "plan", real_plan)

    assert during["settings"]["conversation_window_days"] == 7
    assert services.repository().get_tenant_settings(TENANT).conversation_window_days == 2
    assert [seller.attribution(o["id"])["method"] for o in orders] == ["conversation", "conversation", "organic"]
    after = seller.run((NOW - timedelta(days=20)).date(), NOW.date())
    # One order changes method; the one organic already is rewritten too: its evidence names the window (now 2 days).
    assert (after["settings"]["conversation_window_days"], after["method_changed"], after["orders_changed"]) == (2, 1, 2)
    assert [seller.attribution(o["id"])["method"] for o in orders] == ["conversation", "organic", "organic"]


def test_an_order_whose_touchpoints_have_expired_is_kept_as_it_was_and_counted(seller: Seller) -> None:
    """Given two conversation orders, one of whose buyer's touchpoints DynamoDB's TTL has since deleted, when the seller
    changes the time zone and re-attributes, then that order keeps its decision and counters (deciding it again without
    its touchpoints would make it organic for want of data) and is counted as expired; the other is re-bucketed."""
    evening = datetime.combine(NOW.date() - timedelta(days=2), datetime.min.time(), UTC) + timedelta(hours=20)
    touchpoints, orders = conversation_orders("x", [2, 3], evening)  # 20:00 and 19:00 UTC: the next day in Tokyo
    seller.send(TENANT, touchpoints, orders)
    gone = {tp["id"] for tp in touchpoints if tp["buyer"]["user_id"] == "xu1"}
    table = seller.api.dynamodb.list_tables()["TableNames"][0]
    for item in seller.api.items():  # as TTL would: the buyer's timeline copies and the by-id items
        by_id = item["PK"].removeprefix(f"T#{TENANT}#TP#") in gone and item["SK"] == "TP"
        if by_id or (item["PK"] == f"T#{TENANT}#B#xu1" and item["SK"].startswith("TP#")):
            seller.api.dynamodb.delete_item(TableName=table, Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}})
    kept_before = seller.attribution("xo1")

    seller.put_settings(TENANT, time_zone="Asia/Tokyo")
    run = seller.run((NOW - timedelta(days=10)).date(), NOW.date())

    assert (run["orders_seen"], run["orders_changed"], run["expired"], run["errors"]) == (2, 1, 1, 0)
    kept = seller.attribution("xo1")
    assert kept == kept_before and kept["method"] == "conversation"
    assert seller.attribution("xo0")["reattributed"]["run_id"] == run["run_id"]


def test_touchpoints_kept_a_year_past_their_window_let_a_run_re_decide_orders_months_old(seller: Seller) -> None:
    """Given the same two conversation orders of 200 days ago at two sellers, one keeping touchpoints 365 days past their
    window (`ttl_grace_days`), the other the default 2, and DynamoDB's TTL having deleted what it may,
    when both shorten the window to 7 days and re-attribute the year,
    then the first seller's order 9 days after its link turns organic; the second's is kept as it was, counted expired."""
    seller.put_settings(TENANT, ttl_grace_days=365)
    touchpoints, orders = conversation_orders("y", [2, 9], NOW - timedelta(days=200))
    same_for_both(seller, touchpoints, orders)
    client, table = seller.api.dynamodb, seller.api.dynamodb.list_tables()["TableNames"][0]
    for item in seller.api.items():  # as TTL does, sooner or later: every item whose time has passed
        if "ttl" in item and item["ttl"] < NOW.timestamp():
            client.delete_item(TableName=table, Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}})
    assert any(i["PK"] == f"T#{TENANT}#TP#yd1" for i in seller.api.items())  # kept: 14 + 365 days after it
    assert not any(i["PK"] == f"T#{REPLAY}#TP#yd1" for i in seller.api.items())  # gone: 14 + 2 days after it

    outcomes = {}
    for tenant in (TENANT, REPLAY):
        seller.put_settings(tenant, conversation_window_days=7, ttl_grace_days=365 if tenant == TENANT else 2)
        response = seller.start((NOW - timedelta(days=365)).date(), NOW.date(), tenant=tenant)
        assert response.status == 202, response.body
        assert seller.api.sfn is not None
        arn = seller.execution_arn(response.json()["run_id"])
        seller.api.sfn.wait(arn, timeout=900, poll=0.5)
        seller.api.harness.drain()
        got = team_call(seller.api, "GET", tenant, f"reattributions/{response.json()['run_id']}").json()
        outcomes[tenant] = (got["orders_seen"], got["orders_changed"], got["expired"], got["errors"])

    assert outcomes == {TENANT: (2, 1, 0, 0), REPLAY: (2, 0, 2, 0)}
    assert seller.attribution("yo1")["method"] == "organic"
    assert seller.attribution("yo1", tenant=REPLAY)["method"] == "conversation"
    assert seller.attribution("yo0")["method"] == "conversation"


def test_two_runs_never_overlap_for_a_tenant_and_a_bad_range_names_its_field(seller: Seller) -> None:
    """Given a run going for acme, a second POST is 409 (globex may start its own); a range that ends before it starts,
    spans more than two years or lies in the future is 422 naming the field; an unknown run is 404."""
    from ordertrail.reattribution import runs
    from ordertrail.runtime import services

    # Hold acme's lease as a run's start does (a run of a few days finishes before the test could ask again).
    assert services.repository().take_reattribution_lease(TENANT, "a-run-going", NOW, runs.LEASE_HOLD) is None
    busy = seller.start(NOW.date() - timedelta(days=3), NOW.date())
    assert busy.status == 409 and busy.json()["error"]["code"] == "run_in_progress"
    other = seller.start(NOW.date() - timedelta(days=3), NOW.date(), tenant=REPLAY)
    assert other.status == 202, other.body

    for body, field in [
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ({"from": (NOW.date() + timedelta(days=5)).isoformat(), "to": (NOW.date() + timedelta(days=6)).isoformat()}, "from"),
    ]:
        response = team_call(seller.api, "POST", REPLAY, "reattributions", body)
        assert response.status == 422, (body, response.body)
        assert response.json()["error"]["field"] == field, (body, response.body)
    for body in [{"from": "yesterday", "to": "2026-01-01"}, {"to": "2026-01-01"}, {"from": "2026-01-01", "to": "2026-01-02", "x": 1}]:
        response = team_call(seller.api, "POST", REPLAY, "reattributions", body)
        assert 400 <= response.status < 500 and response.json()["error"]["field"], (body, response.body)
    assert team_call(seller.api, "GET", TENANT, "reattributions/nope").status == 404


def test_orders_stored_before_the_day_index_are_re_attributed_once_the_operator_backfills_them(seller: Seller) -> None:
    """Given orders stored before GSI2 existed (no day keys), a run sees none of them; when the operator runs the
    backfill (twice: it is safe to repeat), the next run re-attributes them like any other."""
    from click.testing import CliRunner

    from ordertrail_admin.backfill import backfill, main

    touchpoints, orders = conversation_orders("b", [2, 9], NOW - timedelta(hours=3))
    seller.send(TENANT, touchpoints, orders)
    client = seller.api.dynamodb
    table = client.list_tables()["TableNames"][0]
    for item in seller.api.items():
        if item.get("type") == "order":
            client.update_item(
                TableName=table, Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}}, UpdateExpression="REMOVE GSI2PK, GSI2SK"
            )
    seller.api.harness.drain()  # the stream's records of that change re-attribute under the settings of then
    seller.put_settings(TENANT, conversation_window_days=7)
    assert seller.run((NOW - timedelta(days=20)).date(), NOW.date())["orders_seen"] == 0

    revisions = {i["PK"]: i["rev"] for i in seller.api.items() if i.get("type") == "attribution"}
    first = CliRunner().invoke(main, ["--table", table])
    assert first.exit_code == 0, first.output
    assert "the day keys of 2 orders" in first.output
    assert backfill(client, table).updated == 0  # run again: nothing left to do
    seller.api.harness.drain()
    # The backfill's writes woke no attribution (AttributeFunction's filter skips them).
    assert {i["PK"]: i["rev"] for i in seller.api.items() if i.get("type") == "attribution"} == revisions

    run = seller.run((NOW - timedelta(days=20)).date(), NOW.date())
    assert (run["orders_seen"], run["orders_changed"], run["method_changed"]) == (2, 1, 1)
    assert seller.attribution("bo1")["method"] == "organic"
