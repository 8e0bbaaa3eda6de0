"""Six weeks of generated, realistic history for `make run`: what the demo shop sold before it connected OrderTrail.

The chat and link tools were sending touchpoints all along (comments, DMs, flow steps, shop links, creator and ad
clicks); the shop's orders are only in TikTok Shop (and Shopify) until the history import brings them in. The weeks grow,
several posts, flows and creators drive them, buyers come back, one Shopify customer is also a TikTok customer (a
crossover), and one order a week is cancelled. Generated from a fixed seed, so every run tells the same story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

WEEKS = 6
SEED = 20261202

# (seller_sku, sku_id, product_id, name, sale price, original price): the demo shop's catalogue (the sample day's).
Product = tuple[str, str, str, str, str, str]
PRODUCTS: tuple[Product, ...] = (
    ("LIPOIL-ROSE", "1729384756200011", "1729384756100001", "Glow Lip Oil", "14.00", "16.00"),
    ("LIPOIL-CLEAR", "1729384756200012", "1729384756100001", "Glow Lip Oil", "14.00", "16.00"),
    ("SERUM-VITC", "1729384756200021", "1729384756100002", "Vitamin C Glow Serum 30ml", "28.00", "32.00"),
    ("SPF-50", "1729384756200031", "1729384756100003", "Daily Glow SPF 50", "22.00", "22.00"),
    ("BLUSH-PEACH", "1729384756200041", "1729384756100004", "Cream Blush", "18.00", "18.00"),
)
POSTS = (
    ("7480012345678901234", "LINK"),
    ("7480012345678905555", "GLOW"),
    ("7480012345678907777", "SHADE"),
    ("7480012345678909999", "SPF"),
)
FLOWS = (
    ("flow-lipoil-shade-finder", "Lip oil shade finder", ("Welcome", "Pick a shade", "Shop link")),
    ("flow-serum-quiz", "Serum skin quiz", ("Welcome", "Skin type", "Routine", "Shop link")),
)
CREATORS = (("maya.makeup", "maya-bio"), ("leo.skin", "leo-bio"))
CAMPAIGN = {"id": "1801234567890123", "name": "Spring glow - serum"}
STREETS = ("Main Street", "Oak Avenue", "Sunset Blvd", "Maple Drive", "Cedar Lane", "Elm Street", "Pine Road", "Lake View")
CITIES = (("Los Angeles", "California", "CA", "900"), ("Austin", "Texas", "TX", "787"), ("Seattle", "Washington", "WA", "981"))
FIRST_NAMES = ("Ava", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gia", "Hana", "Ivy", "Jon", "Kai", "Lena", "Milo", "Nia", "Omar", "Pia")
LAST_NAMES = ("Thompson", "Nguyen", "Garcia", "Patel", "Kim", "Lopez", "Brown", "Silva", "Okafor", "Rossi")
SHOP_DOMAIN = "glowhouse.myshopify.com"


@dataclass(frozen=True)
class Buyer:
    """A TikTok customer: their user id and where they live."""

    user_id: str
    first: str
    last: str
    street: str
    city: tuple[str, str, str, str]
    zip_code: str


@dataclass
class DemoHistory:
    """The generated weeks: raw TikTok Shop and Shopify orders for the stand-ins, our touchpoints for the API."""

    start: datetime
    end: datetime
    tiktok_orders: list[dict[str, Any]] = field(default_factory=list)
    shopify_orders: list[dict[str, Any]] = field(default_factory=list)
    touchpoints: list[dict[str, Any]] = field(default_factory=list)


def _iso(at: datetime) -> str:
    """RFC 3339 in UTC with a Z, as the chat tools send times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _buyers(rng: random.Random, count: int) -> list[Buyer]:
    """The shop's TikTok customers (a fixed pool, so buyers come back)."""
    buyers = []
    for n in range(count):
        city = rng.choice(CITIES)
        buyers.append(
            Buyer(
                user_id=f"74948452709857{n:05d}",
                first=rng.choice(FIRST_NAMES),
                last=rng.choice(LAST_NAMES),
                street=f"{rng.randint(10, 990)} {rng.choice(STREETS)}",
                city=city,
                zip_code=f"{city[3]}{rng.randint(10, 99)}",
            )
        )
    return buyers


