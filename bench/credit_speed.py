"""Benchmark (not a test): conversions/s of OrderTrail's credit engine against its open-source peers, on the same journeys.

Run `make bench` (or `.venv-bench/bin/python bench/credit_speed.py --json`; `--journeys`, `--rounds`, `--quick`). The
peers live in `.venv-bench` (requirements-bench.txt): DP6's marketing-attribution-models in its pandas release (1.0.10,
module `marketing_attribution_models`) and its Polars release (2.1.1, module `mam`), and ChannelAttribution. A peer that
is not installed is reported as such and skipped; its targets are then "not measured", never passed.

Targets (issue 11, item 3), per journey length (5 and 50 touches) and per model: OrderTrail at least 10× the pandas
peer's conversions/s, at least the Polars peer's on U-shaped and time decay, and per-channel totals equal to 0.01 with
each peer whose model has the same definition. The run exits 1 when a measured target is missed.

What is timed, generously to the peers: every side starts from its own input format, built beforehand and not timed —
OrderTrail from its batch columns (`credit_batch.from_touches` of the `credit.Touch` lists: times in microseconds,
ids ranked, values coded, amounts in minor units), the pandas release from a DataFrame of list columns (its cheapest
input: no path strings to split), the Polars release from its unified frame (`MAMPipeline.preprocess` output),
ChannelAttribution from "A>B>C" path strings. Each side then produces per-channel totals: OrderTrail calls
`credit_batch.totals` once for the whole batch (exact minor units, identical per conversion to `credit.credit`, proven
by tests/unit/test_credit_batch.py); the "per call" column is `credit.credit` once per conversion, added up per
channel, as the export calls it today. The pandas release builds a
`MAM` and runs `attribution_<model>()`; the Polars release runs `<Model>().get_aggregated_results()` (what `MAM.run_*`
calls, minus its second pass for the per-journey table); ChannelAttribution runs `heuristic_models`, which computes
first, last and linear touch in one call, so that call's whole time is charged to each of the three. The rate is
journeys / the best of `--rounds` runs, interleaved (ours, then each peer, per round) so that load on the machine falls
on every side alike.

Same definitions: first and last touch, linear (a channel's share is its touches' count / the journey's length) and
U-shaped (the peers' position-based 40/20/40: one touch 100%, two 50/50) agree with every peer that has them; time
decay agrees with the Polars release (`0.5 ** (hours / half_life_hours)`, normalised per journey, half-life 168 h), not
with the pandas release, whose decay steps (`0.5 ** floor(hours / 168)`), so that pair's totals are shown but not
checked. Participation (OrderTrail's default: every value gets the full amount) has no peer. The totals check credits
at 8 minor units (one untimed pass), so that rounding each conversion to the cent (≤ 1 cent per channel and
conversion, and proven identical to the exact Fraction engine by tests/unit/test_credit_property.py) neither hides
nor fakes a difference in definition.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from typing import Any

from offline import ROOT, use_repository_code

ORDER_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=28)  # wider than any generated journey: every touch is eligible, as the peers have no window
HALF_LIFE_HOURS = 168.0  # 7 days: OrderTrail's default half-life and the Polars release's default
CHANNELS = ("tiktok_ad", "creator", "comment", "dm", "flow_step", "shop_link", "email", "organic")
SEED = 20261120
LENGTHS = (5, 50)
# OrderTrail's model → the name of the same model in each peer (absent: the peer does not have it).
PANDAS_METHODS = {
    "first_touch": "attribution_first_click",
    "last_touch": "attribution_last_click",
    "linear": "attribution_linear",
    "u_shaped": "attribution_position_based",
    "time_decay": "attribution_time_decay",
}
POLARS_MODELS = {
    "first_touch": "FirstClickModel",
    "last_touch": "LastClickModel",
    "linear": "LinearModel",
    "u_shaped": "PositionBasedModel",
    "time_decay": "TimeDecayModel",
}
CHANNEL_ATTRIBUTION_COLUMNS = {"first_touch": "first_touch_value", "last_touch": "last_touch_value", "linear": "linear_touch_value"}
# (peer, model) pairs whose definitions differ: their totals are shown, not checked.
DIFFERENT = {("pandas", "time_decay"): "steps: 0.5 ** floor(hours / 168), not continuous"}
PANDAS_TARGET = 10.0
POLARS_TARGET_MODELS = ("u_shaped", "time_decay")
TOTALS_TOLERANCE = 0.01
CHECK_MINOR_UNITS = 8
PEERS = ("pandas", "polars", "channel_attribution")
# Column widths of the printed table (negative: left-aligned).
WIDTHS = (7, -13, 10, 9, -20, 10, 7, 7, -4, -6)
PEER_LABELS = {
    "pandas": "marketing-attribution-models 1.0.10 (pandas)",
    "polars": "marketing-attribution-models 2.x (Polars)",
    "channel_attribution": "ChannelAttribution",
}


@dataclass(frozen=True)
class Journey:
    """One converted journey: its channels and ages (hours before the order) in time order, and the order's value."""

    channels: tuple[str, ...]
    ages_us: tuple[int, ...]
    amount: Decimal


