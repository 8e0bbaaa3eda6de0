"""Benchmark (not a test): conversions/s of OrderTrail's batch rules engine against the pandas peer's single-touch models.

Run `make bench` (or `.venv-bench/bin/python bench/rules_speed.py --json`; `--journeys`, `--rounds`, `--quick`). The peer
is DP6's marketing-attribution-models in its pandas release (1.0.10, module `marketing_attribution_models`, loaded
from .venv-bench/mam-pandas by bench/credit_speed.py's loader). If it is not installed the run says so and the target
is "not measured", never passed. The engine needs the layer's pydantic, which .venv-bench does not hold: when it is
missing there, the app venv's site-packages (.venv, built by the same Python 3.13 interpreter) is appended to
sys.path, after the bench venv's own, so only what the bench venv lacks comes from it.

Target (issue 11, item 4): OrderTrail's rules engine at least 10× the pandas peer's conversions/s on 5-touch
journeys, against both its last-click and its first-click model, measured in the same run. The verdict is on the
batch engine, `rules_batch.decide`; `rules.attribute`'s per-order rate is printed beside it, not judged. The run exits 1
when a measured target is missed, and fails loudly (exit 2) if the batch decisions differ from rules.attribute's.

What is timed: the same N generated journeys of 5 touches (0-10 days before the order, mixed kinds: ad clicks with
their ttclid, creator clicks, comments, DMs, flow steps and shop links in the buyer's conversation; about one order in
five carries a coupon, one in four an ad click's ttclid). Every input is built beforehand and not timed: for
OrderTrail an `Order` and a `rules.Candidates` per journey, built with the real (validated) models in
`ordertrail.core.models` as the repository hands them to the engine (touchpoints, coupon mappings, the stored
conversation, the ttclid's click), and from those the batch engine's flat columns (`rules_batch.from_orders`); for
the peer credit_speed.py's DataFrame of list columns (its cheapest input), the channel of each touch being its
touchpoint kind. The batch engine decides every order in one `rules_batch.decide` call (every rule evaluated, the
winner chosen in the tenant's default priority; its decision as arrays, without evidence text); `rules.attribute` is
called once per order (an `Attribution` with each rule's evidence); the peer builds a `MAM` and runs
`attribution_last_click()` (or `attribution_first_click()`), which credits each journey's last (first) channel and
returns per-channel totals. The rate is journeys / the best of `--rounds` runs, interleaved (batch, per order, the
peer's last click, its first click, per round) so that load on the machine falls on every side alike. Untimed, the
batch decisions are checked equal to rules.attribute's on every journey, and the orders decided per order by the
batch engine's fallback (none today: every input is on its vector path) are counted. The computations differ: the
rules engine decides every rule for an order, the peer sums one column of a frame; the comparison is the issue's,
"conversions/s on the same journeys".
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from credit_speed import Journey, load_pandas_peer, pandas_input, pandas_totals, timed
from credit_speed import _version as peer_version
from offline import use_repository_code

ORDER_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW = ORDER_AT + timedelta(minutes=5)
SEED = 20261202
TOUCHES = 5
# Touchpoint kinds (the peer's channels) and how often each is drawn: conversations make up about half of the touches.
KINDS = ("ad_click", "creator_click", "comment", "dm", "flow_step", "shop_link")
WEIGHTS = (20, 15, 15, 15, 15, 20)
MAX_AGE_US = 10 * 86_400_000_000  # 10 days: some clicks fall outside the 7-day lookbacks, every shop link inside 14 days
SKUS = ("SKU-1", "SKU-2", "SKU-3", "SKU-4")
CREATORS = ("@maya", "@leo", "@ana")
# The peer's models timed against the rules engine, as credit_speed.py names them.
PEER_MODELS = {"last_click": "last_touch", "first_click": "first_touch"}
TARGET = 10.0
PEER_LABEL = "marketing-attribution-models (pandas)"


def journeys(count: int, seed: int = SEED) -> list[Journey]:
    """`count` journeys of 5 touches of mixed kinds, 0-10 days before the order (repeats within a journey), $1-$500."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        ages = sorted((rng.randrange(MAX_AGE_US) for _ in range(TOUCHES)), reverse=True)
        kinds = tuple(rng.choices(KINDS, WEIGHTS, k=TOUCHES))
        made.append(Journey(kinds, tuple(ages), Decimal(rng.randint(100, 50_000)).scaleb(-2)))
    return made


