"""Shared fixtures: an offline AWS environment, and the real API + stream pipeline on moto (table built from template.yaml)."""

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

from ordertrail_local.apigw import HttpApiGateway, HttpRequest, HttpResponse, authorizer_config
from ordertrail_local.lambda_runtime import LambdaRuntime
from ordertrail_local.moto_patches import copy_tables_once_per_transaction
from ordertrail_local.stack import reset_process_caches
from ordertrail_local.step_functions import EXECUTION_CONFIG, StepFunctionsBackend
from ordertrail_local.streams import StreamPump, stream_source
from ordertrail_local.template import create_exports_bucket, create_table, http_routes, load_template, repo_root

ROOT = repo_root()
TENANTS_FILE = ROOT / "tests" / "fixtures" / "tenants.json"
TENANTS = json.loads(TENANTS_FILE.read_text())["tenants"]
TABLE = "ordertrail-test"


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
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
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

    gateway: HttpApiGateway
    pump: StreamPump
    dynamodb: Any
    requests: list[HttpResponse] = field(default_factory=list)

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
        response = self.gateway.handle(HttpRequest(method=method, path=path, query=query, headers=list((headers or {}).items()), body=raw))
        self.pump.drain()
        return response

    def items(self) -> list[dict[str, Any]]:
        """Every item in the table (a test-only Scan; the product never scans)."""
        from ordertrail.repository import deserialize

        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        return [deserialize(item) for page in pages for item in page["Items"]]


@contextmanager
def moto_pipeline() -> Iterator[Pipeline]:
    """The real pipeline on an empty moto table created from template.yaml (needs the offline environment)."""
    copy_tables_once_per_transaction()
    with mock_aws():
        template = load_template()
        client = boto3.client("dynamodb")
        stream_arn = create_table(client, TABLE, template)
        create_exports_bucket(boto3.client("s3"), template, os.environ["EXPORTS_BUCKET"])
        runtime = LambdaRuntime(ROOT)
        gateway = HttpApiGateway(http_routes(template), runtime, authorizer_config(template))
        pump = StreamPump(
            boto3.client("dynamodbstreams"),
            stream_arn,
            lambda event: runtime.invoke("AttributeFunction", "functions/attribute", event),
            stream_source(template),
        )
        yield Pipeline(gateway, pump, client)


@pytest.fixture
def pipeline(aws_env: None) -> Iterator[Pipeline]:
    """The real pipeline for one test."""
    with moto_pipeline() as api:
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
def export_pipeline(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExportPipeline]:
    """`pipeline` with the REAL export state machine: POST /conversions/export starts it in moto, whose interpreter
    runs the real Plan/ExportChunk/Finalize handlers (Retry waits skipped and recorded). TikTok's Events API is at
    EVENTS_API_URL (stand it in with `responses`); `tenants_file` is aws_env's copy, where PUT /settings writes the token."""
    tenants_file = Path(os.environ["ORDERTRAIL_TENANTS_FILE"])
    monkeypatch.setenv("TIKTOK_EVENTS_API_URL", EVENTS_API_URL)
    with mock_aws(config=EXECUTION_CONFIG):  # type: ignore[arg-type]
        template = load_template()
        client = boto3.client("dynamodb")
        stream_arn = create_table(client, TABLE, template)
        runtime = LambdaRuntime(ROOT)
        with StepFunctionsBackend(runtime, template, skip_retry_waits=True) as sfn:
            monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", sfn.state_machine_arn)
            reset_process_caches()  # the handlers read the environment above on first use
            gateway = HttpApiGateway(http_routes(template), runtime, authorizer_config(template))
            pump = StreamPump(
                boto3.client("dynamodbstreams"),
                stream_arn,
                lambda event: runtime.invoke("AttributeFunction", "functions/attribute", event),
                stream_source(template),
            )
            yield ExportPipeline(gateway, pump, client, sfn=sfn, tenants_file=tenants_file)


def now_seconds() -> int:
    """Unix time now, for signatures."""
    return int(time.time())


def tenant_path(tenant: str, rest: str) -> str:
    """`/v1/<tenant>/<rest>`."""
    return f"/v1/{tenant}/{rest}"


__all__ = ["EVENTS_API_URL", "TENANTS", "ExportPipeline", "Path", "Pipeline", "now_seconds", "tenant_path"]
