"""moto's server on loopback for the local stack (S3, Step Functions, Lambda, and DynamoDB with the table from template.yaml)."""

from __future__ import annotations

import logging
import os
import urllib.request
from typing import Any

from ordertrail_local import template as tpl
from ordertrail_local.loopback import REGION, loopback_client
from ordertrail_local.moto_patches import speed_up_moto

DEFAULT_TABLE_NAME = "ordertrail-local"

# Dummy credentials and the switches moto needs: botocore >= 1.44 breaks DescribeStream on
# moto unless account-id endpoint routing is off, and Powertools would import the X-Ray SDK when tracing is on.
_FIXED_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "1",
}


class MotoBackend:
    """A moto server on 127.0.0.1 (a free port), holding the single table unless told not to; sets the env boto3 reads."""

    def __init__(
        self, table_name: str = DEFAULT_TABLE_NAME, template: dict[str, Any] | None = None, port: int = 0, create_table: bool = True
    ) -> None:
        self.table_name = table_name
        self.create_table = create_table
        self.template = template
        self.port = port
        self.endpoint_url = ""
        self.stream_arn = ""
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}

    def start(self) -> MotoBackend:
        """Start the server, point boto3 at it through the environment, and create the table (if asked to); idempotent."""
        if self._server is not None:
            return self
        from moto.server import ThreadedMotoServer  # imported here: ~0.3 s, and only the stack needs it

        # werkzeug logs every request at INFO; the local stack's output should stay readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        speed_up_moto()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self._server = server
        _, self.port = server.get_host_and_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._set_env({**_FIXED_ENV, "MOTO_PORT": str(self.port), "AWS_ENDPOINT_URL": self.endpoint_url, "TABLE_NAME": self.table_name})
        # moto keeps its state in module globals shared by every server in the process: a stack started after
        # another one (tests) must start empty, as a fresh account would.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST"), timeout=30).close()  # noqa: S310 - loopback
        if self.create_table:
            self.stream_arn = tpl.create_table(self.client("dynamodb"), self.table_name, self.template)
        return self

    def client(self, service: str) -> Any:
        """A boto3 client for this server (explicit endpoint, so it works whatever the env says later)."""
        return loopback_client(service, self.endpoint_url)

    def stop(self) -> None:
        """Stop the server and restore the environment variables it replaced."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        restore_env(self._saved_env)
        self._saved_env = {}

    def _set_env(self, values: dict[str, str]) -> None:
        """Set variables, remembering the previous values once so stop() can put them back."""
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value


def restore_env(saved: dict[str, str | None]) -> None:
    """Put environment variables back as they were (None: it was unset)."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
