"""Guard for the moto internals the local Step Functions backend patches, with fake handlers in a temporary package.

If moto moves `LambdaSimpleBackend.invoke` or the `time`/`random` its retrier and jitter use, these fail first and
say where, instead of the export tests failing obscurely.
"""

from __future__ import annotations

import inspect
import json
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from ordertrail_local import moto_step_functions as sf
from ordertrail_local.lambda_runtime import LambdaRuntime
from ordertrail_local.moto_step_functions import EXECUTION_CONFIG, function_name_of
from ordertrail_local.state_machine_template import fill_placeholders
from ordertrail_local.step_functions import StepFunctionsBackend

FAKE_APP = '''
"""Fake handlers: fail as the event says, a given number of times per key, then succeed."""

ATTEMPTS = {}


class RetryableExportError(Exception):
    """Stands in for the export's retryable error."""


class AuthenticationError(Exception):
    """Stands in for the export's authentication error."""


def work(event, context):
    key = event.get("key", "default")
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] <= event.get("fail_times", 0):
        error = {"retryable": RetryableExportError, "auth": AuthenticationError, "other": ValueError}[event["error"]]
        raise error(f"attempt {ATTEMPTS[key]}")
    if event.get("unserialisable"):
        return {"when": object()}
    return {"key": key, "attempts": ATTEMPTS[key], "context_name": context.function_name}


def record(event, context):
    return {"recorded": event.get("error", {}).get("Error")}
'''

DEFINITION = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "${WorkArn}",
            "Retry": [
                {"ErrorEquals": ["RetryableExportError"], "IntervalSeconds": 3, "BackoffRate": 2.0, "MaxAttempts": 3, "MaxDelaySeconds": 10}
            ],
            "Catch": [
                {"ErrorEquals": ["AuthenticationError"], "ResultPath": "$.error", "Next": "Record"},
            ],
            "End": True,
        },
        "Record": {"Type": "Task", "Resource": "${RecordArn}", "ResultPath": "$.recorded", "Next": "Failed"},
        "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    },
}


@pytest.fixture
def offline(aws_env: None) -> Iterator[None]:
    """The shared offline environment, and moto with definition execution and Docker-free Lambda."""
    with mock_aws(config=EXECUTION_CONFIG):  # type: ignore[arg-type]
        yield


def _fake_project(tmp_path: Path, definition: dict[str, Any], jitter: bool = False) -> tuple[LambdaRuntime, dict[str, Any]]:
    """A temporary package of fake handlers (a unique name: imported modules are cached) and a template naming them."""
    package = f"fake_sfn_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "app.py").write_text(FAKE_APP)
    if jitter:
        definition = json.loads(json.dumps(definition))
        definition["States"]["Work"]["Retry"][0]["JitterStrategy"] = "FULL"
    (tmp_path / "machine.asl.json").write_text(json.dumps(definition))
    template = {
        "Globals": {"Function": {"Handler": "app.lambda_handler"}},
        "Resources": {
            "WorkFunction": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": f"{package}/", "Handler": "app.work"}},
            "RecordFunction": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": f"{package}/", "Handler": "app.record"}},
            "Machine": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {
                    "DefinitionUri": "machine.asl.json",
                    "DefinitionSubstitutions": {
                        "WorkArn": {"Fn::GetAtt": ["WorkFunction", "Arn"]},
                        "RecordArn": {"Fn::GetAtt": ["RecordFunction", "Arn"]},
                    },
                },
            },
        },
    }
    return LambdaRuntime(tmp_path), template


# ---------------------------------------------------------------- the internals themselves


