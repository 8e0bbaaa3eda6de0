"""The sample day in events/sample_day/: fixed times on disk, shifted at load so the day ends just before now."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ordertrail_local.template import repo_root

# Timestamps are found by field name: RFC 3339 strings in our and Shopify's payloads, Unix seconds in TikTok's.
ISO_FIELDS = frozenset({"occurred_at", "created_at", "updated_at", "processed_at", "cancelled_at", "closed_at"})
EPOCH_FIELDS = frozenset({"create_time", "update_time", "paid_time", "timestamp", "rts_time", "delivery_time", "cancel_time"})
TOUCHPOINT_FILES = ("comments", "dms", "flow_steps", "shop_links", "ad_clicks", "creator_clicks")
ORDER_FILES = ("tiktok_notifications", "tiktok_orders", "shopify_orders", "other_orders")


def default_directory() -> Path:
    """events/sample_day/ in the repository."""
    return repo_root() / "events" / "sample_day"


@dataclass
class SampleDay:
    """Every sample file, already shifted, plus the replay plan (late touchpoints, duplicate deliveries)."""

    touchpoints: dict[str, list[dict[str, Any]]]
    tiktok_notifications: list[dict[str, Any]]
    tiktok_orders: list[dict[str, Any]]
    shopify_orders: list[dict[str, Any]]
    other_orders: list[dict[str, Any]]
    coupons: list[dict[str, Any]]
    replay: dict[str, Any] = field(default_factory=dict)
    shift: timedelta = timedelta(0)


def parse_time(value: str) -> float:
    """Unix seconds of an RFC 3339 / ISO-8601 timestamp (a trailing Z allowed)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _shift_value(key: str, value: Any, delta: timedelta) -> Any:
    """Shift one timestamp field; anything else is returned as it is."""
    if key in ISO_FIELDS and isinstance(value, str) and value:
        return (datetime.fromisoformat(value.replace("Z", "+00:00")) + delta).isoformat()
    if key in EPOCH_FIELDS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value + int(delta.total_seconds())
    return value


def shift_times(data: Any, delta: timedelta) -> Any:
    """A deep copy of data with every known timestamp field moved by delta (offsets are kept)."""
    if isinstance(data, dict):
        return {k: shift_times(v, delta) if isinstance(v, dict | list) else _shift_value(k, v, delta) for k, v in data.items()}
    if isinstance(data, list):
        return [shift_times(item, delta) for item in data]
    return copy.deepcopy(data)


def _times(data: Any) -> list[float]:
    """Every timestamp in data, as Unix seconds."""
    found: list[float] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ISO_FIELDS and isinstance(value, str) and value:
                found.append(parse_time(value))
            elif key in EPOCH_FIELDS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                found.append(float(value))
            else:
                found.extend(_times(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_times(item))
    return found


def load(directory: Path | None = None, end: float | None = None, margin_seconds: int = 120) -> SampleDay:
    """Read the sample files and shift them so the latest event lies margin_seconds before `end` (default now)."""
    directory = directory or default_directory()

    def read(name: str) -> Any:
        path = directory / f"{name}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []

    raw = {name: read(name) for name in (*TOUCHPOINT_FILES, *ORDER_FILES, "coupons")}
    latest = max(_times(raw), default=0.0)
    end = time.time() if end is None else end
    # Whole seconds keep TikTok's integer times and the ISO strings consistent with each other.
    delta = timedelta(seconds=int(end - margin_seconds - latest)) if latest else timedelta(0)
    shifted = {name: shift_times(value, delta) for name, value in raw.items()}
    replay_path = directory / "replay.json"
    replay = json.loads(replay_path.read_text(encoding="utf-8")) if replay_path.exists() else {}
    return SampleDay(
        touchpoints={name: shifted[name] for name in TOUCHPOINT_FILES},
        tiktok_notifications=shifted["tiktok_notifications"],
        tiktok_orders=shifted["tiktok_orders"],
        shopify_orders=shifted["shopify_orders"],
        other_orders=shifted["other_orders"],
        coupons=shifted["coupons"],
        replay=replay,
        shift=delta,
    )


def first_time(sample: SampleDay) -> datetime:
    """When the (shifted) sample day's earliest event happened, as UTC."""
    stamps = _times([sample.touchpoints, sample.tiktok_notifications, sample.tiktok_orders, sample.shopify_orders, sample.other_orders])
    return datetime.fromtimestamp(min(stamps), UTC) if stamps else datetime.now(UTC)
