"""The local pipeline, built in one place for the stack and the tests: the HTTP API (routes, authorizer) and the stream pump."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ordertrail_local import template as tpl
from ordertrail_local.apigw import HttpApiGateway, HttpRequest, authorizer_config
from ordertrail_local.function_process import FunctionProcess
from ordertrail_local.lambda_runtime import InvocationError, LambdaRuntime
from ordertrail_local.loopback import REGION, HttpResponse
from ordertrail_local.streams import Deliver, StreamPump, stream_source

# The function the table's stream is delivered to (its DynamoDB event in template.yaml).
STREAM_FUNCTION = "AttributeFunction"
# The stream function's timeout in its own process when the runtime has none for it (FunctionProcess's default).
DEFAULT_TIMEOUT = 10.0


@dataclass
class LocalPipeline:
    """The deployed shape: the template's HTTP API in front of the real handlers, the table's stream pumped to one function.

    The stream goes to the function in this process, or (`deliver_in_own_process`, the served stack) in a child process
    of its own, as on AWS each function runs in its own container.
    """

    runtime: LambdaRuntime
    gateway: HttpApiGateway
    pump: StreamPump
    stream_function: str
    stream_code_dir: str
    in_process_delivery: Deliver
    stream_process: FunctionProcess | None = None

    def handle(self, request: HttpRequest, drain: bool = True) -> HttpResponse:
        """Answer one request as API Gateway would; with drain, deliver what it wrote to the stream before returning."""
        response = self.gateway.handle(request)
        if drain:
            self.pump.drain()
        return response

    def preload(self) -> None:
        """Import every handler now (cold starts up front): the routes', the authorizer's and the stream function's."""
        for route in self.gateway.routes:
            self.runtime.load(route.code_dir)
        if self.gateway.authorizer is not None:
            self.runtime.load(self.gateway.authorizer.code_dir)
        self.runtime.load(self.stream_code_dir)

    def deliver_in_own_process(self) -> FunctionProcess:
        """Start the stream function in a child process of its own and point the pump at it; return the process."""
        if self.stream_process is None:
            timeout = self.runtime.timeouts.get(self.stream_function, DEFAULT_TIMEOUT)
            process = FunctionProcess(self.runtime.root, self.stream_function, self.stream_code_dir, timeout=timeout)
            process.start()
            self.stream_process = process
            self.pump.deliver = process.invoke
        return self.stream_process

    def deliver_in_process(self) -> None:
        """Stop the stream function's own process, if it runs, and deliver in this process again.

        A batch in hand is abandoned, as when a container is shut down.
        """
        if self.stream_process is None:
            return
        self.stream_process.stop()
        self.stream_process = None
        self.pump.deliver = self.in_process_delivery


def build_pipeline(
    template: dict[str, Any],
    runtime: LambdaRuntime,
    stream_arn: str,
    *,
    streams_client: Any = None,
    stream_function: str = STREAM_FUNCTION,
    region: str = REGION,
) -> LocalPipeline:
    """The template's HTTP API (routes and authorizer) on the runtime, and the table's stream delivered to stream_function.

    streams_client: the DynamoDB Streams client to read the stream with (default: boto3's from the environment, e.g. under
    mock_aws); region: the one the stream records name. The stream starts out delivered in this process.
    """
    if streams_client is None:
        import boto3

        streams_client = boto3.client("dynamodbstreams")
    gateway = HttpApiGateway(tpl.http_routes(template), runtime, authorizer_config(template))
    code_dir = tpl.function_code_dir(template, stream_function)
    deliver = in_process_delivery(runtime, stream_function, code_dir)
    pump = StreamPump(streams_client, stream_arn, deliver, stream_source(template, stream_function), region)
    return LocalPipeline(runtime, gateway, pump, stream_function, code_dir, deliver)


def in_process_delivery(runtime: LambdaRuntime, function: str, code_dir: str) -> Deliver:
    """Delivery to a function in this process (its error is a RuntimeError for the pump, as from its own process)."""

    def deliver(event: dict[str, Any]) -> Any:
        try:
            return runtime.invoke(function, code_dir, event)
        except InvocationError as exc:
            raise RuntimeError(str(exc)) from exc.error

    return deliver


__all__ = ["STREAM_FUNCTION", "LocalPipeline", "build_pipeline", "in_process_delivery"]
