"""The export state machine run by moto's Step Functions interpreter, with its Lambda tasks calling the real handlers.

What it does (see TOOLING.md, "moto 5.2.5"):

* creates the state machine's Lambda functions in moto (dummy code; names = the template's logical ids) and the
  state machine FROM the template's `DefinitionUri`, every `${Key}` filled from `DefinitionSubstitutions`;
* replaces `moto.awslambda_simple.models.LambdaSimpleBackend.invoke` so each Lambda task of the interpreter runs
  the real handler (`Handler` of the template, e.g. `app.plan_handler`) through `LambdaRuntime`: the JSON result is
  the task's output, a raised exception is a function error whose `errorType` (the exception's class name) is the
  error `Retry` and `Catch` match;
* optionally skips and records `Retry` waits (patches the `time` and `random` that moto's retrier and jitter use).

It runs in-process under `mock_aws(config=EXECUTION_CONFIG)` (tests) or against the local stack's
`ThreadedMotoServer` (pass `endpoint_url`; the interpreter calls Lambda at `localhost:$MOTO_PORT`). Both patches
touch moto internals; `tests/unit/test_step_functions_backend.py` fails loudly when they move.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import random
import re
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any
from unittest import mock

from ordertrail_local import template as tpl
from ordertrail_local.lambda_runtime import REGION, InvocationError, LambdaRuntime
from ordertrail_local.moto_backend import restore_env

log = logging.getLogger("ordertrail_local.step_functions")

STATE_MACHINE = "ExportConversionsStateMachine"
SERVERLESS_STATE_MACHINE = "AWS::Serverless::StateMachine"
DEFAULT_HANDLER = "app.lambda_handler"
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

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_FINISHED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


# ------------------------------------------------------------------------------------------------ template
def placeholders(definition: str) -> set[str]:
    """Every `${Key}` named in a definition text."""
    return set(_PLACEHOLDER.findall(definition))


def fill_placeholders(definition: str, values: Mapping[str, str]) -> str:
    """Replace every `${Key}` with values[Key], as CloudFormation does; a key without a value is an error."""
    missing = placeholders(definition) - set(values)
    if missing:
        raise KeyError(f"DefinitionSubstitutions has no value for {sorted(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), definition)


def _properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """One resource's properties (KeyError naming the id when it is not in the template)."""
    try:
        return dict(template["Resources"][logical_id].get("Properties") or {})
    except KeyError:
        raise KeyError(f"template has no resource {logical_id!r}") from None


def definition_path(template: Mapping[str, Any], state_machine: str = STATE_MACHINE, root: Path | None = None) -> Path:
    """The state machine's DefinitionUri as a path (relative ones resolved against root, default the repository)."""
    uri = _properties(template, state_machine).get("DefinitionUri")
    if not isinstance(uri, str):
        raise TypeError(f"{state_machine} has no local DefinitionUri (a file path)")
    path = Path(uri)
    return path if path.is_absolute() else (root or tpl.repo_root()) / path


def substitution_targets(template: Mapping[str, Any], state_machine: str = STATE_MACHINE) -> dict[str, str]:
    """DefinitionSubstitutions as key -> the logical id of the function whose ARN it is (!GetAtt X.Arn or !Ref X)."""
    targets: dict[str, str] = {}
    for key, value in (_properties(template, state_machine).get("DefinitionSubstitutions") or {}).items():
        logical_id: str | None = None
        if isinstance(value, dict):
            get_att = value.get("Fn::GetAtt")
            if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn":
                logical_id = str(get_att[0])
            elif isinstance(value.get("Ref"), str):
                logical_id = str(value["Ref"])
        if logical_id is None or template["Resources"].get(logical_id, {}).get("Type") != tpl.SERVERLESS_FUNCTION:
            raise ValueError(f"{state_machine}: substitution {key!r} is not the ARN of a function of the template: {value!r}")
        targets[str(key)] = logical_id
    return targets


