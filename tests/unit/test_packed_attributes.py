"""Packed attributes: large JSON stored compressed so an item bills fewer write units, read back exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from boto3.dynamodb.types import Binary
from hypothesis import given
from hypothesis import strategies as st

from ordertrail.core.conversions import Conversion, ConversionTouch
from ordertrail.storage.attributions import conversion_item, stored_conversion
from ordertrail.storage.table import deserialize, packed, serialize, unpacked

AT = datetime(2026, 12, 1, 19, 24, tzinfo=UTC)
KINDS = ["comment", "dm", "flow_step", "flow_step", "flow_step", "shop_link", "ad_click", "creator_click", "comment"]


def journey_conversion() -> Conversion:
    """A conversion after the 9-touch journey of bench/aws_cost.py (a comment, a DM, 3 flow steps, links and clicks)."""
    touches = [
        ConversionTouch(
            id=f"{kind}-{n}-0000001",
            kind=kind,
            at=AT - timedelta(minutes=20 - n),
            arrival=AT - timedelta(minutes=20 - n, seconds=-1),
            ttclid="E.C.P.cost1" if kind == "ad_click" else None,
            url="https://shop.tiktok.com/view/product/1729384756100001?ttclid=E.C.P.cost1" if kind == "ad_click" else None,
        )
        for n, kind in enumerate(KINDS)
    ]
    return Conversion.model_validate(
        {
            "order_id": "576653688100000001",
            "source": "tiktok_shop",
            "ordered_at": AT,
            "currency": "USD",
            "value": Decimal("15.16"),
            "method": "conversation",
            "counts": True,
            "contents": [{"content_id": "LIPOIL-ROSE", "name": "Glow Lip Oil", "price": "16.00", "quantity": 1}],
            "user_id": "7494845270900000001",
            "email": "v01x7q3k@scs2.tiktokw.us",
            "phone": "(+1)2135550101",
            "touches": [t.model_dump() for t in touches],
        }
    )


def stored_bytes(item: dict[str, object]) -> int:
    """An item's size by DynamoDB's rule for strings and binaries: each attribute's name plus its value's bytes."""
    total = 0
    for name, value in serialize(item).items():
        ((kind, inner),) = value.items()
        total += len(name.encode()) + (len(inner) if kind == "B" else len(str(inner).encode()))
    return total


@given(st.text(max_size=3000))
def test_any_text_packs_and_unpacks_to_itself_and_always_to_the_same_bytes(text: str) -> None:
    """Given any text, when packed, then it unpacks (from bytes or boto3's Binary) to the same text, and packing is deterministic."""
    assert unpacked(packed(text)) == text
    assert unpacked(Binary(packed(text))) == text
    assert packed(text) == packed(text)


def test_text_stored_before_packing_reads_as_it_is() -> None:
    """Given an attribute written as plain JSON text (before packing), then it reads unchanged; a missing one stays None."""
    assert unpacked('[["orders","all","ALL",{"orders":"1"}]]') == '[["orders","all","ALL",{"orders":"1"}]]'
    assert unpacked(None) is None


def test_a_nine_touch_conversion_is_stored_under_1_kb_and_read_back_whole() -> None:
    """Given the conversion of a 9-touch journey (about 1.4 KB as JSON), when stored, then its item is under 1 KB (one write
    unit) and its data reads back to the same conversion."""
    conversion = journey_conversion()
    item = conversion_item("demo", conversion)
    assert len(conversion.model_dump_json(exclude={"counts"}, exclude_none=True)) > 1024
    assert stored_bytes(item) < 1024
    read = deserialize(serialize(item))
    assert stored_conversion(unpacked(read["data"]) or "", read["counts"]) == conversion
    assert Conversion.model_validate({**json.loads(unpacked(read["data"]) or ""), "counts": read["counts"]}) == conversion


@given(st.booleans(), st.sampled_from([None, True, False]))
def test_a_stored_conversion_reads_back_with_the_items_own_counts(counts: bool, stale: bool | None) -> None:
    """Given a conversion's item whose `counts` a review may have flipped (and, in old data, a stale `counts` inside `data`),
    when read back, then it is the same conversion with the item's `counts`: exactly what json.loads + validate gave."""
    conversion = journey_conversion()
    data = conversion.model_dump_json(exclude={"counts"}, exclude_none=True)
    if stale is not None:
        data = data[:-1] + f',"counts":{json.dumps(stale)}}}'
    read = stored_conversion(data, counts)
    assert read == conversion.model_copy(update={"counts": counts})
    assert read == Conversion.model_validate({**json.loads(data), "counts": counts})