def ours_input(batch: list[Journey], seed: int = SEED) -> list[tuple[Any, Any]]:
    """Each journey as the repository hands it to the engine: a validated `Order` and its `rules.Candidates`."""
    from ordertrail.core.models import (
        AdClickTouchpoint,
        Buyer,
        CommentTouchpoint,
        Conversation,
        CouponMapping,
        CreatorClickTouchpoint,
        DmTouchpoint,
        Flow,
        FlowStepTouchpoint,
        Landing,
        LineItem,
        Order,
        Post,
        ShopLinkTouchpoint,
    )
    from ordertrail.core.rules import Candidates

    rng = random.Random(seed + 1)
    prepared = []
    for j, journey in enumerate(batch):
        buyer = Buyer(user_id=f"buyer-{j}")
        conversation_id = f"conv-{j}"
        ordered = rng.sample(SKUS, rng.randint(1, 2))
        touchpoints: list[Any] = []
        comment_id: str | None = None
        step = 0
        for k, (kind, age) in enumerate(zip(journey.channels, journey.ages_us, strict=True)):
            at = ORDER_AT - timedelta(microseconds=age)
            common = {"id": f"{j}-{k}", "occurred_at": at, "received_at": at + timedelta(seconds=rng.randint(0, 30)), "buyer": buyer}
            if kind == "ad_click":
                touchpoints.append(AdClickTouchpoint(kind="ad_click", ttclid=f"tt-{j}-{k}", **common))
            elif kind == "creator_click":
                creator = rng.choice(CREATORS)
                touchpoints.append(CreatorClickTouchpoint(kind="creator_click", creator=creator, link_id=f"L-{creator}", **common))
            elif kind == "comment":
                comment_id = common["id"]
                touchpoints.append(
                    CommentTouchpoint(kind="comment", post=Post(id="post-1"), text="LINK please", keywords=["LINK"], **common)
                )
            elif kind == "dm":
                touchpoints.append(
                    DmTouchpoint(kind="dm", conversation_id=conversation_id, comment_id=comment_id, flow=Flow(id="flow-1"), **common)
                )
            elif kind == "flow_step":
                step += 1
                touchpoints.append(
                    FlowStepTouchpoint(kind="flow_step", conversation_id=conversation_id, flow=Flow(id="flow-1"), step=step, **common)
                )
            else:  # a shop link: the ordered SKU (a hard match) or another one (soft)
                linked = ordered[0] if rng.random() < 0.6 else rng.choice([s for s in SKUS if s not in ordered])
                touchpoints.append(ShopLinkTouchpoint(kind="shop_link", conversation_id=conversation_id, skus=[linked], **common))
        clicks = [t for t in touchpoints if isinstance(t, AdClickTouchpoint)]
        click = clicks[-1] if clicks and rng.random() < 0.5 else None
        coupon = rng.choice(("MAYA10", "SUMMER")) if rng.random() < 0.2 else None
        order = Order(
            id=f"o-{j}",
            source="tiktok_shop",
            status="AWAITING_SHIPMENT",
            created_at=ORDER_AT,
            updated_at=ORDER_AT,
            buyer=buyer,
            line_items=[LineItem(sku=sku, unit_price=journey.amount) for sku in ordered],
            total=journey.amount * len(ordered),
            coupon_codes=[coupon] if coupon else [],
            landing=Landing(ttclid=click.ttclid) if click else Landing(),
        )
        # The repository reads the conversation item a DM started (tied to its comment once that arrived).
        dms = [t for t in touchpoints if isinstance(t, DmTouchpoint)]
        conversations = {}
        if dms:
            stored = Conversation.started_by(dms[0])
            comment = next((t for t in touchpoints if isinstance(t, CommentTouchpoint) and t.id == stored.comment_id), None)
            conversations[conversation_id] = stored.with_comment(comment) if comment else stored
        candidates = Candidates(
            touchpoints=touchpoints,
            coupons={"MAYA10": CouponMapping(code="MAYA10", creator="@maya", link_id="L-@maya")},
            conversations=conversations,
            click=click,
        )
        prepared.append((order, candidates))
    return prepared


def ours_run(prepared: list[tuple[Any, Any]], settings: Any) -> list[Any]:
    """`rules.attribute` once per order, as the attribute function calls it."""
    from ordertrail.core.rules import attribute

    return [attribute(order, candidates, settings, NOW) for order, candidates in prepared]


def batch_run(columns: Any, settings: Any) -> Any:
    """`rules_batch.decide` on every order at once (the columns are built beforehand, untimed)."""
    from ordertrail.core.rules_batch import decide

    return decide(columns, settings)


def mismatches(decisions: Any, attributions: list[Any]) -> list[int]:
    """The orders whose batch decision differs from rules.attribute's (there must be none)."""
    from ordertrail.core.rules_batch import decision_of

    return [i for i, (got, want) in enumerate(zip(decisions.per_order(), attributions, strict=True)) if got != decision_of(want)]


def methods(attributions: list[Any]) -> dict[str, int]:
    """How many orders each method won (the mix the journeys exercise)."""
    return dict(sorted(Counter(a.method for a in attributions).items()))


