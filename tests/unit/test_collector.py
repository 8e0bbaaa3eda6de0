"""Batch steps run with the cyclic garbage collector paused, and it is back on, with cycles collected, when they end."""

from __future__ import annotations

import gc

import pytest

from ordertrail.runtime.collector import collector_paused


class Node:
    """An object that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycles_alive() -> int:
    """How many Node objects the collector still tracks."""
    return sum(1 for o in gc.get_objects() if isinstance(o, Node))


def test_a_step_runs_with_the_collector_off_and_its_cycles_are_collected_when_it_returns() -> None:
    """Given the collector on, when a step makes 1,000 reference cycles, then it ran with the collector off, and after
    it the collector is on again and the cycles are gone."""
    seen: list[bool] = []

    @collector_paused
    def step() -> str:
        seen.append(gc.isenabled())
        for _ in range(1_000):
            a, b = Node(), Node()
            a.other, b.other = b, a
        return "done"

    assert gc.isenabled()
    assert step() == "done"
    assert seen == [False]
    assert gc.isenabled()
    assert cycles_alive() == 0


def test_a_failing_step_turns_the_collector_back_on() -> None:
    """Given the collector on, when the step raises, then the error reaches the caller and the collector is on again."""

    @collector_paused
    def step() -> None:
        raise RuntimeError("Events API down")

    with pytest.raises(RuntimeError, match="Events API down"):
        step()
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    """Given a caller that turned the collector off itself, when a step runs, then the collector is still off after it."""
    gc.disable()
    try:
        collector_paused(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()
