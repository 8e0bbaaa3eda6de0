"""Re-attributing one stored order under a run's settings: write only what changed, and name the run (docs/reattribution.md).

The decision, its conversion and every counter move by the exact difference from what the order contributed before,
through the same revision-locked transaction as a webhook's attribution, so a page retried after a crash, or a second
run over the same days, changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from ordertrail.attribution.attribute import ATTEMPTS, Decided, address_key_of, decide, save, took_over_claim
from ordertrail.core.conversions import conversion_digest
from ordertrail.core.models import ShopLinkTouchpoint
from ordertrail.core.reattribution_runs import ReattributionRun, same_decision, stamped
from ordertrail.runtime.observability import logger
from ordertrail.storage.table import ConcurrentChange

if TYPE_CHECKING:
    from ordertrail.core.models import Attribution
    from ordertrail.storage.orders import StoredOrder
    from ordertrail.storage.repository import Repository

Outcome = Literal["unchanged", "changed", "method_changed", "expired"]


def reattribute_order(repo: Repository, stored: StoredOrder, run: ReattributionRun, now: datetime, salt: str | None) -> Outcome:
    """Attribute a stored order again under the run's settings; what it did to the order (Unstorable when it cannot be stored)."""
    tenant, order = stored.tenant, stored.order
    address_key = address_key_of(order, salt)
    for attempt in range(1, ATTEMPTS + 1):
        decided = decide(repo, stored, run.settings, now, address_key)
        before = decided.inputs.candidates.previous
        if decided.superseded:
            return "unchanged"  # a newer state of the order is attributed by the stream, under the settings of now
        if before is not None and _lost_inputs(repo, tenant, before, decided):
            return "expired"  # deciding again without them would undo a decision for want of data: keep it
        if before is not None and _unchanged(before, decided):
            if before.reattributed is not None and before.reattributed.run_id == run.run_id:
                return _outcome(before.previous.method if before.previous else None, before)  # an earlier attempt of this page
            return "unchanged"
        after = stamped(decided.decision, before, run, now)
        try:
            save(repo, tenant, order, decided, after)
        except ConcurrentChange:
            if attempt == ATTEMPTS:
                raise
            logger.info("order changed while it was re-attributed; reading it again", extra={"tenant": tenant, "order_id": order.id})
            continue
        took_over_claim(repo, tenant, after, decided.inputs.candidates, now)
        _released_claim(repo, stored, before, after, run, now)
        return _outcome(before.method if before else None, after)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _lost_inputs(repo: Repository, tenant: str, before: Attribution, decided: Decided) -> bool:
    """Tell whether touchpoints the stored decision rests on have expired (TTL) since it was made.

    A touchpoint it names that the run's read did not bring back may only lie outside the run's (shorter) window: that
    one's by-id item still exists. Only ids whose by-id item is gone too are lost. A conversation the stored decision
    credited, whose shop link is still read but whose conversation item expired, is lost as well.
    """
    candidates = decided.inputs.candidates
    named = {i for outcome in before.evidence for i in outcome.touchpoint_ids} | set(before.touchpoint_ids)
    read = {t.id for t in candidates.touchpoints} | {t.id for t in (candidates.click, candidates.token_click) if t is not None}
    missing = named - read
    if missing and repo.missing_touchpoints(tenant, sorted(missing)):
        return True
    conversation = before.conversation_id
    links = {t.conversation_id for t in candidates.touchpoints if isinstance(t, ShopLinkTouchpoint)}
    return conversation is not None and conversation in links and conversation not in candidates.conversations


def _unchanged(before: Attribution, decided: Decided) -> bool:
    """Tell whether storing the decided state would change nothing: decision, conversion, counters, customer, address."""
    tally, inputs = decided.tally, decided.inputs
    return (
        same_decision(before, decided.decision)
        and inputs.conversion_digest == conversion_digest(decided.conversion)
        and not tally.delta
        and tally.contribution == inputs.report.contribution
        and not tally.customer_changed
        and not tally.address_changed
    )


def _outcome(method_before: str | None, after: Attribution) -> Outcome:
    """Changed, or changed method (a first decision counts as a changed method)."""
    return "method_changed" if method_before != after.method else "changed"


def _released_claim(
    repo: Repository, stored: StoredOrder, before: Attribution | None, after: Attribution, run: ReattributionRun, now: datetime
) -> None:
    """A shop link this order no longer claims may now credit the buyer's next order: have those orders attributed again.

    As a fresh replay would: there, the later order found the link unclaimed. They go through the stream (the settings
    of now), whichever day of the run they are on.
    """
    released = before.claimed_shop_link_id if before else None
    buyer = stored.order.buyer.matchable_user_id
    if not released or released == after.claimed_shop_link_id or not buyer:
        return
    order = stored.order
    for view in repo.buyer_orders(stored.tenant, buyer, order.ordered_at, order.ordered_at + run.settings.conversation_window):
        if (view.order.source, view.order.id) != (order.source, order.id):
            repo.request_reattribution(stored.tenant, view.order.source, view.order.id, now)
