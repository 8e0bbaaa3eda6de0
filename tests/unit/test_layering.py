"""The layer's wings import only downward: boto3 only in storage/, nothing from AWS in core/, sources/ or tally/; cold imports stay lean."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ordertrail_local.template import load_template, repo_root

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
    # Re-attribution runs re-attribute each order through attribution.
    "reattribution": 6,
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


# What no handler's cold import may load (issue 11, item 5): each is for the code that needs it, imported there on first use.
NOT_AT_COLD_START = ("numpy", "requests", "ordertrail.storage.repository")
# The authorizer answers every API request first: it reads tenants' keys, never the table.
NOT_IN_THE_AUTHORIZER = ("boto3", "ordertrail.storage.table", "ordertrail.core.models", "aws_lambda_powertools.event_handler")


@pytest.fixture(scope="module")
def cold_imports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Per handler folder: the modules its import loads, in a fresh process set up as bench/cold_import.py sets it up."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(repo_root() / "bench"))
        bench: ModuleType = importlib.import_module("cold_import")
    site = bench.lambda_site(tmp_path_factory.mktemp("lambda-site"))
    loaded: dict[str, set[str]] = {}
    for handler in bench.handlers(load_template()):
        code = f"{bench.handler_code(handler)}; import sys; print(' '.join(sys.modules))"
        done = subprocess.run(
            [sys.executable, "-S", "-c", code],
            cwd=repo_root() / handler.code_dir,
            env=bench.process_env(handler, site),
            capture_output=True,
            text=True,
            check=True,
        )
        loaded[handler.name] = set(done.stdout.split())
    return loaded


def test_no_handler_loads_at_its_cold_start_what_only_some_calls_need(cold_imports: dict[str, set[str]]) -> None:
    """Given every handler, when its module is imported as Lambda does, then numpy, requests and the repository are not loaded."""
    offenders = {name: sorted(m for m in NOT_AT_COLD_START if m in modules) for name, modules in cold_imports.items()}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_authorizer_loads_neither_boto3_nor_the_models(cold_imports: dict[str, set[str]]) -> None:
    """Given the authorizer, when its module is imported, then nothing of the table, the order models or the HTTP resolver is loaded."""
    assert sorted(m for m in NOT_IN_THE_AUTHORIZER if m in cold_imports["authorizer"]) == []
