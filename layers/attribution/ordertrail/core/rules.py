"""The pure attribution engine (docs/attribution.md#rules): an order and its candidate touchpoints in, a decision and evidence out.

No AWS here: the repository gathers the candidates, this module decides. Every rule is evaluated so the
evidence says why each one did or did not match; the first match in the tenant's priority wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ordertrail.core.models import (
    AdClickTouchpoint,
    Attribution,
    CommentTouchpoint,
    Conversation,
    CouponMapping,
    CreatorClickTouchpoint,
    CreditClaim,
    DmTouchpoint,
    FlowStepTouchpoint,
    Method,
    Order,
    RuleName,
    RuleOutcome,
    ShopLinkTouchpoint,
    Touchpoint,
)
from ordertrail.core.tenant_settings import AttributionSettings

METHOD_OF_RULE: dict[RuleName, Method] = {
    "coupon": "coupon",
    "conversation_hard": "conversation",
    "ad_click": "ad_click",
    "creator_link": "creator_link",
    "conversation_soft": "conversation_soft",
}


@dataclass(frozen=True)
class Candidates:
    """Everything the engine may use for one order, gathered by the repository in a constant number of reads."""

    touchpoints: Sequence[Touchpoint] = ()
    coupons: Mapping[str, CouponMapping] = field(default_factory=dict)
    conversations: Mapping[str, Conversation] = field(default_factory=dict)
    claims: Mapping[str, CreditClaim] = field(default_factory=dict)
    click: AdClickTouchpoint | None = None
    token_click: CreatorClickTouchpoint | None = None
    previous: Attribution | None = None


@dataclass
class _Match:
    """What a matching rule contributes to the attribution.

    It holds its evidence's detail and touchpoints rather than a RuleOutcome: attribute() builds that once it knows
    whether the match won or comes after a higher-priority one (a copy with a new reason would build it twice).
    """

    detail: str
    touchpoint_ids: list[str] | None = None  # None: the evidence names no touchpoint (the field is left unset)
    first_touch_at: datetime | None = None
    conversation_id: str | None = None
    shop_link_id: str | None = None
    creator: str | None = None
    link_id: str | None = None
    coupon: str | None = None
    ttclid: str | None = None

    def outcome(self, rule: RuleName, winner: RuleName | None) -> RuleOutcome:
        """The rule's evidence: matched when no rule matched before it, else `lower_priority` naming the winner."""
        if winner is None:
            fields: dict[str, Any] = {"matched": True, "reason": "matched", "detail": self.detail}
        else:
            fields = {"matched": False, "reason": "lower_priority", "detail": f"{self.detail}, but {winner} comes first"}
        if self.touchpoint_ids is not None:
            fields["touchpoint_ids"] = self.touchpoint_ids
        return RuleOutcome(rule=rule, **fields)


# What _of_kind returns for a kind the buyer has no touchpoint of (shared: callers only read it).
_NONE: list[Any] = []


def touch_order(touchpoint: Touchpoint) -> tuple[datetime, datetime, str]:
    """Sort key for ties: (time, arrival, id), as docs/attribution.md#credit-models orders touches."""
    arrived = touchpoint.received_at or touchpoint.occurred_at
    return (touchpoint.at, arrived, touchpoint.id)


def in_window(at: datetime, ordered_at: datetime, window: timedelta) -> bool:
    """Exact, inclusive window check: `order − window ≤ touch ≤ order` (a touch after the order never counts)."""
    return ordered_at - window <= at <= ordered_at


def order_ref(order: Order) -> str:
    """The store-qualified reference a claim records."""
    return f"{order.source}#{order.id}"