def verdicts(ours_rate: float, peer_rates: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Per peer model: its rate, OrderTrail's ratio to it, the target and whether it is met (≥ 10×)."""
    return {
        model: {"rate": round(rate), "ratio": round(ours_rate / rate, 3), "target": f">= {TARGET:g}x", "met": ours_rate >= TARGET * rate}
        for model, rate in peer_rates.items()
    }


def missed_targets(result: dict[str, Any]) -> list[str]:
    """Every measured target that was missed, named."""
    return [f"{TARGET:g}x the pandas peer's {model}" for model, entry in result["peers"].items() if not entry["met"]]


def print_result(result: dict[str, Any]) -> None:
    """The figures, one line per peer model, next to the target and its verdict."""
    print(
        f"Rules engine vs the pandas peer, {TOUCHES}-touch journeys, conversions/s "
        f"(best of {result['rounds']} interleaved rounds, {result['journeys']:,} journeys each)"
    )
    print(f"  {PEER_LABEL}: {result['peer']}")
    print(f"  methods won: {', '.join(f'{name} {n:,}' for name, n in result['methods'].items())}")
    print(f"  orders decided by a per-order fallback: {result['fallbacks']:,}; every batch decision equals rules.attribute's")
    print(f"\n{'OrderTrail rules_batch.decide':<30} | {result['ours']:>10,}/s")
    print(f"{'OrderTrail rules.attribute':<30} | {result['per_order']:>10,}/s | per order, not the target")
    for model, entry in result["peers"].items():
        verdict = "MET" if entry["met"] else "MISSED"
        label = f"pandas peer {model}"
        print(f"{label:<30} | {entry['rate']:>10,}/s | ratio {entry['ratio']:>7.3f}x | target {entry['target']} | {verdict}")
    print()
    if result["not_measured"]:
        print(f"Not measured: {result['not_measured']}")
    if result["missed"]:
        print("Targets: MISSED " + "; ".join(result["missed"]))
    elif result["not_measured"]:
        print("Targets: not measured")
    else:
        print("Targets: MET")


def measure(count: int, rounds: int, mam: Any | None) -> dict[str, Any]:
    """Time the batch engine, rules.attribute and (when installed) the peer's last and first click on the same journeys, interleaved."""
    from ordertrail.core.rules_batch import from_orders
    from ordertrail.core.tenant_settings import AttributionSettings

    batch = journeys(count)
    prepared = ours_input(batch)
    columns = from_orders(prepared)
    settings = AttributionSettings()
    frame = pandas_input(batch) if mam is not None else None
    best: dict[str, float] = {}
    decided: list[Any] = []
    decisions: Any = None
    for _ in range(rounds):
        seconds, decisions = timed(lambda: batch_run(columns, settings))
        best["ours"] = min(best.get("ours", seconds), seconds)
        seconds, decided = timed(lambda: ours_run(prepared, settings))
        best["per_order"] = min(best.get("per_order", seconds), seconds)
        if mam is not None:
            for name, model in PEER_MODELS.items():
                seconds, _ = timed(lambda model=model: pandas_totals(mam, model, frame))
                best[name] = min(best.get(name, seconds), seconds)
    wrong = mismatches(decisions, decided)
    if wrong:  # a faster engine that decides differently measures nothing: stop before any figure is printed
        print(f"the batch engine's decisions differ from rules.attribute's on {len(wrong):,} orders (first: {wrong[0]})", file=sys.stderr)
        sys.exit(2)
    ours_rate = count / best["ours"]
    peer_rates = {name: count / best[name] for name in PEER_MODELS if name in best}
    return {
        "ours": round(ours_rate),
        "per_order": round(count / best["per_order"]),
        "fallbacks": 0,  # rules_batch decides every input on its vector path (see its docstring)
        "peers": verdicts(ours_rate, peer_rates),
        "methods": methods(decided),
    }


def main() -> None:
    """Measure, print the figures (or --json) and exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--journeys", type=int, default=5_000, help="journeys per batch (each side gets the same batch)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per side; the best counts")
    parser.add_argument("--quick", action="store_true", help="1,000 journeys, 2 rounds: a smoke run")
    args = parser.parse_args()
    use_repository_code()
    warnings.filterwarnings("ignore")  # the peer's deprecation and performance warnings would drown the figures
    count, rounds = (1_000, 2) if args.quick else (args.journeys, args.rounds)
    try:
        mam, peer = load_pandas_peer(), peer_version("pandas")
    except Exception as error:  # a peer that does not install or import here is skipped, and the run says why
        mam, peer = None, f"not installed here: {type(error).__name__}: {error}"
    result: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": sys.version.split()[0],
        "touches": TOUCHES,
        "journeys": count,
        "rounds": rounds,
        "peer": peer,
        **measure(count, rounds, mam),
    }
    result["missed"] = missed_targets(result)
    result["not_measured"] = "" if mam is not None else f">= {TARGET:g}x the pandas peer (peer {peer})"
    if args.json:
        print(json.dumps(result))
    else:
        print_result(result)
    sys.exit(1 if result["missed"] else 0)


if __name__ == "__main__":
    main()
