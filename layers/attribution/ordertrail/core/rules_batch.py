"""Batch rules (docs/attribution.md#rules): many orders' decisions per call, vectorised with numpy, identical to `rules.attribute`.

For callers that decide thousands of orders at once (re-attribution over a date range, bench/rules_speed.py): the
inputs arrive as flat columns (`Orders`, built by `from_columns` or `from_orders`) and every rule is evaluated for every
order at once: per rule an eligibility mask over the touches (kind, inclusive window, claims, SKU overlap), the first
or latest eligible touch of each order in tie order (`rules.touch_order`), and the first matching rule in the tenant's
priority. The result is the *decision* of each order — method, rule, review status, the winner's touchpoint ids,
conversation, claimed shop link, creator, link id, coupon, ttclid and first touch — without the evidence text.

Every input `rules.attribute` reads is covered on the vector path: claims by earlier and later orders, the previous
attribution's review, stored conversations and the conversation rebuilt from the buyer's DM and comment, the ttclid's
click and the cart token's click. No order falls back to `rules.attribute`. tests/unit/test_rules_batch.py proves the
decisions equal `rules.attribute`'s on random orders.

Strings (ids, conversations, creators, coupons...) are codes into one sorted vocabulary, so code order is str order
(the id tie-break) and equal strings have equal codes; joins on (order, string) use the key `order · V + code`, which
`from_columns` checks fits in int64.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ordertrail.core.models import (
    AdClickTouchpoint,
    Attribution,
    CommentTouchpoint,
    CreatorClickTouchpoint,
    DmTouchpoint,
    FlowStepTouchpoint,
    Method,
    Order,
    RuleName,
    ShopLinkTouchpoint,
)
from ordertrail.core.rules import METHOD_OF_RULE, Candidates, order_ref
from ordertrail.core.tenant_settings import AttributionSettings

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
NONE_US: Final = int(np.iinfo(np.int64).min)  # "no time": below every datetime's µs
KINDS: Final = ("comment", "dm", "flow_step", "shop_link", "ad_click", "creator_click")
COMMENT, DM, FLOW_STEP, SHOP_LINK, AD_CLICK, CREATOR_CLICK = range(6)
RULES: Final[tuple[RuleName, ...]] = ("coupon", "conversation_hard", "ad_click", "creator_link", "conversation_soft")
REVIEWS: Final = (None, "pending", "confirmed", "rejected")
_KEY_LIMIT: Final = 1 << 62
# The fields every rule fills for its match (string codes, −1 none; first_us NONE_US when none).
# "row" is the winning shop link's touch row (for the conversation context), not a decided field.
_FIELDS: Final = ("id1", "id2", "conversation", "link", "row", "creator", "link_id", "coupon", "ttclid", "first_us")

_KIND_OF: Final[dict[type, int]] = {
    CommentTouchpoint: COMMENT,
    DmTouchpoint: DM,
    FlowStepTouchpoint: FLOW_STEP,
    ShopLinkTouchpoint: SHOP_LINK,
    AdClickTouchpoint: AD_CLICK,
    CreatorClickTouchpoint: CREATOR_CLICK,
}


def to_us(moment: datetime) -> int:
    """An aware datetime as whole µs since the Unix epoch (exact)."""
    return (moment - EPOCH) // _US


def _ints(values: Iterable[int]) -> Ints:
    """An int64 array of the values."""
    return np.fromiter(values, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Orders:
    """Many orders' rule inputs as flat columns: touch k of order c is row `offsets[c] + k`; strings are codes (−1: none)."""

    strings: tuple[str, ...]  # the sorted vocabulary every code points into
    offsets: Ints  # orders + 1 bounds into the touch columns
    order: Ints  # per touch: its order
    kind: Ints  # per touch: index into KINDS
    at_us: Ints  # per touch: when it happened
    arrival_us: Ints  # per touch: received_at, else at (the second tie-break)
    touch_id: Ints  # per touch: its id (code order is str order: the third tie-break)
    conversation: Ints  # per touch: DM, flow step and shop link conversation
    comment_ref: Ints  # per touch: a DM's comment id (−1 when none or empty)
    creator: Ints  # per touch: a creator click's creator
    link_id: Ints  # per touch: a creator click's link id
    ttclid: Ints  # per touch: an ad click's ttclid
    item_touch: Ints  # per shop-link item: its touch
    item_code: Ints  # per shop-link item: 2 · string code, + 1 for a product id (SKUs and products never compare)
    ordered_us: Ints  # per order: ordered_at
    matchable: Bools  # per order: the buyer's user id is present and unmasked
    order_items: Ints  # sorted keys order · 2V + item code of each order's SKUs and product ids
    coupon_order: Ints  # per coupon code on an order, in the order's order: its order
    coupon_code: Ints  # per coupon code on an order: the code
    mapping_key: Ints  # sorted keys order · V + code of each order's coupon mappings
    mapping_creator: Ints  # per mapping (in key order): its creator
    mapping_link: Ints  # per mapping: its link id
    landing_ttclid: Ints  # per order (−1 when falsy)
    landing_creator: Ints  # per order (−1 when falsy)
    landing_link_id: Ints  # per order (−1 when None)
    landing_token: Bools  # per order: a cart token is on the order
    click_id: Ints  # per order: the stored click of the order's ttclid
    click_us: Ints
    token_id: Ints  # per order: the creator click of the order's cart token
    token_us: Ints
    token_creator: Ints
    token_link: Ints
    order_key: Ints  # per order: its store-qualified reference (rules.order_ref)
    claim_order: Ints  # per claim handed to an order: that order
    claim_us: Ints  # per claim: the claiming order's time
    claim_key: Ints  # per claim: the claiming order's reference
    stored_key: Ints  # sorted keys order · V + conversation of each order's stored conversations
    stored_comment: Ints  # per stored conversation (in key order): comment id (−1 when falsy)
    stored_comment_us: Ints  # NONE_US when none
    stored_started_us: Ints
    previous_soft: Bools  # per order: the previous attribution's rule was conversation_soft
    previous_review: Ints  # per order: index into REVIEWS of the previous attribution's review status
    previous_link: Ints  # per order: its claimed shop link
    previous_conversation: Ints

    @property
    def count(self) -> int:
        """The number of orders."""
        return len(self.ordered_us)


