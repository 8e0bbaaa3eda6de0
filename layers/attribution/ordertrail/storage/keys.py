"""Every DynamoDB key format of the single table, and the access patterns they serve.

The tenant id leads every key (except Powertools' idempotency records, which hash the tenant into their key),
so no query can ever reach another tenant's items. Key parts are escaped so an id containing `#` cannot
forge another key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from ordertrail.core.refs import order_ref, part

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# DynamoDB's limit on a sort key (partition keys may have 2,048): tests/unit/test_item_limits.py checks every key.
SORT_KEY_BYTES = 1024


def iso(ts: datetime) -> str:
    """Format a time as fixed-width UTC ISO-8601, so key order equals time order."""
    return ts.astimezone(UTC).strftime(ISO_FORMAT)


def tenant_prefix(tenant: str) -> str:
    """The prefix every key of one tenant starts with."""
    return f"T#{part(tenant)}"


def settings_key(tenant: str) -> dict[str, str]:
    """A tenant's attribution settings."""
    return {"PK": f"{tenant_prefix(tenant)}#SETTINGS", "SK": "SETTINGS"}


def buyer_pk(tenant: str, buyer: str) -> str:
    """The partition holding one buyer's touchpoints."""
    return f"{tenant_prefix(tenant)}#B#{part(buyer)}"


def buyer_touchpoint_key(tenant: str, buyer: str, at: datetime, touchpoint_id: str) -> dict[str, str]:
    """A touchpoint in its buyer's timeline, sorted by time."""
    return {"PK": buyer_pk(tenant, buyer), "SK": f"TP#{iso(at)}#{part(touchpoint_id)}"}


def buyer_touchpoint_range(at_from: datetime, at_to: datetime) -> tuple[str, str]:
    """Sort-key bounds (inclusive) of a buyer's touchpoints between two times."""
    return f"TP#{iso(at_from)}", f"TP#{iso(at_to)}#\uffff"


def touchpoint_key(tenant: str, touchpoint_id: str) -> dict[str, str]:
    """A touchpoint by its id: the de-duplication marker, and the lookup of a comment from its DM."""
    return {"PK": f"{tenant_prefix(tenant)}#TP#{part(touchpoint_id)}", "SK": "TP"}


def comment_waiters_key(tenant: str, comment_id: str) -> dict[str, str]:
    """DMs that arrived before their comment, beside the comment's id: the comment completes them when it comes."""
    return {"PK": f"{tenant_prefix(tenant)}#TP#{part(comment_id)}", "SK": "WAITING_DMS"}


def click_key(tenant: str, ttclid: str) -> dict[str, str]:
    """An ad click by its ttclid."""
    return {"PK": f"{tenant_prefix(tenant)}#CLK#{part(ttclid)}", "SK": "CLICK"}


def creator_token_key(tenant: str, token: str) -> dict[str, str]:
    """A creator-link click by the cart/tracking token the store carries into the order."""
    return {"PK": f"{tenant_prefix(tenant)}#TOK#{part(token)}", "SK": "CREATOR_CLICK"}


def conversation_key(tenant: str, conversation_id: str) -> dict[str, str]:
    """A DM conversation with its comment, post, keywords and flow."""
    return {"PK": f"{tenant_prefix(tenant)}#CONV#{part(conversation_id)}", "SK": "CONV"}


def claim_key(tenant: str, shop_link_id: str) -> dict[str, str]:
    """Which order a shop link credited (first order only)."""
    return {"PK": f"{tenant_prefix(tenant)}#CLAIM#{part(shop_link_id)}", "SK": "CLAIM"}


def order_pk(tenant: str, source: str, order_id: str) -> str:
    """The partition holding an order and its attribution."""
    return f"{tenant_prefix(tenant)}#O#{order_ref(source, order_id)}"


def order_key(tenant: str, source: str, order_id: str) -> dict[str, str]:
    """An order in its latest state."""
    return {"PK": order_pk(tenant, source, order_id), "SK": "ORDER"}


def buyer_orders_gsi(tenant: str, buyer: str, ordered_at: datetime, source: str, order_id: str) -> dict[str, str]:
    """GSI1 keys that list a buyer's orders by time (late touchpoints find the orders they may change)."""
    return {"GSI1PK": f"{buyer_pk(tenant, buyer)}#ORDERS", "GSI1SK": f"O#{iso(ordered_at)}#{order_ref(source, order_id)}"}


