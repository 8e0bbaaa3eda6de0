"""The local pipeline, built in one place for the stack and the tests: the HTTP API (routes, authorizer) and the stream pumps."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ordertrail_local import template as tpl
from ordertrail_local.apigw import HttpApiGateway, HttpRequest, authorizer_config
from ordertrail_local.function_process import FunctionProcess
from ordertrail_local.lambda_runtime import ACCOUNT_ID, InvocationError, LambdaRuntime
from ordertrail_local.loopback import REGION, HttpResponse
from ordertrail_local.streams import DeadLetter, Deliver, StreamPump, stream_source

# The function that attributes orders: `pump` is its stream pump (the one most tests look at).
STREAM_FUNCTION = "AttributeFunction"
# The stream function's timeout in its own process when the runtime has none for it (FunctionProcess's default).
DEFAULT_TIMEOUT = 10.0
# Rounds of draining every pump before giving up (a round ends when no pump read anything).
MAX_DRAIN_ROUNDS = 50


@dataclass
class StreamConsumer:
    """One function the table's stream is delivered to, as its own event source mapping on AWS."""

    function: str
    code_dir: str
    pump: StreamPump
    in_process_delivery: Deliver
    process: FunctionProcess | None = None


@dataclass
class LocalPipeline:
    """The deployed shape: the template's HTTP API in front of the real handlers, the table's stream pumped to each consumer.

    The stream goes to each function in this process, or (`deliver_in_own_process`, the served stack) to a child process
    per function, as on AWS each function runs in its own container.
    """

    runtime: LambdaRuntime
    gateway: HttpApiGateway
    template: dict[str, Any]
    consumers: dict[str, StreamConsumer] = field(default_factory=dict)

    @property
    def pump(self) -> StreamPump:
        """AttributeFunction's stream pump."""
        return self.consumers[STREAM_FUNCTION].pump

    @property
    def pumps(self) -> list[StreamPump]:
        """Every consumer's stream pump."""
        return [consumer.pump for consumer in self.consumers.values()]

    @property
    def dead_letters(self) -> list[DeadLetter]:
        """Stream batches any consumer gave up on."""
        return [letter for pump in self.pumps for letter in pump.dead_letters]

    def handle(self, request: HttpRequest, drain: bool = True) -> HttpResponse:
        """Answer one request as API Gateway would; with drain, deliver what it wrote (and what that caused) first."""
        response = self.gateway.handle(request)
        if drain:
            self.drain()
        return response

    def invoke(self, function: str, event: dict[str, Any] | None = None, drain: bool = True) -> Any:
        """Invoke one of the template's functions with its own handler (a schedule's run: an EventBridge event by default)."""
        code_dir, handler = tpl.function_code_dir(self.template, function), tpl.function_handler(self.template, function)
        result = self.runtime.invoke(function, code_dir, event if event is not None else scheduled_event(function), handler)
        if drain:
            self.drain()
        return result

    def drain(self) -> int:
        """Drain every pump until a round in which none reads anything (one consumer's writes reach the others)."""
        total = 0
        for _ in range(MAX_DRAIN_ROUNDS):
            seen = sum(pump.drain() for pump in self.pumps)
            total += seen
            if seen == 0:
                break
        return total

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every background pump has delivered everything written before the call and what that caused."""
        deadline = time.monotonic() + timeout
        while True:
            delivered = [pump.delivered for pump in self.pumps]
            for pump in self.pumps:
                if not pump.wait_idle(max(0.0, deadline - time.monotonic())):
                    return False
            if [pump.delivered for pump in self.pumps] == delivered:
                return True

    def preload(self) -> None:
        """Import every handler now (cold starts up front): the routes', the authorizer's and the stream functions'."""
        for route in self.gateway.routes:
            self.runtime.load(route.code_dir)
        if self.gateway.authorizer is not None:
            self.runtime.load(self.gateway.authorizer.code_dir)
        for consumer in self.consumers.values():
            self.runtime.load(consumer.code_dir)

    def deliver_in_own_process(self) -> None:
        """Start each stream function in a child process of its own and point its pump at it."""
        for consumer in self.consumers.values():
            if consumer.process is None:
                timeout = self.runtime.timeouts.get(consumer.function, DEFAULT_TIMEOUT)
                process = FunctionProcess(self.runtime.root, consumer.function, consumer.code_dir, timeout=timeout)
                process.start()
                consumer.process = process
                consumer.pump.deliver = process.invoke

    def deliver_in_process(self) -> None:
        """Stop the stream functions' own processes, if they run, and deliver in this process again.

        A batch in hand is abandoned, as when a container is shut down.
        """
        for consumer in self.consumers.values():
            if consumer.process is not None:
                consumer.process.stop()
                consumer.process = None
                consumer.pump.deliver = consumer.in_process_delivery

    def start_pumps(self) -> None:
        """Deliver the stream in the background, as the event source mappings do."""
        for pump in self.pumps:
            pump.start()

    def request_stop(self) -> None:
        """Ask every pump to stop between batches."""
        for pump in self.pumps:
            pump.request_stop()

    def stop_pumps(self, timeout: float) -> None:
        """Stop every background pump (each within timeout)."""
        for pump in self.pumps:
            pump.stop(timeout=timeout)


def build_pipeline(
    template: dict[str, Any],
    runtime: LambdaRuntime,
    stream_arn: str,
    *,
    streams_client: Any = None,
    region: str = REGION,
) -> LocalPipeline:
    """The template's HTTP API (routes and authorizer) on the runtime, and the table's stream to every consumer it names.

    streams_client: the DynamoDB Streams client to read the stream with (default: boto3's from the environment, e.g. under
    mock_aws); region: the one the stream records name. The stream starts out delivered in this process.
    """
    if streams_client is None:
        import boto3

        streams_client = boto3.client("dynamodbstreams")
    gateway = HttpApiGateway(tpl.http_routes(template), runtime, authorizer_config(template))
    consumers = {}
    for function in tpl.stream_functions(template):
        code_dir = tpl.function_code_dir(template, function)
        deliver = in_process_delivery(runtime, function, code_dir)
        pump = StreamPump(streams_client, stream_arn, deliver, stream_source(template, function), region)
        consumers[function] = StreamConsumer(function, code_dir, pump, deliver)
    if STREAM_FUNCTION not in consumers:
        raise ValueError(f"template.yaml delivers the table's stream to no {STREAM_FUNCTION}")
    return LocalPipeline(runtime, gateway, template, consumers)


def scheduled_event(function: str) -> dict[str, Any]:
    """The event an EventBridge schedule delivers (the fields a scheduled handler may read)."""
    return {
        "version": "0",
        "id": f"local-{function}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function}"],
        "detail": {},
    }


def in_process_delivery(runtime: LambdaRuntime, function: str, code_dir: str) -> Deliver:
    """Delivery to a function in this process (its error is a RuntimeError for the pump, as from its own process)."""

    def deliver(event: dict[str, Any]) -> Any:
        try:
            return runtime.invoke(function, code_dir, event)
        except InvocationError as exc:
            raise RuntimeError(str(exc)) from exc.error

    return deliver


__all__ = ["STREAM_FUNCTION", "LocalPipeline", "StreamConsumer", "build_pipeline", "in_process_delivery", "scheduled_event"]