class _Vocabulary:
    """Collects strings while the columns are built, then codes them in str order."""

    def __init__(self) -> None:
        self.seen: dict[str, None] = {}

    def add(self, value: str | None) -> str | None:
        """Note a string (None is no string)."""
        if value is not None:
            self.seen[value] = None
        return value

    def codes(self) -> tuple[tuple[str, ...], dict[str, int]]:
        """The sorted vocabulary and each string's code in it."""
        strings = tuple(sorted(self.seen))
        return strings, {s: i for i, s in enumerate(strings)}


def from_columns(
    *,
    lengths: Sequence[int],
    kinds: Sequence[str],
    at_us: Sequence[int],
    arrival_us: Sequence[int],
    ids: Sequence[str],
    ordered_us: Sequence[int],
    conversations: Sequence[str | None] | None = None,
    comment_ids: Sequence[str | None] | None = None,
    creators: Sequence[str | None] | None = None,
    link_ids: Sequence[str | None] | None = None,
    ttclids: Sequence[str | None] | None = None,
    link_skus: Sequence[Sequence[str]] | None = None,
    link_products: Sequence[Sequence[str]] | None = None,
    matchable: Sequence[bool] | None = None,
    skus: Sequence[Iterable[str]] | None = None,
    products: Sequence[Iterable[str]] | None = None,
    coupon_codes: Sequence[Sequence[str]] | None = None,
    coupon_mappings: Sequence[Mapping[str, tuple[str, str | None]]] | None = None,
    landing: Sequence[tuple[str | None, str | None, str | None, str | None]] | None = None,
    click: Sequence[tuple[str, int] | None] | None = None,
    token_click: Sequence[tuple[str, int, str, str | None] | None] | None = None,
    order_keys: Sequence[str] | None = None,
    claims: Sequence[Iterable[tuple[str, int]]] | None = None,
    stored: Sequence[Mapping[str, tuple[str | None, int | None, int | None]]] | None = None,
    previous: Sequence[tuple[str | None, str | None, str | None, str | None] | None] | None = None,
) -> Orders:
    """Orders from flat columns: per touch (`lengths[c]` per order, times in µs since the epoch) and per order.

    Per touch: kind (a KINDS name), times, id and the per-kind fields (None where a kind has none). Per order: its time,
    whether the buyer is matchable, its SKUs and product ids, its coupon codes (as Order normalises them) and coupon
    mappings (code → creator, link id), landing (ttclid, creator, link_id, token), the ttclid's click (id, µs), the
    cart token's click (id, µs, creator, link id), its reference, claims ((order reference, µs), any link), stored
    conversations (conversation → comment id, comment µs, started µs) and the previous attribution
    (rule, review status, claimed shop link, conversation).
    """
    n, count = len(kinds), len(ordered_us)
    if sum(lengths) != n or len(lengths) != count or not (len(at_us) == len(arrival_us) == len(ids) == n):
        raise ValueError("every touch column needs one entry per touch, every order column one per order")
    none_t: list[Any] = [None] * n
    none_o: list[Any] = [None] * count
    conversations, comment_ids, creators = conversations or none_t, comment_ids or none_t, creators or none_t
    link_ids, ttclids = link_ids or none_t, ttclids or none_t
    link_skus, link_products = link_skus or [()] * n, link_products or [()] * n
    skus, products = skus or [()] * count, products or [()] * count
    coupon_codes, coupon_mappings = coupon_codes or [()] * count, coupon_mappings or [{}] * count
    landing = landing or [(None, None, None, None)] * count
    click, token_click, previous = click or none_o, token_click or none_o, previous or none_o
    order_keys = order_keys or [f"#{c}" for c in range(count)]
    claims, stored = claims or [()] * count, stored or [{}] * count

    words = _Vocabulary()
    for flat in (ids, conversations, comment_ids, creators, link_ids, ttclids, order_keys):
        for value in flat:
            words.add(value)
    for nested in (link_skus, link_products, skus, products, coupon_codes):
        for values in nested:
            for value in values:
                words.add(value)
    for mappings in coupon_mappings:
        for mapped_code, (creator, link) in mappings.items():
            words.add(mapped_code), words.add(creator), words.add(link)
    for row in (*landing, *(p or () for p in previous)):
        for value in row:
            words.add(value)
    for tc in (*click, *token_click):
        for value in tc or ():
            if isinstance(value, str):
                words.add(value)
    for handed in claims:
        for key, _ in handed:
            words.add(key)
    for table in stored:
        for cid, (comment, _, _) in table.items():
            words.add(cid), words.add(comment)
    strings, code = words.codes()
    size = len(strings)
    if (count + 1) * 2 * (size + 1) >= _KEY_LIMIT:
        raise ValueError("too many orders × strings for int64 join keys")

    def c(value: str | None) -> int:  # where rules.py uses the value itself: an empty string is one
        return -1 if value is None else code[value]

    def ct(value: str | None) -> int:  # where rules.py tests truthiness: an empty string is no value
        return code[value] if value else -1

    sizes = _ints(lengths)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    order = np.repeat(np.arange(count, dtype=np.int64), sizes)
    kind_code = {k: i for i, k in enumerate(KINDS)}
    item_touch = [t for t in range(n) for _ in (*link_skus[t], *link_products[t])]
    item_code = [x for t in range(n) for x in (*(2 * code[s] for s in link_skus[t]), *(2 * code[p] + 1 for p in link_products[t]))]
    order_items = sorted(
        {c_ * 2 * size + 2 * code[s] for c_ in range(count) for s in skus[c_] if s}
        | {c_ * 2 * size + 2 * code[p] + 1 for c_ in range(count) for p in products[c_] if p}
    )
    mapping_rows = sorted(
        (c_ * size + code[m], code[creator], c(link)) for c_ in range(count) for m, (creator, link) in coupon_mappings[c_].items()
    )
    stored_rows = sorted(
        (c_ * size + code[cid], ct(comment), NONE_US if at is None else at, NONE_US if started is None else started)
        for c_ in range(count)
        for cid, (comment, at, started) in stored[c_].items()
    )
    claim_rows = [(c_, at, code[key]) for c_ in range(count) for key, at in claims[c_]]
    coupon_rows = [(c_, code[k]) for c_ in range(count) for k in coupon_codes[c_]]

    def column(rows: Sequence[tuple[int, ...]], i: int) -> Ints:  # one field of joined rows
        return _ints(row[i] for row in rows)

    return Orders(
        strings=strings,
        offsets=offsets,
        order=order,
        kind=_ints(kind_code[k] for k in kinds),
        at_us=_ints(at_us),
        arrival_us=_ints(arrival_us),
        touch_id=_ints(code[i] for i in ids),
        conversation=_ints(map(c, conversations)),
        comment_ref=_ints(map(ct, comment_ids)),
        creator=_ints(map(c, creators)),
        link_id=_ints(map(c, link_ids)),
        ttclid=_ints(map(c, ttclids)),
        item_touch=_ints(item_touch),
        item_code=_ints(item_code),
        ordered_us=_ints(ordered_us),
        matchable=np.fromiter(matchable if matchable is not None else [True] * count, dtype=bool, count=count),
        order_items=_ints(order_items),
        coupon_order=column(coupon_rows, 0),
        coupon_code=column(coupon_rows, 1),
        mapping_key=column(mapping_rows, 0),
        mapping_creator=column(mapping_rows, 1),
        mapping_link=column(mapping_rows, 2),
        landing_ttclid=_ints(ct(row[0]) for row in landing),
        landing_creator=_ints(ct(row[1]) for row in landing),
        landing_link_id=_ints(c(row[2]) for row in landing),
        landing_token=np.fromiter((bool(row[3]) for row in landing), dtype=bool, count=count),
        click_id=_ints(c(k[0]) if k else -1 for k in click),
        click_us=_ints(k[1] if k else NONE_US for k in click),
        token_id=_ints(c(k[0]) if k else -1 for k in token_click),
        token_us=_ints(k[1] if k else NONE_US for k in token_click),
        token_creator=_ints(c(k[2]) if k else -1 for k in token_click),
        token_link=_ints(c(k[3]) if k else -1 for k in token_click),
        order_key=_ints(code[k] for k in order_keys),
        claim_order=column(claim_rows, 0),
        claim_us=column(claim_rows, 1),
        claim_key=column(claim_rows, 2),
        stored_key=column(stored_rows, 0),
        stored_comment=column(stored_rows, 1),
        stored_comment_us=column(stored_rows, 2),
        stored_started_us=column(stored_rows, 3),
        previous_soft=np.fromiter((bool(p and p[0] == "conversation_soft") for p in previous), dtype=bool, count=count),
        previous_review=_ints(REVIEWS.index(p[1]) if p and p[1] in REVIEWS else 0 for p in previous),
        previous_link=_ints(c(p[2]) if p else -1 for p in previous),
        previous_conversation=_ints(c(p[3]) if p else -1 for p in previous),
    )


