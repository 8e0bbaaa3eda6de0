"""The layer's wings import only downward: boto3 only in storage/, nothing from AWS in core/, sources/ or tally/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "attribution" / "ordertrail"
# Lowest first: a module may import from its own wing and from the wings of lower rank (docs/architecture.md).
RANK = {
    "core": 0,
    "sources": 1,
    "tally": 1,
    "storage": 2,
    "runtime": 3,
    "api": 4,
    "attribution": 5,
    "reports": 5,
    "export": 5,
    "ingest": 5,
    "connections": 5,
    # Imports store orders through ingest and refresh tokens through connections.
    "imports": 6,
}
AWS = ("boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk")
PURE = frozenset({"core", "sources", "tally"})


def modules() -> list[Path]:
    """Every Python module of the layer."""
    return sorted(LAYER.rglob("*.py"))


def wing_of(path: Path) -> str:
    """The wing a module lives in (its first folder under ordertrail/)."""
    return path.relative_to(LAYER).parts[0]


def imported(path: Path) -> set[str]:
    """The dotted names a module imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_every_module_lives_in_a_wing() -> None:
    """Given the layer, then no module sits loose beside the wings and every wing has a known rank."""
    loose = [p.name for p in LAYER.glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    assert {p.name for p in LAYER.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(RANK)


@pytest.mark.parametrize("path", [p for p in modules() if p.parent != LAYER], ids=lambda p: str(p.relative_to(LAYER)))
def test_a_module_imports_only_its_own_wing_or_lower_ones(path: Path) -> None:
    """Given a module, when its imports are read, then none reaches a wing above its own."""
    wing = wing_of(path)
    upward = sorted(
        name
        for name in imported(path)
        if name.startswith("ordertrail.") and name.split(".")[1] in RANK and RANK[name.split(".")[1]] > RANK[wing]
    )
    assert upward == [], f"{wing} (rank {RANK[wing]}) imports a higher wing"
    same_rank = sorted(
        name
        for name in imported(path)
        if name.startswith("ordertrail.")
        and name.split(".")[1] in RANK
        and name.split(".")[1] != wing
        and RANK[name.split(".")[1]] == RANK[wing]
    )
    assert same_rank == [], f"{wing} imports a sibling wing of the same rank"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(LAYER)))
def test_only_storage_calls_aws_and_the_pure_wings_import_nothing_from_it(path: Path) -> None:
    """Given a module, then boto3/botocore appear only in storage/, and core/, sources/, tally/ import nothing from AWS."""
    aws = sorted(name for name in imported(path) if name.split(".")[0] in AWS)
    wing = wing_of(path) if path.parent != LAYER else ""
    if wing != "storage":
        assert [name for name in aws if name.split(".")[0] in ("boto3", "botocore")] == []
    if wing in PURE:
        assert aws == []


def test_the_handlers_and_the_local_harness_do_not_call_boto3_for_the_table() -> None:
    """Given the handlers, then none imports boto3: they reach AWS through the layer's storage wing."""
    functions = Path(__file__).resolve().parents[2] / "functions"
    offenders = [str(p) for p in functions.rglob("*.py") if any(n.split(".")[0] in ("boto3", "botocore") for n in imported(p))]
    assert offenders == []


def test_every_module_and_wing_says_what_it_is_for() -> None:
    """Given the layer, then every module and every wing's __init__ opens with a one-line docstring."""
    missing = [str(p.relative_to(LAYER)) for p in modules() if not (ast.get_docstring(ast.parse(p.read_text())) or "").strip()]
    assert missing == []