def _address(buyer: Buyer) -> dict[str, Any]:
    """TikTok Shop's recipient_address for a buyer."""
    city, state, _, _ = buyer.city
    return {
        "name": f"{buyer.first} {buyer.last}",
        "phone_number": "(+1)2135550100",
        "address_line1": buyer.street,
        "address_line2": "",
        "address_line3": "",
        "address_line4": "",
        "postal_code": buyer.zip_code,
        "region_code": "US",
        "full_address": f"{buyer.street}, {city}, {state}, {buyer.zip_code}",
        "district_info": [
            {"address_level_name": "Country", "address_name": "United States", "address_level": "L0"},
            {"address_level_name": "State", "address_name": state, "address_level": "L1"},
            {"address_level_name": "City", "address_name": city, "address_level": "L3"},
        ],
    }


def _tiktok_order(order_id: str, buyer: Buyer, at: datetime, skus: list[Product], cancelled: bool) -> dict[str, Any]:
    """A Get Order List order as TikTok Shop returns it (202309): one unit per line item, sale prices on the lines."""
    subtotal = sum(Decimal(p[4]) for p in skus)
    original = sum(Decimal(p[5]) for p in skus)
    tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"))
    status = "CANCELLED" if cancelled else "AWAITING_SHIPMENT"
    created = int(at.timestamp())
    order: dict[str, Any] = {
        "id": order_id,
        "status": status,
        "user_id": buyer.user_id,
        "buyer_email": f"{buyer.user_id[-6:]}@scs2.tiktokw.us",
        "buyer_message": "",
        "create_time": created,
        "paid_time": created + 40,
        "update_time": created + (3600 if cancelled else 60),
        "shipping_type": "TIKTOK",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "payment_method_name": "Visa",
        "line_items": [
            {
                "id": f"{order_id[:-2]}{n:02d}",
                "sku_id": sku_id,
                "seller_sku": sku,
                "product_id": product_id,
                "product_name": name,
                "sale_price": sale,
                "original_price": list_price,
                "currency": "USD",
                "display_status": status,
                "is_gift": False,
            }
            for n, (sku, sku_id, product_id, name, sale, list_price) in enumerate(skus)
        ],
        "payment": {
            "currency": "USD",
            "sub_total": f"{subtotal:.2f}",
            "shipping_fee": "0.00",
            "tax": f"{tax:.2f}",
            "seller_discount": f"{original - subtotal:.2f}",
            "platform_discount": "0.00",
            "original_total_product_price": f"{original:.2f}",
            "original_shipping_fee": "0.00",
            "retail_delivery_fee": "0.00",
            "total_amount": f"{subtotal + tax:.2f}",
        },
        "recipient_address": _address(buyer),
    }
    if cancelled:
        order["cancel_time"] = created + 3600
        order["cancel_reason"] = "Buyer changed their mind"
    return order