def buyer_orders_range(tenant: str, buyer: str, at_from: datetime, at_to: datetime) -> tuple[str, str, str]:
    """GSI1 partition and inclusive sort-key bounds of a buyer's orders between two times."""
    return f"{buyer_pk(tenant, buyer)}#ORDERS", f"O#{iso(at_from)}", f"O#{iso(at_to)}#\uffff"


def order_day_pk(tenant: str, on_day: str) -> str:
    """GSI2 partition of the orders placed on one UTC day (keys only): what a re-attribution run reads, day by day."""
    return f"{tenant_prefix(tenant)}#ORDERS#D#{on_day}"


def order_day_gsi(tenant: str, ordered_at: datetime, source: str, order_id: str) -> dict[str, str]:
    """GSI2 keys on an order item: listed on its UTC day, by time (a re-attribution run's partitions)."""
    return {"GSI2PK": order_day_pk(tenant, day(ordered_at)), "GSI2SK": f"{iso(ordered_at)}#{order_ref(source, order_id)}"}


def day_index_range(at_from: datetime, at_to: datetime) -> tuple[str, str]:
    """GSI2 sort-key bounds for BETWEEN of the orders or touchpoints in [at_from, at_to): `<iso(at_to)>#…` sorts after the upper one."""
    return iso(at_from), iso(at_to)


def touchpoint_day_pk(tenant: str, on_day: str) -> str:
    """GSI2 partition of the touchpoints of one UTC day that counted engagement (comments, DMs, flow steps, creator clicks)."""
    return f"{tenant_prefix(tenant)}#TOUCHPOINTS#D#{on_day}"


def touchpoint_day_sort(at: datetime, touchpoint_id: str, zone: str) -> str:
    """GSI2 sort key of such a touchpoint: by time, then id, then the time zone whose days its counts went to."""
    return f"{iso(at)}#{part(touchpoint_id)}#{zone}"


def touchpoint_day_gsi(tenant: str, at: datetime, touchpoint_id: str, zone: str) -> dict[str, str]:
    """GSI2 keys on a touchpoint's by-id item: a time-zone change finds it, and the zone its counts are in, by day."""
    return {"GSI2PK": touchpoint_day_pk(tenant, day(at)), "GSI2SK": touchpoint_day_sort(at, touchpoint_id, zone)}


def counted_zone(sort_key: str) -> str:
    """The time zone a touchpoint day index entry's counts went to (the end of its sort key: zones have no `#`)."""
    return sort_key.rsplit("#", 1)[1]


def attribution_key(tenant: str, source: str, order_id: str) -> dict[str, str]:
    """An order's attribution and evidence, beside the order."""
    return {"PK": order_pk(tenant, source, order_id), "SK": "ATTR"}


def review_gsi(tenant: str, status: str, ordered_at: datetime, source: str, order_id: str) -> dict[str, str]:
    """GSI1 keys that list soft matches by review status, newest last."""
    return {"GSI1PK": f"{tenant_prefix(tenant)}#REVIEW#{status}", "GSI1SK": f"{iso(ordered_at)}#{order_ref(source, order_id)}"}


def review_pk(tenant: str, status: str) -> str:
    """GSI1 partition of soft matches in one review status."""
    return f"{tenant_prefix(tenant)}#REVIEW#{status}"


def coupon_key(tenant: str, code: str) -> dict[str, str]:
    """A coupon code's mapping to a creator link."""
    return {"PK": f"{tenant_prefix(tenant)}#COUPON#{part(code.upper())}", "SK": "COUPON"}


def coupons_gsi(tenant: str, code: str) -> dict[str, str]:
    """GSI1 keys that list a tenant's coupon mappings by code."""
    return {"GSI1PK": f"{tenant_prefix(tenant)}#COUPONS", "GSI1SK": code.upper()}


