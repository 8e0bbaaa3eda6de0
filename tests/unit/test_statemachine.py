"""The export state machine: statelint, the graph, substitutions against template.yaml, retries and catches, and
the real ASL run by moto's interpreter (with fake handlers, so it checks the workflow, not the export logic)."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from statelint.config import Config
from statelint.linter import Linter

from ordertrail.export.steps import LEASE_TTL
from ordertrail_local.lambda_runtime import LambdaRuntime
from ordertrail_local.moto_step_functions import EXECUTION_CONFIG
from ordertrail_local.state_machine_template import STATE_MACHINE, definition_path, fill_placeholders, placeholders, substitution_targets
from ordertrail_local.step_functions import StepFunctionsBackend
from ordertrail_local.template import load_template, repo_root

ASL_PATH = repo_root() / "infra" / "statemachine" / "export_conversions.asl.json"
RETRYABLE = {"RetryableExportError", "Lambda.TooManyRequestsException", "Lambda.ServiceException"}
LAMBDA_TRANSIENT = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}
EXPORT_FUNCTIONS = {
    "PlanFunctionArn": ("ExportPlanFunction", "app.plan_handler"),
    "ExportChunkFunctionArn": ("ExportChunkFunction", "app.export_chunk_handler"),
    "FinalizeFunctionArn": ("ExportFinalizeFunction", "app.finalize_handler"),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """The parsed repository template."""
    return load_template()


@pytest.fixture(scope="module")
def asl_text() -> str:
    """The ASL file as written (placeholders unfilled)."""
    return ASL_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def asl(asl_text: str) -> dict[str, Any]:
    """The ASL with dummy function ARNs filled in."""
    return dict(json.loads(_filled(asl_text)))


def _filled(text: str) -> str:
    """Every ${Key} replaced by a dummy Lambda ARN named after the key."""
    return fill_placeholders(text, {key: f"arn:aws:lambda:us-east-1:123456789012:function:{key}" for key in placeholders(text)})


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """One resource's properties."""
    return dict(template["Resources"][logical_id].get("Properties") or {})


def _all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those inside Map item processors, as (name, state)."""
    for name, state in states.items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _all_states(processor["States"])


def _check_graph(machine: dict[str, Any], where: str) -> None:
    """StartAt and every Next/Catch target exist, every state is reachable, and something ends the machine."""
    states = machine["States"]
    assert machine["StartAt"] in states, where
    edges: dict[str, set[str]] = {}
    for name, state in states.items():
        targets = {state["Next"]} if "Next" in state else set()
        targets |= {catcher["Next"] for catcher in state.get("Catch", [])}
        targets |= {choice["Next"] for choice in state.get("Choices", [])} | ({state["Default"]} if "Default" in state else set())
        assert targets <= set(states), (where, name, targets - set(states))
        edges[name] = targets
        if state.get("ItemProcessor"):
            _check_graph(state["ItemProcessor"], f"{where}/{name}")
    reached, frontier = set(), [machine["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name not in reached:
            reached.add(name)
            frontier += sorted(edges[name])
    assert reached == set(states), (where, set(states) - reached)
    assert any(s.get("End") or s["Type"] in ("Succeed", "Fail") for s in states.values()), where


# ---------------------------------------------------------------- the ASL file


def test_asl_passes_statelint(asl_text: str) -> None:
    """statelint (PyPI) finds no problem once the placeholders are filled with dummy ARNs."""
    assert Linter.validate(_filled(asl_text), Config(None, False, False)) == []


def test_asl_is_jsonpath_and_its_graph_is_sound(asl: dict[str, Any]) -> None:
    """JSONPath (moto does not run JSONata); every transition lands on a state and every state is reachable."""
    assert asl.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert all(state.get("QueryLanguage", "JSONPath") == "JSONPath" for _, state in _all_states(asl["States"]))
    _check_graph(asl, "root")
    assert asl["StartAt"] == "Plan"
    assert asl["States"]["Plan"]["Next"] == "ExportChunks"
    assert asl["States"]["ExportChunks"]["Next"] == "Finalize"
    assert asl["States"]["Finalize"]["End"] is True
    assert asl["States"]["RecordFailure"]["Next"] == "RunFailed"


def test_every_task_resource_is_a_substituted_function_arn(asl_text: str) -> None:
    """Task resources are exactly the three placeholders, used as direct Lambda ARNs (what moto executes)."""
    raw = json.loads(asl_text)
    resources = {name: state["Resource"] for name, state in _all_states(raw["States"]) if state["Type"] == "Task"}
    assert resources == {
        "Plan": "${PlanFunctionArn}",
        "ExportChunk": "${ExportChunkFunctionArn}",
        "Finalize": "${FinalizeFunctionArn}",
        "RecordFailure": "${FinalizeFunctionArn}",
    }


def test_chunks_run_one_at_a_time_with_the_documented_input(asl: dict[str, Any]) -> None:
    """The Map walks $.chunks in order (MaxConcurrency 1), each item gets {tenant, run_id, chunk}, results in $.chunk_results."""
    export = asl["States"]["ExportChunks"]
    assert export["Type"] == "Map"
    assert export["MaxConcurrency"] == 1
    assert export["ItemsPath"] == "$.chunks"
    assert export["ItemSelector"] == {"tenant.$": "$.tenant", "run_id.$": "$.run_id", "chunk.$": "$$.Map.Item.Value"}
    assert export["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert export["ResultPath"] == "$.chunk_results"


def test_export_chunk_retries_retryable_errors_with_backoff(asl: dict[str, Any]) -> None:
    """RetryableExportError and Lambda's throttling/service errors: 30 s, x2, 4 attempts; never AuthenticationError."""
    task = asl["States"]["ExportChunks"]["ItemProcessor"]["States"]["ExportChunk"]
    (retrier,) = task["Retry"]
    assert RETRYABLE <= set(retrier["ErrorEquals"]) <= RETRYABLE | LAMBDA_TRANSIENT
    assert (retrier["IntervalSeconds"], retrier["BackoffRate"], retrier["MaxAttempts"]) == (30, 2.0, 4)
    assert retrier["MaxDelaySeconds"] >= 30 * 2.0**3  # the cap never shortens the planned backoff
    assert retrier["JitterStrategy"] == "FULL"
    for _, state in _all_states(asl["States"]):
        for other in state.get("Retry", []):
            assert not {"AuthenticationError", "States.ALL"} & set(other["ErrorEquals"]), state


