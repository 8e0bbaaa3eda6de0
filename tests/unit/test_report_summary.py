"""What `make run` prints after the demo (ordertrail_local.report_summary): every amount per currency, never a sum."""

from __future__ import annotations

from ordertrail_local.report_summary import render

TWO_CURRENCIES = {"CAD": "12.00", "USD": "93.67"}


def figures(net: dict[str, str], aov: dict[str, str], share: dict[str, float]) -> dict[str, object]:
    """Insights figures as the API answers them."""
    return {"orders": 3, "net_receipts": net, "average_order_value": aov, "customers": 3, "tiktok_share": share}


def test_the_summary_prints_each_currency_apart() -> None:
    """Given report bodies with USD and CAD amounts, when the summary is rendered, then each line names both currencies
    with their own amounts and no line shows their sum (105.67)."""
    row = {"driven_orders": 2, "driven_revenue": TWO_CURRENCIES, "soft_pending_orders": 0}
    bodies = {
        "posts": {"rows": [{**row, "post_id": "7490000000000000001", "comments": 4, "dms": 2}]},
        "keywords": {"rows": [{**row, "keyword": "link", "fires": 4, "dms": 2, "never_sells": False}]},
        "creators": {"rows": [{**row, "creator": "maya"}]},
        "insights": {
            "all_time": figures(TWO_CURRENCIES, {"CAD": "12.00", "USD": "46.84"}, {"CAD": 1.0, "USD": 0.5}),
            "last_7_days": {"totals": figures({}, {}, {})},
            "weekly": {
                "weeks": [
                    {"week_start": "2026-11-16", "orders": 4, "new_customers": 3, "repeat_customers": 1},
                    {"week_start": "2026-11-23", "orders": 6, "new_customers": 2, "repeat_customers": 4},
                ]
            },
        },
        "crossover": {"crossover_customers": 1, "sourced_customers": 2, "crossover_share": 0.5, "other_net_receipts": TWO_CURRENCIES},
    }
    text = render(bodies)
    assert "105.67" not in text
    assert text.count("CAD 12.00, USD 93.67") == 5  # posts, keywords, creators, all-time net receipts, crossover
    assert "AOV CAD 12.00, USD 46.84" in text and "share CAD 100%, USD 50%" in text
    assert "TikTok Shop, last 7 days: 3 order(s), net receipts -, AOV -, 3 customer(s), share -" in text
    assert "weekly orders (customers): 11-16: 4 (3 new, 1 repeat)  11-23: 6 (2 new, 4 repeat)" in text
