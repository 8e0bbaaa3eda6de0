"""Which conversions of a chunk become Events API events, with what value, and why the others are skipped (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from ordertrail.core import credit
from ordertrail.core.conversions import Conversion, minor_units
from ordertrail.core.tenant_settings import ExportSettings
from ordertrail.export.events_api.contract import build_event
from ordertrail.export.events_api.hashing import event_id_for

_US = timedelta(microseconds=1)

SkipReason = Literal["pending_review", "no_ttclid", "too_old", "not_first_conversion", "already_accepted", "duplicate_event_id"]


@dataclass(frozen=True)
class Skipped:
    """A conversion (or one of its ttclids) not sent, and why."""

    conversion: Conversion
    reason: SkipReason
    event_id: str = ""


@dataclass(frozen=True)
class Outgoing:
    """An event to send for a conversion, with the credit its ttclid earned."""

    conversion: Conversion
    event_id: str
    ttclid: str
    value: Decimal
    event: dict[str, Any]


@dataclass
class ExportPlan:
    """The chunk's decisions: events to send, conversions skipped, and users whose first conversion this chunk claims."""

    outgoing: list[Outgoing] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    first_claims: dict[str, Conversion] = field(default_factory=dict)


def ttclid_credits(conversions: Sequence[Conversion], settings: ExportSettings) -> list[dict[str, Decimal]]:
    """Credit per ttclid of each conversion under the tenant's model, over the touches within the lookback (inclusive).

    One call credits a whole page (`credit_batch`, identical to `credit.credit` per conversion): an export chunk
    credits thousands of conversions at a time.
    """
    from ordertrail.core import credit_batch  # numpy, loaded by the export alone (not at any function's cold start)

    places = [minor_units(c.currency) for c in conversions]
    # Flat columns straight from the conversions (their times are validated aware): no Touch object per touch.
    lengths: list[int] = []
    at: list[int] = []
    arrival: list[int] = []
    ids: list[str] = []
    values: list[str] = []
    for c in conversions:
        lengths.append(len(c.touches))
        for t in c.touches:
            at.append((t.at - credit_batch.EPOCH) // _US)
            arrival.append((t.arrival - credit_batch.EPOCH) // _US)
            ids.append(t.id)
            values.append(t.value)
    batch = credit_batch.from_columns(
        lengths,
        at,
        arrival,
        ids,
        values,
        [credit_batch.to_us(c.ordered_at) for c in conversions],
        [credit.to_minor(c.value, exponent) for c, exponent in zip(conversions, places, strict=True)],
    )
    # credit_batch keeps only the eligible touches itself (within the lookback, in tie order).
    shares = credit_batch.credit(settings.model, batch, settings.lookback).per_conversion()
    credits = []
    for conversion, exponent, units in zip(conversions, places, shares, strict=True):
        ttclid_of = {t.value: t.ttclid for t in conversion.touches}
        credits.append({ttclid_of[value] or "": Decimal(amount).scaleb(-exponent) for value, amount in units.items() if ttclid_of[value]})
    return credits


@dataclass
class PlanMemory:
    """What planning remembers from one window of a chunk's conversions to the next (the chunk is planned in windows)."""

    planned_event_ids: set[str] = field(default_factory=set)
    first_claims: dict[str, str] = field(default_factory=dict)  # user → the order (`source#id`) this chunk claims


def plan_events(
    conversions: Sequence[Conversion],
    settings: ExportSettings,
    now: datetime,
    accepted_event_ids: frozenset[str],
    first_conversion_of: Mapping[str, str],
    memory: PlanMemory | None = None,
) -> ExportPlan:
    """Decide, in time order, what to send: skip pending reviews, missing ttclids, too-old, repeat and already-accepted events.

    `first_conversion_of` maps a user to the order (`source#id`) already recorded as their first conversion. A chunk
    planned window by window (oldest first) passes the same `memory` to each call, so an event id or a first conversion
    planned in an earlier window counts in the later ones; the plan's `first_claims` are the claims of this call only.
    """
    plan = ExportPlan()
    memory = memory if memory is not None else PlanMemory()
    ordered = sorted(conversions, key=lambda c: (c.ordered_at, c.source, c.order_id))
    counted = [c for c in ordered if c.counts]
    credits_of = dict(zip(map(id, counted), ttclid_credits(counted, settings), strict=True))
    for conversion in ordered:
        if not conversion.counts:
            plan.skipped.append(Skipped(conversion, "pending_review"))
            continue
        credits = credits_of[id(conversion)]
        if not credits:
            plan.skipped.append(Skipped(conversion, "no_ttclid"))
            continue
        if now - conversion.ordered_at > settings.max_event_age:
            plan.skipped.append(Skipped(conversion, "too_old"))
            continue
        me = f"{conversion.source}#{conversion.order_id}"
        if settings.only_first_conversion:
            first = first_conversion_of.get(conversion.user_key) or memory.first_claims.get(conversion.user_key)
            if first is not None and first != me:
                plan.skipped.append(Skipped(conversion, "not_first_conversion"))
                continue
            if conversion.user_key not in memory.first_claims:
                memory.first_claims[conversion.user_key] = me
                plan.first_claims[conversion.user_key] = conversion
        for ttclid, value in credits.items():
            event_id = event_id_for(ttclid, conversion.ordered_at.date())
            if event_id in accepted_event_ids:
                plan.skipped.append(Skipped(conversion, "already_accepted", event_id))
            elif event_id in memory.planned_event_ids:
                plan.skipped.append(Skipped(conversion, "duplicate_event_id", event_id))
            else:
                memory.planned_event_ids.add(event_id)
                plan.outgoing.append(Outgoing(conversion, event_id, ttclid, value, _event(conversion, settings, event_id, ttclid, value)))
    return plan


def _event(conversion: Conversion, settings: ExportSettings, event_id: str, ttclid: str, value: Decimal) -> dict[str, Any]:
    """The event for one credited ttclid: its click's browser and landing page, else the order's own."""
    click = next((t for t in conversion.touches if t.ttclid == ttclid), None)
    return build_event(
        event_name=settings.event_name,
        event_id=event_id,
        event_time=conversion.ordered_at,
        ttclid=ttclid,
        currency=conversion.currency,
        value=value,
        order_id=conversion.order_id,
        contents=[(line.content_id, line.name, line.price, line.quantity) for line in conversion.contents],
        email=conversion.email,
        phone=conversion.phone,
        external_id=conversion.external_id,
        ip=(click.ip if click else None) or conversion.ip,
        user_agent=(click.user_agent if click else None) or conversion.user_agent,
        url=(click.url if click else None) or conversion.landing_url,
    )