def test_patched_moto_internals_are_where_the_backend_expects_them() -> None:
    """LambdaSimpleBackend defines invoke; the retrier sleeps with its module's `time`; the jitter uses its `random`."""
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl, retrier_decl

    assert "invoke" in LambdaSimpleBackend.__dict__
    assert list(inspect.signature(LambdaSimpleBackend.invoke).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    assert retrier_decl.time is time and "time.sleep(" in inspect.getsource(retrier_decl)
    assert jitter_strategy_decl.random is random and "random.uniform(" in inspect.getsource(jitter_strategy_decl)
    assert sf.RETRIER_MODULE == retrier_decl.__name__ and sf.JITTER_MODULE == jitter_strategy_decl.__name__


# ---------------------------------------------------------------- behaviour through the interpreter


def test_retryable_error_is_retried_with_recorded_backoff(offline: None, tmp_path: Path) -> None:
    """A task raising RetryableExportError twice is retried (waits 3 then 6, not slept), then succeeds."""
    runtime, template = _fake_project(tmp_path, DEFINITION)
    started = time.monotonic()
    with StepFunctionsBackend(runtime, template, "Machine", skip_retry_waits=True) as sfn:
        result = sfn.run({"key": "retry", "fail_times": 2, "error": "retryable"})
        waits = sfn.recorded_waits
        invocations = list(sfn.invocations)
    assert result.succeeded, result
    assert result.output == {"key": "retry", "attempts": 3, "context_name": "WorkFunction"}
    assert [(w.backoff, w.waited) for w in waits] == [(3.0, 3.0), (6.0, 6.0)]
    assert [i.error_type for i in invocations] == ["RetryableExportError", "RetryableExportError", None]
    assert time.monotonic() - started < 5, "retry waits must be skipped, not slept"


def test_full_jitter_waits_stay_within_the_recorded_backoff(offline: None, tmp_path: Path) -> None:
    """With JitterStrategy FULL the deterministic backoff is recorded and each wait lies in [0, backoff]."""
    runtime, template = _fake_project(tmp_path, DEFINITION, jitter=True)
    with StepFunctionsBackend(runtime, template, "Machine", skip_retry_waits=True) as sfn:
        result = sfn.run({"key": "jitter", "fail_times": 2, "error": "retryable"})
        waits = sfn.recorded_waits
    assert result.succeeded, result
    assert [w.backoff for w in waits] == [3.0, 6.0]
    assert all(0 <= w.waited <= w.backoff for w in waits)


def test_retries_exhausted_fail_the_execution_with_the_exception_name(offline: None, tmp_path: Path) -> None:
    """After MaxAttempts the error (the exception's class name) and Lambda's error body reach the execution."""
    runtime, template = _fake_project(tmp_path, DEFINITION)
    with StepFunctionsBackend(runtime, template, "Machine", skip_retry_waits=True) as sfn:
        result = sfn.run({"key": "exhausted", "fail_times": 10, "error": "retryable"})
        waits = sfn.recorded_waits
    assert result.status == "FAILED"
    assert result.error == "RetryableExportError"
    assert json.loads(result.cause or "{}")["errorMessage"] == "attempt 4"
    assert [w.backoff for w in waits] == [3.0, 6.0, 10.0]  # 12 capped by MaxDelaySeconds


def test_catch_on_authentication_error_fires(offline: None, tmp_path: Path) -> None:
    """AuthenticationError is not retried; the Catch records it and the Fail state reports it."""
    runtime, template = _fake_project(tmp_path, DEFINITION)
    with StepFunctionsBackend(runtime, template, "Machine", skip_retry_waits=True) as sfn:
        result = sfn.run({"key": "auth", "fail_times": 1, "error": "auth"})
        waits = sfn.recorded_waits
        invocations = [(i.function, i.error_type) for i in sfn.invocations]
    assert result.status == "FAILED"
    assert result.error == "AuthenticationError"
    assert json.loads(result.cause or "{}") == {"errorType": "AuthenticationError", "errorMessage": "attempt 1", "stackTrace": []}
    assert waits == []
    assert invocations == [("WorkFunction", "AuthenticationError"), ("RecordFunction", None)]


def test_uncaught_error_and_unserialisable_result(offline: None, tmp_path: Path) -> None:
    """Any other exception fails the task by its name; a result JSON cannot hold is Lambda's Runtime.MarshalError."""
    runtime, template = _fake_project(tmp_path, DEFINITION)
    with StepFunctionsBackend(runtime, template, "Machine", skip_retry_waits=True) as sfn:
        other = sfn.run({"key": "other", "fail_times": 1, "error": "other"})
        marshal = sfn.run({"key": "marshal", "unserialisable": True})
    assert (other.status, other.error) == ("FAILED", "ValueError")
    assert (marshal.status, marshal.error) == ("FAILED", "Runtime.MarshalError")


def test_stop_removes_every_patch(offline: None, tmp_path: Path) -> None:
    """After the block, moto's invoke, time and random are the originals again, and a second backend may start."""
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl, retrier_decl

    original = LambdaSimpleBackend.__dict__["invoke"]
    runtime, template = _fake_project(tmp_path, DEFINITION)
    with StepFunctionsBackend(runtime, template, "Machine", skip_retry_waits=True) as sfn:
        assert LambdaSimpleBackend.__dict__["invoke"] is not original
        assert retrier_decl.time is not time
        with pytest.raises(RuntimeError, match="another StepFunctionsBackend"):
            StepFunctionsBackend(runtime, template, "Machine").start()
        assert sfn.function_arns["WorkFunction"].endswith(":function:WorkFunction")
    assert LambdaSimpleBackend.__dict__["invoke"] is original
    assert retrier_decl.time is time and jitter_strategy_decl.random is random


def test_missing_substitution_fails_start(offline: None, tmp_path: Path) -> None:
    """A ${Key} the template does not substitute stops start() (and leaves nothing patched)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.__dict__["invoke"]
    definition = json.loads(json.dumps(DEFINITION))
    definition["States"]["Record"]["Resource"] = "${MissingArn}"
    runtime, template = _fake_project(tmp_path, definition)
    with pytest.raises(KeyError, match="MissingArn"):
        StepFunctionsBackend(runtime, template, "Machine").start()
    assert LambdaSimpleBackend.__dict__["invoke"] is original


def test_placeholder_helpers() -> None:
    """fill_placeholders substitutes every key and names the missing ones; ARNs resolve to function names."""
    assert fill_placeholders('{"R": "${A}", "S": "${B}"}', {"A": "a", "B": "b"}) == '{"R": "a", "S": "b"}'
    with pytest.raises(KeyError, match=r"\['B'\]"):
        fill_placeholders("${A} ${B}", {"A": "a"})
    assert function_name_of("arn:aws:lambda:us-east-1:123456789012:function:Plan") == "Plan"
    assert function_name_of("arn:aws:lambda:us-east-1:123456789012:function:Plan:live") == "Plan"
    assert function_name_of("Plan:live") == "Plan"