def from_orders(pairs: Iterable[tuple[Order, Candidates]]) -> Orders:
    """Orders from `(order, candidates)` pairs, as `rules.attribute` takes them one by one (touches in the given order)."""
    lengths: list[int] = []
    t: dict[str, list[Any]] = {
        k: [] for k in ("kinds", "at", "arrival", "ids", "conv", "comment", "creator", "link", "ttclid", "skus", "products")
    }
    o: dict[str, list[Any]] = {
        k: []
        for k in (
            "ordered",
            "matchable",
            "skus",
            "products",
            "codes",
            "mappings",
            "landing",
            "click",
            "token",
            "keys",
            "claims",
            "stored",
            "previous",
        )
    }
    for order, found in pairs:
        lengths.append(len(found.touchpoints))
        for touch in found.touchpoints:
            t["kinds"].append(touch.kind)
            t["at"].append(to_us(touch.at))
            t["arrival"].append(to_us(touch.received_at or touch.occurred_at))
            t["ids"].append(touch.id)
            t["conv"].append(getattr(touch, "conversation_id", None))
            t["comment"].append(touch.comment_id if isinstance(touch, DmTouchpoint) else None)
            t["creator"].append(touch.creator if isinstance(touch, CreatorClickTouchpoint) else None)
            t["link"].append(touch.link_id if isinstance(touch, CreatorClickTouchpoint) else None)
            t["ttclid"].append(touch.ttclid if isinstance(touch, AdClickTouchpoint) else None)
            t["skus"].append(touch.skus if isinstance(touch, ShopLinkTouchpoint) else ())
            t["products"].append(touch.product_ids if isinstance(touch, ShopLinkTouchpoint) else ())
        o["ordered"].append(to_us(order.ordered_at))
        o["matchable"].append(order.buyer.matchable_user_id is not None)
        o["skus"].append({i.sku for i in order.line_items if i.sku})
        o["products"].append({i.product_id for i in order.line_items if i.product_id})
        o["codes"].append(order.coupon_codes)
        o["mappings"].append({code: (m.creator, m.link_id) for code, m in found.coupons.items()})
        landing = order.landing
        o["landing"].append((landing.ttclid, landing.creator, landing.link_id, landing.token))
        o["click"].append((found.click.id, to_us(found.click.at)) if found.click else None)
        tc = found.token_click
        o["token"].append((tc.id, to_us(tc.at), tc.creator, tc.link_id) if tc else None)
        o["keys"].append(order_ref(order))
        o["claims"].append([(claim.order_key, to_us(claim.ordered_at)) for claim in found.claims.values()])
        o["stored"].append(
            {
                cid: (s.comment_id, to_us(s.comment_at) if s.comment_at else None, to_us(s.started_at) if s.started_at else None)
                for cid, s in found.conversations.items()
            }
        )
        p = found.previous
        o["previous"].append((p.rule, p.review_status, p.claimed_shop_link_id, p.conversation_id) if p else None)
    return from_columns(
        lengths=lengths,
        kinds=t["kinds"],
        at_us=t["at"],
        arrival_us=t["arrival"],
        ids=t["ids"],
        ordered_us=o["ordered"],
        conversations=t["conv"],
        comment_ids=t["comment"],
        creators=t["creator"],
        link_ids=t["link"],
        ttclids=t["ttclid"],
        link_skus=t["skus"],
        link_products=t["products"],
        matchable=o["matchable"],
        skus=o["skus"],
        products=o["products"],
        coupon_codes=o["codes"],
        coupon_mappings=o["mappings"],
        landing=o["landing"],
        click=o["click"],
        token_click=o["token"],
        order_keys=o["keys"],
        claims=o["claims"],
        stored=o["stored"],
        previous=o["previous"],
    )