class _Engine:
    """Evaluates each rule of docs/attribution.md#rules for one order."""

    def __init__(self, order: Order, candidates: Candidates, settings: AttributionSettings) -> None:
        self.order = order
        self.c = candidates
        self.settings = settings
        self.ordered_at = order.ordered_at
        self.touchpoints = sorted(candidates.touchpoints, key=touch_order)
        # One pass buckets the touchpoints by class, in tie order: every rule reads one or two kinds of them.
        # The six touchpoint classes have no subclasses, so the class is exactly what isinstance would test.
        self._by_kind: dict[type, list[Any]] = {}
        for touchpoint in self.touchpoints:
            self._by_kind.setdefault(type(touchpoint), []).append(touchpoint)
        self._conversations: dict[str, Conversation] = {}
        # conversation_hard and conversation_soft read the same open shop links: found once, per rule only the outcome.
        self._shop_links: list[ShopLinkTouchpoint] | dict[str, Any] | None = None
        self._ordered_ids: tuple[set[str], set[str]] | None = None

    def _of_kind(self, kind: type) -> list[Any]:
        """The buyer's touchpoints of one kind, in tie order (bucketed once per order; do not mutate)."""
        return self._by_kind.get(kind, _NONE)

    # -- coupon ---------------------------------------------------------------------------------------
    def coupon(self) -> _Match | RuleOutcome:
        """Rule 1: a coupon mapped to a creator link wins at once."""
        if not self.order.coupon_codes:
            return RuleOutcome(rule="coupon", matched=False, reason="no_coupon", detail="the order used no coupon code")
        for code in self.order.coupon_codes:
            mapping = self.c.coupons.get(code)
            if mapping is None:
                continue
            clicks = [t for t in self._of_kind(CreatorClickTouchpoint) if t.creator == mapping.creator and t.at <= self.ordered_at]
            first = clicks[0] if clicks else None
            return _Match(
                f"coupon {code} is mapped to creator {mapping.creator}",
                [first.id] if first else [],
                first_touch_at=first.at if first else None,
                creator=mapping.creator,
                link_id=mapping.link_id,
                coupon=code,
            )
        codes = ", ".join(self.order.coupon_codes)
        return RuleOutcome(
            rule="coupon", matched=False, reason="coupon_not_mapped", detail=f"coupon {codes} is not mapped to a creator link"
        )

    # -- conversations --------------------------------------------------------------------------------
    def _open_shop_links(self, rule: RuleName) -> list[ShopLinkTouchpoint] | RuleOutcome:
        """Shop links that may credit this order: the buyer's, in the window, not claimed by an earlier order."""
        if self._shop_links is None:
            self._shop_links = self._find_open_shop_links()
        if isinstance(self._shop_links, dict):
            return RuleOutcome(rule=rule, matched=False, **self._shop_links)
        return self._shop_links

    def _find_open_shop_links(self) -> list[ShopLinkTouchpoint] | dict[str, Any]:
        """The open shop links, or the fields of the outcome that says why there are none (the same for both rules)."""
        if self.order.buyer.matchable_user_id is None:
            masked = self.order.buyer.user_id is not None
            return {
                "reason": "no_user_id",
                "detail": "the buyer's user id is masked" if masked else "the order carries no buyer user id",
            }
        ordered_at = self.ordered_at
        every = self._of_kind(ShopLinkTouchpoint)
        links = [t for t in every if t.at <= ordered_at]
        if not links:
            later = any(t.at > ordered_at for t in every)
            return {
                "reason": "touch_after_order" if later else "no_conversation",
                "detail": "the only shop link came after the order" if later else "no conversation sent this buyer a shop link",
            }
        window = self.settings.conversation_window
        recent = [t for t in links if in_window(t.at, ordered_at, window)]
        if not recent:
            return {
                "reason": "window_expired",
                "detail": f"the last shop link was sent more than {self.settings.conversation_window_days} days before the order",
                "touchpoint_ids": [links[-1].id],
            }
        if not self.c.claims:  # nothing claimed yet (most orders): every recent link is open
            return recent
        me = order_ref(self.order)
        open_links = [t for t in recent if self._unclaimed(t, me)]
        if not open_links:
            return {
                "reason": "not_first_order",
                "detail": "the conversation already credited an earlier order; only the first order counts",
                "touchpoint_ids": [t.id for t in recent],
            }
        return open_links

    def _unclaimed(self, link: ShopLinkTouchpoint, me: str) -> bool:
        """Open unless an earlier order placed after this link was sent already took a claim (the first order came and went).

        A later order's claim is taken over by an earlier order.
        """
        mine = (self.ordered_at, me)
        return not any(
            claim.order_key != me and claim.ordered_at >= link.at and (claim.ordered_at, claim.order_key) < mine
            for claim in self.c.claims.values()
        )

    def _overlaps(self, link: ShopLinkTouchpoint) -> bool:
        """Whether the link named an ordered SKU or product (the order's ids are collected once per order)."""
        if self._ordered_ids is None:
            skus = {i.sku for i in self.order.line_items if i.sku}
            products = {i.product_id for i in self.order.line_items if i.product_id}
            self._ordered_ids = (skus, products)
        skus, products = self._ordered_ids
        return not skus.isdisjoint(link.skus) or not products.isdisjoint(link.product_ids)

    def _conversation_match(self, link: ShopLinkTouchpoint, why: str) -> _Match:
        conversation = self.conversation(link.conversation_id)
        first = conversation.comment_at or conversation.started_at or link.occurred_at
        ids = [i for i in (conversation.comment_id, link.id) if i]
        return _Match(why, ids, first_touch_at=first, conversation_id=link.conversation_id, shop_link_id=link.id)

    def conversation_hard(self) -> _Match | RuleOutcome:
        """Rule 2: a recent shop link in the buyer's conversation that linked an ordered SKU; the latest wins."""
        links = self._open_shop_links("conversation_hard")
        if isinstance(links, RuleOutcome):
            return links
        overlapping = [t for t in links if self._overlaps(t)]
        if not overlapping:
            return RuleOutcome(
                rule="conversation_hard",
                matched=False,
                reason="no_sku_overlap",
                detail="no ordered SKU or product was linked in the buyer's recent conversations",
                touchpoint_ids=[t.id for t in links],
            )
        link = overlapping[-1]
        return self._conversation_match(
            link, f"conversation {link.conversation_id} linked an ordered SKU {self._age(link.at)} before the order"
        )

    def conversation_soft(self) -> _Match | RuleOutcome:
        """Rule 5: a recent shop link to the buyer, without SKU overlap; reviewable."""
        links = self._open_shop_links("conversation_soft")
        if isinstance(links, RuleOutcome):
            return links
        link = links[-1]
        return self._conversation_match(
            link,
            f"conversation {link.conversation_id} sent a shop link {self._age(link.at)} before the order, without the ordered SKU",
        )

    # -- clicks ---------------------------------------------------------------------------------------
    def ad_click(self) -> _Match | RuleOutcome:
        """Rule 3: the order carries a ttclid, or the buyer clicked an ad within the click lookback."""
        ttclid = self.order.landing.ttclid
        if ttclid:
            click = self.c.click
            ids = [click.id] if click else []
            first = click.at if click and click.at <= self.ordered_at else None
            return _Match("the order carries a ttclid", ids, first_touch_at=first, ttclid=ttclid)
        clicks = self._of_kind(AdClickTouchpoint)
        recent = [t for t in clicks if in_window(t.at, self.ordered_at, self.settings.click_window)]
        if recent:
            click = recent[-1]
            detail = f"the buyer clicked an ad {self._age(click.at)} before the order"
            return _Match(detail, [click.id], first_touch_at=click.at, ttclid=click.ttclid)
        return self._no_click("ad_click", clicks, self.settings.click_window_days, "no ttclid on the order and no ad click by the buyer")

    def creator_link(self) -> _Match | RuleOutcome:
        """Rule 4: creator/link tracking data on the order, or a creator click within the lookback."""
        landing = self.order.landing
        if landing.creator:
            detail = f"the order carries creator {landing.creator}'s link data"
            return _Match(detail, creator=landing.creator, link_id=landing.link_id)
        token_click = self.c.token_click
        if landing.token and token_click is not None and token_click.at <= self.ordered_at:
            return _creator_click_match(token_click, f"the order's cart token came from creator {token_click.creator}'s link")
        clicks = self._of_kind(CreatorClickTouchpoint)
        recent = [t for t in clicks if in_window(t.at, self.ordered_at, self.settings.creator_window)]
        if recent:
            click = recent[-1]
            return _creator_click_match(click, f"the buyer clicked creator {click.creator}'s link {self._age(click.at)} before the order")
        if landing.link_id or landing.token:
            return RuleOutcome(
                rule="creator_link",
                matched=False,
                reason="link_without_integration",
                detail="the order has link data that no creator link or click explains",
            )
        return self._no_click(
            "creator_link", clicks, self.settings.creator_window_days, "no creator link data on the order and no creator click by the buyer"
        )

    def _no_click(self, rule: RuleName, clicks: Sequence[Touchpoint], days: int, none_detail: str) -> RuleOutcome:
        expired = [t for t in clicks if t.at < self.ordered_at]
        if expired:
            return RuleOutcome(
                rule=rule,
                matched=False,
                reason="window_expired",
                detail=f"the buyer's last click was more than {days} days before the order",
                touchpoint_ids=[expired[-1].id],
            )
        if clicks:
            return RuleOutcome(
                rule=rule,
                matched=False,
                reason="touch_after_order",
                detail="the buyer's click came after the order",
                touchpoint_ids=[t.id for t in clicks],
            )
        return RuleOutcome(rule=rule, matched=False, reason="no_tracking_data", detail=none_detail)

    # -- helpers --------------------------------------------------------------------------------------
    def conversation(self, conversation_id: str) -> Conversation:
        """The conversation's context: the stored item, else rebuilt from the buyer's own DM and comment (once per order)."""
        if conversation_id not in self._conversations:
            self._conversations[conversation_id] = self._build_conversation(conversation_id)
        return self._conversations[conversation_id]

    def deepest_step(self, conversation_id: str) -> FlowStepTouchpoint | None:
        """The furthest flow step the conversation had reached by the order (ties: the later one)."""
        steps = [t for t in self._of_kind(FlowStepTouchpoint) if t.conversation_id == conversation_id and t.at <= self.ordered_at]
        return max(steps, key=lambda t: (t.step, t.at), default=None)

    def _build_conversation(self, conversation_id: str) -> Conversation:
        stored = self.c.conversations.get(conversation_id)
        if stored is not None and stored.comment_id and stored.comment_at:
            return stored
        dm = next((t for t in reversed(self._of_kind(DmTouchpoint)) if t.conversation_id == conversation_id), None)
        base = stored or Conversation(
            conversation_id=conversation_id,
            started_at=dm.occurred_at if dm else None,
            comment_id=dm.comment_id if dm else None,
            flow=dm.flow if dm else None,
        )
        comment = next((t for t in self._of_kind(CommentTouchpoint) if t.id == base.comment_id), None)
        if comment is None:
            return base
        return base.model_copy(
            update={"comment_text": comment.text, "comment_at": comment.occurred_at, "post": comment.post, "keywords": comment.keywords}
        )

    def _age(self, at: datetime) -> str:
        seconds = int((self.ordered_at - at).total_seconds())
        days, rest = divmod(seconds, 86_400)
        hours, rest = divmod(rest, 3600)
        return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"