def journeys(count: int, touches: int, seed: int = SEED) -> list[Journey]:
    """`count` journeys of `touches` touches, 0-7 days before the order, on 8 channels (repeats within a journey), $1-$500."""
    rng = random.Random(seed + touches)
    made = []
    for _ in range(count):
        ages = sorted((rng.randrange(7 * 86_400_000_000) for _ in range(touches)), reverse=True)
        channels = tuple(rng.choice(CHANNELS) for _ in range(touches))
        made.append(Journey(channels, tuple(ages), Decimal(rng.randint(100, 50_000)).scaleb(-2)))
    return made


# --- OrderTrail --------------------------------------------------------------------------------------------------


def ours_input(batch: list[Journey]) -> list[tuple[list[Any], Decimal]]:
    """The journeys as the export hands them to the engine: `credit.Touch` lists (a touch's value is its channel)."""
    from ordertrail.core.credit import Touch

    prepared = []
    for j, journey in enumerate(batch):
        touches = []
        for k, (channel, age) in enumerate(zip(journey.channels, journey.ages_us, strict=True)):
            at = ORDER_AT - timedelta(microseconds=age)
            touches.append(Touch(id=f"{j}-{k}", at=at, arrival=at, value=channel))
        prepared.append((touches, journey.amount))
    return prepared


def batch_input(prepared: list[tuple[list[Any], Decimal]], minor_units: int = 2) -> Any:
    """OrderTrail's batch input: the same touches as columns (`credit_batch.Conversions`), amounts in minor units."""
    from ordertrail.core import credit_batch

    return credit_batch.from_touches((touches, ORDER_AT, int(amount.scaleb(minor_units))) for touches, amount in prepared)


def batch_totals(model: str, conversions: Any, minor_units: int = 2) -> dict[str, Decimal]:
    """Per-channel totals from `credit_batch.totals`: every conversion of the batch in one call, exact minor units."""
    from ordertrail.core import credit_batch

    units = credit_batch.totals(model, conversions, WINDOW, timedelta(hours=HALF_LIFE_HOURS))  # type: ignore[arg-type]
    return {channel: Decimal(total).scaleb(-minor_units) for channel, total in units.items()}


def ours_totals(model: str, prepared: list[tuple[list[Any], Decimal]], minor_units: int = 2) -> dict[str, Decimal]:
    """Per-channel totals: `credit.credit` per conversion (what the export calls), added up per channel."""
    from ordertrail.core.credit import credit

    half_life = timedelta(hours=HALF_LIFE_HOURS)
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for touches, amount in prepared:
        for channel, money in credit(model, touches, ORDER_AT, WINDOW, amount, minor_units, half_life).items():  # type: ignore[arg-type]
            totals[channel] += money
    return dict(totals)


# --- the peers ---------------------------------------------------------------------------------------------------


def load_pandas_peer() -> Any:
    """The pandas release's MAM class, from .venv-bench/mam-pandas (installed apart: it shares the Polars release's name)."""
    folder = ROOT / ".venv-bench" / "mam-pandas"
    if folder.is_dir() and str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # It calls plt.style.use("seaborn-white") on import, a style matplotlib ≥ 3.6 renamed: plotting only, never results.
    use = plt.style.use
    plt.style.use = lambda *_, **__: None
    try:
        from marketing_attribution_models import MAM
    finally:
        plt.style.use = use
    return MAM