@dataclass(frozen=True)
class Decision:
    """One order's decision: the fields of its `Attribution` that `rules.attribute` decides (not the evidence or context)."""

    method: Method
    rule: RuleName | None
    review_status: str | None
    touchpoint_ids: tuple[str, ...]
    conversation_id: str | None
    claimed_shop_link_id: str | None
    creator: str | None
    link_id: str | None
    coupon: str | None
    ttclid: str | None
    first_touch_at: datetime | None


def decision_of(attribution: Attribution) -> Decision:
    """The decision an `Attribution` carries (to compare `rules.attribute` with `decide`)."""
    first = attribution.first_touch_at
    return Decision(
        method=attribution.method,
        rule=attribution.rule,
        review_status=attribution.review_status,
        touchpoint_ids=tuple(attribution.touchpoint_ids),
        conversation_id=attribution.conversation_id,
        claimed_shop_link_id=attribution.claimed_shop_link_id,
        creator=attribution.creator,
        link_id=attribution.link_id,
        coupon=attribution.coupon,
        ttclid=attribution.ttclid,
        first_touch_at=first.astimezone(UTC) if first else None,
    )


@dataclass(frozen=True, eq=False)
class Decisions:
    """Every order's decision as arrays: string fields are codes into `strings` (−1: none)."""

    rule: Ints  # per order: index into RULES of the winning rule, −1 when none matched
    review: Ints  # per order: index into REVIEWS
    touch_ids: Ints  # per order: up to two touchpoint ids (−1 pads), in the evidence's order
    conversation: Ints
    claimed_link: Ints
    creator: Ints
    link_id: Ints
    coupon: Ints
    ttclid: Ints
    first_us: Ints  # NONE_US: no first touch
    strings: tuple[str, ...]

    @property
    def method_codes(self) -> Ints:
        """Per order: the index into RULES of the method's rule, −1 for organic (no match, or a rejected soft match)."""
        return np.where(self.review == 3, -1, self.rule)

    def per_order(self) -> list[Decision]:
        """Each order's decision, as `decision_of` reads it from `rules.attribute`'s Attribution."""
        s = self.strings

        def text(code: int) -> str | None:
            return None if code < 0 else s[code]

        columns = zip(
            self.rule.tolist(),
            self.review.tolist(),
            self.touch_ids.tolist(),
            self.conversation.tolist(),
            self.claimed_link.tolist(),
            self.creator.tolist(),
            self.link_id.tolist(),
            self.coupon.tolist(),
            self.ttclid.tolist(),
            self.first_us.tolist(),
            strict=True,
        )
        made = []
        for rule, review, ids, conversation, link, creator, link_id, coupon, ttclid, first in columns:
            name = RULES[rule] if rule >= 0 else None
            method: Method = "organic" if name is None or review == 3 else METHOD_OF_RULE[name]
            made.append(
                Decision(
                    method=method,
                    rule=name,
                    review_status=REVIEWS[review],
                    touchpoint_ids=tuple(s[i] for i in ids if i >= 0),
                    conversation_id=text(conversation),
                    claimed_shop_link_id=text(link),
                    creator=text(creator),
                    link_id=text(link_id),
                    coupon=text(coupon),
                    ttclid=text(ttclid),
                    first_touch_at=None if first == NONE_US else EPOCH + timedelta(microseconds=first),
                )
            )
        return made


