"""Attributions: an order's inputs, the one transaction that stores its attribution, reviews and conversions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ordertrail.core import refs
from ordertrail.core.conversions import Conversion, conversion_digest
from ordertrail.core.models import (
    AdClickTouchpoint,
    Attribution,
    Conversation,
    CouponMapping,
    CreatorClickTouchpoint,
    CreditClaim,
    Order,
    ShopLinkTouchpoint,
    Touchpoint,
)
from ordertrail.core.rules import Candidates
from ordertrail.core.tenant_settings import MAX_EXPORT_LOOKBACK, AttributionSettings
from ordertrail.storage import keys
from ordertrail.storage.orders import OrderView, order_view
from ordertrail.storage.table import (
    TRANSACTION_LIMIT,
    ConcurrentChange,
    Unstorable,
    cancelled_by_condition,
    deserialize,
    key_id,
    model_json,
    packed,
    refused_as_invalid,
    revision_condition,
    revision_of,
    serialize,
    unpacked,
)
from ordertrail.storage.touchpoints import TOUCHPOINT, TouchpointRecords
from ordertrail.tally import counters
from ordertrail.tally.counters import Counts, Labels
from ordertrail.tally.crossover import AddressProfile
from ordertrail.tally.customers import CustomerActivity
from ordertrail.tally.order_tally import OrderTally, ReportState


@dataclass(frozen=True)
class Revisions:
    """Optimistic-lock revisions read with an order's inputs (None: the item did not exist)."""

    attribution: int | None = None
    customer: int | None = None
    address: int | None = None


@dataclass(frozen=True)
class AttributionInputs:
    """Everything attributing one order reads: the engine's candidates and the report state with its revisions."""

    candidates: Candidates
    report: ReportState
    revisions: Revisions
    attributed_state: str | None = None  # `updated_at` of the order state the stored attribution was made from
    conversion_digest: str | None = None  # digest of the conversion stored with it (None: stored before digests)


def conversion_item(tenant: str, conversion: Conversion) -> dict[str, Any]:
    """A conversion as stored: `counts` apart from `data`, so a review can flip it without rewriting the rest.

    `data` (every touch of the journey) is packed, which keeps the item under 1 KB (docs/decisions/2026-12-02-write-costs.md).
    """
    return {
        **keys.conversion_key(tenant, conversion.ordered_at, conversion.source, conversion.order_id),
        "type": "conversion",
        "data": packed(conversion.model_dump_json(exclude={"counts"}, exclude_none=True)),
        "counts": conversion.counts,
    }


def stored_conversion(data: str, counts: bool) -> Conversion:
    """A stored conversion read back: its `data` JSON with the item's own `counts` (which a review flips) added last.

    Validated from the JSON text itself, not from json.loads' dict: about 40% less CPU per conversion, which an export
    chunk of 100,000 pays 100,000 times. A duplicate key's last value wins, so the item's `counts` always does.
    """
    inner = data.strip()[1:-1].strip()
    return Conversion.model_validate_json(f'{{{inner}{"," if inner else ""}"counts":{"true" if counts else "false"}}}')


