"""The bridge to moto's Step Functions: switching execution on, the internals patched, registering and running executions.

What it does (moto 5.2.5):

* turns on definition execution and the Docker-free Lambda backend (`EXECUTION_CONFIG`), in-process under
  `mock_aws(config=EXECUTION_CONFIG)` or on the local stack's `ThreadedMotoServer` (the interpreter then calls Lambda at
  `localhost:$MOTO_PORT`);
* registers a role, the task functions (dummy code; the names are the template's logical ids) and a state machine;
* replaces `moto.awslambda_simple.models.LambdaSimpleBackend.invoke` so each Lambda task the interpreter runs is
  answered by a caller-given runner: its JSON payload is the task's output, a function error's `errorType` is the error
  `Retry` and `Catch` match;
* optionally skips and records `Retry` waits (patches the `time` and `random` that moto's retrier and jitter use).

The patches touch moto internals; `tests/unit/test_step_functions_backend.py` fails loudly when they move.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import random
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from unittest import mock

from ordertrail_local.lambda_runtime import REGION
from ordertrail_local.moto_backend import restore_env

LAMBDA_RUNTIME = "python3.13"
ROLE_NAME = "ordertrail-local-step-functions"

# moto's switches for executing definitions with the Docker-free Lambda backend.
EXECUTION_CONFIG: dict[str, dict[str, bool]] = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

# The moto internals patched here (checked by the guard test).
LAMBDA_BACKEND_MODULE = "moto.awslambda_simple.models"
LAMBDA_BACKEND_CLASS = "LambdaSimpleBackend"
RETRIER_MODULE = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"
JITTER_MODULE = "moto.stepfunctions.parser.asl.component.common.retry.jitter_strategy_decl"
# Logs every handled task failure (each retried or caught error) at ERROR with the whole state tree.
INTERPRETER_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"

FINISHED_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

Undo = Callable[[], None]


# ------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class TaskResult:
    """A Lambda task's answer to the interpreter: the JSON payload, or a function error (its type and message)."""

    payload: bytes = b""
    error_type: str | None = None
    error_message: str = ""


@dataclass(frozen=True)
class ExecutionResult:
    """An execution once it finished: status, parsed output, and error/cause when it failed."""

    arn: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    description: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """True when the execution ended SUCCEEDED."""
        return self.status == "SUCCEEDED"


