"""Fuzzing every team route (from the OpenAPI document) with generated bodies, media types and path values: the key is
checked before anything is read (no key → 401, another tenant's key → 403, whatever the body), a body of a media type
other than JSON is then 415, and nothing is ever a 5xx or outside the error shape of docs/api.md#error-shape. Path values are any text,
percent-encoded as a client would (an order id of `#1`, `a/b` or `é` reaches its route and nothing else).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT, ExportPipeline, Pipeline
from tests.fuzz.test_signed_routes import FUZZ, RAW_BODIES, SNAKE_CASE, VALUES
from tests.integration.senders import api_key, stable_items
from tests.integration.test_export import TRACK_URL

DOCUMENT = json.loads((ROOT / "layers" / "attribution" / "ordertrail" / "api" / "openapi.json").read_text())
TEAM_OPERATIONS = sorted(
    (method.upper(), path)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    if operation.get("security")
)
MEDIA_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml", "application/octet-stream",
     "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/merge-patch+json", ""]
)  # fmt: skip
PATH_VALUES = st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(["#1001", "a/b", "café", "50%", "q?1", "x+y", "..", "%2F"]))


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str, bytes]:
    """A team operation with its path values filled in (percent-encoded), a media type, and a body (JSON or not)."""
    method, template = draw(st.sampled_from(TEAM_OPERATIONS))
    path = re.sub(r"\{tenant\}", "acme", template)
    path = re.sub(r"\{[^}]+\}", lambda _: quote(draw(PATH_VALUES), safe=""), path)
    body = draw(st.one_of(VALUES.map(lambda v: json.dumps(v).encode()), RAW_BODIES, st.just(b"")))
    return method, path, draw(MEDIA_TYPES), body


@pytest.fixture
def team_api(export_pipeline: ExportPipeline) -> Iterator[Pipeline]:
    """The real pipeline with the state machines (POST /conversions/export, /imports and /reattributions start real runs), TikTok's
    Events API answering every request (an import's store calls are refused: its run fails in the background)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TRACK_URL, json={"code": 0, "message": "OK", "data": {}})
        yield export_pipeline


def settled_items(api: Pipeline) -> list[dict[str, Any]]:
    """The table without what export runs, history imports and re-attribution runs write (an earlier example's may still be
    going in the background)."""
    return [item for item in stable_items(api) if not str(item.get("type", "")).startswith(("export_", "import_", "reattribution_"))]


def error_of(response: Any) -> str:
    """The error code of an error body (docs/api.md#error-shape) (asserting the shape)."""
    error = response.json()["error"]
    assert SNAKE_CASE.match(error["code"]) and error["message"], error
    return str(error["code"])


@FUZZ
@given(request=requests())
def test_the_key_comes_before_the_body_and_nothing_is_a_5xx(team_api: Pipeline, request: tuple[str, str, str, bytes]) -> None:
    """Given any team route, media type, body and path values, when sent without a key, then 401 and nothing written;
    with another tenant's key, 403 and nothing written; with the tenant's key, never a 5xx, a media type other than JSON
    with a body is 415, and every refusal is in the error shape and leaves the table as it was."""
    api = team_api
    method, path, media, body = request
    headers = {"Content-Type": media} if media else {}
    before = settled_items(api)
    for who, key, status, code in (("no key", {}, 401, "invalid_api_key"), ("globex", api_key("globex"), 403, "wrong_tenant")):
        refused = api.call(method, path, body, {**headers, **key})
        assert (refused.status, error_of(refused)) == (status, code), (who, method, path, media, refused.body[:300])
    assert settled_items(api) == before
    answered = api.call(method, path, body, {**headers, **api_key("acme")})
    assert answered.status < 500, (method, path, media, body[:200], answered.body[:500])
    json_media = media.split(";")[0].strip() in ("", "application/json", "application/merge-patch+json")
    if body and not json_media:
        assert (answered.status, error_of(answered)) == (415, "unsupported_media_type"), (method, path, media)
    if answered.status >= 400:
        error_of(answered)
        assert settled_items(api) == before, (method, path, answered.status, answered.body[:300])