def day(ts: datetime) -> str:
    """The UTC calendar day of a time, `yyyy-mm-dd` (the export's bucket)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d")


def exporting_tenants_gsi(tenant: str) -> dict[str, str]:
    """GSI1 keys on a settings item that list the tenants whose daily export is on (the scheduler's one cross-tenant read)."""
    return {"GSI1PK": EXPORTING_TENANTS, "GSI1SK": part(tenant)}


EXPORTING_TENANTS = "EXPORT#ENABLED"


def conversion_pk(tenant: str, on_day: str) -> str:
    """The partition of one UTC day's attributed conversions."""
    return f"{tenant_prefix(tenant)}#CONVERSIONS#{on_day}"


def conversion_key(tenant: str, ordered_at: datetime, source: str, order_id: str) -> dict[str, str]:
    """An attributed conversion (export input), bucketed by the order's UTC day and sorted by time."""
    return {"PK": conversion_pk(tenant, day(ordered_at)), "SK": f"{iso(ordered_at)}#{order_ref(source, order_id)}"}


def watermark_key(tenant: str) -> dict[str, str]:
    """Where the tenant's export has fully succeeded up to."""
    return {"PK": f"{tenant_prefix(tenant)}#EXPORT", "SK": "WATERMARK"}


def export_lease_key(tenant: str) -> dict[str, str]:
    """The tenant's export lease: which run may export now, and until when (so two runs never overlap)."""
    return {"PK": f"{tenant_prefix(tenant)}#EXPORT", "SK": "LEASE"}


def run_pk(tenant: str, run_id: str) -> str:
    """The partition of one export run: the run, its chunks and its per-event results."""
    return f"{tenant_prefix(tenant)}#EXPORT#RUN#{part(run_id)}"


def run_key(tenant: str, run_id: str) -> dict[str, str]:
    """An export run's status, range and error."""
    return {"PK": run_pk(tenant, run_id), "SK": "RUN"}


def chunk_key(tenant: str, run_id: str, index: int) -> dict[str, str]:
    """One ≤30-day chunk of a run."""
    return {"PK": run_pk(tenant, run_id), "SK": f"CHUNK#{index:04d}"}


def run_results_key(tenant: str, run_id: str, index: int, first_event_id: str, first_order: str) -> dict[str, str]:
    """Up to a request's worth of results of one chunk of a run, packed in one item, named by its first result.

    Named by the first result (a digest: any event and order id fit), not by a batch number, so that a retried chunk,
    whose batches start elsewhere, never overwrites an earlier attempt's results (docs/decisions/2026-12-02-write-costs.md).
    """
    digest = hashlib.sha256(f"{first_event_id}\n{first_order}".encode()).hexdigest()[:32]
    return {"PK": run_pk(tenant, run_id), "SK": f"RESULTS#{index:04d}#{digest}"}


def event_ledger_key(tenant: str, event_id: str) -> dict[str, str]:
    """The latest outcome of one event id across runs (an accepted event is never sent again)."""
    return {"PK": f"{tenant_prefix(tenant)}#EXPORT#EVENT#{part(event_id)}", "SK": "EVENT"}


def hints_pk(tenant: str) -> str:
    """The partition of a tenant's order hints still to fetch (a fetched hint is deleted, so it holds only pending ones)."""
    return f"{tenant_prefix(tenant)}#HINTS"


def hint_key(tenant: str, source: str, order_id: str) -> dict[str, str]:
    """One order hint: a store told us an order changed, and its detail is still to be fetched."""
    return {"PK": hints_pk(tenant), "SK": order_ref(source, order_id)}


WAITING_HINTS = "HINTS#WAITING"


def waiting_hint_gsi(tenant: str, next_attempt_at: datetime, source: str, order_id: str) -> dict[str, str]:
    """GSI1 keys of a pending hint by its next attempt, across tenants, soonest first (removed with the hint)."""
    return {"GSI1PK": WAITING_HINTS, "GSI1SK": f"{iso(next_attempt_at)}#{tenant_prefix(tenant)}#{order_ref(source, order_id)}"}


def first_conversion_key(tenant: str, user: str) -> dict[str, str]:
    """Which conversion is a user's first (only that one is sent when the setting says so)."""
    return {"PK": f"{tenant_prefix(tenant)}#EXPORT#USER#{part(user)}", "SK": "FIRST"}


def counter_pk(tenant: str, dimension: str, day: str) -> str:
    """The partition of one dimension's counters for one local day (or ALL for all time): one Query reads a day."""
    return f"{tenant_prefix(tenant)}#AGG#{dimension}#{'ALL' if day == 'ALL' else 'D#' + day}"


def counter_key(tenant: str, dimension: str, day: str, ident: str) -> dict[str, str]:
    """One counter item: a dimension's id (post, keyword, ...) on one local day, or for all time."""
    return {"PK": counter_pk(tenant, dimension, day), "SK": part(ident)}


def counter_id(sort_key: str) -> str:
    """The id a counter item's sort key stands for."""
    return sort_key.replace("%23", "#").replace("%25", "%")


def customer_key(tenant: str, buyer: str) -> dict[str, str]:
    """A TikTok customer's profile: the days they ordered on, name and address (customers report and CSV)."""
    return {"PK": buyer_pk(tenant, buyer), "SK": "CUSTOMER"}


def customers_gsi(tenant: str, first_order_at: datetime, buyer: str) -> dict[str, str]:
    """GSI1 keys that list a tenant's TikTok customers by first order."""
    return {"GSI1PK": f"{tenant_prefix(tenant)}#CUSTOMERS", "GSI1SK": f"{iso(first_order_at)}#{part(buyer)}"}


def address_profile_key(tenant: str, address_hash: str) -> dict[str, str]:
    """The orders of every store shipped to one hashed address key (crossover)."""
    return {"PK": f"{tenant_prefix(tenant)}#ADDR#{address_hash}", "SK": "PROFILE"}


def crossover_gsi(tenant: str, first_other_at: datetime, address_hash: str) -> dict[str, str]:
    """GSI1 keys that list crossover customers by when they first bought elsewhere."""
    return {"GSI1PK": f"{tenant_prefix(tenant)}#CROSSOVER", "GSI1SK": f"{iso(first_other_at)}#{address_hash}"}


def flow_step_marker_key(tenant: str, conversation_id: str, flow_id: str, step: int) -> dict[str, str]:
    """Marks that a conversation reached a flow step, so each conversation counts once per step."""
    return {"PK": f"{tenant_prefix(tenant)}#CONV#{part(conversation_id)}", "SK": f"STEP#{part(flow_id)}#{step:04d}"}


def connections_pk(tenant: str) -> str:
    """The partition of a tenant's store connections and their refresh leases."""
    return f"{tenant_prefix(tenant)}#CONNECTIONS"


def connection_key(tenant: str, store: str) -> dict[str, str]:
    """A tenant's connection to one store (`tiktok_shop`): status, shop, token expiry times, last error (never a token)."""
    return {"PK": connections_pk(tenant), "SK": f"STORE#{part(store)}"}


def connection_lease_key(tenant: str, store: str) -> dict[str, str]:
    """Who is refreshing a connection's tokens now, and until when (so two refreshers never both rotate them)."""
    return {"PK": connections_pk(tenant), "SK": f"LEASE#{part(store)}"}


def connections_due_pk(store: str) -> str:
    """GSI1 partition of one store's connected connections, ordered by when their access token expires."""
    return f"CONNECTIONS#DUE#{part(store)}"


def connection_due_gsi(tenant: str, store: str, access_token_expires_at: int) -> dict[str, str]:
    """GSI1 keys on a connected connection item: the refresh schedule reads only the connections due, not every tenant."""
    return {"GSI1PK": connections_due_pk(store), "GSI1SK": f"{access_token_expires_at:012d}#{part(tenant)}"}


def connections_due_until(until: int) -> str:
    """The inclusive GSI1SK upper bound of the connections whose access token expires by `until` (Unix seconds)."""
    return f"{until:012d}#\uffff"


def oauth_nonce_key(tenant: str, nonce: str) -> dict[str, str]:
    """An OAuth state's nonce once the callback used it: a state works once."""
    return {"PK": f"{tenant_prefix(tenant)}#OAUTH#NONCE#{part(nonce)}", "SK": "NONCE"}


def import_pk(tenant: str, import_id: str) -> str:
    """The partition of one history import: the run and its windows."""
    return f"{tenant_prefix(tenant)}#IMPORT#{part(import_id)}"


def import_run_key(tenant: str, import_id: str) -> dict[str, str]:
    """A history import's source, range, status and error."""
    return {"PK": import_pk(tenant, import_id), "SK": "RUN"}


def import_window_key(tenant: str, import_id: str, index: int) -> dict[str, str]:
    """One ≤30-day window of an import: its cursor and counts."""
    return {"PK": import_pk(tenant, import_id), "SK": f"WINDOW#{index:04d}"}


def reattribution_lease_key(tenant: str) -> dict[str, str]:
    """The tenant's re-attribution lease: which run is going, until when (two runs never overlap for a tenant)."""
    return {"PK": f"{tenant_prefix(tenant)}#REATTRIBUTION", "SK": "LEASE"}


def reattribution_pk(tenant: str, run_id: str) -> str:
    """The partition of one re-attribution run: the run and its days."""
    return f"{tenant_prefix(tenant)}#REATTRIBUTION#RUN#{part(run_id)}"


def reattribution_run_key(tenant: str, run_id: str) -> dict[str, str]:
    """A re-attribution run: range, settings snapshot, status and error."""
    return {"PK": reattribution_pk(tenant, run_id), "SK": "RUN"}


def reattribution_day_key(tenant: str, run_id: str, on_day: str) -> dict[str, str]:
    """One UTC day of a run: its cursor and counts."""
    return {"PK": reattribution_pk(tenant, run_id), "SK": f"DAY#{on_day}"}


def order_activity_key(tenant: str, store: str) -> dict[str, str]:
    """When the store's last order webhook arrived (written at most every few minutes per function instance)."""
    return {"PK": connections_pk(tenant), "SK": f"ACTIVITY#{part(store)}"}


@dataclass(frozen=True)
class AccessPattern:
    """One way the application reads or writes the table."""

    name: str
    index: str
    key: str
    sort_key: str
    used_by: str


ACCESS_PATTERNS: tuple[AccessPattern, ...] = (
    AccessPattern("Store a touchpoint once (de-duplicate by id)", "table", "T#<t>#TP#<id>", "TP", "RecordTouchpoint"),
    AccessPattern("DMs waiting for their comment", "table", "T#<t>#TP#<comment>", "WAITING_DMS", "RecordTouchpoint"),
    AccessPattern("Buyer's touchpoints in a time window", "table", "T#<t>#B#<buyer>", "TP#<iso>#<id> (range)", "Attribute"),
    AccessPattern("Ad click by ttclid", "table", "T#<t>#CLK#<ttclid>", "CLICK", "Attribute"),
    AccessPattern("Creator click by cart token", "table", "T#<t>#TOK#<token>", "CREATOR_CLICK", "Attribute"),
    AccessPattern("Conversation's comment, post, keywords, flow", "table", "T#<t>#CONV#<conversation>", "CONV", "Attribute"),
    AccessPattern("Shop link's credited order (first order only)", "table", "T#<t>#CLAIM#<shop link>", "CLAIM", "Attribute"),
    AccessPattern("Order in its latest state", "table", "T#<t>#O#<source>#<order>", "ORDER", "Ingest, Reports"),
    AccessPattern("Order's attribution and evidence", "table", "T#<t>#O#<source>#<order>", "ATTR", "Attribute, Reports"),
    AccessPattern(
        "Orders placed on one UTC day, by time (keys only)",
        "GSI2",
        "T#<t>#ORDERS#D#<yyyy-mm-dd>",
        "<iso>#<source>#<order> (range)",
        "ReattributeDay",
    ),
    AccessPattern(
        "Engagement touchpoints of one UTC day, with the zone they were counted in (keys only)",
        "GSI2",
        "T#<t>#TOUCHPOINTS#D#<yyyy-mm-dd>",
        "<iso>#<id>#<zone> (range)",
        "ReattributeDay",
    ),
    AccessPattern("Buyer's orders in a time window", "GSI1", "T#<t>#B#<buyer>#ORDERS", "O#<iso>#<source>#<order> (range)", "Attribute"),
    AccessPattern("Soft matches by review status", "GSI1", "T#<t>#REVIEW#<status>", "<iso>#<source>#<order>", "Reports"),
    AccessPattern("Coupon mapping by code", "table", "T#<t>#COUPON#<CODE>", "COUPON", "Attribute, Reports"),
    AccessPattern("Tenant's coupon mappings", "GSI1", "T#<t>#COUPONS", "<CODE>", "Reports"),
    AccessPattern("Tenant's attribution settings", "table", "T#<t>#SETTINGS", "SETTINGS", "Attribute, Reports"),
    AccessPattern("Webhook idempotency record", "table", "idempotency#<function>", "<hash of tenant + natural id>", "Ingest"),
    AccessPattern("Tenants with the daily export on", "GSI1", "EXPORT#ENABLED", "<tenant>", "ExportScheduler"),
    AccessPattern(
        "Attributed conversions of one day, by time",
        "table",
        "T#<t>#CONVERSIONS#<yyyy-mm-dd>",
        "<iso>#<source>#<order>",
        "Attribute, ExportChunk",
    ),
    AccessPattern("Export watermark", "table", "T#<t>#EXPORT", "WATERMARK", "ExportPlan, ExportFinalize"),
    AccessPattern(
        "Export lease: the one run exporting now, until when",
        "table",
        "T#<t>#EXPORT",
        "LEASE",
        "Reports (start), ExportScheduler, ExportPlan, ExportChunk, ExportFinalize",
    ),
    AccessPattern(
        "Export run, its chunks and per-event results",
        "table",
        "T#<t>#EXPORT#RUN#<run>",
        "RUN, CHUNK#<n>, RESULTS#<n>#<first result> (or EVENT#<n>#<event>#<order>, before 2026-12-02)",
        "Export*, Reports",
    ),
    AccessPattern("Latest outcome of an event id", "table", "T#<t>#EXPORT#EVENT#<event>", "EVENT", "ExportChunk"),
    AccessPattern("A user's first conversion", "table", "T#<t>#EXPORT#USER#<user>", "FIRST", "ExportChunk"),
    AccessPattern("A tenant's order hints still to fetch", "table", "T#<t>#HINTS", "<source>#<order>", "IngestOrder, FetchOrder, Reports"),
    AccessPattern(
        "Pending order hints by next attempt, every tenant", "GSI1", "HINTS#WAITING", "<iso>#T#<t>#<source>#<order>", "FetchOrder (retry)"
    ),
    AccessPattern("A dimension's counters for one local day", "table", "T#<t>#AGG#<dimension>#D#<yyyy-mm-dd>", "<id>", "Reports"),
    AccessPattern("A dimension's all-time counters", "table", "T#<t>#AGG#<dimension>#ALL", "<id>", "Reports"),
    AccessPattern(
        "A conversation reached a flow step (counted once)", "table", "T#<t>#CONV#<conversation>", "STEP#<flow>#<n>", "RecordTouchpoint"
    ),
    AccessPattern("A TikTok customer's order days, name, address", "table", "T#<t>#B#<buyer>", "CUSTOMER", "Attribute, Reports"),
    AccessPattern("TikTok customers by first order", "GSI1", "T#<t>#CUSTOMERS", "<iso>#<buyer>", "Reports (customers.csv)"),
    AccessPattern("Orders of every store at one hashed address", "table", "T#<t>#ADDR#<hash>", "PROFILE", "Attribute"),
    AccessPattern("Crossover customers by first other-store order", "GSI1", "T#<t>#CROSSOVER", "<iso>#<hash>", "Reports"),
    AccessPattern("A tenant's store connections", "table", "T#<t>#CONNECTIONS", "STORE#<store>", "Reports, RefreshTokens"),
    AccessPattern(
        "Connection refresh lease: who refreshes now, until when", "table", "T#<t>#CONNECTIONS", "LEASE#<store>", "Reports, RefreshTokens"
    ),
    AccessPattern(
        "Connections due for a token refresh", "GSI1", "CONNECTIONS#DUE#<store>", "<access token expiry>#<tenant> (range)", "RefreshTokens"
    ),
    AccessPattern("An OAuth state's nonce, used once", "table", "T#<t>#OAUTH#NONCE#<nonce>", "NONCE", "Reports (callback)"),
    AccessPattern("When a store's last order webhook arrived", "table", "T#<t>#CONNECTIONS", "ACTIVITY#<store>", "IngestOrder, Reports"),
    AccessPattern(
        "History import and its windows",
        "table",
        "T#<t>#IMPORT#<import>",
        "RUN or WINDOW#<n>",
        "Reports, ImportPlan, ImportPages, ImportFinalize",
    ),
    AccessPattern(
        "Re-attribution lease: the one run going, until when",
        "table",
        "T#<t>#REATTRIBUTION",
        "LEASE",
        "Reports (start), ReattributeDay, ReattributeFinalize",
    ),
    AccessPattern(
        "Re-attribution run and its days",
        "table",
        "T#<t>#REATTRIBUTION#RUN#<run>",
        "RUN or DAY#<yyyy-mm-dd>",
        "Reports, ReattributePlan, ReattributeDay, ReattributeFinalize",
    ),
)


def access_pattern_table() -> str:
    """Render ACCESS_PATTERNS as the Markdown table docs/data-model.md shows."""
    rows = ["| access pattern | index | PK | SK | used by |", "|---|---|---|---|---|"]
    rows += [f"| {p.name} | {p.index} | `{p.key}` | `{p.sort_key}` | {p.used_by} |" for p in ACCESS_PATTERNS]
    return "\n".join(rows)