def _pick(values: Ints, index: Ints, missing: int = -1) -> Ints:
    """values[index] where index ≥ 0, else `missing` (values may be empty)."""
    if not len(values):
        return np.full(len(index), missing, dtype=np.int64)
    return np.where(index >= 0, values[index], missing)


def _ends(mask: Bools, owner: Ints, count: int, *, last: bool) -> Ints:
    """Per order, the first (or last) row where `mask` holds (rows grouped by owner, in tie order); −1 where none."""
    rows = np.flatnonzero(mask)
    out = np.full(count, -1, dtype=np.int64)
    if len(rows):
        who = owner[rows]
        change = who[1:] != who[:-1]
        edge = np.ones(1, dtype=bool)
        keep = np.concatenate((change, edge) if last else (edge, change))
        out[who[keep]] = rows[keep]
    return out


def _lookup(sorted_keys: Ints, keys: Ints) -> Ints:
    """The position of each key in `sorted_keys` (unique keys), −1 where absent."""
    if not len(sorted_keys):
        return np.full(len(keys), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.where(sorted_keys[at] == keys, at, -1)


def _tie_order(b: Orders) -> Ints | None:
    """The permutation putting each order's touches in tie order (time, arrival, id, input), None when they already are."""
    o, at, arrival, rank = b.order, b.at_us, b.arrival_us, b.touch_id
    if len(o) < 2:
        return None
    a0, a1, r0, r1 = at[:-1], at[1:], arrival[:-1], arrival[1:]
    fine = (o[1:] != o[:-1]) | (a1 > a0) | ((a1 == a0) & ((r1 > r0) | ((r1 == r0) & (rank[1:] >= rank[:-1]))))
    if fine.all():
        return None
    return np.lexsort((np.arange(len(o)), rank, arrival, at, o))


def decide(b: Orders, settings: AttributionSettings) -> Decisions:
    """Every order's decision, exactly as `rules.attribute` decides it for that order (docs/attribution.md#rules)."""
    count, size = b.count, len(b.strings)
    # Overlap with the order's SKUs or products, per touch in input order (a shop link item joined on order · 2V + item).
    overlap = np.zeros(len(b.order), dtype=bool)
    if len(b.item_touch):
        hit = _lookup(b.order_items, b.order[b.item_touch] * (2 * size) + b.item_code) >= 0
        overlap[b.item_touch[hit]] = True
    perm = _tie_order(b)
    o, kind, at, tid, conv, creator, link_id, ttclid = b.order, b.kind, b.at_us, b.touch_id, b.conversation, b.creator, b.link_id, b.ttclid
    comment_ref = b.comment_ref
    if perm is not None:
        o, kind, at, tid, conv, creator, link_id, ttclid = (a[perm] for a in (o, kind, at, tid, conv, creator, link_id, ttclid))
        comment_ref, overlap = comment_ref[perm], overlap[perm]
    ordered = b.ordered_us
    when = ordered[o]  # per touch: its order's time
    before = at <= when

    def recent(days: int) -> Bools:  # inclusive: order − window ≤ touch ≤ order
        return before & (at >= when - days * 86_400_000_000)

    fields: dict[RuleName, dict[str, Ints]] = {}
    matched: dict[RuleName, Bools] = {}

    # 1. coupon: the order's first code with a mapping; its first touch the buyer's first click on that creator.
    mapped = _lookup(b.mapping_key, b.coupon_order * size + b.coupon_code)
    first_mapped = _ends(mapped >= 0, b.coupon_order, count, last=False)
    row = _pick(mapped, first_mapped)
    coupon_creator = _pick(b.mapping_creator, row)
    click = _ends((kind == CREATOR_CLICK) & before & (creator == coupon_creator[o]) & (coupon_creator[o] >= 0), o, count, last=False)
    matched["coupon"] = row >= 0
    fields["coupon"] = {
        "id1": _pick(tid, click),
        "creator": coupon_creator,
        "link_id": _pick(b.mapping_link, row),
        "coupon": _pick(b.coupon_code, first_mapped),
        "first_us": _pick(at, click, NONE_US),
    }

    # 2 and 5. conversations: open shop links (matchable buyer, in the window, not closed by an earlier order's claim).
    closed = np.full(count, NONE_US, dtype=np.int64)
    if len(b.claim_order):
        me, mine = b.order_key[b.claim_order], ordered[b.claim_order]
        earlier = (b.claim_key != me) & ((b.claim_us < mine) | ((b.claim_us == mine) & (b.claim_key < me)))
        np.maximum.at(closed, b.claim_order[earlier], b.claim_us[earlier])
    shop_open = (kind == SHOP_LINK) & b.matchable[o] & recent(settings.conversation_window_days) & (at > closed[o])
    hard = _ends(shop_open & overlap, o, count, last=True)
    soft = _ends(shop_open, o, count, last=True)
    talk_rules: tuple[tuple[RuleName, Ints], ...] = (("conversation_hard", hard), ("conversation_soft", soft))
    for talk_rule, link in talk_rules:
        matched[talk_rule] = link >= 0
        fields[talk_rule] = {"conversation": _pick(conv, link), "link": _pick(tid, link), "row": link}

    # 3. ad_click: the order's ttclid (with its stored click), else the buyer's latest ad click in the lookback.
    has_ttclid = b.landing_ttclid >= 0
    ad = _ends((kind == AD_CLICK) & recent(settings.click_window_days), o, count, last=True)
    matched["ad_click"] = has_ttclid | (ad >= 0)
    stored_click_first = np.where((b.click_id >= 0) & (b.click_us <= ordered), b.click_us, NONE_US)
    fields["ad_click"] = {
        "id1": np.where(has_ttclid, b.click_id, _pick(tid, ad)),
        "ttclid": np.where(has_ttclid, b.landing_ttclid, _pick(ttclid, ad)),
        "first_us": np.where(has_ttclid, stored_click_first, _pick(at, ad, NONE_US)),
    }

    # 4. creator_link: creator data on the order, else the cart token's click, else the latest creator click in the lookback.
    by_landing = b.landing_creator >= 0
    by_token = ~by_landing & b.landing_token & (b.token_id >= 0) & (b.token_us <= ordered)
    cc = _ends((kind == CREATOR_CLICK) & recent(settings.creator_window_days), o, count, last=True)
    by_click = ~by_landing & ~by_token & (cc >= 0)
    matched["creator_link"] = by_landing | by_token | by_click
    fields["creator_link"] = {
        "id1": np.where(by_token, b.token_id, np.where(by_click, _pick(tid, cc), -1)),
        "creator": np.where(by_landing, b.landing_creator, np.where(by_token, b.token_creator, _pick(creator, cc))),
        "link_id": np.where(by_landing, b.landing_link_id, np.where(by_token, b.token_link, _pick(link_id, cc))),
        "first_us": np.where(by_token, b.token_us, np.where(by_click, _pick(at, cc, NONE_US), NONE_US)),
    }

    # The first matching rule in the tenant's priority wins; each field is copied from the winning rule's.
    rule = np.full(count, -1, dtype=np.int64)
    for name in reversed(settings.priority):
        rule[matched[name]] = RULES.index(name)
    out: dict[str, Ints] = {f: np.full(count, NONE_US if f == "first_us" else -1, dtype=np.int64) for f in _FIELDS}
    for code, name in enumerate(RULES):
        won = rule == code
        for f, values in fields[name].items():
            np.copyto(out[f], values, where=won)

    # A conversation's context: its first touch and comment (stored, else rebuilt from the buyer's DM and comment).
    talk = np.flatnonzero((rule == 1) | (rule == 4))
    if len(talk):
        _context(b, out, talk, o, kind, at, tid, conv, comment_ref, size)
    out["ttclid"] = np.where((rule >= 0) & (out["ttclid"] < 0), b.landing_ttclid, out["ttclid"])

    # Review: soft matches start pending; a person's decision on the same shop link survives (rules._review_status).
    review = np.where(rule == 4, 1, 0)
    if b.previous_soft.any():
        same = (
            b.previous_soft
            & (b.previous_review >= 2)
            & ((b.previous_link < 0) | (b.previous_link == out["link"]))
            & (b.previous_conversation == out["conversation"])
        )
        review = np.where((rule == 4) & same, b.previous_review, review)
    rejected = review == 3
    if rejected.any():  # a rejected match is organic: it keeps only its rule and conversation
        for f in _FIELDS:
            if f != "conversation":
                out[f][rejected] = NONE_US if f == "first_us" else -1
    return Decisions(
        rule=rule,
        review=review,
        touch_ids=np.stack([out["id1"], out["id2"]], axis=1),
        conversation=out["conversation"],
        claimed_link=out["link"],
        creator=out["creator"],
        link_id=out["link_id"],
        coupon=out["coupon"],
        ttclid=out["ttclid"],
        first_us=out["first_us"],
        strings=b.strings,
    )


def _context(
    b: Orders, out: dict[str, Ints], talk: Ints, o: Ints, kind: Ints, at: Ints, tid: Ints, conv: Ints, comment_ref: Ints, size: int
) -> None:
    """Fill the conversation winners' ids ([comment, link]) and first touch as `rules._Engine._build_conversation` finds them."""
    cid = out["conversation"][talk]
    key = talk * size + cid
    row = _lookup(b.stored_key, key)
    s_comment = _pick(b.stored_comment, row)
    s_comment_us = _pick(b.stored_comment_us, row, NONE_US)
    s_started = _pick(b.stored_started_us, row, NONE_US)
    # Without a stored item: the buyer's last DM in that conversation (any time), in tie order.
    dms = np.flatnonzero(kind == DM)
    dm_keys = o[dms] * size + conv[dms]
    by_key = np.argsort(dm_keys, kind="stable")
    dm_sorted = dm_keys[by_key]
    last = np.searchsorted(dm_sorted, key, side="right") - 1
    found = (last >= 0) & (dm_sorted[np.maximum(last, 0)] == key) if len(dms) else np.zeros(len(talk), dtype=bool)
    dm = np.where(found & (row < 0), dms[by_key[np.maximum(last, 0)]] if len(dms) else -1, -1)
    comment_id = np.where(row >= 0, s_comment, _pick(comment_ref, dm))
    comment_us = np.where(row >= 0, s_comment_us, NONE_US)
    started = np.where(row >= 0, s_started, _pick(at, dm, NONE_US))
    # The comment itself, unless the stored item already holds both its id and time: its time becomes comment_at.
    complete = (row >= 0) & (s_comment >= 0) & (s_comment_us != NONE_US)
    comments = np.flatnonzero(kind == COMMENT)
    c_keys = o[comments] * size + tid[comments]
    c_by = np.argsort(c_keys, kind="stable")
    c_sorted = c_keys[c_by]
    wanted = talk * size + comment_id
    first = np.minimum(np.searchsorted(c_sorted, wanted, side="left"), max(len(comments) - 1, 0))
    has = (comment_id >= 0) & ~complete
    has &= (c_sorted[first] == wanted) if len(comments) else False
    comment_us = np.where(has, at[comments[c_by[first]]] if len(comments) else NONE_US, comment_us)
    link_at = at[out["row"][talk]]
    out["first_us"][talk] = np.where(comment_us != NONE_US, comment_us, np.where(started != NONE_US, started, link_at))
    out["id1"][talk] = comment_id
    out["id2"][talk] = out["link"][talk]
