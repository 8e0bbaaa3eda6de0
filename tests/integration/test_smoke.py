from datetime import UTC, datetime, timedelta

from tests.integration.senders import get_order, send_orders, send_touchpoints

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def iso(ts: datetime) -> str:
    return ts.isoformat()


def test_smoke(pipeline):
    tps = {
        "touchpoints": [
            {
                "id": "c1",
                "kind": "comment",
                "occurred_at": iso(T0),
                "buyer": {"user_id": "u1"},
                "post": {"id": "v1", "url": "https://t/v1"},
                "text": "LINK please",
                "keywords": ["LINK"],
            },
            {
                "id": "d1",
                "kind": "dm",
                "occurred_at": iso(T0 + timedelta(minutes=1)),
                "buyer": {"user_id": "u1"},
                "conversation_id": "conv1",
                "comment_id": "c1",
                "flow": {"id": "f1", "name": "Glow flow"},
            },
            {
                "id": "s1",
                "kind": "shop_link",
                "occurred_at": iso(T0 + timedelta(minutes=2)),
                "buyer": {"user_id": "u1"},
                "conversation_id": "conv1",
                "skus": ["SKU-1"],
            },
        ]
    }
    r = send_touchpoints(pipeline, "acme", tps)
    assert r.status == 202, r.body
    assert r.json() == {"accepted": 3, "duplicates": 0, "errors": []}
    order = {
        "id": "1001",
        "source": "other",
        "status": "paid",
        "updated_at": iso(T0 + timedelta(hours=1)),
        "created_at": iso(T0 + timedelta(hours=1)),
        "buyer": {"user_id": "u1"},
        "currency": "USD",
        "line_items": [{"sku": "SKU-1", "quantity": 1, "unit_price": "12.00"}],
        "total": "12.00",
    }
    r = send_orders(pipeline, "acme", order)
    assert r.status == 202, r.body
    r = get_order(pipeline, "acme", "1001")
    assert r.status == 200, r.body
    doc = r.json()
    assert doc["attribution"]["method"] == "conversation", doc
    assert doc["attribution"]["post"]["id"] == "v1"
    assert doc["attribution"]["time_to_order_seconds"] == 3600
