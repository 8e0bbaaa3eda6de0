"""Attribution end to end: gather an order's candidates, run the rules, store the decision; late touchpoints and reviews."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ordertrail.core import rules
from ordertrail.core.conversions import Conversion, conversion_for
from ordertrail.core.errors import Conflict, NotFound, Unprocessable
from ordertrail.core.models import (
    AdClickTouchpoint,
    Attribution,
    CreatorClickTouchpoint,
    HistoryNote,
    Order,
    ShopLinkTouchpoint,
    Touchpoint,
)
from ordertrail.runtime.observability import logger, metrics
from ordertrail.storage import keys
from ordertrail.storage.orders import ImportMark, OrderView, StoredOrder, decode_item
from ordertrail.storage.table import ConcurrentChange, Unstorable
from ordertrail.tally.addresses import address_hash
from ordertrail.tally.order_tally import OrderTally, tally_order, tally_review

if TYPE_CHECKING:
    from ordertrail.core.tenant_settings import AttributionSettings, TenantSettings
    from ordertrail.storage.attributions import AttributionInputs
    from ordertrail.storage.repository import Repository

# Only these kinds can change an order's attribution when they arrive late; comments and DMs only add context.
DECISIVE_KINDS = (ShopLinkTouchpoint, AdClickTouchpoint, CreatorClickTouchpoint)
# Two writers racing on one order, customer or address re-read and try again; past this the stream record is retried.
ATTEMPTS = 3
SaltLookup = Callable[[str], str | None]


@dataclass(frozen=True)
class Decided:
    """One order decided from what is stored now: its inputs, the decision, its conversion and its counter changes."""

    inputs: AttributionInputs
    decision: Attribution
    conversion: Conversion | None
    tally: OrderTally
    order_updated_at: datetime

    @property
    def superseded(self) -> bool:
        """A newer state of the order was attributed already: this (older) state must not replace it."""
        state = self.inputs.attributed_state
        return self.inputs.candidates.previous is not None and state is not None and state > keys.iso(self.order_updated_at)


def decide(repo: Repository, stored: StoredOrder, settings: TenantSettings, now: datetime, address_key: str | None) -> Decided:
    """Read an order's candidates (one Query, one BatchGetItem), run the rules and tally what the decision contributes."""
    order = stored.order
    inputs = repo.load_candidates(stored.tenant, order, settings, address_key)
    candidates = inputs.candidates
    decision = _with_history(rules.attribute(order, candidates, settings, now), stored.imported)
    conversion = conversion_for(order, decision, candidates.touchpoints, candidates.click)
    tally = tally_order(order, decision, inputs.report, settings.time_zone, address_key, candidates.touchpoints, settings.export.lookback)
    return Decided(inputs, decision, conversion, tally, order.updated_at)


def address_key_of(order: Order, salt: str | None) -> str | None:
    """The order's hashed shipping-address key (None without a tenant salt or an address)."""
    return address_hash(order.shipping_address, salt) if salt and order.shipping_address else None


def attribute_order(
    repo: Repository, stored: StoredOrder, now: datetime, settings: TenantSettings | None = None, salt: str | None = None
) -> Attribution:
    """Attribute one order and move its report counters: settings, one Query, one BatchGetItem, one transaction."""
    tenant, order = stored.tenant, stored.order
    settings = settings or repo.get_tenant_settings(tenant)
    address_key = address_key_of(order, salt)
    for attempt in range(1, ATTEMPTS + 1):
        decided = decide(repo, stored, settings, now, address_key)
        candidates, decision = decided.inputs.candidates, decided.decision
        if decided.superseded:
            # A redelivered record of an older order state: the newer state's attribution stands.
            logger.info("older order state skipped", extra={"tenant": tenant, "order_id": order.id})
            assert candidates.previous is not None
            return candidates.previous
        try:
            save(repo, tenant, order, decided, decision)
            break
        except ConcurrentChange:
            if attempt == ATTEMPTS:
                raise
            logger.info("order changed while it was attributed; reading it again", extra={"tenant": tenant, "order_id": order.id})
        except Unstorable as exc:
            # No retry can store it: say so on the order and in a metric instead of failing the record forever.
            return _unattributable(repo, tenant, order, decision, str(exc))
    took_over_claim(repo, tenant, decision, candidates, now)
    metrics.add_metric(name="OrdersAttributed", unit="Count", value=1)
    logger.info(
        "order attributed",
        extra={"tenant": tenant, "order_id": order.id, "source": order.source, "method": decision.method, "rule": decision.rule},
    )
    return decision


def save(repo: Repository, tenant: str, order: Order, decided: Decided, decision: Attribution) -> None:
    """Store `decision` (the decided one, or it stamped) with the conversion and counter changes decided with it."""
    inputs = decided.inputs
    repo.save_attribution(tenant, decision, order, inputs.candidates.previous, decided.conversion, decided.tally, inputs.revisions)