class AttributionRecords(TouchpointRecords):
    """Attributions."""

    # -- attribution ------------------------------------------------------------------------------------
    def load_candidates(
        self, tenant: str, order: Order, settings: AttributionSettings, address_key: str | None = None
    ) -> AttributionInputs:
        """Everything attributing one order needs: one Query of the buyer's window and one (consistent) BatchGetItem."""
        buyer = order.buyer.matchable_user_id
        touchpoints: list[Touchpoint] = []
        if buyer:
            # A conversation's comment may predate its shop link by up to another window, and the export credits touches
            # up to 28 days back: read that far once.
            start = order.ordered_at - max(settings.longest_window + settings.conversation_window, MAX_EXPORT_LOOKBACK)
            touchpoints = self.buyer_touchpoints(tenant, buyer, start, order.ordered_at + settings.settle_period)
        wanted = [keys.attribution_key(tenant, order.source, order.id)]
        wanted += [keys.coupon_key(tenant, code) for code in order.coupon_codes]
        if order.landing.ttclid:
            wanted.append(keys.click_key(tenant, order.landing.ttclid))
        if order.landing.token:
            wanted.append(keys.creator_token_key(tenant, order.landing.token))
        links = [t for t in touchpoints if isinstance(t, ShopLinkTouchpoint)]
        wanted += [keys.conversation_key(tenant, c) for c in dict.fromkeys(t.conversation_id for t in links)]
        wanted += [keys.claim_key(tenant, t.id) for t in links]
        customer_key = keys.customer_key(tenant, buyer) if buyer and order.source == "tiktok_shop" else None
        address_key_item = keys.address_profile_key(tenant, address_key) if address_key else None
        wanted += [k for k in (customer_key, address_key_item) if k]
        # Consistent: the counters' deltas are computed from these items, and a stale read would only fail the write.
        items = self._batch_get(wanted, consistent=True)

        def get(key: dict[str, str] | None) -> dict[str, Any] | None:
            return items.get(key_id(key)) if key else None

        previous = get(keys.attribution_key(tenant, order.source, order.id))
        click = get(keys.click_key(tenant, order.landing.ttclid)) if order.landing.ttclid else None
        token = get(keys.creator_token_key(tenant, order.landing.token)) if order.landing.token else None
        coupons = {
            code: CouponMapping.model_validate_json(item["data"])
            for code in order.coupon_codes
            if (item := get(keys.coupon_key(tenant, code)))
        }
        conversations = {
            t.conversation_id: Conversation.model_validate_json(item["data"])
            for t in links
            if (item := get(keys.conversation_key(tenant, t.conversation_id)))
        }
        claims = {t.id: CreditClaim.model_validate_json(item["data"]) for t in links if (item := get(keys.claim_key(tenant, t.id)))}
        click_tp = TOUCHPOINT.validate_json(click["data"]) if click else None
        token_tp = TOUCHPOINT.validate_json(token["data"]) if token else None
        candidates = Candidates(
            touchpoints=touchpoints,
            coupons=coupons,
            conversations=conversations,
            claims=claims,
            click=click_tp if isinstance(click_tp, AdClickTouchpoint) else None,
            token_click=token_tp if isinstance(token_tp, CreatorClickTouchpoint) else None,
            previous=Attribution.model_validate_json(previous["data"]) if previous else None,
        )
        customer = get(customer_key)
        profile = get(address_key_item)
        report = ReportState(
            contribution=counters.load(unpacked(previous.get("contrib"))) if previous else {},
            customer=CustomerActivity.model_validate_json(customer["data"]) if customer else None,
            address=AddressProfile.model_validate_json(profile["data"]) if profile else None,
        )
        revisions = Revisions(
            attribution=revision_of(previous),
            customer=revision_of(customer),
            address=revision_of(profile),
        )
        return AttributionInputs(
            candidates,
            report,
            revisions,
            previous.get("order_updated_at") if previous else None,
            previous.get("conv") if previous else None,
        )

    def save_attribution(
        self,
        tenant: str,
        attribution: Attribution,
        order: Order,
        previous: Attribution | None,
        conversion: Conversion | None,
        tally: OrderTally,
        revisions: Revisions,
    ) -> None:
        """Write an order's attribution and everything that follows from it in ONE transaction.

        That is: the attribution, its conversion, its claim, the customer, the address profile, the counter changes and
        the release of an old claim. ConcurrentChange when a locked item moved since it was read.
        """
        order_ref = refs.order_ref(order.source, order.id)
        item: dict[str, Any] = {
            **keys.attribution_key(tenant, order.source, order.id),
            "type": "attribution",
            "data": model_json(attribution),
            "method": attribution.method,
            "order_updated_at": keys.iso(order.updated_at),
            "contrib": packed(counters.dump(tally.contribution)),
            "conv": conversion_digest(conversion),
            "rev": (revisions.attribution or 0) + 1,
        }
        if attribution.method == "conversation_soft" and attribution.review_status:
            item.update(keys.review_gsi(tenant, attribution.review_status, order.ordered_at, order.source, order.id))
        # The revision is the exactly-once marker: a redelivered record re-reads it and writes a zero difference, and
        # two writers racing on one order cannot both apply theirs. An older order state must not overwrite a newer one.
        lock, values = revision_condition(revisions.attribution)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": serialize(item), "ConditionExpression": lock}
        if revisions.attribution is not None:
            put["ConditionExpression"] = f"({lock}) AND order_updated_at <= :updated"
            put["ExpressionAttributeValues"] = serialize({**values, ":updated": keys.iso(order.updated_at)})
        writes: list[dict[str, Any]] = [{"Put": put}]
        locked = [0]
        writes.append(self._conversion_write(tenant, order, conversion))
        link = attribution.claimed_shop_link_id
        if link:
            claim = CreditClaim(shop_link_id=link, order_key=order_ref, ordered_at=order.ordered_at)
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": serialize(
                            {
                                **keys.claim_key(tenant, link),
                                "type": "claim",
                                "data": model_json(claim),
                                "order_key": order_ref,
                                "ordered_at": keys.iso(order.ordered_at),
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(PK) OR order_key = :me OR ordered_at > :at",
                        "ExpressionAttributeValues": serialize({":me": order_ref, ":at": keys.iso(order.ordered_at)}),
                    }
                }
            )
        if tally.customer_changed and tally.customer is not None:
            locked.append(len(writes))
            writes.append(self._customer_write(tenant, tally.customer, revisions.customer))
        if tally.address_changed and tally.address is not None:
            locked.append(len(writes))
            writes.append(self._address_write(tenant, tally.address, revisions.address))
        writes += self._counter_writes(tenant, tally.delta, tally.labels)
        old_link = previous.claimed_shop_link_id if previous else None
        if old_link and old_link != link:
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": serialize(keys.claim_key(tenant, old_link)),
                        "ConditionExpression": "attribute_not_exists(PK) OR order_key = :me",
                        "ExpressionAttributeValues": serialize({":me": order_ref}),
                    }
                }
            )
        if len(writes) > TRANSACTION_LIMIT:
            raise Unstorable(f"one order would change {len(writes)} items; DynamoDB's transactions take {TRANSACTION_LIMIT}")
        try:
            self._transact_releasing(writes)
        except ClientError as exc:
            if any(cancelled_by_condition(exc, index=i) for i in locked):
                raise ConcurrentChange(f"{order_ref} changed while it was attributed") from exc
            if refused_as_invalid(exc):
                raise Unstorable(f"DynamoDB refused the attribution: {exc.response['Error'].get('Message', '')}") from exc
            raise

    def save_attribution_failure(self, tenant: str, failed: Attribution, order: Order) -> None:
        """Say on the order that it could not be attributed (its `error`), leaving its counters as they were.

        Only the decision shown changes: what the order contributed before (if anything) stays stored, so a later
        successful attribution still writes the exact difference.
        """
        self.client.update_item(
            TableName=self.table_name,
            Key=serialize(keys.attribution_key(tenant, order.source, order.id)),
            UpdateExpression="SET #data = :data, #type = :type, #method = :method, order_updated_at = :updated",
            ExpressionAttributeNames={"#data": "data", "#type": "type", "#method": "method"},
            ExpressionAttributeValues=serialize(
                {":data": model_json(failed), ":type": "attribution", ":method": failed.method, ":updated": keys.iso(order.updated_at)}
            ),
        )

    def _customer_write(self, tenant: str, customer: CustomerActivity, revision: int | None) -> dict[str, Any]:
        """Put a customer's activity, listed by first order while they have one, under its revision lock."""
        item: dict[str, Any] = {
            **keys.customer_key(tenant, customer.user_id),
            "type": "customer",
            "data": model_json(customer),
            "rev": (revision or 0) + 1,
        }
        if customer.first_order_at is not None:
            item.update(keys.customers_gsi(tenant, customer.first_order_at, customer.user_id))
        return self._locked_put(item, revision)

    def _address_write(self, tenant: str, profile: AddressProfile, revision: int | None) -> dict[str, Any]:
        """Put an address profile, listed as a crossover customer once it has crossed, under its revision lock."""
        item: dict[str, Any] = {
            **keys.address_profile_key(tenant, profile.address_hash),
            "type": "address_profile",
            "data": model_json(profile),
            "rev": (revision or 0) + 1,
        }
        crossed = profile.first_other
        if crossed is not None:
            item.update(keys.crossover_gsi(tenant, crossed.ordered_at, profile.address_hash))
        return self._locked_put(item, revision)

    def _conversion_write(self, tenant: str, order: Order, conversion: Conversion | None) -> dict[str, Any]:
        """Put the order's conversion, or delete it when the order no longer converts (organic, cancelled)."""
        if conversion is None:
            key = keys.conversion_key(tenant, order.ordered_at, order.source, order.id)
            return {"Delete": {"TableName": self.table_name, "Key": serialize(key)}}
        return {"Put": {"TableName": self.table_name, "Item": serialize(conversion_item(tenant, conversion))}}

    def _conversion_review_write(self, tenant: str, order: Order, confirmed: bool) -> dict[str, Any]:
        """A confirmed soft match's conversion starts to count; a rejected one's conversion goes away."""
        key = serialize(keys.conversion_key(tenant, order.ordered_at, order.source, order.id))
        if not confirmed:
            return {"Delete": {"TableName": self.table_name, "Key": key}}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": key,
                "UpdateExpression": "SET counts = :yes",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": serialize({":yes": True}),
            }
        }

    def claim_holder(self, tenant: str, shop_link_id: str) -> CreditClaim | None:
        """The claim on a shop link, if any."""
        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.claim_key(tenant, shop_link_id))).get("Item")
        return CreditClaim.model_validate_json(deserialize(item)["data"]) if item else None

    def list_reviews(self, tenant: str, status: str, limit: int = 100) -> list[Attribution]:
        """Soft matches in one review status, oldest first: one GSI1 Query."""
        items = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=serialize({":pk": keys.review_pk(tenant, status)}),
            limit=limit,
        )
        return [Attribution.model_validate_json(item["data"]) for item in items]

    def replace_attribution(
        self, tenant: str, view: OrderView, after: Attribution, contribution: Counts, delta: Counts, labels: Labels
    ) -> bool:
        """Store a person's review decision and move its counters, only if nobody changed the attribution meanwhile.

        A rejected match also releases its claim on the shop link.
        """
        order, before = view.order, view.attribution
        assert before is not None
        item: dict[str, Any] = {
            **keys.attribution_key(tenant, order.source, order.id),
            "type": "attribution",
            "data": model_json(after),
            "method": after.method,
            "order_updated_at": view.order_updated_at or keys.iso(order.updated_at),
            "contrib": packed(counters.dump(contribution)),
            "rev": view.revision + 1,
        }
        if after.review_status and after.rule == "conversation_soft":
            item.update(keys.review_gsi(tenant, after.review_status, order.ordered_at, order.source, order.id))
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize(item),
                    "ConditionExpression": "#data = :before",
                    "ExpressionAttributeNames": {"#data": "data"},
                    "ExpressionAttributeValues": serialize({":before": model_json(before)}),
                }
            }
        ]
        writes.append(self._conversion_review_write(tenant, order, confirmed=after.method != "organic"))
        writes += self._counter_writes(tenant, delta, labels)
        if after.method == "organic" and before.claimed_shop_link_id:
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": serialize(keys.claim_key(tenant, before.claimed_shop_link_id)),
                        "ConditionExpression": "attribute_not_exists(PK) OR order_key = :me",
                        "ExpressionAttributeValues": serialize({":me": refs.order_ref(order.source, order.id)}),
                    }
                }
            )
        try:
            self._transact_releasing(writes)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    # -- export ---------------------------------------------------------------------------------------
    def conversions_between(self, tenant: str, start: datetime, end: datetime) -> list[Conversion]:
        """Attributed conversions placed in [start, end), oldest first: one Query per UTC day of the range."""
        return [c for page in self.conversion_pages(tenant, start, end) for c in page]

    def conversion_pages(self, tenant: str, start: datetime, end: datetime, page_size: int | None = None) -> Iterator[list[Conversion]]:
        """The same conversions one Query page at a time (1 MB, or `page_size` items), so a caller holds a page, not the range."""
        last = end - timedelta(microseconds=1)
        on_day = start.astimezone(UTC).date()
        while on_day <= last.astimezone(UTC).date():
            pages = self._query_pages(
                KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
                ExpressionAttributeValues=serialize(
                    {":pk": keys.conversion_pk(tenant, on_day.isoformat()), ":low": keys.iso(start), ":high": f"{keys.iso(last)}#\uffff"}
                ),
                **({"Limit": page_size} if page_size else {}),
            )
            for items in pages:
                yield [stored_conversion(unpacked(i["data"]) or "{}", bool(i.get("counts"))) for i in items]
            on_day += timedelta(days=1)

    def attributed_orders_between(self, tenant: str, start: datetime, end: datetime) -> list[OrderView]:
        """Attributed, uncancelled orders placed in [start, end) with their attributions.

        The conversions' day Queries, then BatchGetItem of the orders and attributions: an export reads what it returns.
        """
        conversions = self.conversions_between(tenant, start, end)
        wanted = [
            k
            for c in conversions
            for k in (keys.order_key(tenant, c.source, c.order_id), keys.attribution_key(tenant, c.source, c.order_id))
        ]
        items = self._batch_get(wanted)
        views = []
        for c in conversions:
            order_item = items.get(key_id(keys.order_key(tenant, c.source, c.order_id)))
            if order_item is not None:
                views.append(order_view(order_item, items.get(key_id(keys.attribution_key(tenant, c.source, c.order_id)))))
        return views
