"""bench/export_speed.py's pure parts: the Lambda CPU share and estimate, the Timeout read from the template, the targets."""

from __future__ import annotations

import importlib
import random
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest

from ordertrail_local.template import load_template, repo_root


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The bench module, imported from bench/ (it is not a package)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(repo_root() / "bench"))
        return importlib.import_module("export_speed")


def test_a_512_mb_lambda_gets_512_of_1769_of_a_vcpu(bench: ModuleType) -> None:
    """CPU in proportion to memory, one full vCPU from 1,769 MB (never more than one for a single thread)."""
    assert bench.cpu_share(512) == pytest.approx(0.2894, abs=1e-4)
    assert bench.cpu_share(1769) == 1.0
    assert bench.cpu_share(3008) == 1.0


def test_lambda_seconds_divide_cpu_seconds_by_the_share(bench: ModuleType) -> None:
    """CPU-bound: 10 CPU seconds take 10 / 0.289 ≈ 34.6 s at 512 MB, 10 s at 1,769 MB."""
    assert bench.lambda_seconds(10.0) == pytest.approx(10.0 * 1769 / 512)
    assert bench.lambda_seconds(10.0, 1769) == pytest.approx(10.0)
    assert bench.lambda_seconds(0.0) == 0.0


def test_function_timeout_is_its_own_else_the_globals(bench: ModuleType) -> None:
    """A function's Timeout wins over Globals.Function's; without either, Lambda's default of 3 s."""
    template = {"Globals": {"Function": {"Timeout": 10}}, "Resources": {"A": {"Properties": {"Timeout": 300}}, "B": {"Properties": {}}}}
    assert bench.function_timeout(template, "A") == 300
    assert bench.function_timeout(template, "B") == 10
    assert bench.function_timeout({"Resources": {"C": {}}}, "C") == 3


def test_the_export_chunk_timeout_comes_from_template_yaml(bench: ModuleType) -> None:
    """The bench reads the ExportChunkFunction's Timeout from the repository's template, not a constant."""
    template = load_template()
    assert bench.function_timeout(template) == template["Resources"][bench.FUNCTION]["Properties"]["Timeout"]


def test_targets_are_5000_events_per_s_and_half_the_timeout(bench: ModuleType) -> None:
    """Both targets hold at their bounds and fail just past them."""
    assert all(bench.verdicts(5000, 150, 300).values())
    assert bench.verdicts(4999, 150, 300) == {"at_least_5000_events_per_s": False, "lambda_estimate_within_half_the_timeout": True}
    assert bench.verdicts(5000, 150.1, 300) == {"at_least_5000_events_per_s": True, "lambda_estimate_within_half_the_timeout": False}


def test_generated_conversions_have_multi_touch_journeys_inside_the_lookback(bench: ModuleType) -> None:
    """1-3 ad clicks with distinct ttclids, up to 5 other touches, all in the 6 days before the order; a repeat keeps the buyer."""
    ordered_at = datetime(2026, 12, 1, tzinfo=UTC)
    rng = random.Random(1)
    made = [bench.conversion(i, ordered_at, rng, None) for i in range(200)]
    for c in made:
        clicks = [t for t in c.touches if t.ttclid]
        assert 1 <= len(clicks) <= 3 and len({t.ttclid for t in clicks}) == len(clicks)
        assert len(c.touches) - len(clicks) <= 5
        assert all(ordered_at - timedelta(days=6) <= t.at < ordered_at for t in c.touches)
    assert len({c.order_id for c in made}) == len(made)
    again = bench.conversion(500, ordered_at, rng, repeat_of=7)
    assert again.user_id == made[7].user_id and again.order_id != made[7].order_id
