"""Shared fixtures: an offline AWS environment, and the real API + stream pipeline (table built from template.yaml) on each
DynamoDB backend: moto's in-process mock (id `moto`) and Amazon's DynamoDB Local (id `dynamodb-local`, one JVM per session)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ordertrail_local.apigw import HttpApiGateway, HttpRequest
from ordertrail_local.dynamodb_local import DynamoDBLocal, unavailable_reason
from ordertrail_local.lambda_runtime import LambdaRuntime
from ordertrail_local.loopback import HttpResponse
from ordertrail_local.moto_patches import speed_up_moto
from ordertrail_local.moto_step_functions import EXECUTION_CONFIG
from ordertrail_local.pipeline import LocalPipeline, build_pipeline
from ordertrail_local.stack import DYNAMODB_BACKENDS, MOTO, reset_process_caches
from ordertrail_local.state_machine_template import IMPORT_STATE_MACHINE, REATTRIBUTE_STATE_MACHINE
from ordertrail_local.step_functions import StepFunctionsBackend
from ordertrail_local.streams import StreamPump
from ordertrail_local.template import create_exports_bucket, create_table, load_template, repo_root

ROOT = repo_root()
TENANTS_FILE = ROOT / "tests" / "fixtures" / "tenants.json"
TENANTS = json.loads(TENANTS_FILE.read_text())["tenants"]
TABLE = "ordertrail-test"
# make test sets it when Java is here: then a DynamoDB Local that cannot start fails its cases instead of skipping them.
REQUIRE_DYNAMODB_LOCAL = "ORDERTRAIL_REQUIRE_DYNAMODB_LOCAL"
DYNAMODB_ENDPOINTS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")


@contextmanager
def offline_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Offline AWS settings and OrderTrail's environment, as template.yaml sets it (on a copy of the tenants fixture,
    since PUT /settings writes the Events API token into the tenants file)."""
    tenants_copy = tmp_path / "tenants.json"
    tenants_copy.write_text(TENANTS_FILE.read_text())
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_DISABLED": "1",
        "TABLE_NAME": TABLE,
        "ORDERTRAIL_TENANTS_FILE": str(tenants_copy),
        "TIKTOK_SHOP_API_URL": "https://tiktok-shop.test",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "EXPORTS_BUCKET": "ordertrail-exports-test",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", *DYNAMODB_ENDPOINTS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    reset_process_caches()
    try:
        yield
    finally:
        reset_process_caches()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The offline environment for one test."""
    with offline_environment(monkeypatch, tmp_path):
        yield


@dataclass
class Pipeline:
    """The deployed shape in one process: HTTP API routes → real handlers → moto table → stream → AttributeFunction."""

    harness: LocalPipeline
    dynamodb: Any
    requests: list[HttpResponse] = field(default_factory=list)

    @property
    def gateway(self) -> HttpApiGateway:
        """The template's HTTP API (routes and authorizer)."""
        return self.harness.gateway

    @property
    def pump(self) -> StreamPump:
        """The table's stream, delivered to the real AttributeFunction."""
        return self.harness.pump

    def call(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> HttpResponse:
        """Send one request like API Gateway would, then let the stream deliver what it caused."""
        raw = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode() if body else b"")
        return self.harness.handle(HttpRequest(method=method, path=path, query=query, headers=list((headers or {}).items()), body=raw))

    def run_schedule(self, function: str) -> Any:
        """Run one of the template's scheduled functions (as its EventBridge schedule would), then drain the stream."""
        return self.harness.invoke(function)

    def items(self) -> list[dict[str, Any]]:
        """Every item in the table (a test-only Scan; the product never scans)."""
        from ordertrail.storage.table import deserialize

        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        return [deserialize(item) for page in pages for item in page["Items"]]


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """One DynamoDB Local JVM for the session (each test creates its own table); skipped with the reason when it cannot run."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_DYNAMODB_LOCAL) == "1":
            pytest.fail(f"{reason} ({REQUIRE_DYNAMODB_LOCAL}=1)")
        pytest.skip(reason)
    with DynamoDBLocal() as server:
        yield server


@pytest.fixture(params=DYNAMODB_BACKENDS)
def dynamodb_backend(request: pytest.FixtureRequest, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> DynamoDBLocal | None:
    """The DynamoDB of one test: None for moto's mock, else the session's DynamoDB Local, reached through the environment.

    botocore honours the service-specific endpoint variables, and mock_aws lets a request to an URL it does not know (the
    loopback JVM) through to the network, so S3 and Step Functions stay on moto while the table is on DynamoDB Local.
    """
    if request.param == MOTO:
        return None
    server: DynamoDBLocal = request.getfixturevalue("dynamodb_local")
    for name in DYNAMODB_ENDPOINTS:
        monkeypatch.setenv(name, server.endpoint_url)
    reset_process_caches()  # no client built before this line may keep pointing at moto
    return server


@contextmanager
def fresh_table(dynamodb_local: DynamoDBLocal | None, client: Any, name: str, template: dict[str, Any] | None = None) -> Iterator[str]:
    """Create the table from the template and yield its stream ARN; on DynamoDB Local a left-over is removed first and the
    table is deleted afterwards (mock_aws forgets its tables by itself)."""
    if dynamodb_local is not None:
        dynamodb_local.delete_table(name)
    try:
        yield create_table(client, name, template)
    finally:
        if dynamodb_local is not None:
            dynamodb_local.delete_table(name)


@contextmanager
def moto_pipeline(dynamodb_local: DynamoDBLocal | None = None) -> Iterator[Pipeline]:
    """The real pipeline on an empty table created from template.yaml, on moto or DynamoDB Local (needs the offline
    environment; with DynamoDB Local also its endpoint variables, see `dynamodb_backend`)."""
    speed_up_moto()
    with mock_aws():
        template = load_template()
        client = boto3.client("dynamodb")
        with fresh_table(dynamodb_local, client, TABLE, template) as stream_arn:
            create_exports_bucket(boto3.client("s3"), template, os.environ["EXPORTS_BUCKET"])
            runtime = LambdaRuntime(ROOT)
            yield Pipeline(build_pipeline(template, runtime, stream_arn), client)


@pytest.fixture
def pipeline(dynamodb_backend: DynamoDBLocal | None) -> Iterator[Pipeline]:
    """The real pipeline for one test, on each DynamoDB backend."""
    with moto_pipeline(dynamodb_backend) as api:
        yield api


EVENTS_API_URL = "https://events.test"


@dataclass
class ExportPipeline(Pipeline):
    """`Pipeline` plus the export state machine, executed by moto's interpreter with the real handlers."""

    sfn: StepFunctionsBackend | None = None
    tenants_file: Path | None = None

    def execution_arn(self, run_id: str) -> str:
        """The execution a run started (executions are named by the run id)."""
        assert self.sfn is not None
        return f"{self.sfn.state_machine_arn.replace(':stateMachine:', ':execution:')}:{run_id}"


