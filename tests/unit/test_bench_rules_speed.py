"""bench/rules_speed.py's pure parts: the generated journeys (both sides' inputs), the batch check, the verdicts and the figures."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from ordertrail.core.models import AdClickTouchpoint, Order
from ordertrail.core.rules import Candidates
from ordertrail.core.rules_batch import from_orders
from ordertrail.core.tenant_settings import AttributionSettings
from ordertrail_local.template import repo_root


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The bench module, imported from bench/ (it is not a package; its peers are imported only when measuring)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(repo_root() / "bench"))
        return importlib.import_module("rules_speed")


def test_journeys_have_five_touches_of_mixed_kinds_before_the_order(bench: ModuleType) -> None:
    """5 touches each, in time order (oldest first), within 10 days, drawn from the six touchpoint kinds; seeded."""
    made = bench.journeys(300)
    assert made == bench.journeys(300)
    assert all(len(j.channels) == len(j.ages_us) == 5 for j in made)
    assert all(list(j.ages_us) == sorted(j.ages_us, reverse=True) and 0 <= j.ages_us[-1] for j in made)
    assert all(age < bench.MAX_AGE_US for j in made for age in j.ages_us)
    assert {c for j in made for c in j.channels} == set(bench.KINDS)


def test_ordertrail_inputs_are_validated_models_whose_kinds_are_the_peers_channels(bench: ModuleType) -> None:
    """Each journey becomes an Order and Candidates of 5 touchpoints whose kinds, in time order, are the peer's path."""
    batch = bench.journeys(300)
    prepared = bench.ours_input(batch)
    assert len(prepared) == len(batch)
    for journey, (order, candidates) in zip(batch, prepared, strict=True):
        assert isinstance(order, Order) and isinstance(candidates, Candidates)
        assert tuple(t.kind for t in candidates.touchpoints) == journey.channels
        assert [t.at for t in candidates.touchpoints] == sorted(t.at for t in candidates.touchpoints)
        assert order.buyer.user_id == candidates.touchpoints[0].buyer.user_id
        if order.landing.ttclid:  # the repository hands the engine the click of the order's ttclid
            assert isinstance(candidates.click, AdClickTouchpoint) and candidates.click.ttclid == order.landing.ttclid
    assert sum(bool(order.coupon_codes) for order, _ in prepared) > 30


def test_the_journeys_exercise_every_method(bench: ModuleType) -> None:
    """The engine, run as the bench runs it, wins every method on some of the journeys (organic included)."""
    decided = bench.ours_run(bench.ours_input(bench.journeys(1000)), AttributionSettings())
    assert set(bench.methods(decided)) == {"coupon", "conversation", "ad_click", "creator_link", "conversation_soft", "organic"}


def test_the_batch_engine_decides_the_bench_journeys_as_rules_attribute_does(bench: ModuleType) -> None:
    """The timed batch run, on columns built from the same Orders and Candidates, agrees with rules.attribute on every order;
    a decision changed by hand is reported."""
    prepared = bench.ours_input(bench.journeys(1000))
    tenant = AttributionSettings()
    decisions = bench.batch_run(from_orders(prepared), tenant)
    attributions = bench.ours_run(prepared, tenant)

    assert bench.mismatches(decisions, attributions) == []
    attributions[7] = attributions[7].model_copy(update={"method": "organic", "rule": None})
    assert bench.mismatches(decisions, attributions) == [7]


def test_the_target_is_10x_each_peer_model(bench: ModuleType) -> None:
    """Met at exactly 10x, missed just below; the ratio is ours / theirs."""
    verdicts = bench.verdicts(100_000.0, {"last_click": 10_000.0, "first_click": 10_001.0})
    assert verdicts["last_click"] == {"rate": 10_000, "ratio": 10.0, "target": ">= 10x", "met": True}
    assert verdicts["first_click"]["met"] is False
    assert bench.missed_targets({"peers": verdicts}) == ["10x the pandas peer's first_click"]
    assert bench.missed_targets({"peers": {}}) == []


def _result(bench: ModuleType, peers: dict[str, float], not_measured: str = "") -> dict:
    result = {
        "journeys": 1000,
        "rounds": 2,
        "peer": "1.0.10",
        "methods": {"coupon": 1},
        "ours": 20_000,
        "per_order": 19_000,
        "fallbacks": 0,
        "peers": bench.verdicts(20_000.0, peers),
        "not_measured": not_measured,
    }
    result["missed"] = bench.missed_targets(result)
    return result


def test_printed_figures_end_with_the_verdict(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """The batch engine's rate is judged, rules.attribute's printed beside it; each peer model's line says MET or MISSED;
    the last line names what was missed, or MET, or not measured."""
    bench.print_result(_result(bench, {"last_click": 100_000.0, "first_click": 1_000.0}))
    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if "rules_batch.decide" in line).endswith("20,000/s")
    assert next(line for line in lines if line.startswith("OrderTrail rules.attribute")).endswith("per order, not the target")
    assert next(line for line in lines if "fallback" in line).startswith("  orders decided by a per-order fallback: 0;")
    assert "MISSED" in next(line for line in lines if "last_click" in line)
    assert next(line for line in lines if "first_click" in line).endswith("| MET")
    assert lines[-1] == "Targets: MISSED 10x the pandas peer's last_click"
    bench.print_result(_result(bench, {"last_click": 1_000.0}))
    assert capsys.readouterr().out.splitlines()[-1] == "Targets: MET"
    bench.print_result(_result(bench, {}, not_measured=">= 10x the pandas peer (peer not installed here)"))
    assert capsys.readouterr().out.splitlines()[-1] == "Targets: not measured"