def function_handler(template: Mapping[str, Any], function: str) -> str:
    """A function's Handler (its own, else Globals.Function's, else app.lambda_handler)."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    return str(_properties(template, function).get("Handler") or globals_.get("Handler") or DEFAULT_HANDLER)


def function_code_dir(template: Mapping[str, Any], function: str) -> str:
    """A function's CodeUri as a directory without a trailing slash."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    code_uri = _properties(template, function).get("CodeUri", globals_.get("CodeUri"))
    if not isinstance(code_uri, str):
        raise TypeError(f"{function} has no local CodeUri (a directory path)")
    return code_uri.rstrip("/")


def function_name_of(function_name_or_arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`, `<name>:<qualifier>` or `<name>` -> `<name>`."""
    if function_name_or_arn.startswith("arn:"):
        return function_name_or_arn.split(":")[6]
    return function_name_or_arn.split(":")[0]


# ------------------------------------------------------------------------------------------------ retry waits
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
        retrier = _import_internal(RETRIER_MODULE, "time")
        jitter = _import_internal(JITTER_MODULE, "random")
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


def _import_internal(module_name: str, attribute: str) -> ModuleType:
    """Import a moto module and check it still has the attribute patched here (fail loudly if moto moved it)."""
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        raise RuntimeError(f"moto internals moved: {module_name} has no {attribute!r}; update ordertrail_local.step_functions")
    return module


# ------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class LambdaTarget:
    """A function of the template as the interpreter invokes it."""

    name: str
    code_dir: str
    handler: str
    arn: str = ""


@dataclass(frozen=True)
class Invocation:
    """One task invocation the interpreter made: which function, its event, and its result or error type."""

    function: str
    event: Any
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None


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


# ------------------------------------------------------------------------------------------------ backend
_ACTIVE_LOCK = threading.Lock()
_ACTIVE: list[StepFunctionsBackend] = []


class StepFunctionsBackend:
    """The template's state machine in moto, executed by moto's interpreter with the real handlers.

    Use `with StepFunctionsBackend(runtime, template) as sfn:` (or `start()`/`stop()`), then
    `arn = sfn.start_execution(name, {...})` and `sfn.wait(arn)`, or `sfn.run({...})` for both.
    """

    def __init__(
        self,
        runtime: LambdaRuntime,
        template: Mapping[str, Any],
        state_machine: str = STATE_MACHINE,
        *,
        root: Path | None = None,
        endpoint_url: str | None = None,
        skip_retry_waits: bool = False,
        quiet_interpreter: bool = True,
        region: str = REGION,
    ) -> None:
        """Describe the backend; nothing is created or patched before start().

        runtime: loads and invokes the handlers (its root is where CodeUri directories live).
        template: the parsed template holding the state machine and its functions.
        root: where a relative DefinitionUri is resolved (default: the runtime's root).
        endpoint_url: a moto server in this process (the local stack); None means in-process `mock_aws`.
        skip_retry_waits: skip Retry sleeps and record them in `recorded_waits`.
        quiet_interpreter: silence moto's ERROR log line for every handled task failure.
        """
        self.runtime = runtime
        self.template = template
        self.state_machine = state_machine
        self.root = Path(root) if root is not None else runtime.root
        self.endpoint_url = endpoint_url
        self.skip_retry_waits = skip_retry_waits
        self.quiet_interpreter = quiet_interpreter
        self.region = region
        self.state_machine_arn = ""
        self.functions: dict[str, LambdaTarget] = {}
        self.invocations: list[Invocation] = []
        self.recorder: RetryWaitRecorder | None = None
        self._invocations_lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> StepFunctionsBackend:
        """Configure moto, install the patches, create the functions and the state machine; idempotent."""
        if self._started:
            return self
        self.functions, self.state_machine_arn = {}, ""  # a restart creates them again (moto may have been reset)
        try:
            self._claim()
            self._configure_moto()
            self._patch_invoke()
            if self.skip_retry_waits:
                self.recorder = RetryWaitRecorder().start()
                self._undo.append(self.recorder.stop)
            if self.quiet_interpreter:
                self._quiet_interpreter()
            self._create_resources()
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        """Undo everything start() did, in reverse (patches removed, moto's config and MOTO_PORT restored)."""
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:  # one failed undo must not leave the other patches in place
                log.exception("could not undo a Step Functions backend change")
        self._started = False

    def __enter__(self) -> StepFunctionsBackend:
        """Start on entering the block."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop on leaving it."""
        self.stop()

    @property
    def recorded_waits(self) -> list[RetryWait]:
        """Retry waits skipped so far (empty unless skip_retry_waits)."""
        return list(self.recorder.waits) if self.recorder is not None else []

    @property
    def function_arns(self) -> dict[str, str]:
        """ARN of each created function by logical id."""
        return {name: target.arn for name, target in self.functions.items()}

    def _claim(self) -> None:
        """Only one backend may own the process-wide invoke patch at a time."""
        with _ACTIVE_LOCK:
            if _ACTIVE:
                raise RuntimeError("another StepFunctionsBackend is active in this process; stop it first")
            _ACTIVE.append(self)

        def release() -> None:
            with _ACTIVE_LOCK:
                if self in _ACTIVE:
                    _ACTIVE.remove(self)

        self._undo.append(release)

    def _configure_moto(self) -> None:
        """Turn on definition execution and the Docker-free Lambda backend (through the server's config API when serving)."""
        if self.endpoint_url is None:
            from moto.core.config import default_user_config

            patch = mock.patch.dict(default_user_config, {key: dict(value) for key, value in EXECUTION_CONFIG.items()})
            patch.start()
            self._undo.append(patch.stop)
            return
        # The server runs in this process (the invoke patch needs that), so its current config is readable here;
        # moto's GET /moto-api/config does not report "stepfunctions".
        from moto.core.config import default_user_config

        current: dict[str, Any] = dict(default_user_config)
        previous = {key: dict(current.get(key) or {}) for key in EXECUTION_CONFIG}
        self._moto_config(dict(EXECUTION_CONFIG))

        def restore_config() -> None:
            self._moto_config(previous)

        self._undo.append(restore_config)
        # The interpreter reaches Lambda at localhost:$MOTO_PORT (moto.settings.moto_server_port()).
        port = str(self.endpoint_url.rstrip("/").rsplit(":", 1)[1])
        saved = {"MOTO_PORT": os.environ.get("MOTO_PORT")}
        if saved["MOTO_PORT"] != port:
            os.environ["MOTO_PORT"] = port
            self._undo.append(lambda: restore_env(saved))

    def _moto_config(self, config: dict[str, Any]) -> None:
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

    def _patch_invoke(self) -> None:
        """Replace LambdaSimpleBackend.invoke with one that runs our functions' real handlers."""
        module = _import_internal(LAMBDA_BACKEND_MODULE, LAMBDA_BACKEND_CLASS)
        backend_class = getattr(module, LAMBDA_BACKEND_CLASS)
        original = backend_class.__dict__.get("invoke")
        if not callable(original):
            raise RuntimeError(f"moto internals moved: {LAMBDA_BACKEND_MODULE}.{LAMBDA_BACKEND_CLASS} defines no invoke()")
        backend = self

        def invoke(lambda_backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any) -> Any:
            target = backend.functions.get(function_name_of(str(function_name)))
            if target is None:  # not one of ours: moto's own canned behaviour
                return original(lambda_backend, function_name, qualifier, body, headers, response_headers)
            return backend._invoke(target, body, response_headers)

        patch = mock.patch.object(backend_class, "invoke", invoke)
        patch.start()
        self._undo.append(patch.stop)

    def _quiet_interpreter(self) -> None:
        """Silence the interpreter's per-failure ERROR lines (failures still show in the execution's result and history)."""
        logger = logging.getLogger(INTERPRETER_LOGGER)
        level = logger.level
        logger.setLevel(logging.CRITICAL)
        self._undo.append(lambda: logger.setLevel(level))

    def _create_resources(self) -> None:
        """Create the role, the functions the definition names and the state machine with its substitutions filled."""
        iam, lambda_client, sfn = self.client("iam"), self.client("lambda"), self.client("stepfunctions")
        role_arn = self._role(iam)
        targets = substitution_targets(self.template, self.state_machine)
        values: dict[str, str] = {}
        for key, logical_id in targets.items():
            if logical_id not in self.functions:
                target = LambdaTarget(logical_id, function_code_dir(self.template, logical_id), function_handler(self.template, logical_id))
                created = lambda_client.create_function(
                    FunctionName=logical_id,
                    Runtime=LAMBDA_RUNTIME,
                    Role=role_arn,
                    Handler=target.handler,
                    Code={"ZipFile": _dummy_zip()},
                    Architectures=["arm64"],
                )
                self.functions[logical_id] = LambdaTarget(target.name, target.code_dir, target.handler, str(created["FunctionArn"]))
            values[key] = self.functions[logical_id].arn
        definition = fill_placeholders(definition_path(self.template, self.state_machine, self.root).read_text(encoding="utf-8"), values)
        created_sm = sfn.create_state_machine(name=self.state_machine, definition=definition, roleArn=role_arn, type="STANDARD")
        self.state_machine_arn = str(created_sm["stateMachineArn"])

    def _role(self, iam: Any) -> str:
        """The role the functions and the state machine name (moto checks that a function's role exists)."""
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

    def _invoke(self, target: LambdaTarget, body: Any, response_headers: Any) -> bytes:
        """Run one task through the real handler: its JSON result, or a function error named after the exception."""
        raw = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
        event = json.loads(raw) if raw else {}
        try:
            result = self.runtime.invoke(target.name, target.code_dir, event, target.handler)
        except InvocationError as exc:
            self._note(Invocation(target.name, event, error_type=exc.error_type, error_message=str(exc.error)))
            return _function_error(response_headers, exc.error_type, str(exc.error))
        try:
            payload = json.dumps(result)
        except (TypeError, ValueError) as exc:  # Lambda's runtime cannot serialise it either
            self._note(Invocation(target.name, event, error_type="Runtime.MarshalError", error_message=str(exc)))
            return _function_error(response_headers, "Runtime.MarshalError", f"Unable to marshal response: {exc}")
        self._note(Invocation(target.name, event, result=result))
        return payload.encode("utf-8")

    def _note(self, invocation: Invocation) -> None:
        """Keep one invocation for inspection."""
        with self._invocations_lock:
            self.invocations.append(invocation)

    # -- clients and executions ------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for moto (the server when endpoint_url is set, else whatever mock_aws intercepts)."""
        import boto3

        kwargs: dict[str, Any] = {"region_name": self.region}
        if self.endpoint_url is not None:
            kwargs.update(endpoint_url=self.endpoint_url, aws_access_key_id="testing", aws_secret_access_key="testing")
        return boto3.client(service, **kwargs)

    def start_execution(self, name: str | None = None, input: Mapping[str, Any] | None = None) -> str:
        """Start an execution of the state machine (name default: a fresh uuid); return its ARN."""
        if not self._started:
            raise RuntimeError("the Step Functions backend is not started")
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name=name or str(uuid.uuid4()), input=json.dumps(dict(input or {}))
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
            if result.status in _FINISHED:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"execution {execution_arn} still {result.status} after {timeout:.0f} s")
            time.sleep(poll)

    def run(self, input: Mapping[str, Any], name: str | None = None, timeout: float = 600.0) -> ExecutionResult:
        """Start an execution and wait for it."""
        return self.wait(self.start_execution(name, input), timeout)

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


def _function_error(response_headers: Any, error_type: str, message: str) -> bytes:
    """A function error as Lambda reports it: the x-amz-function-error header and an errorType/errorMessage body."""
    response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": []}).encode("utf-8")


def _dummy_zip() -> bytes:
    """A deployment package for create_function (never run: the patched invoke calls the real handler)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    raise RuntimeError('not run: see step_functions.py')\n")
    return buffer.getvalue()


@contextmanager
def executing_state_machine(
    runtime: LambdaRuntime, template: Mapping[str, Any], state_machine: str = STATE_MACHINE, **kwargs: Any
) -> Iterator[StepFunctionsBackend]:
    """A started StepFunctionsBackend for a `with` block, stopped (patches removed) when the block ends."""
    backend = StepFunctionsBackend(runtime, template, state_machine, **kwargs)
    with backend:
        yield backend


__all__ = [
    "EXECUTION_CONFIG",
    "STATE_MACHINE",
    "ExecutionResult",
    "Invocation",
    "LambdaTarget",
    "RetryWait",
    "RetryWaitRecorder",
    "StepFunctionsBackend",
    "definition_path",
    "executing_state_machine",
    "fill_placeholders",
    "function_code_dir",
    "function_handler",
    "function_name_of",
    "placeholders",
    "substitution_targets",
]
