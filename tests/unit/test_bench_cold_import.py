"""bench/cold_import.py's pure parts: every handler of template.yaml found, its kind, environment and floor; no timing."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from ordertrail_local.template import load_template, repo_root


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The bench module, imported from bench/ (it is not a package)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(repo_root() / "bench"))
        return importlib.import_module("cold_import")


def test_every_function_of_the_template_is_measured_once_per_module(bench: ModuleType) -> None:
    """Given template.yaml, then each function's CodeUri/Handler module is one measured handler, and every folder is one."""
    template = load_template()
    functions = [name for name, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Function"]
    found = bench.handlers(template)
    assert sorted(f for handler in found for f in handler.functions) == sorted(functions)
    assert sorted(handler.name for handler in found) == sorted(
        p.name for p in (repo_root() / "functions").iterdir() if (p / "app.py").exists()
    )
    fetch = next(handler for handler in found if handler.name == "fetch_order")
    assert fetch.entry_points == ["lambda_handler", "retry_handler"]


def test_each_handler_has_a_kind_with_a_floor(bench: ModuleType) -> None:
    """Given the handlers, then the floor table covers every kind, and each floor imports boto3, Logger and Metrics, pydantic."""
    kinds = {handler.name: handler.kind for handler in bench.handlers(load_template())}
    assert set(kinds.values()) <= set(bench.FLOORS) == set(bench.KIND_ORDER)
    assert kinds["authorizer"] == "authorizer"
    assert kinds["record_touchpoint"] == kinds["reports"] == "http"
    assert kinds["attribute"] == kinds["fetch_order"] == "stream"
    assert kinds["refresh_tokens"] == "task"
    for imports in bench.FLOORS.values():
        assert {"import boto3", "from pydantic import BaseModel", "from aws_lambda_powertools import Logger, Metrics"} <= set(imports)
    assert any("APIGatewayHttpResolver" in line for line in bench.FLOORS["http"])
    assert any("BatchProcessor" in line for line in bench.FLOORS["stream"])


def test_the_environment_is_offline_and_starts_from_nothing(bench: ModuleType, tmp_path: Path) -> None:
    """Given a handler, then its process gets the template's variables (parameters' defaults, stand-ins for resources)."""
    handler = next(h for h in bench.handlers(load_template()) if h.name == "reports")
    env = bench.process_env(handler, tmp_path)
    assert env["TABLE_NAME"].startswith("bench-")
    assert env["TIKTOK_SHOP_API_URL"] == "https://open-api.tiktokglobalshop.com"
    assert env["EXPORT_STATE_MACHINE_ARN"].startswith("arn:aws:states:")
    assert env["PYTHONPATH"].split(":") == [str(repo_root() / "functions" / "reports"), str(bench.LAYER_DIR), str(tmp_path)]
    assert "AWS_ENDPOINT_URL" not in env


def test_the_process_code_imports_the_module_as_lambda_does(bench: ModuleType) -> None:
    """Given a handler, then its code imports the module and looks every entry point up; a floor only imports its table."""
    fetch = next(h for h in bench.handlers(load_template()) if h.name == "fetch_order")
    code = bench.handler_code(fetch)
    assert "importlib.import_module('app')" in code
    assert "getattr(m, 'lambda_handler')" in code and "getattr(m, 'retry_handler')" in code
    assert bench.floor_code("stream") == "; ".join(bench.FLOORS["stream"])


def test_the_lambda_site_holds_the_layer_requirements_and_boto3_only(bench: ModuleType) -> None:
    """Given the layer's requirements, then the distributions linked are theirs and boto3's, with no test or lint tool."""
    names = {dist.metadata["Name"].lower().replace("_", "-") for dist in bench.closure([*bench.layer_requirements(), "boto3"])}
    assert {"aws-lambda-powertools", "pydantic", "requests", "boto3", "botocore"} <= names
    assert not names & {"pytest", "moto", "ruff", "mypy"}