def test_catches_record_the_failure_then_fail(asl: dict[str, Any]) -> None:
    """AuthenticationError (then anything else) from the Map goes to RecordFailure with the error in $.error."""
    catchers = asl["States"]["ExportChunks"]["Catch"]
    assert [c["ErrorEquals"] for c in catchers] == [["AuthenticationError"], ["States.ALL"]]
    assert all(c["ResultPath"] == "$.error" and c["Next"] == "RecordFailure" for c in catchers)
    assert asl["States"]["Plan"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]
    record = asl["States"]["RecordFailure"]
    assert record["Type"] == "Task" and record["ResultPath"] == "$.finalized"
    failed = asl["States"]["RunFailed"]
    assert failed == {**failed, "Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}


def test_plan_and_finalize_retry_only_lambda_service_errors(asl: dict[str, Any]) -> None:
    """Plan, Finalize and RecordFailure retry Lambda's transient errors briefly, nothing of ours."""
    for name in ("Plan", "Finalize", "RecordFailure"):
        (retrier,) = asl["States"][name]["Retry"]
        assert set(retrier["ErrorEquals"]) == LAMBDA_TRANSIENT, name


# ---------------------------------------------------------------- the template's wiring


def test_substitution_keys_match_the_template_both_ways(template: dict[str, Any], asl_text: str) -> None:
    """Every ${Key} of the ASL is in DefinitionSubstitutions and every substitution is used; each names its function."""
    props = _props(template, STATE_MACHINE)
    assert definition_path(template) == ASL_PATH
    assert placeholders(asl_text) == set(props["DefinitionSubstitutions"])
    assert substitution_targets(template) == {key: function for key, (function, _) in EXPORT_FUNCTIONS.items()}
    for function, handler in EXPORT_FUNCTIONS.values():
        function_props = _props(template, function)
        assert (function_props["CodeUri"], function_props["Handler"]) == ("functions/export_conversion/", handler)


def test_state_machine_is_traced_and_may_invoke_only_its_functions(template: dict[str, Any]) -> None:
    """Standard workflow, X-Ray on, LambdaInvokePolicy per function, and besides them only the log-delivery statement
    (its logging configuration is checked in test_template.py)."""
    props = _props(template, STATE_MACHINE)
    assert template["Resources"][STATE_MACHINE]["Type"] == "AWS::Serverless::StateMachine"
    assert props["Type"] == "STANDARD"
    assert props["Tracing"] == {"Enabled": True}
    invoked = [p["LambdaInvokePolicy"]["FunctionName"] for p in props["Policies"] if "LambdaInvokePolicy" in p]
    assert invoked == [{"Ref": function} for function, _ in EXPORT_FUNCTIONS.values()]
    statements = [s for p in props["Policies"] if "Statement" in p for s in p["Statement"]]
    assert [s["Sid"] for s in statements] == ["ExecutionLogDelivery"]
    assert all(a.startswith("logs:") and "PutLogEvents" not in a for a in statements[0]["Action"])
    assert template["Outputs"]["ExportStateMachineArn"]["Value"] == {"Ref": STATE_MACHINE}


def test_export_chunk_has_the_long_timeout(template: dict[str, Any]) -> None:
    """ExportChunk may send up to 30 days of batches: 300 s; the others keep the default."""
    assert _props(template, "ExportChunkFunction")["Timeout"] == 300
    assert "Timeout" not in _props(template, "ExportPlanFunction") and "Timeout" not in _props(template, "ExportFinalizeFunction")


def test_the_export_lease_outlives_the_longest_gap_between_renewals(template: dict[str, Any], asl: dict[str, Any]) -> None:
    """Given a live run renews its export lease at its start, in Plan and in every ExportChunk attempt, then the lease
    outlasts the longest gap between two renewals (one ExportChunk attempt at its Lambda Timeout plus the longest
    Retry wait before the next) with a margin, yet a crashed run blocks its tenant for at most an hour."""
    chunk_timeout = _props(template, "ExportChunkFunction")["Timeout"]
    plan_timeout = _props(template, "ExportPlanFunction").get("Timeout", template["Globals"]["Function"]["Timeout"])
    (retrier,) = asl["States"]["ExportChunks"]["ItemProcessor"]["States"]["ExportChunk"]["Retry"]
    longest_gap = max(chunk_timeout, plan_timeout) + retrier["MaxDelaySeconds"]
    assert LEASE_TTL.total_seconds() >= 1.5 * longest_gap, (LEASE_TTL, longest_gap)
    assert LEASE_TTL <= timedelta(hours=1)


def test_scheduler_runs_daily_and_may_only_start_the_export(template: dict[str, Any]) -> None:
    """A daily schedule (parameter, 03:30 UTC by default) starts executions of this state machine only."""
    props = _props(template, "ExportSchedulerFunction")
    assert props["Handler"] == "app.schedule_handler"
    event = props["Events"]["DailyExport"]
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == {"Ref": "ExportScheduleExpression"}
    assert template["Parameters"]["ExportScheduleExpression"]["Default"] == "cron(30 3 * * ? *)"
    assert props["Environment"]["Variables"]["EXPORT_STATE_MACHINE_ARN"] == {"Ref": STATE_MACHINE}
    statements = [s for policy in props["Policies"] for s in policy["Statement"]]
    start = [s for s in statements if s["Action"] == "states:StartExecution"]
    assert start == [{"Sid": "StartExport", "Effect": "Allow", "Action": "states:StartExecution", "Resource": {"Ref": STATE_MACHINE}}]


# ---------------------------------------------------------------- the real ASL in moto's interpreter

FAKE_EXPORT_APP = '''
"""Fake export handlers: the contract's shapes, failing where the event's tenant says."""

SEEN = []


class RetryableExportError(Exception):
    """Retryable (rate limit, 5xx)."""


class AuthenticationError(Exception):
    """Token expired or invalid."""


def plan_handler(event, context):
    SEEN.append(("plan", event))
    if event["tenant"] == "no-plan":
        raise ValueError("export is off")
    days = ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]
    return {"tenant": event["tenant"], "run_id": event["run_id"],
            "chunks": [{"index": i, "start": days[i], "end": days[i + 1]} for i in range(3)]}


def export_chunk_handler(event, context):
    SEEN.append(("chunk", event))
    index = event["chunk"]["index"]
    attempts = sum(1 for kind, e in SEEN if kind == "chunk" and e["chunk"]["index"] == index)
    if event["tenant"] == "flaky" and index == 1 and attempts <= 2:
        raise RetryableExportError("40100 too many requests")
    if event["tenant"] == "expired" and index == 1:
        raise AuthenticationError("40102 access token expired")
    return {"index": index, "sent": 10, "accepted": 9, "rejected": 1, "skipped": 2}


def finalize_handler(event, context):
    SEEN.append(("finalize", event))
    status = "failed" if "error" in event else "succeeded"
    results = event.get("chunk_results") or []
    return {"run_id": event["run_id"], "status": status, "watermark": results[-1]["index"] if results else None}
'''


@pytest.fixture
def fake_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]) -> Iterator[tuple[StepFunctionsBackend, Any]]:
    """The real ASL and the template's wiring, with CodeUri pointed at fake handlers, executed in mock_aws."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    package = f"fake_export_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "app.py").write_text(FAKE_EXPORT_APP)
    fake = copy.deepcopy(template)
    for function, _ in EXPORT_FUNCTIONS.values():
        fake["Resources"][function]["Properties"]["CodeUri"] = f"{package}/"
    fake["Resources"][STATE_MACHINE]["Properties"]["DefinitionUri"] = str(ASL_PATH)
    runtime = LambdaRuntime(tmp_path)
    with mock_aws(config=EXECUTION_CONFIG), StepFunctionsBackend(runtime, fake, STATE_MACHINE, skip_retry_waits=True) as sfn:  # type: ignore[arg-type]
        yield sfn, runtime.load(package, "app.plan_handler").__globals__["SEEN"]


def test_real_asl_runs_every_chunk_in_order_then_finalizes(fake_export: tuple[StepFunctionsBackend, Any]) -> None:
    """Plan -> three chunks in order with {tenant, run_id, chunk} -> Finalize with chunk_results."""
    sfn, seen = fake_export
    result = sfn.run({"tenant": "demo", "run_id": "r1", "from": "2024-02-27T00:00:00Z"})
    assert result.succeeded, result
    assert result.output == {"run_id": "r1", "status": "succeeded", "watermark": 2}
    chunks = [event for kind, event in seen if kind == "chunk"]
    assert [c["chunk"]["index"] for c in chunks] == [0, 1, 2]
    assert chunks[2] == {"tenant": "demo", "run_id": "r1", "chunk": {"index": 2, "start": "2024-02-29", "end": "2024-03-01"}}
    finalize = next(event for kind, event in seen if kind == "finalize")
    assert set(finalize) == {"tenant", "run_id", "chunks", "chunk_results"}
    assert [r["index"] for r in finalize["chunk_results"]] == [0, 1, 2]


def test_real_asl_retries_a_retryable_chunk_with_backoff(fake_export: tuple[StepFunctionsBackend, Any]) -> None:
    """Two RetryableExportErrors on chunk 1: retried after 30 s then 60 s (jittered below that), then the run succeeds."""
    sfn, seen = fake_export
    result = sfn.run({"tenant": "flaky", "run_id": "r2"})
    assert result.succeeded, result
    assert [w.backoff for w in sfn.recorded_waits] == [30.0, 60.0]
    assert all(0 <= w.waited <= w.backoff for w in sfn.recorded_waits)
    assert [e["chunk"]["index"] for kind, e in seen if kind == "chunk"] == [0, 1, 1, 1, 2]


def test_real_asl_stops_on_authentication_error_and_records_it(fake_export: tuple[StepFunctionsBackend, Any]) -> None:
    """AuthenticationError on chunk 1: no retry, chunk 2 never runs, finalize records the error, the execution fails with it."""
    sfn, seen = fake_export
    result = sfn.run({"tenant": "expired", "run_id": "r3"})
    assert (result.status, result.error) == ("FAILED", "AuthenticationError")
    assert json.loads(result.cause or "{}")["errorMessage"] == "40102 access token expired"
    assert sfn.recorded_waits == []
    assert [e["chunk"]["index"] for kind, e in seen if kind == "chunk"] == [0, 1]
    (finalize,) = [event for kind, event in seen if kind == "finalize"]
    assert finalize["error"]["Error"] == "AuthenticationError"
    assert set(finalize) == {"tenant", "run_id", "chunks", "error"}  # no chunk_results: finalize reads the table


def test_real_asl_records_a_failed_plan(fake_export: tuple[StepFunctionsBackend, Any]) -> None:
    """A Plan failure still reaches finalize (so the run is marked failed) with the original input and the error."""
    sfn, seen = fake_export
    result = sfn.run({"tenant": "no-plan", "run_id": "r4"})
    assert (result.status, result.error) == ("FAILED", "ValueError")
    (finalize,) = [event for kind, event in seen if kind == "finalize"]
    assert finalize == {"tenant": "no-plan", "run_id": "r4", "error": finalize["error"]}
    assert re.search("export is off", finalize["error"]["Cause"])
