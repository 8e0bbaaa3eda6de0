"""StepFunctionsBackend: the template's state machines executed by moto's interpreter, each Lambda task by the real handler.

The state machines (every AWS::Serverless::StateMachine, or the ones named) and their task functions come from
template.yaml (`state_machine_template`); moto registers and
executes them (`moto_step_functions`); here each task the interpreter invokes runs the function's `Handler` (e.g.
`app.plan_handler`) through `LambdaRuntime`: the JSON result is the task's output, a raised exception is a function
error whose `errorType` (the exception's class name) is the error `Retry` and `Catch` match.

It runs in-process under `mock_aws(config=EXECUTION_CONFIG)` (tests) or against the local stack's `ThreadedMotoServer`
(pass `endpoint_url`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ordertrail_local import template as tpl
from ordertrail_local.lambda_runtime import REGION, InvocationError, LambdaRuntime
from ordertrail_local.moto_step_functions import (
    ExecutionResult,
    MotoStepFunctions,
    RetryWait,
    RetryWaitRecorder,
    TaskResult,
    patch_lambda_invoke,
    quiet_interpreter,
)
from ordertrail_local.state_machine_template import STATE_MACHINE, filled_definition, state_machines_of, substitution_targets

log = logging.getLogger("ordertrail_local.step_functions")


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


_ACTIVE_LOCK = threading.Lock()
_ACTIVE: list[StepFunctionsBackend] = []


class StepFunctionsBackend:
    """The template's state machines in moto, executed by moto's interpreter with the real handlers.

    Use `with StepFunctionsBackend(runtime, template) as sfn:` (or `start()`/`stop()`), then
    `arn = sfn.start_execution(name, {...})` and `sfn.wait(arn)`, or `sfn.run({...})` for both; each takes the state
    machine's logical id (default: the first, the export's when the template has it).
    """

    def __init__(
        self,
        runtime: LambdaRuntime,
        template: Mapping[str, Any],
        state_machines: str | Sequence[str] | None = None,
        *,
        root: Path | None = None,
        endpoint_url: str | None = None,
        skip_retry_waits: bool = False,
        quiet_interpreter: bool = True,
        region: str = REGION,
    ) -> None:
        """Describe the backend; nothing is created or patched before start().

        runtime: loads and invokes the handlers (its root is where CodeUri directories live).
        template: the parsed template holding the state machines and their functions.
        state_machines: the logical ids to create (default: every AWS::Serverless::StateMachine, the export first).
        root: where a relative DefinitionUri is resolved (default: the runtime's root).
        endpoint_url: a moto server in this process (the local stack); None means in-process `mock_aws`.
        skip_retry_waits: skip Retry sleeps and record them in `recorded_waits`.
        quiet_interpreter: silence moto's ERROR log line for every handled task failure.
        """
        self.runtime = runtime
        self.template = template
        names = [state_machines] if isinstance(state_machines, str) else list(state_machines or state_machines_of(template))
        if not names:
            raise ValueError("the template declares no AWS::Serverless::StateMachine")
        self.state_machines = names
        self.state_machine = names[0]
        self.root = Path(root) if root is not None else runtime.root
        self.endpoint_url = endpoint_url
        self.skip_retry_waits = skip_retry_waits
        self.quiet_interpreter = quiet_interpreter
        self.region = region
        self.bridge = MotoStepFunctions(endpoint_url, region)
        self.state_machine_arns: dict[str, str] = {}
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
        self.functions, self.state_machine_arns = {}, {}  # a restart creates them again (moto may have been reset)
        try:
            self._claim()
            self._undo += self.bridge.enable_execution()
            self._undo.append(patch_lambda_invoke(lambda name: name in self.functions, self._run_task))
            if self.skip_retry_waits:
                self.recorder = RetryWaitRecorder().start()
                self._undo.append(self.recorder.stop)
            if self.quiet_interpreter:
                self._undo.append(quiet_interpreter())
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
    def state_machine_arn(self) -> str:
        """The ARN of the first (default) state machine; "" before start()."""
        return self.state_machine_arns.get(self.state_machine, "")

    def arn_of(self, state_machine: str | None = None) -> str:
        """The ARN of a created state machine by logical id (default: the first)."""
        return self.state_machine_arns[state_machine or self.state_machine]

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

    def _create_resources(self) -> None:
        """Create the role, the functions the definitions name and each state machine with its substitutions filled."""
        role_arn = self.bridge.role()
        template = self.template
        names = dict.fromkeys(name for machine in self.state_machines for name in substitution_targets(template, machine).values())
        targets = [LambdaTarget(name, tpl.function_code_dir(template, name), tpl.function_handler(template, name)) for name in names]
        arns = self.bridge.create_functions({target.name: target.handler for target in targets}, role_arn)
        self.functions = {target.name: LambdaTarget(target.name, target.code_dir, target.handler, arns[target.name]) for target in targets}
        for machine in self.state_machines:
            definition = filled_definition(template, self.function_arns, machine, self.root)
            self.state_machine_arns[machine] = self.bridge.create_state_machine(machine, definition, role_arn)

    def _run_task(self, name: str, event: Any) -> TaskResult:
        """Run one task through the real handler: its JSON result, or a function error named after the exception."""
        target = self.functions[name]
        try:
            result = self.runtime.invoke(target.name, target.code_dir, event, target.handler)
        except InvocationError as exc:
            self._note(Invocation(target.name, event, error_type=exc.error_type, error_message=str(exc.error)))
            return TaskResult(error_type=exc.error_type, error_message=str(exc.error))
        try:
            payload = json.dumps(result)
        except (TypeError, ValueError) as exc:  # Lambda's runtime cannot serialise it either
            self._note(Invocation(target.name, event, error_type="Runtime.MarshalError", error_message=str(exc)))
            return TaskResult(error_type="Runtime.MarshalError", error_message=f"Unable to marshal response: {exc}")
        self._note(Invocation(target.name, event, result=result))
        return TaskResult(payload.encode("utf-8"))

    def _note(self, invocation: Invocation) -> None:
        """Keep one invocation for inspection."""
        with self._invocations_lock:
            self.invocations.append(invocation)

    # -- clients and executions ------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for moto (the server when endpoint_url is set, else whatever mock_aws intercepts)."""
        return self.bridge.client(service)

    def start_execution(self, name: str | None = None, input: Mapping[str, Any] | None = None, state_machine: str | None = None) -> str:
        """Start an execution of a state machine (default: the first; name default: a fresh uuid); return its ARN."""
        if not self._started:
            raise RuntimeError("the Step Functions backend is not started")
        return self.bridge.start_execution(self.arn_of(state_machine), name, input)

    def describe(self, execution_arn: str) -> ExecutionResult:
        """The execution as it is now (status may still be RUNNING)."""
        return self.bridge.describe(execution_arn)

    def wait(self, execution_arn: str, timeout: float = 600.0, poll: float = 0.02) -> ExecutionResult:
        """Poll until the execution finishes; TimeoutError (with the last status) when it takes longer than timeout."""
        return self.bridge.wait(execution_arn, timeout, poll)

    def run(
        self, input: Mapping[str, Any], name: str | None = None, timeout: float = 600.0, state_machine: str | None = None
    ) -> ExecutionResult:
        """Start an execution and wait for it."""
        return self.wait(self.start_execution(name, input, state_machine), timeout)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events, oldest first."""
        return self.bridge.history(execution_arn)


@contextmanager
def executing_state_machine(
    runtime: LambdaRuntime, template: Mapping[str, Any], state_machine: str = STATE_MACHINE, **kwargs: Any
) -> Iterator[StepFunctionsBackend]:
    """A started StepFunctionsBackend of one state machine for a `with` block, stopped (patches removed) when the block ends."""
    backend = StepFunctionsBackend(runtime, template, state_machine, **kwargs)
    with backend:
        yield backend


__all__ = ["ExecutionResult", "Invocation", "LambdaTarget", "StepFunctionsBackend", "executing_state_machine"]
