"""Threaded HTTP servers on loopback (the local API, the stand-ins, the sink), the one response type they all answer with."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

REGION = "us-east-1"
# Framing headers the server writes itself (the body's length is set from the body).
_FRAMING_HEADERS = ("content-length", "connection", "transfer-encoding")


@dataclass
class HttpResponse:
    """An HTTP response of the harness: what API Gateway sends back to the client, or a stand-in's answer."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body.decode("utf-8"))


def json_response(status: int, body: Any) -> HttpResponse:
    """A JSON answer (content-type application/json)."""
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(body).encode("utf-8"))


def write_response(handler: BaseHTTPRequestHandler, response: HttpResponse) -> None:
    """Send a response from a server's request handler: status, headers, each cookie, the body's length, the body."""
    handler.send_response(response.status)
    for key, value in response.headers.items():
        if key.lower() not in _FRAMING_HEADERS:
            handler.send_header(key, value)
    for cookie in response.cookies:
        handler.send_header("set-cookie", cookie)
    handler.send_header("content-length", str(len(response.body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(response.body)


def start_server(
    address: tuple[str, int], handler: type[BaseHTTPRequestHandler], name: str
) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Listen on `address` (port 0: any free port) and serve in a daemon thread."""
    server = ThreadingHTTPServer(address, handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=name, daemon=True)
    thread.start()
    return server, thread


# A stand-in's whole answer to one request: (method, raw path with query, headers, body) -> the response.
Responder = Callable[[str, str, dict[str, str], bytes], HttpResponse]


def serve_responder(respond: Responder, name: str, log: logging.Logger) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve GET and POST on 127.0.0.1 (a free port) with `respond`; requests are logged at DEBUG by path only."""

    class Handler(BaseHTTPRequestHandler):
        """HTTP glue around one stand-in's respond()."""

        def do_GET(self) -> None:
            """Answer a GET."""
            self._reply("GET")

        def do_POST(self) -> None:
            """Answer a POST."""
            self._reply("POST")

        def _reply(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            write_response(self, respond(method, self.path, dict(self.headers.items()), body))

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the query may hold secrets and tokens (stand-ins keep what tests need in their own records)."""
            log.debug("%s %s", self.command, urlsplit(self.path).path)

    return start_server(("127.0.0.1", 0), Handler, name)


def stop_server(server: ThreadingHTTPServer | None, thread: threading.Thread | None) -> None:
    """Stop serving, close the socket and wait for the thread (a few seconds at most)."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=5)


def loopback_client(service: str, endpoint_url: str, config: Any = None) -> Any:
    """A boto3 client for a local emulator on loopback (explicit endpoint and dummy keys, whatever the env says)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )
