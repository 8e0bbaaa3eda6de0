"""Cut an export's [start, end) into consecutive chunks of at most 30 days (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel

MAX_CHUNK = timedelta(days=30)


class Chunk(BaseModel):
    """One slice of an export run, [start, end)."""

    index: int
    start: AwareDatetime
    end: AwareDatetime


def cut(start: datetime, end: datetime, max_length: timedelta = MAX_CHUNK) -> list[Chunk]:
    """Consecutive chunks covering [start, end) exactly, each at most `max_length` long; none when start ≥ end."""
    chunks: list[Chunk] = []
    cursor = start
    while cursor < end:
        stop = min(cursor + max_length, end)
        chunks.append(Chunk(index=len(chunks), start=cursor, end=stop))
        cursor = stop
    return chunks
