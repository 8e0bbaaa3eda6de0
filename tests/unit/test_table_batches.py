"""Batch requests under throttling: unprocessed items are resent with back-off, and a step fails rather than spin forever."""

from __future__ import annotations

from typing import Any

import pytest

from ordertrail.storage import table
from ordertrail.storage.table import Table, UnprocessedAfterRetries


class ThrottlingClient:
    """A DynamoDB client stand-in that leaves the last item of each batch unprocessed `throttled` times."""

    def __init__(self, throttled: int) -> None:
        self.throttled = throttled
        self.written: list[dict[str, Any]] = []
        self.calls = 0

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.calls += 1
        ((name, requests),) = RequestItems.items()
        if self.throttled > 0:
            self.throttled -= 1
            self.written += [r["PutRequest"]["Item"] for r in requests[:-1]]
            return {"UnprocessedItems": {name: requests[-1:]}}
        self.written += [r["PutRequest"]["Item"] for r in requests]
        return {}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off waits asked for, without waiting."""
    asked: list[float] = []
    monkeypatch.setattr(table.time, "sleep", asked.append)
    return asked


def test_unprocessed_writes_are_resent_after_a_growing_back_off_until_all_are_stored(sleeps: list[float]) -> None:
    """Given DynamoDB throttles three times, when 30 items are written, then every item is stored exactly once, after three
    waits of at most 0.05, 0.1 and 0.2 seconds."""
    client = ThrottlingClient(throttled=3)
    Table("t", client)._batch_write([{"PK": f"P{i}", "SK": "S"} for i in range(30)])
    assert sorted(item["PK"]["S"] for item in client.written) == sorted(f"P{i}" for i in range(30))
    assert len(sleeps) == 3
    assert all(0 <= wait <= cap for wait, cap in zip(sleeps, (0.05, 0.1, 0.2), strict=True))


def test_writes_still_unprocessed_after_every_retry_fail_the_step_instead_of_spinning(sleeps: list[float]) -> None:
    """Given DynamoDB keeps throttling, when items are written, then the write raises after the last retry (its caller's
    retry takes over) and never waits past the cap."""
    client = ThrottlingClient(throttled=1_000)
    with pytest.raises(UnprocessedAfterRetries):
        Table("t", client)._batch_write([{"PK": "P", "SK": "S"}])
    assert client.calls == table.UNPROCESSED_RETRIES + 1
    assert len(sleeps) == table.UNPROCESSED_RETRIES and max(sleeps) <= table.BACK_OFF_CAP_SECONDS
