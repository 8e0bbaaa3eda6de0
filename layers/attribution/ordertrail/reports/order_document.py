"""What a person reads about one order: the order, its attribution, time-to-order and the evidence, as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from pydantic import BaseModel, Field

from ordertrail.core.responses import OrderDocument

if TYPE_CHECKING:
    from ordertrail.storage.orders import OrderView

TIKTOK_SELLER_ORDER_URL = "https://seller-us.tiktok.com/order/detail?order_no={order_id}"


class ReviewRequest(BaseModel):
    """A person's decision on a soft match."""

    decision: str = Field(pattern="^(confirm|reject)$", description="confirm | reject")


class CouponRequest(BaseModel):
    """Which creator link a coupon code belongs to."""

    creator: str = Field(min_length=1, max_length=200)
    link_id: str | None = Field(default=None, max_length=200)


def order_document(view: OrderView) -> OrderDocument:
    """The order, when it arrived, its attribution (null until attributed) and a link to it in its store."""
    order = view.order
    return OrderDocument(
        order=order,
        received_at=view.received_at,
        attribution=view.attribution,
        counts_as_attributed=view.attribution.counts_as_attributed if view.attribution else False,
        store_url=TIKTOK_SELLER_ORDER_URL.format(order_id=quote(order.id)) if order.source == "tiktok_shop" else None,
    )
