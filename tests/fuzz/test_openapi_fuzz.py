"""Schemathesis against `make serve`'s served OpenAPI document: every operation, a bounded number of generated requests
each (valid and invalid: wrong types, odd unicode, extreme numbers, unusual methods), checked for 5xx answers, bodies and
statuses off the declared responses, and content types.

The signed routes mostly meet 401 here (the fuzzer cannot sign): tests/fuzz/test_signed_routes.py signs its bodies.
`ORDERTRAIL_OPENAPI_FUZZ_EXAMPLES` sets the examples per operation (default 40; the seed is fixed so CI repeats itself).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCHEMATHESIS = ROOT / ".venv-fuzz" / "bin" / "schemathesis"
CONFIG = ROOT / "tests" / "fuzz" / "schemathesis.toml"
DEMO_KEY = json.loads((ROOT / "events" / "tenants.local.json").read_text())["tenants"]["demo"]["api_keys"][0]
EXAMPLES = int(os.environ.get("ORDERTRAIL_OPENAPI_FUZZ_EXAMPLES", "40"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
READY = re.compile(r"^ready: (http://127\.0\.0\.1:\d+)")
# Starting the stack imports every handler; a busy 2-core machine may take a while.
START_LIMIT_SECONDS = 180


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`python -m ordertrail_local.serve --port 0` as `make serve` runs it; its base URL, stopped with SIGTERM after."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(ROOT / part) for part in ("layers/attribution", "infra/local", ".")),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    env.pop("ORDERTRAIL_TENANTS_FILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ordertrail_local.serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "serve.log").open("w"),
        text=True,
    )
    try:
        assert process.stdout is not None
        url = None
        for line in process.stdout:
            found = READY.match(line)
            if found:
                url = found.group(1)
                break
        assert url, f"the local stack did not start: {(tmp_path / 'serve.log').read_text()[-2000:]}"
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=START_LIMIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
def test_no_operation_answers_5xx_or_off_its_declared_responses(served: str, tmp_path: Path) -> None:
    """Given the local stack serving the demo tenant, when Schemathesis sends every operation generated requests (as the
    demo tenant, with its key), then no answer is a 5xx, and every status, content type and body is one the OpenAPI
    document declares for that operation."""
    if not SCHEMATHESIS.exists():
        if os.environ.get("ORDERTRAIL_REQUIRE_FUZZ"):
            pytest.fail(f"{SCHEMATHESIS} is missing: run `make test` (it installs .venv-fuzz)")
        pytest.skip(f"{SCHEMATHESIS} is not installed (`make test` installs it)")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{served}/v1/openapi.json",
        "--url",
        served,
        "--header",
        f"Authorization: Bearer {DEMO_KEY}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "20261201",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