def pandas_input(batch: list[Journey]) -> Any:
    """The journeys as the pandas release's cheapest input: one row per journey with list columns."""
    import pandas as pd

    return pd.DataFrame(
        {
            "journey_id": [str(i) for i in range(len(batch))],
            "channels": [list(j.channels) for j in batch],
            "time_till_conv": [[age / 3.6e9 for age in j.ages_us] for j in batch],
            "converted": [True] * len(batch),
            "value": [float(j.amount) for j in batch],
        }
    )


def pandas_totals(mam_class: Any, model: str, frame: Any) -> dict[str, float]:
    """Run the pandas release's model on the frame; its per-channel totals."""
    mam = mam_class(
        frame,
        channels_colname="channels",
        journey_with_conv_colname="converted",
        conversion_value="value",
        time_till_conv_colname="time_till_conv",
        group_channels_by_id_list=["journey_id"],
    )
    method = getattr(mam, PANDAS_METHODS[model])
    _, grouped = method(decay_over_time=0.5, frequency=HALF_LIFE_HOURS) if model == "time_decay" else method()
    return {str(channel): float(value) for channel, value in grouped.items()}


def polars_input(batch: list[Journey]) -> Any:
    """The journeys in the Polars release's unified frame (its own preprocessing of the journey format)."""
    import polars as pl
    from mam.preprocessing import MAMPipeline

    frame = pl.DataFrame(
        {
            "journey_id": [str(i) for i in range(len(batch))],
            "path": [" > ".join(j.channels) for j in batch],
            "hours": [" > ".join(repr(age / 3.6e9) for age in j.ages_us) for j in batch],
            "converted": [True] * len(batch),
            "value": [float(j.amount) for j in batch],
        }
    )
    return MAMPipeline.preprocess(
        frame,
        format_type="journey",
        channels_colname="path",
        journey_with_conv_colname="converted",
        user_id_colname="journey_id",
        time_till_conv_colname="hours",
        conversion_value_colname="value",
    )


def polars_totals(model: str, unified: Any) -> dict[str, float]:
    """Run the Polars release's model on its unified frame; its per-channel totals."""
    import mam.models

    kind = getattr(mam.models, POLARS_MODELS[model])
    instance = kind(half_life_hours=HALF_LIFE_HOURS) if model == "time_decay" else kind()
    result = instance.get_aggregated_results(unified)
    return {
        str(channel): float(value) for channel, value in zip(result["channels"].to_list(), result["attribution"].to_list(), strict=True)
    }


def channel_attribution_input(batch: list[Journey]) -> Any:
    """The journeys as ChannelAttribution's paths: "a>b>c", one conversion each, with its value."""
    import pandas as pd

    return pd.DataFrame(
        {"path": [">".join(j.channels) for j in batch], "conv": [1] * len(batch), "value": [float(j.amount) for j in batch]}
    )


def channel_attribution_totals(model: str, frame: Any) -> dict[str, float]:
    """Run ChannelAttribution's heuristic models (all three in one call); the per-channel totals of `model`."""
    import ChannelAttribution

    result = ChannelAttribution.heuristic_models(frame, "path", "conv", var_value="value", sep=">", flg_pro=False)
    column = CHANNEL_ATTRIBUTION_COLUMNS[model]
    return {str(c): float(v) for c, v in zip(result["channel_name"], result[column], strict=True)}


def load_peers() -> tuple[dict[str, Any], dict[str, str]]:
    """Each installed peer's loader state, and for every peer its version or why it is skipped."""
    loaded: dict[str, Any] = {}
    status: dict[str, str] = {}
    for name, load in (("pandas", load_pandas_peer), ("polars", _load_polars), ("channel_attribution", _load_channel_attribution)):
        try:
            loaded[name] = load()
        except Exception as error:  # a peer that does not install or import here is skipped, and the run says why
            status[name] = f"not installed here: {type(error).__name__}: {error}"
            continue
        status[name] = _version(name)
    return loaded, status


def _load_polars() -> Any:
    """The Polars release's package (imported for its models)."""
    import mam.models

    return mam.models


def _load_channel_attribution() -> Any:
    """ChannelAttribution's module (its import prints a banner: kept off the bench's output)."""
    with contextlib.redirect_stdout(io.StringIO()):
        import ChannelAttribution
    return ChannelAttribution


def _version(name: str) -> str:
    """The installed version of a peer."""
    if name == "pandas":
        folder = ROOT / ".venv-bench" / "mam-pandas"
        found = list(metadata.distributions(path=[str(folder)])) if folder.is_dir() else []
        found = [d for d in found if d.metadata["Name"] == "marketing-attribution-models"]
        return found[0].version if found else "on sys.path"
    if name == "polars":
        # The pandas release's folder is on sys.path too: look for the Polars release outside it.
        releases = [
            d.version for d in metadata.distributions(name="marketing-attribution-models") if "mam-pandas" not in str(d.locate_file(""))
        ]
        return releases[0] if releases else "unknown"
    return metadata.version("ChannelAttribution")


# --- measuring ---------------------------------------------------------------------------------------------------


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one run takes, and what it returned."""
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def measure(touches: int, count: int, rounds: int, loaded: dict[str, Any]) -> list[dict[str, Any]]:
    """Every model's rates and totals for `count` journeys of `touches` touches."""
    from ordertrail.core.credit import CREDIT_MODELS

    batch = journeys(count, touches)
    prepared = ours_input(batch)
    conversions = batch_input(prepared)
    inputs: dict[str, Any] = {}
    if "pandas" in loaded:
        inputs["pandas"] = pandas_input(batch)
    if "polars" in loaded:
        inputs["polars"] = polars_input(batch)
    if "channel_attribution" in loaded:
        inputs["channel_attribution"] = channel_attribution_input(batch)
    runners: dict[str, Callable[[str], Any]] = {
        "pandas": lambda model: pandas_totals(loaded["pandas"], model, inputs["pandas"]),
        "polars": lambda model: polars_totals(model, inputs["polars"]),
        "channel_attribution": lambda model: channel_attribution_totals(model, inputs["channel_attribution"]),
    }
    has = {"pandas": PANDAS_METHODS, "polars": POLARS_MODELS, "channel_attribution": CHANNEL_ATTRIBUTION_COLUMNS}
    rows = []
    for model in CREDIT_MODELS:
        peers = [name for name in PEERS if name in loaded and model in has[name]]
        best: dict[str, float] = {}
        peer_totals: dict[str, dict[str, float]] = {}
        for _ in range(rounds):
            seconds, _ = timed(lambda model=model: batch_totals(model, conversions))
            best["ours"] = min(best.get("ours", seconds), seconds)
            seconds, _ = timed(lambda model=model: ours_totals(model, prepared))
            best["per_call"] = min(best.get("per_call", seconds), seconds)
            for name in peers:
                seconds, peer_totals[name] = timed(lambda name=name, model=model: runners[name](model))
                best[name] = min(best.get(name, seconds), seconds)
        exact = batch_totals(model, batch_input(prepared, CHECK_MINOR_UNITS), CHECK_MINOR_UNITS) if peers else {}
        ours_rate = count / best["ours"]
        row: dict[str, Any] = {
            "touches": touches,
            "model": model,
            "journeys": count,
            "ours": round(ours_rate),
            "ours_per_call": round(count / best["per_call"]),
            "peers": {},
        }
        for name in peers:
            rate = count / best[name]
            entry: dict[str, Any] = {"rate": round(rate), "ratio": round(ours_rate / rate, 2)}
            if name == "pandas":
                entry["target"] = f">= {PANDAS_TARGET:g}x"
                entry["met"] = ours_rate >= PANDAS_TARGET * rate
            elif name == "polars" and model in POLARS_TARGET_MODELS:
                entry["target"] = ">= 1x"
                entry["met"] = ours_rate >= rate
            entry["totals"] = totals_check(name, model, exact, peer_totals[name])
            row["peers"][name] = entry
        rows.append(row)
    return rows


def totals_check(peer: str, model: str, ours: dict[str, Decimal], theirs: dict[str, float]) -> dict[str, Any]:
    """Compare per-channel totals: the largest difference, and whether it is within 0.01 (or why it is not checked)."""
    channels = set(ours) | set(theirs)
    differences = [abs(float(ours.get(c, Decimal(0))) - theirs.get(c, 0.0)) for c in channels]
    largest = max(differences, default=0.0)
    if (peer, model) in DIFFERENT:
        return {"max_difference": round(largest, 6), "checked": False, "why": DIFFERENT[(peer, model)]}
    return {"max_difference": round(largest, 6), "checked": True, "equal": largest <= TOTALS_TOLERANCE}