def _with_history(decision: Attribution, mark: ImportMark | None) -> Attribution:
    """Say on an imported order placed before its store was connected that touchpoints of that time may be missing."""
    if mark is None or decision.ordered_at >= mark.connected_at:
        return decision
    detail = (
        f"imported from the store's history: placed {decision.ordered_at.date().isoformat()}, before the store was connected on "
        f"{mark.connected_at.date().isoformat()}: comments, DMs and clicks from before OrderTrail was set up may be missing, so an "
        "organic result may hide a real one (docs/operations.md#import-history)"
    )
    note = HistoryNote(import_id=mark.import_id, connected_at=mark.connected_at, detail=detail)
    return decision.model_copy(update={"predates_connection": note})


def _unattributable(repo: Repository, tenant: str, order: Order, decision: Attribution, why: str) -> Attribution:
    """Record on the order why it could not be attributed (`attribution.error`), log it and count it."""
    failed = Attribution(
        order_id=order.id,
        source=order.source,
        method="organic",
        ordered_at=order.ordered_at,
        attributed_at=decision.attributed_at,
        cancelled=order.is_cancelled,
        revenue=order.total,
        currency=order.currency,
        error=f"this order could not be attributed: {why}",
    )
    repo.save_attribution_failure(tenant, failed, order)
    metrics.add_metric(name="AttributionFailed", unit="Count", value=1)
    logger.error("order could not be attributed", extra={"tenant": tenant, "order_id": order.id, "source": order.source, "error": why})
    return failed


def took_over_claim(repo: Repository, tenant: str, decision: Attribution, candidates: rules.Candidates, now: datetime) -> None:
    """An earlier order took a shop link over from a later one: that later order must be attributed again."""
    link = decision.claimed_shop_link_id
    claim = candidates.claims.get(link) if link else None
    me = f"{decision.source}#{decision.order_id}"
    if claim is not None and claim.order_key != me:
        source, _, order_id = claim.order_key.partition("#")
        repo.request_reattribution(tenant, source, order_id, now)


def reattribute_after_touchpoint(
    repo: Repository, tenant: str, touchpoint: Touchpoint, now: datetime, salt: str | None = None
) -> list[Attribution]:
    """A late touchpoint re-attributes the buyer's still-organic orders that arrived within the settle period."""
    buyer = touchpoint.buyer.matchable_user_id
    if not buyer or not isinstance(touchpoint, DECISIVE_KINDS):
        return []
    settings = repo.get_tenant_settings(tenant)
    views = repo.buyer_orders(tenant, buyer, touchpoint.at, touchpoint.at + settings.longest_window)
    changed = []
    for view in views:
        if _may_reattribute(view, settings, now):
            changed.append(attribute_order(repo, StoredOrder(tenant, view.order, view.received_at, view.imported), now, settings, salt))
    return changed


def _may_reattribute(view: OrderView, settings: AttributionSettings, now: datetime) -> bool:
    """Still organic (never reviewed) and received within the settle period."""
    if now - view.received_at > settings.settle_period:
        return False
    attribution = view.attribution
    return attribution is None or (attribution.method == "organic" and attribution.review_status is None)


def on_stream_image(repo: Repository, image: dict[str, Any], now: datetime, salts: SaltLookup = lambda _: None) -> str:
    """Handle one stream record's new image: an order (new or changed) or a newly stored buyer touchpoint."""
    decoded = decode_item(image)
    if decoded is None:
        return "ignored"
    kind, value = decoded
    if kind == "order":
        attribute_order(repo, value, now, salt=salts(value.tenant))
        return "attributed"
    tenant, touchpoint = value
    changed = reattribute_after_touchpoint(repo, tenant, touchpoint, now, salts(tenant))
    return f"reattributed {len(changed)}"


def order_views(repo: Repository, tenant: str, order_id: str, source: str | None) -> OrderView:
    """One order with its attribution; 404 when unknown, 409 when the id exists in more than one store."""
    views = repo.find_orders(tenant, order_id, source)
    if not views:
        raise NotFound(f"order {order_id} was not found", field="order_id", code="order_not_found")
    if len(views) > 1:
        raise Conflict(f"order {order_id} exists in several stores; add ?source=", field="source", code="ambiguous_order")
    return views[0]


def review(repo: Repository, tenant: str, order_id: str, source: str | None, decision: str, now: datetime) -> Attribution:
    """Confirm or reject a pending soft match (409 for anything else; repeating the same decision is a no-op)."""
    view = order_views(repo, tenant, order_id, source)
    current = view.attribution
    if current is None or current.rule != "conversation_soft" or current.review_status is None:
        raise Conflict(f"order {order_id} is not a soft match; only soft matches can be reviewed", code="not_a_soft_match")
    wanted = "confirmed" if decision == "confirm" else "rejected"
    if current.review_status == wanted:
        return current
    if current.review_status != "pending":
        raise Conflict(f"this soft match was already {current.review_status}", code="already_reviewed")
    if decision not in ("confirm", "reject"):
        raise Unprocessable("decision must be confirm or reject", field="decision", code="invalid_value")
    after = rules.review(current, decision, now)
    time_zone = repo.get_tenant_settings(tenant).time_zone
    contribution, delta, labels = tally_review(view.order, after, view.contribution or {}, time_zone)
    if not repo.replace_attribution(tenant, view, after, contribution, delta, labels):
        raise Conflict("the attribution changed while you reviewed it; fetch it again", code="attribution_changed")
    logger.info("soft match reviewed", extra={"tenant": tenant, "order_id": order_id, "decision": decision})
    return after