@pytest.fixture
def export_pipeline(dynamodb_backend: DynamoDBLocal | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExportPipeline]:
    """`pipeline` with the REAL export state machine: POST /conversions/export starts it in moto, whose interpreter
    runs the real Plan/ExportChunk/Finalize handlers (Retry waits skipped and recorded). TikTok's Events API is at
    EVENTS_API_URL (stand it in with `responses`); `tenants_file` is aws_env's copy, where PUT /settings writes the token.
    The table is on each DynamoDB backend; the state machine is always moto's."""
    speed_up_moto()
    tenants_file = Path(os.environ["ORDERTRAIL_TENANTS_FILE"])
    monkeypatch.setenv("TIKTOK_EVENTS_API_URL", EVENTS_API_URL)
    with mock_aws(config=EXECUTION_CONFIG):  # type: ignore[arg-type]
        template = load_template()
        client = boto3.client("dynamodb")
        runtime = LambdaRuntime(ROOT)
        with (
            fresh_table(dynamodb_backend, client, TABLE, template) as stream_arn,
            StepFunctionsBackend(runtime, template, skip_retry_waits=True) as sfn,
        ):
            monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", sfn.state_machine_arn)
            monkeypatch.setenv("IMPORT_STATE_MACHINE_ARN", sfn.arn_of(IMPORT_STATE_MACHINE))
            monkeypatch.setenv("REATTRIBUTE_STATE_MACHINE_ARN", sfn.arn_of(REATTRIBUTE_STATE_MACHINE))
            reset_process_caches()  # the handlers read the environment above on first use
            yield ExportPipeline(build_pipeline(template, runtime, stream_arn), client, sfn=sfn, tenants_file=tenants_file)


def now_seconds() -> int:
    """Unix time now, for signatures."""
    return int(time.time())


def tenant_path(tenant: str, rest: str) -> str:
    """`/v1/<tenant>/<rest>`."""
    return f"/v1/{tenant}/{rest}"


__all__ = ["EVENTS_API_URL", "TENANTS", "ExportPipeline", "Path", "Pipeline", "now_seconds", "tenant_path"]