def _creator_click_match(click: CreatorClickTouchpoint, detail: str) -> _Match:
    """A creator_link match on one creator click (by cart token or by the buyer's recent click)."""
    return _Match(detail, [click.id], first_touch_at=click.at, creator=click.creator, link_id=click.link_id)


# Each rule's evaluation, looked up per rule of the tenant's priority (unbound: no bound methods to build per order).
_EVALUATE: dict[RuleName, Callable[[_Engine], _Match | RuleOutcome]] = {
    "coupon": _Engine.coupon,
    "conversation_hard": _Engine.conversation_hard,
    "ad_click": _Engine.ad_click,
    "creator_link": _Engine.creator_link,
    "conversation_soft": _Engine.conversation_soft,
}


def attribute(order: Order, candidates: Candidates, settings: AttributionSettings, now: datetime) -> Attribution:
    """Decide how one order is attributed, with evidence for every rule, in the tenant's priority."""
    engine = _Engine(order, candidates, settings)
    winner: tuple[RuleName, _Match] | None = None
    winner_index = 0
    evidence: list[RuleOutcome] = []
    for rule in settings.priority:
        result = _EVALUATE[rule](engine)
        if isinstance(result, _Match):
            evidence.append(result.outcome(rule, winner[0] if winner else None))
            if winner is None:
                winner = (rule, result)
                winner_index = len(evidence) - 1
        else:
            evidence.append(result)
    base = {
        "order_id": order.id,
        "source": order.source,
        "evidence": evidence,
        "ordered_at": order.ordered_at,
        "attributed_at": now,
        "cancelled": order.is_cancelled,
        "revenue": order.total,
        "currency": order.currency,
    }
    if winner is None:
        return Attribution(method="organic", **base)
    rule, match = winner
    review = _review_status(rule, match, candidates.previous)
    if review == "rejected":
        evidence[winner_index] = evidence[winner_index].model_copy(
            update={"detail": evidence[winner_index].detail + "; a person rejected this match"}
        )
        return Attribution(
            method="organic", review_status="rejected", rule=rule, conversation_id=match.conversation_id, claimed_shop_link_id=None, **base
        )
    context = engine.conversation(match.conversation_id) if match.conversation_id else None
    step = engine.deepest_step(match.conversation_id) if match.conversation_id else None
    first = match.first_touch_at
    return Attribution(
        method=METHOD_OF_RULE[rule],
        rule=rule,
        review_status=review,
        touchpoint_ids=evidence[winner_index].touchpoint_ids,
        conversation_id=match.conversation_id,
        post=context.post if context else None,
        comment_id=context.comment_id if context else None,
        comment_text=context.comment_text if context else None,
        flow=context.flow if context else None,
        flow_step=step.step if step else None,
        flow_step_name=step.step_name if step else None,
        keywords=context.keywords if context else [],
        creator=match.creator,
        link_id=match.link_id,
        coupon=match.coupon,
        ttclid=match.ttclid or order.landing.ttclid,
        first_touch_at=first,
        time_to_order_seconds=int((order.ordered_at - first).total_seconds()) if first else None,
        claimed_shop_link_id=match.shop_link_id,
        **base,
    )


def _review_status(rule: RuleName, match: _Match, previous: Attribution | None) -> str | None:
    """Soft matches start pending; a person's decision on the same shop link survives re-attribution."""
    if rule != "conversation_soft":
        return None
    if previous is not None and previous.rule == "conversation_soft" and previous.review_status in ("confirmed", "rejected"):
        same_link = previous.claimed_shop_link_id in (None, match.shop_link_id) and previous.conversation_id == match.conversation_id
        if same_link:
            return previous.review_status
    return "pending"


def review(attribution: Attribution, decision: str, now: datetime) -> Attribution:
    """Apply a person's confirm/reject to a soft match (the caller checks it is one)."""
    if decision == "confirm":
        return attribution.model_copy(update={"review_status": "confirmed", "method": "conversation_soft", "attributed_at": now})
    return attribution.model_copy(
        update={"review_status": "rejected", "method": "organic", "attributed_at": now, "claimed_shop_link_id": None}
    )  # organic holds no credit, as attribute() does