def _shopify_order(number: int, buyer: Buyer, at: datetime, product: Product) -> dict[str, Any]:
    """A Shopify REST order (the Admin API's shape, as orders.json lists it) shipped to a TikTok buyer's address."""
    city, state, code, _ = buyer.city
    price = Decimal(product[5])
    tax = (price * Decimal("0.0825")).quantize(Decimal("0.01"))
    stamp = at.astimezone(UTC).isoformat()
    email = f"{buyer.first.lower()}.{buyer.last.lower()}@example.com"
    return {
        "id": 5812345700000 + number,
        "admin_graphql_api_id": f"gid://shopify/Order/{5812345700000 + number}",
        "name": f"#{2000 + number}",
        "order_number": 2000 + number,
        "email": email,
        "created_at": stamp,
        "updated_at": stamp,
        "processed_at": stamp,
        "cancelled_at": None,
        "currency": "USD",
        "financial_status": "paid",
        "subtotal_price": f"{price:.2f}",
        "total_line_items_price": f"{price:.2f}",
        "total_discounts": "0.00",
        "total_tax": f"{tax:.2f}",
        "total_price": f"{price + tax + Decimal('4.99'):.2f}",
        "total_shipping_price_set": {"shop_money": {"amount": "4.99", "currency_code": "USD"}},
        "discount_codes": [],
        "line_items": [
            {
                "id": 13579020000 + number,
                "sku": product[0],
                "product_id": 8123456700000 + number % 5,
                "variant_id": 44123456700000 + number % 5,
                "title": product[3],
                "quantity": 1,
                "price": f"{price:.2f}",
                "properties": [],
            }
        ],
        "customer": {"id": 7212345700000 + number, "email": email, "first_name": buyer.first, "last_name": buyer.last},
        "shipping_address": {
            "first_name": buyer.first,
            "last_name": buyer.last,
            "name": f"{buyer.first} {buyer.last}",
            "address1": buyer.street,
            "address2": None,
            "city": city,
            "province": state,
            "province_code": code,
            "zip": buyer.zip_code,
            "country": "United States",
            "country_code": "US",
        },
        "landing_site": "/products/glow?utm_source=google",
        "referring_site": "",
        "note_attributes": [],
        "source_name": "web",
        "tags": "",
    }


class _Journeys:
    """Builds one order's touchpoints (how the buyer got there) and the day's conversations that did not convert."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.touchpoints: list[dict[str, Any]] = []
        self.count = 0

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"h-{prefix}-{self.count:05d}"

    def conversation(self, buyer: Buyer, at: datetime, sku: str | None) -> None:
        """Comment with a keyword → DM → the flow's steps → (a shop link for `sku`, when the buyer went on to order)."""
        rng = self.rng
        post_id, keyword = rng.choice(POSTS)
        flow_id, flow_name, steps = rng.choice(FLOWS)
        started = at - timedelta(minutes=rng.randint(15, 36 * 60))
        comment, conversation = self._id("cmt"), self._id("conv")
        buyer_ref = {"user_id": buyer.user_id}
        flow = {"id": flow_id, "name": flow_name}
        self.touchpoints.append(
            {
                "id": comment,
                "kind": "comment",
                "occurred_at": _iso(started),
                "buyer": buyer_ref,
                "post": {"id": post_id, "url": f"https://www.tiktok.com/@glowhouse.beauty/video/{post_id}"},
                "text": f"{keyword} please!",
                "keywords": [keyword],
            }
        )
        self.touchpoints.append(
            {
                "id": self._id("dm"),
                "kind": "dm",
                "occurred_at": _iso(started + timedelta(seconds=4)),
                "buyer": buyer_ref,
                "conversation_id": conversation,
                "comment_id": comment,
                "flow": flow,
            }
        )
        reached = len(steps) if sku else rng.randint(1, len(steps) - 1)
        for step in range(1, reached + 1):
            self.touchpoints.append(
                {
                    "id": self._id("step"),
                    "kind": "flow_step",
                    "occurred_at": _iso(started + timedelta(seconds=5 + 40 * step)),
                    "buyer": buyer_ref,
                    "conversation_id": conversation,
                    "flow": flow,
                    "step": step,
                    "step_name": steps[step - 1],
                }
            )
        if sku:
            self.touchpoints.append(
                {
                    "id": self._id("link"),
                    "kind": "shop_link",
                    "occurred_at": _iso(started + timedelta(minutes=6)),
                    "buyer": buyer_ref,
                    "conversation_id": conversation,
                    "skus": [sku],
                    "product_ids": [],
                    "url": f"https://shop.tiktok.com/view/product/1729384756100001?utm_source=dm&conv={conversation}",
                }
            )

    def creator_click(self, buyer: Buyer, at: datetime) -> None:
        """The buyer clicked a creator's link before ordering."""
        creator, link = self.rng.choice(CREATORS)
        self.touchpoints.append(
            {
                "id": self._id("cclick"),
                "kind": "creator_click",
                "occurred_at": _iso(at - timedelta(minutes=self.rng.randint(5, 600))),
                "buyer": {"user_id": buyer.user_id},
                "creator": creator,
                "link_id": link,
                "campaign": "spring-glow",
            }
        )

    def ad_click(self, buyer: Buyer, at: datetime) -> None:
        """The buyer clicked an ad (a ttclid) before ordering."""
        ident = self._id("click")
        ttclid = f"E.C.P.Hist{ident[-5:]}{buyer.user_id[-5:]}"
        self.touchpoints.append(
            {
                "id": ident,
                "kind": "ad_click",
                "occurred_at": _iso(at - timedelta(minutes=self.rng.randint(2, 180))),
                "buyer": {"user_id": buyer.user_id},
                "ttclid": ttclid,
                "url": f"https://shop.tiktok.com/view/product/1729384756100002?ttclid={ttclid}",
                "ip": "203.0.113.40",
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) musical_ly_35.1.0",
                "campaign": CAMPAIGN,
            }
        )