def function_name_of(function_name_or_arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`, `<name>:<qualifier>` or `<name>` -> `<name>`."""
    if function_name_or_arn.startswith("arn:"):
        return function_name_or_arn.split(":")[6]
    return function_name_or_arn.split(":")[0]


# ------------------------------------------------------------------------------------------------ moto internals
def import_internal(module_name: str, attribute: str) -> ModuleType:
    """Import a moto module and check it still has the attribute patched here (fail loudly if moto moved it)."""
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        raise RuntimeError(f"moto internals moved: {module_name} has no {attribute!r}; update ordertrail_local.moto_step_functions")
    return module


def patch_lambda_invoke(owns: Callable[[str], bool], run: Callable[[str, Any], TaskResult]) -> Undo:
    """Replace LambdaSimpleBackend.invoke: a function `owns` names is answered by `run(name, event)`, any other by moto.

    Returns what removes the patch.
    """
    module = import_internal(LAMBDA_BACKEND_MODULE, LAMBDA_BACKEND_CLASS)
    backend_class = getattr(module, LAMBDA_BACKEND_CLASS)
    original = backend_class.__dict__.get("invoke")
    if not callable(original):
        raise RuntimeError(f"moto internals moved: {LAMBDA_BACKEND_MODULE}.{LAMBDA_BACKEND_CLASS} defines no invoke()")

    def invoke(lambda_backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any) -> Any:
        name = function_name_of(str(function_name))
        if not owns(name):  # not one of ours: moto's own canned behaviour
            return original(lambda_backend, function_name, qualifier, body, headers, response_headers)
        raw = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
        result = run(name, json.loads(raw) if raw else {})
        if result.error_type is None:
            return result.payload
        return function_error(response_headers, result.error_type, result.error_message)

    patch = mock.patch.object(backend_class, "invoke", invoke)
    patch.start()
    return patch.stop


def function_error(response_headers: Any, error_type: str, message: str) -> bytes:
    """A function error as Lambda reports it: the x-amz-function-error header and an errorType/errorMessage body."""
    response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": []}).encode("utf-8")


def quiet_interpreter() -> Undo:
    """Silence the interpreter's per-failure ERROR lines (failures still show in the execution's result and history)."""
    logger = logging.getLogger(INTERPRETER_LOGGER)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    return lambda: logger.setLevel(level)


@dataclass(frozen=True)
class RetryWait:
    """One Retry wait of the interpreter: the backoff interval (before jitter) and what it would have slept."""

    backoff: float
    waited: float


class RetryWaitRecorder:
    """Skips the interpreter's Retry sleeps and records them (patches `time` and `random` in moto's retry modules).

    `waits` lists every wait in order; with `"JitterStrategy": "FULL"` `backoff` is the deterministic interval
    (IntervalSeconds x BackoffRate^n, capped by MaxDelaySeconds) and `waited` the jittered value in [0, backoff].
    """

    def __init__(self) -> None:
        self.waits: list[RetryWait] = []
        self._lock = threading.Lock()
        self._pending = threading.local()
        self._patches: list[Any] = []

    def start(self) -> RetryWaitRecorder:
        """Install the patches."""
        retrier = import_internal(RETRIER_MODULE, "time")
        jitter = import_internal(JITTER_MODULE, "random")
        recorder = self

        class _Time:
            """`time` for the retrier: sleep records instead of sleeping; everything else is the real module."""

            def __getattr__(self, name: str) -> Any:
                return getattr(time, name)

            @staticmethod
            def sleep(seconds: float) -> None:
                recorder._record(float(seconds))

        class _Random:
            """`random` for the jitter step: notes the interval it jitters, then jitters as moto would."""

            def __getattr__(self, name: str) -> Any:
                return getattr(random, name)

            @staticmethod
            def uniform(low: float, high: float) -> float:
                recorder._pending.backoff = float(high)
                return random.uniform(low, high)  # noqa: S311 -- retry jitter, not cryptography

        self._patches = [mock.patch.object(retrier, "time", _Time()), mock.patch.object(jitter, "random", _Random())]
        for patch in self._patches:
            patch.start()
        return self

    def stop(self) -> None:
        """Remove the patches."""
        for patch in reversed(self._patches):
            patch.stop()
        self._patches = []

    def _record(self, waited: float) -> None:
        """One skipped sleep (with the backoff the jitter step saw on this thread, else the wait itself)."""
        backoff = getattr(self._pending, "backoff", None)
        self._pending.backoff = None
        with self._lock:
            self.waits.append(RetryWait(backoff if backoff is not None else waited, waited))


# ------------------------------------------------------------------------------------------------ moto's API
class MotoStepFunctions:
    """moto's Step Functions (and the Lambda and IAM it needs), in-process under mock_aws or on a server in this process."""

    def __init__(self, endpoint_url: str | None = None, region: str = REGION) -> None:
        """endpoint_url: a moto server in this process (the local stack); None means in-process `mock_aws`."""
        self.endpoint_url = endpoint_url
        self.region = region

    def client(self, service: str) -> Any:
        """A boto3 client for moto (the server when endpoint_url is set, else whatever mock_aws intercepts)."""
        import boto3

        kwargs: dict[str, Any] = {"region_name": self.region}
        if self.endpoint_url is not None:
            kwargs.update(endpoint_url=self.endpoint_url, aws_access_key_id="testing", aws_secret_access_key="testing")
        return boto3.client(service, **kwargs)

    # -- execution switches ----------------------------------------------------------------------------
    def enable_execution(self) -> list[Undo]:
        """Turn on definition execution and the Docker-free Lambda backend (through the server's config API when serving).

        Returns what undoes each change, in the order made.
        """
        from moto.core.config import default_user_config

        if self.endpoint_url is None:
            patch = mock.patch.dict(default_user_config, {key: dict(value) for key, value in EXECUTION_CONFIG.items()})
            patch.start()
            return [patch.stop]
        # The server runs in this process (the invoke patch needs that), so its current config is readable here;
        # moto's GET /moto-api/config does not report "stepfunctions".
        current: dict[str, Any] = dict(default_user_config)
        previous = {key: dict(current.get(key) or {}) for key in EXECUTION_CONFIG}
        self._post_config(dict(EXECUTION_CONFIG))
        undo: list[Undo] = [lambda: self._post_config(previous)]
        # The interpreter reaches Lambda at localhost:$MOTO_PORT (moto.settings.moto_server_port()).
        port = str(self.endpoint_url.rstrip("/").rsplit(":", 1)[1])
        saved = {"MOTO_PORT": os.environ.get("MOTO_PORT")}
        if saved["MOTO_PORT"] != port:
            os.environ["MOTO_PORT"] = port
            undo.append(lambda: restore_env(saved))
        return undo

    def _post_config(self, config: dict[str, Any]) -> None:
        """POST a config to the server's /moto-api/config (moto's public way to switch these on in server mode)."""
        assert self.endpoint_url is not None
        request = urllib.request.Request(  # noqa: S310 -- loopback moto server
            f"{self.endpoint_url.rstrip('/')}/moto-api/config",
            data=json.dumps(config).encode("utf-8"),
            method="POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 -- loopback moto server
            response.read()

    # -- registering -----------------------------------------------------------------------------------
    def role(self) -> str:
        """The role the functions and the state machine name (moto checks that a function's role exists); its ARN."""
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        try:
            return str(iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
        except iam.exceptions.EntityAlreadyExistsException:
            return str(iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"])

    def create_functions(self, handlers: Mapping[str, str], role_arn: str) -> dict[str, str]:
        """Create task functions (name -> Handler) with dummy code (the patched invoke answers for them); ARN by name."""
        lambda_client = self.client("lambda")
        arns: dict[str, str] = {}
        for name, handler in handlers.items():
            created = lambda_client.create_function(
                FunctionName=name,
                Runtime=LAMBDA_RUNTIME,
                Role=role_arn,
                Handler=handler,
                Code={"ZipFile": _dummy_zip()},
                Architectures=["arm64"],
            )
            arns[name] = str(created["FunctionArn"])
        return arns

    def create_state_machine(self, name: str, definition: str, role_arn: str) -> str:
        """Create a STANDARD state machine from a definition text; its ARN."""
        created = self.client("stepfunctions").create_state_machine(name=name, definition=definition, roleArn=role_arn, type="STANDARD")
        return str(created["stateMachineArn"])

    # -- executions ------------------------------------------------------------------------------------
    def start_execution(self, state_machine_arn: str, name: str | None = None, input: Mapping[str, Any] | None = None) -> str:
        """Start an execution (name default: a fresh uuid); return its ARN."""
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name or str(uuid.uuid4()), input=json.dumps(dict(input or {}))
        )
        return str(response["executionArn"])

    def describe(self, execution_arn: str) -> ExecutionResult:
        """The execution as it is now (status may still be RUNNING)."""
        description = dict(self.client("stepfunctions").describe_execution(executionArn=execution_arn))
        output = description.get("output")
        return ExecutionResult(
            arn=execution_arn,
            status=str(description["status"]),
            output=json.loads(output) if isinstance(output, str) and output else None,
            error=description.get("error"),
            cause=description.get("cause"),
            description=description,
        )

    def wait(self, execution_arn: str, timeout: float = 600.0, poll: float = 0.02) -> ExecutionResult:
        """Poll until the execution finishes; TimeoutError (with the last status) when it takes longer than timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.describe(execution_arn)
            if result.status in FINISHED_STATUSES:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"execution {execution_arn} still {result.status} after {timeout:.0f} s")
            time.sleep(poll)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events, oldest first."""
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]


def _dummy_zip() -> bytes:
    """A deployment package for create_function (never run: the patched invoke answers instead)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    raise RuntimeError('not run: see moto_step_functions.py')\n")
    return buffer.getvalue()


__all__ = [
    "EXECUTION_CONFIG",
    "ExecutionResult",
    "MotoStepFunctions",
    "RetryWait",
    "RetryWaitRecorder",
    "TaskResult",
    "function_error",
    "function_name_of",
    "import_internal",
    "patch_lambda_invoke",
    "quiet_interpreter",
]
