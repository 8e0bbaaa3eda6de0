"""The main reports, read through the team API after the local demo and printed as short tables.

Every amount is a map from currency code to decimal string in the API; it is printed per currency ("USD 62.00,
CAD 12.00"), never summed across currencies.
"""

from __future__ import annotations

from typing import Any

import requests

REPORTS = ("posts", "flows", "keywords", "creators", "time-to-order", "insights", "crossover")


def fetch_reports(base_url: str, tenant: str, api_key: str) -> tuple[dict[str, Any], list[str]]:
    """GET every report once; returns the bodies by name and the problems met."""
    bodies: dict[str, Any] = {}
    problems: list[str] = []
    with requests.Session() as session:
        session.headers["authorization"] = f"Bearer {api_key}"
        for name in REPORTS:
            response = session.get(f"{base_url}/v1/{tenant}/reports/{name}", timeout=60)
            if response.status_code != 200:
                problems.append(f"GET reports/{name} -> {response.status_code} {response.text[:200]}")
                continue
            bodies[name] = response.json()
    return bodies, problems


def _duration(seconds: float | None) -> str:
    """Seconds as `3h 05m` (or `-`)."""
    if seconds is None:
        return "-"
    minutes = int(seconds) // 60
    return f"{minutes // 60}h {minutes % 60:02d}m"


def _share(value: float | None) -> str:
    """A fraction as a percentage (or `-`)."""
    return "-" if value is None else f"{value * 100:.0f}%"


def _money(amounts: dict[str, str]) -> str:
    """An amount per currency as `USD 62.00, CAD 12.00` (or `-` when there is none)."""
    return ", ".join(f"{code} {value}" for code, value in amounts.items()) or "-"


def _shares(shares: dict[str, float]) -> str:
    """A share per currency as `USD 62%, CAD 100%` (or `-`)."""
    return ", ".join(f"{code} {_share(value)}" for code, value in shares.items()) or "-"


def render(bodies: dict[str, Any], limit: int = 5) -> str:
    """The reports as the short tables `make run` prints."""
    lines = ["", "Reports (GET /v1/demo/reports/..., counters kept exactly once by AttributeFunction)"]
    if "posts" in bodies:
        lines.append(f"  Posts by driven revenue       {'comments':>8} {'DMs':>4} {'orders':>6}  soft pending  revenue")
        for row in bodies["posts"]["rows"][:limit]:
            lines.append(
                f"    {row['post_id'][-26:]:<27} {row['comments']:>8} {row['dms']:>4} {row['driven_orders']:>6}  "
                f"{row['soft_pending_orders']:>12}  {_money(row['driven_revenue'])}"
            )
    if "keywords" in bodies:
        lines.append(f"  Keywords                      {'fires':>8} {'DMs':>4} {'orders':>6}  revenue")
        for row in bodies["keywords"]["rows"][:limit]:
            flag = "  (fires, never sells)" if row["never_sells"] else ""
            counts = f"{row['fires']:>8} {row['dms']:>4} {row['driven_orders']:>6}"
            lines.append(f"    {row['keyword']:<27} {counts}  {_money(row['driven_revenue'])}{flag}")
    if "flows" in bodies:
        for row in bodies["flows"]["rows"][:limit]:
            steps = "  ".join(
                f"{s['step']}:{s['users']}" + (f" (-{_share(s['drop_off'])})" if s.get("drop_off") else "") + ("!" * s["stands_out"])
                for s in row["steps"]
            )
            lines.append(f"  Flow {row.get('name') or row['flow_id']}: {row['dms']} DM(s); users per step {steps or '-'}")
    if "creators" in bodies:
        creators = ", ".join(
            f"{r['creator']} {r['driven_orders']} order(s) {_money(r['driven_revenue'])}" for r in bodies["creators"]["rows"][:limit]
        )
        lines.append(f"  Creators: {creators or '-'}")
    if "time-to-order" in bodies:
        tto = bodies["time-to-order"]
        quartiles = f"{_duration(tto.get('p25_seconds'))} – {_duration(tto.get('p75_seconds'))}"
        lines.append(
            f"  Time to order: {tto['orders']} driven order(s), median {_duration(tto.get('median_seconds'))} "
            f"(quartiles {quartiles}), mean {_duration(tto.get('mean_seconds'))}"
        )
    if "insights" in bodies:
        for label, figures in (("all time", bodies["insights"]["all_time"]), ("last 7 days", bodies["insights"]["last_7_days"]["totals"])):
            lines.append(
                f"  TikTok Shop, {label}: {figures['orders']} order(s), net receipts {_money(figures['net_receipts'])}, "
                f"AOV {_money(figures['average_order_value'])}, {figures['customers']} customer(s), "
                f"share {_shares(figures['tiktok_share'])}"
            )
        weeks = bodies["insights"]["weekly"]["weeks"]
        series = "  ".join(
            f"{w['week_start'][5:]}: {w['orders']} ({w['new_customers']} new, {w['repeat_customers']} repeat)" for w in weeks
        )
        lines.append(f"  TikTok Shop, weekly orders (customers): {series or '-'}")
    if "crossover" in bodies:
        cross = bodies["crossover"]
        lines.append(
            f"  Crossover: {cross['crossover_customers']} of {cross['sourced_customers']} TikTok-sourced customer(s) "
            f"({_share(cross.get('crossover_share'))}) later bought elsewhere, for {_money(cross['other_net_receipts'])} net"
        )
    return "\n".join(lines)