def missed_targets(rows: list[dict[str, Any]]) -> list[str]:
    """Every measured target that was missed, named: rate targets and totals that differ by more than 0.01."""
    missed = []
    for row in rows:
        for name, entry in row["peers"].items():
            where = f"{row['model']} at {row['touches']} touches vs {name}"
            if entry.get("met") is False:
                missed.append(f"rate {where}")
            if entry["totals"]["checked"] and not entry["totals"]["equal"]:
                missed.append(f"totals {where}")
    return missed


def unmeasured_targets(status: dict[str, str], loaded: dict[str, Any]) -> list[str]:
    """The targets a missing peer leaves unmeasured (never counted as met)."""
    left = []
    if "pandas" not in loaded:
        left.append(f">= {PANDAS_TARGET:g}x the pandas peer on every model (peer {status['pandas']})")
    if "polars" not in loaded:
        left.append(f">= the Polars peer on {' and '.join(POLARS_TARGET_MODELS)} (peer {status['polars']})")
    return left


def print_table(result: dict[str, Any]) -> None:
    """The figures, one line per journey length, model and peer, next to their targets."""
    print(f"Credit engine vs peers, conversions/s (best of {result['rounds']} interleaved rounds, {result['journeys']:,} journeys each)")
    for name, state in result["peers"].items():
        print(f"  {PEER_LABELS[name]}: {state}")
    header = ("touches", "model", "OrderTrail", "per call", "peer", "peer/s", "ratio", "target", "rate", "totals")
    print("\n" + " | ".join(f"{h:>{w}}" if w > 0 else f"{h:<{-w}}" for h, w in zip(header, WIDTHS, strict=True)))
    for row in result["rows"]:
        if not row["peers"]:
            cells = (row["touches"], row["model"], f"{row['ours']:,}", f"{row['ours_per_call']:,}", "(no peer has it)", "", "", "", "", "")
            print(" | ".join(f"{c:>{w}}" if w > 0 else f"{c:<{-w}}" for c, w in zip(cells, WIDTHS, strict=True)))
        for name, entry in row["peers"].items():
            verdict = "" if "met" not in entry else ("PASS" if entry["met"] else "MISS")
            totals = entry["totals"]
            if totals["checked"]:
                shown = f"{'equal' if totals['equal'] else 'DIFFER'} (max {totals['max_difference']:.6f})"
            else:
                shown = f"not compared: {totals['why']} (max {totals['max_difference']:.2f})"
            label = {"pandas": "pandas peer", "polars": "Polars peer", "channel_attribution": "ChannelAttribution"}[name]
            print(
                f"{row['touches']:>7} | {row['model']:<13} | {row['ours']:>10,} | {row['ours_per_call']:>9,} | {label:<20} | "
                f"{entry['rate']:>10,} | "
                f"{entry['ratio']:>6.2f}x | {entry.get('target', '-'):>7} | {verdict:<4} | {shown}"
            )
    print()
    for line in result["not_measured"]:
        print(f"Not measured: {line}")
    unmeasured = f" ({len(result['not_measured'])} not measured)" if result["not_measured"] else ""
    print("Targets: " + ("no measured target missed" + unmeasured if not result["missed"] else "MISSED " + "; ".join(result["missed"])))


def main() -> None:
    """Measure every model at 5 and 50 touches against every installed peer; print the table (or --json); exit 1 on a miss."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--journeys", type=int, default=5_000, help="journeys per batch (each side gets the same batch)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per model; the best counts")
    parser.add_argument("--quick", action="store_true", help="1,000 journeys, 2 rounds: a smoke run")
    args = parser.parse_args()
    use_repository_code()
    warnings.filterwarnings("ignore")  # the peers' deprecation and performance warnings would drown the table
    count, rounds = (1_000, 2) if args.quick else (args.journeys, args.rounds)
    loaded, status = load_peers()
    rows = [row for touches in LENGTHS for row in measure(touches, count, rounds, loaded)]
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": sys.version.split()[0],
        "journeys": count,
        "rounds": rounds,
        "peers": status,
        "rows": rows,
        "missed": missed_targets(rows),
        "not_measured": unmeasured_targets(status, loaded),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    sys.exit(1 if result["missed"] else 0)


if __name__ == "__main__":
    main()
