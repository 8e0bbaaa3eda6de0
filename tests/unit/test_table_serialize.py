"""storage.table.serialize: its fast path for strings and integers writes exactly what boto3's TypeSerializer writes."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeSerializer

from ordertrail.storage.table import serialize


class Kind(StrEnum):
    """A str subclass: it takes TypeSerializer's own path."""

    CLICK = "ad_click"


VALUES: list[Any] = [
    "",
    "T#bench#RUN#x",
    "é ☃",
    Kind.CLICK,
    0,
    -1,
    1_790_000_000,
    10**38 - 1,
    -(10**38) + 1,
    True,
    False,
    Decimal("19.99"),
    Decimal("-0.001"),
    b"bytes",
    Binary(b"x"),
    ["a", 1, Decimal("2.5")],
    {"a": 1, "b": {"c": "d"}},
    {"x", "y"},
    {1, 2},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_serialize_matches_type_serializer(value: Any) -> None:
    """Every value comes out as TypeSerializer would write it."""
    assert serialize({"v": value}) == {"v": TypeSerializer().serialize(value)}


def test_none_is_dropped_and_numbers_beyond_38_digits_are_refused_as_before() -> None:
    """None values are left out; an integer DynamoDB cannot hold exactly still raises TypeSerializer's error."""
    assert serialize({"a": None, "b": "x"}) == {"b": {"S": "x"}}
    with pytest.raises(Exception) as ours:
        serialize({"v": 10**38})
    with pytest.raises(Exception) as theirs:
        TypeSerializer().serialize(10**38)
    assert type(ours.value) is type(theirs.value)
