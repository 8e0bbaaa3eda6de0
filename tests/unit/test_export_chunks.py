"""Plan: a run's [start, end) is cut into consecutive chunks of at most 30 days."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from ordertrail.tally.export_chunks import cut

START = datetime(2026, 1, 1, tzinfo=UTC)


def spans(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return [(c.start, c.end) for c in cut(start, end)]


def test_exactly_thirty_days_is_one_chunk() -> None:
    assert spans(START, START + timedelta(days=30)) == [(START, START + timedelta(days=30))]


def test_thirty_one_days_is_a_full_chunk_and_a_one_day_chunk() -> None:
    assert spans(START, START + timedelta(days=31)) == [
        (START, START + timedelta(days=30)),
        (START + timedelta(days=30), START + timedelta(days=31)),
    ]


def test_a_365_day_backfill_is_13_chunks_covering_the_range_exactly() -> None:
    chunks = cut(START, START + timedelta(days=365))
    assert len(chunks) == 13
    assert [c.index for c in chunks] == list(range(13))
    assert chunks[0].start == START and chunks[-1].end == START + timedelta(days=365)
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks)), "no gap and no overlap"
    assert all(c.end - c.start <= timedelta(days=30) for c in chunks)
    assert chunks[-1].end - chunks[-1].start == timedelta(days=5)


def test_a_range_over_a_leap_day_counts_it_as_a_real_day() -> None:
    """Given 2028-02-15 → 2028-03-17 (31 days, Feb 29 inside), then the first 30-day chunk ends on 2028-03-16, not 03-17."""
    start, end = datetime(2028, 2, 15, tzinfo=UTC), datetime(2028, 3, 17, tzinfo=UTC)
    chunks = cut(start, end)
    assert [(c.start.date().isoformat(), c.end.date().isoformat()) for c in chunks] == [
        ("2028-02-15", "2028-03-16"),
        ("2028-03-16", "2028-03-17"),
    ]


def test_an_empty_or_inverted_range_has_no_chunks() -> None:
    assert cut(START, START) == []
    assert cut(START, START - timedelta(days=1)) == []
