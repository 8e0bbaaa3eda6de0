"""The whole local stack in one process: moto (the table optionally on DynamoDB Local), the real handlers, the stream, stand-ins."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from ordertrail_local import sample_day
from ordertrail_local import template as tpl
from ordertrail_local.apigw import MAX_PAYLOAD_BYTES, HttpApiGateway, HttpRequest, message_response
from ordertrail_local.dynamodb_local import DynamoDBLocal
from ordertrail_local.events_api_sink import EventsApiSink
from ordertrail_local.lambda_runtime import LambdaRuntime, function_timeouts
from ordertrail_local.loopback import HttpResponse, start_server, stop_server, write_response
from ordertrail_local.moto_backend import DEFAULT_TABLE_NAME, REGION, MotoBackend, restore_env
from ordertrail_local.pipeline import LocalPipeline, build_pipeline
from ordertrail_local.schedules import LocalScheduler, rate_schedules
from ordertrail_local.shopify_admin_stand_in import ShopifyAdminStandIn, shops_from_tenants
from ordertrail_local.state_machine_template import IMPORT_STATE_MACHINE, REATTRIBUTE_STATE_MACHINE, STATE_MACHINE, state_machines_of
from ordertrail_local.step_functions import StepFunctionsBackend
from ordertrail_local.streams import RequestTraffic, StreamPump
from ordertrail_local.tiktok_shop_stand_in import TikTokShopStandIn, credentials_from_tenants

log = logging.getLogger("ordertrail_local.stack")

DEFAULT_TENANTS_FILE = Path("events") / "tenants.local.json"
LOCAL_EXPORTS_BUCKET = "ordertrail-exports-local"
# A stack's working copy of the tenants file lives in `<tmp>/ordertrail-local-<pid>-<random>/`.
WORKDIR_PREFIX = "ordertrail-local-"
# Where the table lives: moto's server (with everything else), or Amazon's DynamoDB Local (a JVM beside it).
MOTO = "moto"
DYNAMODB_LOCAL = "dynamodb-local"
DYNAMODB_BACKENDS = (MOTO, DYNAMODB_LOCAL)
DYNAMODB_ENV = "ORDERTRAIL_DYNAMODB"
# How long the stream may take to catch up before a caller gives up waiting (a busy 2-core machine, thousands of records).
STREAM_WAIT_LIMIT = 900.0
# A batch in delivery when the stack stops is waited for this long at most (the pump's thread is a daemon).
PUMP_STOP_TIMEOUT = 2.5
SCHEDULES_ENV = "ORDERTRAIL_LOCAL_SCHEDULES"
# The variable that tells the handlers each state machine's ARN (template.yaml sets the same from !Ref).
STATE_MACHINE_VARIABLES = {
    STATE_MACHINE: "EXPORT_STATE_MACHINE_ARN",
    IMPORT_STATE_MACHINE: "IMPORT_STATE_MACHINE_ARN",
    REATTRIBUTE_STATE_MACHINE: "REATTRIBUTE_STATE_MACHINE_ARN",
}
MEMORY_NOTICE = "all data lives in memory and is gone when this process exits"


def dynamodb_backend(explicit: str | None = None) -> str:
    """The DynamoDB to run on: explicit, else $ORDERTRAIL_DYNAMODB, else moto; anything else is a ValueError saying what is valid."""
    chosen = (explicit or os.environ.get(DYNAMODB_ENV) or MOTO).strip().lower()
    if chosen not in DYNAMODB_BACKENDS:
        valid = ", ".join(DYNAMODB_BACKENDS)
        raise ValueError(f"{DYNAMODB_ENV}={chosen!r} is not a DynamoDB backend of the local stack; use one of: {valid}")
    return chosen


def tenants_file_path(explicit: str | Path | None = None) -> Path:
    """The tenants file: explicit, else $ORDERTRAIL_TENANTS_FILE, else the committed demo file (absolute)."""
    chosen = explicit or os.environ.get("ORDERTRAIL_TENANTS_FILE") or DEFAULT_TENANTS_FILE
    path = Path(chosen)
    return path if path.is_absolute() else (Path.cwd() / path if path.exists() else tpl.repo_root() / path).resolve()


class LocalStack:
    """One-process OrderTrail: `start()`, then `request(...)` in-process or `serve(port)` over HTTP; `stop()`."""

    def __init__(
        self,
        tenants_file: str | Path | None = None,
        template_path: Path | None = None,
        table_name: str = DEFAULT_TABLE_NAME,
        sample: sample_day.SampleDay | None = None,
        sync: bool = True,
        log_level: str = "WARNING",
        preload: bool = True,
        skip_retry_waits: bool = False,
        dynamodb: str | None = None,
        dynamodb_local: DynamoDBLocal | None = None,
    ) -> None:
        """Describe the stack; nothing starts before start().

        dynamodb: "moto" or "dynamodb-local" (default $ORDERTRAIL_DYNAMODB, else moto). dynamodb_local: a running JVM to share
        (tests; the stack then creates and deletes only its table); without it the stack starts and stops its own.
        """
        self.dynamodb = dynamodb_backend(dynamodb)
        self.template = tpl.load_template(template_path)
        # The stack works on a private copy: PUT /settings writes the Events API token into the tenants file (locally
        # the file is the secret store), and a run must never change the committed demo file.
        self.source_tenants_file = tenants_file_path(tenants_file)
        self.tenants_file = self.source_tenants_file
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self.table_name = table_name
        self.sample = sample
        self.sync = sync
        self.log_level = log_level
        self.preload = preload
        self.moto = MotoBackend(table_name, self.template, create_table=self.dynamodb == MOTO)
        self.dynamodb_local = dynamodb_local
        self._owns_dynamodb_local = False
        self.stream_arn = ""
        self.stand_in: TikTokShopStandIn | None = None
        self.tiktok_shop_api_url = ""
        # Shopify's Admin API for every tenant's shop (verify, the history import), unless SHOPIFY_ADMIN_URL is set.
        self.shopify_admin: ShopifyAdminStandIn | None = None
        self.shopify_admin_url = ""
        self.events_sink: EventsApiSink | None = None
        self.tiktok_events_api_url = ""
        # The export state machine, run by moto's interpreter with the real handlers (skip_retry_waits: record, don't sleep).
        self.step_functions: StepFunctionsBackend | None = None
        self.skip_retry_waits = skip_retry_waits
        self.runtime = LambdaRuntime(tpl.repo_root(), timeouts=function_timeouts(self.template))
        # The HTTP API and the stream pump, built at start() (the stream exists from then on).
        self.pipeline: LocalPipeline | None = None
        # While serving, the template's rate(...) schedules run (ORDERTRAIL_LOCAL_SCHEDULES=off turns them off).
        self.scheduler: LocalScheduler | None = None
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        """Start moto, the table (from template.yaml, on the chosen DynamoDB), the stand-ins unless URLs are set, the pump."""
        if self._started:
            return self
        self.moto.start()
        self._start_dynamodb()
        reset_process_caches()
        sweep_stale_workdirs()
        self._workdir = tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-")
        self.tenants_file = Path(self._workdir.name) / "tenants.json"
        # The copy holds every tenant's secrets in plain text: only this user may read it (the directory is 0700 too).
        self.tenants_file.touch(mode=0o600)
        self.tenants_file.write_bytes(self.source_tenants_file.read_bytes())
        tenants = json.loads(self.tenants_file.read_text(encoding="utf-8"))
        if self.sample is None:
            self.sample = sample_day.load()
        configured = os.environ.get("TIKTOK_SHOP_API_URL", "")
        if configured:
            self.tiktok_shop_api_url = configured
        else:
            self.stand_in = TikTokShopStandIn(credentials_from_tenants(tenants), self.sample.tiktok_orders).start()
            self.tiktok_shop_api_url = self.stand_in.url
        configured_shopify = os.environ.get("SHOPIFY_ADMIN_URL", "")
        if configured_shopify:
            self.shopify_admin_url = configured_shopify
        else:
            self.shopify_admin = ShopifyAdminStandIn(shops_from_tenants(tenants)).start()
            self.shopify_admin_url = self.shopify_admin.url
        configured_events = os.environ.get("TIKTOK_EVENTS_API_URL", "")
        if configured_events:
            self.tiktok_events_api_url = configured_events
        else:
            self.events_sink = EventsApiSink().start()
            self.tiktok_events_api_url = self.events_sink.url
        # The handlers read these when they first run (Powertools at import): set them before anything loads.
        self._set_env(
            {
                "ORDERTRAIL_TENANTS_FILE": str(self.tenants_file),
                "TIKTOK_SHOP_API_URL": self.tiktok_shop_api_url,
                # Connecting a shop (docs/operations.md#connect-a-shop) goes to the stand-in too, unless set.
                "TIKTOK_SHOP_AUTH_URL": os.environ.get("TIKTOK_SHOP_AUTH_URL") or (self.stand_in.url if self.stand_in else ""),
                "TIKTOK_SHOP_AUTHORIZE_URL": os.environ.get("TIKTOK_SHOP_AUTHORIZE_URL")
                or (self.stand_in.url + "/open/authorize" if self.stand_in else ""),
                "TIKTOK_EVENTS_API_URL": self.tiktok_events_api_url,
                "SHOPIFY_ADMIN_URL": self.shopify_admin_url,
                "POWERTOOLS_SERVICE_NAME": os.environ.get("POWERTOOLS_SERVICE_NAME", "ordertrail"),
                "POWERTOOLS_METRICS_NAMESPACE": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "OrderTrail"),
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", self.log_level),
                # EMF metric lines on stdout would bury the summary; set it to "false" to see them.
                "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            }
        )
        bucket = tpl.create_exports_bucket(self.moto.client("s3"), self.template, LOCAL_EXPORTS_BUCKET)
        self._set_env({"EXPORTS_BUCKET": bucket})
        self.pipeline = build_pipeline(
            self.template, self.runtime, self.stream_arn, streams_client=self.dynamodb_client("dynamodbstreams"), region=REGION
        )
        if state_machines_of(self.template):
            self.step_functions = StepFunctionsBackend(
                self.runtime, self.template, endpoint_url=self.moto.endpoint_url, skip_retry_waits=self.skip_retry_waits
            ).start()
            arns = self.step_functions.state_machine_arns
            self._set_env({variable: arns[machine] for machine, variable in STATE_MACHINE_VARIABLES.items() if machine in arns})
        self._started = True
        if self.preload:
            self._preload()
        return self

    def _start_dynamodb(self) -> None:
        """Create the table on the chosen DynamoDB and point the handlers' boto3 at it through the environment only.

        botocore's service-specific variables win over AWS_ENDPOINT_URL (moto, for everything else); they are set on moto
        too, so a shell's own settings can never send the handlers elsewhere.
        """
        if self.dynamodb == DYNAMODB_LOCAL:
            if self.dynamodb_local is None:
                self.dynamodb_local = DynamoDBLocal().start()
                self._owns_dynamodb_local = True
            self.dynamodb_local.delete_table(self.table_name)  # a shared JVM may hold a stopped stack's table
            self.stream_arn = tpl.create_table(self.dynamodb_local.client("dynamodb"), self.table_name, self.template)
        else:
            self.stream_arn = self.moto.stream_arn
        endpoint = self.dynamodb_endpoint_url
        self._set_env({"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": endpoint})

    @property
    def dynamodb_endpoint_url(self) -> str:
        """Where the table is served (moto's server or DynamoDB Local)."""
        if self.dynamodb == DYNAMODB_LOCAL and self.dynamodb_local is not None:
            return self.dynamodb_local.endpoint_url
        return self.moto.endpoint_url

    def dynamodb_client(self, service: str = "dynamodb") -> Any:
        """A boto3 client ("dynamodb" or "dynamodbstreams") for the stack's table, whatever the environment says later."""
        if self.dynamodb == DYNAMODB_LOCAL and self.dynamodb_local is not None:
            return self.dynamodb_local.client(service)
        return self.moto.client(service)

    def _preload(self) -> None:
        """Import every handler now (cold start up front; an import error shows at start, not mid-replay)."""
        if self.pipeline is not None:
            self.pipeline.preload()

    def stop(self) -> None:
        """Stop the pump, the HTTP server, the stand-ins, moto and DynamoDB Local (about a second); restore the env."""
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self.pipeline is not None:
            self.pipeline.request_stop()  # the pumps stop between batches while the HTTP server shuts down
            self.pipeline.deliver_in_process()  # the stream functions' own processes, when serving, stop at once
        stop_server(self._http, self._http_thread)
        self._http = self._http_thread = None
        if self.pipeline is not None:
            self.pipeline.stop_pumps(timeout=PUMP_STOP_TIMEOUT)
        if self.step_functions is not None:  # before moto: it restores the server's config through its API
            self.step_functions.stop()
            self.step_functions = None
        # Each server waits for its own poll interval (moto's is 0.5 s) to shut down: do them all at once.
        stops = [self.moto.stop]
        if self.stand_in is not None:
            stops.append(self.stand_in.stop)
        if self.events_sink is not None:
            stops.append(self.events_sink.stop)
        if self.shopify_admin is not None:
            stops.append(self.shopify_admin.stop)
        if self.dynamodb_local is not None:
            if self._owns_dynamodb_local:
                stops.append(self.dynamodb_local.stop)
            elif self._started:
                local, table = self.dynamodb_local, self.table_name
                stops.append(lambda: local.delete_table(table))
        run_in_parallel(stops)
        self.stand_in = self.events_sink = None
        self.shopify_admin = None
        if self._owns_dynamodb_local:
            self.dynamodb_local = None
            self._owns_dynamodb_local = False
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
        restore_env(self._saved_env)
        self._saved_env = {}
        self._started = False

    def __enter__(self) -> LocalStack:
        """Start on entering the block."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop on leaving it."""
        self.stop()

    # -- requests --------------------------------------------------------------------------------------
    @property
    def pump(self) -> StreamPump | None:
        """AttributeFunction's stream pump (None before the first start())."""
        return self.pipeline.pump if self.pipeline is not None else None

    @property
    def gateway(self) -> HttpApiGateway:
        """The HTTP API in front of the handlers (from start() on)."""
        if self.pipeline is None:
            raise RuntimeError("the local stack is not started")
        return self.pipeline.gateway

    @property
    def dead_letters(self) -> list[Any]:
        """Stream batches any pump gave up on."""
        return self.pipeline.dead_letters if self.pipeline is not None else []

    def drain(self) -> int:
        """Deliver every pending stream record to its consumers (and whatever those writes cause)."""
        if self.pipeline is None:
            raise RuntimeError("the local stack is not started")
        return self.pipeline.drain()

    def wait_for_stream(self, timeout: float = STREAM_WAIT_LIMIT) -> bool:
        """Wait until every stream record written before the call was delivered (the background pump's next empty pass)."""
        if self.pipeline is None:
            raise RuntimeError("the local stack is not started")
        return self.pipeline.wait_idle(timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str = b"",
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        query: str = "",
        sync: bool | None = None,
        source_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        """Send one request through the local HTTP API; with sync (the stack's default) the stream is drained before returning.

        Over HTTP (serve) requests never drain: they answer as soon as the function returns, and the background pump
        delivers the stream as Lambda's event source mapping does.
        """
        if not self._started or self.pipeline is None:
            raise RuntimeError("the local stack is not started")
        if "?" in path and not query:
            path, query = path.split("?", 1)
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        names = {k.lower() for k, _ in pairs}
        # Headers API Gateway always passes on, added when a caller did not send them.
        defaults = {"host": self.host, "user-agent": "ordertrail-local", "x-forwarded-for": source_ip, "x-forwarded-proto": "http"}
        if raw:
            defaults["content-length"] = str(len(raw))
        pairs += [(k, v) for k, v in defaults.items() if k not in names]
        request = HttpRequest(method.upper(), path, query, pairs, raw, source_ip)
        return self.pipeline.handle(request, drain=self.sync if sync is None else sync)

    @property
    def host(self) -> str:
        """Host header value for in-process requests (the served address when serving)."""
        return f"127.0.0.1:{self.port}" if self._http is not None else "127.0.0.1"

    @property
    def port(self) -> int:
        """The port serve() listens on (0 when not serving)."""
        return int(self._http.server_address[1]) if self._http is not None else 0

    @property
    def url(self) -> str:
        """Base URL of the served API."""
        return f"http://127.0.0.1:{self.port}"

    # -- HTTP ------------------------------------------------------------------------------------------
    def serve(self, port: int = 3000, host: str = "127.0.0.1", background_stream: bool = True) -> int:
        """Listen on host:port (0 picks a free port) with the same request path; return the port."""
        if not self._started:
            self.start()
        stack = self
        traffic = RequestTraffic()
        if self.pipeline is not None:
            # As long as Lambda may gather a batch (the template's MaximumBatchingWindowInSeconds), at least a moment.
            traffic.longest_wait = max([traffic.longest_wait, *(pump.source.batching_window for pump in self.pipeline.pumps)])

        class Handler(BaseHTTPRequestHandler):
            """HTTP glue around LocalStack.request."""

            server_version = "ordertrail-local"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_PAYLOAD_BYTES:
                    self.close_connection = True  # the unread body must not be parsed as the next request
                    write_response(self, message_response(413, "Request Entity Too Large"))
                    return
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                try:
                    with traffic.serving():
                        answer = stack.request(
                            self.command, path, body, list(self.headers.items()), query, sync=False, source_ip=self.client_address[0]
                        )
                except Exception:  # a harness bug must answer like API Gateway, not drop the connection
                    log.exception("local API failed on %s %s", self.command, path)
                    answer = message_response(500, "Internal Server Error")
                write_response(self, answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

            def __getattr__(self, name: str) -> Any:
                """Any other method (TRACE, QUERY, ...) goes through the gateway too, as API Gateway takes every request."""
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                """One access-log line per request at DEBUG."""
                log.debug(format, *args)

        self._http, self._http_thread = start_server((host, port), Handler, "local-http-api")
        if self.stand_in is not None and self.stand_in.redirect_uri is None:
            # The app's redirect URL in Partner Center: the seller consenting on the stand-in comes back to this API.
            self.stand_in.redirect_uri = f"{self.url}/v1/connections/tiktok-shop/callback"
        if background_stream and self.pipeline is not None:
            # Served requests do not drain: this thread delivers the stream, as the event source mapping does on AWS, to
            # each stream function in its own process, so an HTTP request never waits behind a stream batch.
            self.pipeline.deliver_in_own_process()
            for pump in self.pipeline.pumps:
                pump.traffic = traffic  # and its batches let the HTTP API's requests go first
            self.pipeline.start_pumps()
            if os.environ.get(SCHEDULES_ENV, "on").lower() != "off":
                self.scheduler = LocalScheduler(self.pipeline, rate_schedules(self.template))
                self.scheduler.start()
        return self.port

    # -- env -------------------------------------------------------------------------------------------
    def _set_env(self, values: dict[str, str]) -> None:
        """Set variables, remembering what stop() must put back."""
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value


def run_in_parallel(calls: list[Callable[[], None]], timeout: float = 10.0) -> None:
    """Run each call in its own daemon thread and wait for all (each at most `timeout`); a failure is logged, not raised."""

    def guarded(call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # one failed stop must not leave the others running
            log.exception("stopping a part of the local stack failed")

    threads = [threading.Thread(target=guarded, args=(call,), name="local-stack-stop", daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


def sweep_stale_workdirs() -> list[Path]:
    """Remove the working copies that stacks killed without a chance to clean up left behind (their process is gone).

    A stopped stack removes its own copy; a killed one (SIGKILL, a crash) cannot, so the next stack removes it.
    """
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        owner = folder.name.removeprefix(WORKDIR_PREFIX).split("-", 1)[0]
        if folder.is_dir() and (not owner.isdigit() or not _alive(int(owner))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with this id is running (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reset_process_caches() -> None:
    """Forget the clients and settings the layer and handlers cached, as a fresh Lambda container would.

    They are built once per process (functools caches) from the environment; a second stack in the same process
    (tests) has a new moto port and must not reach the previous, stopped server.
    """
    # Powertools' parameters (the Secrets Manager tenant directory reads through them) cache per process too.
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()
    for name, module in list(sys.modules.items()):
        if name != "ordertrail" and not name.startswith(("ordertrail.", "functions.")):
            continue
        for value in list(vars(module).values()):
            # Cached functions of the module itself, and cached builders it keeps in a module-level list.
            candidates = [value] if getattr(value, "__module__", None) == name else []
            if isinstance(value, list):
                candidates += value
            for candidate in candidates:
                clear = getattr(candidate, "cache_clear", None)
                if callable(clear):
                    clear()


def configure_logging(level: int = logging.INFO) -> None:
    """Harness messages on stderr (the handlers log through Powertools on stdout)."""
    # Powertools warns on every invocation that publishes no metric (metrics are off locally); it is noise here.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ordertrail_local")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
