"""A Python client generated from the committed OpenAPI document with openapi-python-client (in .venv-fuzz, beside
Schemathesis): it generates without warnings, names a function module after every operationId, imports, and sends the
requests the document describes (offline: httpx's MockTransport answers them).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

FUZZ_BIN = ROOT / ".venv-fuzz" / "bin"
GENERATOR = FUZZ_BIN / "openapi-python-client"
DOCUMENT_PATH = ROOT / "layers" / "attribution" / "ordertrail" / "api" / "openapi.json"
PACKAGE = "ordertrail_client"
# Run by the fuzz venv's python with the generated package's folder as argv[1]: each call goes through the client into a
# MockTransport that records the request and answers as the API would; prints what was sent and what was parsed.
CLIENT_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import httpx
from ordertrail_client import AuthenticatedClient
from ordertrail_client.api.orders import get_order, list_reviews
from ordertrail_client.api.config import put_coupon
from ordertrail_client.api.reports import posts_report
from ordertrail_client.api.ingest import post_touchpoints
from ordertrail_client.models import CouponRequest, PostsReportSort

sent = []
def answer(request):
    sent.append({"method": request.method, "url": str(request.url), "auth": request.headers.get("authorization"),
                 "body": json.loads(request.content) if request.content else None})
    return httpx.Response(404, json={"error": {"code": "order_not_found", "message": "no such order"}})

team = AuthenticatedClient(base_url="http://api.test", token="key-1", httpx_args={"transport": httpx.MockTransport(answer)})
parsed = get_order.sync(tenant="demo", order_id="#1001", client=team)
list_reviews.sync_detailed(tenant="demo", client=team)
put_coupon.sync_detailed(tenant="demo", code="SPRING10", body=CouponRequest(creator="ana", link_id="l1"), client=team)
posts_report.sync_detailed(tenant="demo", client=team, sort=PostsReportSort.ORDERS, limit=5)
functions = [name for name in ("sync", "sync_detailed", "asyncio", "asyncio_detailed") if callable(getattr(post_touchpoints, name))]
print(json.dumps({"sent": sent, "parsed": type(parsed).__name__, "code": parsed.error.code, "functions": functions}))
"""


def require_generator() -> None:
    """Skip (or, with ORDERTRAIL_REQUIRE_FUZZ, fail) when .venv-fuzz has no openapi-python-client."""
    if not GENERATOR.exists():
        if os.environ.get("ORDERTRAIL_REQUIRE_FUZZ"):
            pytest.fail(f"{GENERATOR} is missing: run `make test` (it installs .venv-fuzz)")
        pytest.skip(f"{GENERATOR} is not installed (`make test` installs it)")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client generated from the committed document (no project metadata: just the package), in a temporary folder."""
    require_generator()
    package = tmp_path_factory.mktemp("client") / PACKAGE
    # The generator formats its output with ruff (a dependency of it, in the same venv's bin).
    env = {**os.environ, "PATH": f"{FUZZ_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(GENERATOR), "generate", "--path", str(DOCUMENT_PATH), "--output-path", str(package), "--meta", "none"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=package.parent)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    return package


def test_every_operation_is_a_client_module_named_by_its_operation_id(generated: Path) -> None:
    """Given the committed document, when a client is generated, then each operation is `api/<tag>/<operationId>.py`
    and there are no others."""
    document = json.loads(DOCUMENT_PATH.read_text())
    expected = {f"{op['tags'][0]}/{op['operationId']}.py" for ops in document["paths"].values() for op in ops.values()}
    modules = {str(p.relative_to(generated / "api")) for p in (generated / "api").glob("*/*.py") if p.name != "__init__.py"}
    assert modules == expected
    named = {"orders/get_order.py", "reports/posts_report.py", "conversion_export/start_conversion_export.py"}
    assert named | {"csv_downloads/download_customers_csv.py"} <= modules


def test_the_generated_client_imports_and_sends_the_documented_requests(generated: Path) -> None:
    """When the generated client calls a few operations, then it sends each to its path with its parameters (percent-
    encoded), its JSON body and the team key as a bearer token, and parses the API's error body."""
    python = FUZZ_BIN / "python"
    result = subprocess.run([str(python), "-c", CLIENT_SCRIPT, str(generated.parent)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["sent"] == [
        {"method": "GET", "url": "http://api.test/v1/demo/orders/%231001", "auth": "Bearer key-1", "body": None},
        {"method": "GET", "url": "http://api.test/v1/demo/reviews?status=pending&limit=100", "auth": "Bearer key-1", "body": None},
        {
            "method": "PUT",
            "url": "http://api.test/v1/demo/coupons/SPRING10",
            "auth": "Bearer key-1",
            "body": {"creator": "ana", "link_id": "l1"},
        },
        {"method": "GET", "url": "http://api.test/v1/demo/reports/posts?sort=orders&limit=5", "auth": "Bearer key-1", "body": None},
    ]
    assert (report["parsed"], report["code"]) == ("ErrorBody", "order_not_found")
    assert report["functions"] == ["sync", "sync_detailed", "asyncio", "asyncio_detailed"]