def generate(end: datetime, weeks: int = WEEKS, seed: int = SEED) -> DemoHistory:
    """The `weeks` before `end`: every order, shop by shop, and the touchpoints that led to them."""
    rng = random.Random(seed)  # noqa: S311 - a repeatable demo, not a secret
    start = (end - timedelta(weeks=weeks)).replace(hour=0, minute=0, second=0, microsecond=0)
    history = DemoHistory(start=start, end=end)
    buyers = _buyers(rng, 70)
    journeys = _Journeys(rng)
    sequence = 0
    days = (end - start).days
    cancel_on = 0
    for day in range(days):
        week = day // 7
        if day % 7 == 0:
            cancel_on = rng.randint(0, 6)  # the week's day whose first order is cancelled
        for n in range(2 + week // 2 + rng.randint(0, 1)):
            sequence += 1
            # Later weeks bring back earlier buyers more often (repeat customers).
            buyer = rng.choice(buyers[: 30 + 7 * week])
            at = start + timedelta(days=day, hours=rng.randint(9, 22), minutes=rng.randint(0, 59))
            if at >= end:
                continue
            products = [rng.choice(PRODUCTS)] + ([rng.choice(PRODUCTS)] if rng.random() < 0.2 else [])
            channel = rng.choices(("conversation", "creator", "ad", "organic"), weights=(45, 20, 10, 25))[0]
            if channel == "conversation":
                journeys.conversation(buyer, at, products[0][0])
            elif channel == "creator":
                journeys.creator_click(buyer, at)
            elif channel == "ad":
                journeys.ad_click(buyer, at)
            cancelled = day % 7 == cancel_on and n == 0
            history.tiktok_orders.append(_tiktok_order(f"5766{sequence:012d}01", buyer, at, products, cancelled))
        for _ in range(rng.randint(0, 1)):  # conversations that did not (yet) lead to an order
            journeys.conversation(rng.choice(buyers), start + timedelta(days=day, hours=rng.randint(9, 22)), None)
        if day % 7 == 3:  # one Shopify order a week, one of them from a TikTok customer's address (a crossover)
            shopper = buyers[week] if week % 2 == 0 else _buyers(random.Random(seed + week), 1)[0]  # noqa: S311
            history.shopify_orders.append(_shopify_order(week, shopper, start + timedelta(days=day, hours=15), rng.choice(PRODUCTS)))
    history.touchpoints = sorted(journeys.touchpoints, key=lambda t: t["occurred_at"])
    return history


__all__ = ["SHOP_DOMAIN", "WEEKS", "DemoHistory", "generate"]
