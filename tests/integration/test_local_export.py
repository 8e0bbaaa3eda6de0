"""The local export harness: the Events API sink, and the state machine in server mode (the local stack's moto server)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from ordertrail_local import template as tpl
from ordertrail_local.events_api_sink import TRACK_PATH, EventsApiSink
from ordertrail_local.lambda_runtime import LambdaRuntime
from ordertrail_local.moto_backend import MotoBackend
from ordertrail_local.state_machine_template import STATE_MACHINE
from ordertrail_local.step_functions import StepFunctionsBackend
from tests.waits import WAIT_LIMIT

ROOT = tpl.repo_root()

EVENT = {
    "event": "Purchase",
    "event_time": 1718186400,
    "event_id": "E.C.P.abc_20240612",
    "user": {"ttclid": "E.C.P.abc", "email": ["848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"]},
    "properties": {
        "currency": "USD",
        "value": 42.5,
        "content_type": "product",
        "contents": [{"content_id": "sku-1", "content_name": "Lip oil", "price": 42.5, "quantity": 1}],
        "order_id": "576461413038785752",
    },
}


def _track(sink: EventsApiSink, body: Any, token: str | None = "token-1", raw: bytes | None = None) -> dict[str, Any]:
    """POST one track request to the sink over HTTP; the JSON answer (TikTok answers errors with HTTP 200 too)."""
    headers = {"content-type": "application/json", **({"Access-Token": token} if token is not None else {})}
    response = requests.post(sink.url + TRACK_PATH, data=raw if raw is not None else json.dumps(body), headers=headers, timeout=WAIT_LIMIT)
    assert response.status_code == 200
    return dict(response.json())


# ---------------------------------------------------------------- the Events API sink


def test_sink_accepts_a_contract_request_and_records_it() -> None:
    """A request valid against the repository's contract schema: code 0, a request_id, recorded with its events."""
    body = {"event_source": "web", "event_source_id": "CPIXEL123", "data": [EVENT]}
    with EventsApiSink() as sink:
        answer = _track(sink, body)
        assert answer["code"] == 0 and answer["message"] == "OK" and answer["request_id"] and answer["data"] == {}
        (request,) = sink.requests
        assert request.accepted and request.access_token == "token-1" and request.body == body
        assert sink.accepted_events() == [EVENT]


def test_sink_refuses_what_tiktok_refuses() -> None:
    """No token: 40104; not JSON or off the schema: 40002 naming the field; over 1,000 events: 40061. All recorded."""
    good = {"event_source": "web", "event_source_id": "CPIXEL123", "data": [EVENT]}
    millis = json.loads(json.dumps(good))
    millis["data"][0]["event_time"] = 1718186400000
    with EventsApiSink() as sink:
        assert _track(sink, good, token=None)["code"] == 40104
        assert _track(sink, good, token="")["code"] == 40104
        assert _track(sink, None, raw=b"{not json")["code"] == 40002
        off_schema = _track(sink, millis)
        assert off_schema["code"] == 40002 and off_schema["message"].startswith("data/0/event_time:"), off_schema
        assert _track(sink, {**good, "data": [EVENT] * 1001})["code"] == 40061
        assert len(sink.requests) == 5 and not any(r.accepted for r in sink.requests)
        assert sink.accepted_events() == []
        missing = requests.post(sink.url + "/open_api/v1.3/nope/", data="{}", timeout=WAIT_LIMIT)
        assert missing.status_code == 404


def test_sink_plays_queued_answers_in_order(tmp_path: Path) -> None:
    """Queued answers (rate limit, expired token) come first, then validation resumes; clear() forgets everything."""
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "required": ["data"]}))
    with EventsApiSink(schema) as sink:
        sink.queue_response({"code": 40100, "message": "Too many requests"})
        sink.queue_response({"code": 40102, "message": "Access token expired"})
        assert [_track(sink, {"data": []})["code"] for _ in range(4)] == [40100, 40102, 0, 0]
        assert [r.accepted for r in sink.requests] == [False, False, True, True]
        sink.clear()
        assert sink.requests == []


def test_sink_needs_its_schema(tmp_path: Path) -> None:
    """A missing schema file is an error at construction, not a sink that validates nothing."""
    with pytest.raises(FileNotFoundError):
        EventsApiSink(tmp_path / "absent.json")


# ---------------------------------------------------------------- server mode (the local stack's moto)

FAKE_APP = """
ATTEMPTS = {}


class RetryableExportError(Exception):
    pass


def plan_handler(event, context):
    return {"tenant": event["tenant"], "run_id": event["run_id"], "chunks": [{"index": 0, "start": "a", "end": "b"}]}


def export_chunk_handler(event, context):
    ATTEMPTS[event["run_id"]] = ATTEMPTS.get(event["run_id"], 0) + 1
    if ATTEMPTS[event["run_id"]] == 1:
        raise RetryableExportError("40100")
    return {"index": 0, "sent": 1, "accepted": 1, "rejected": 0, "skipped": 0}


def finalize_handler(event, context):
    return {"run_id": event["run_id"], "status": "failed" if "error" in event else "succeeded", "watermark": "b"}
"""


def _moto_config() -> dict[str, Any]:
    """moto's config in this process (the server is in-process; its GET /moto-api/config omits "stepfunctions")."""
    from moto.core.config import default_user_config

    config: dict[str, Any] = dict(default_user_config)
    return {key: dict(config[key]) for key in ("lambda", "stepfunctions")}


@pytest.mark.slow
def test_server_mode_runs_the_real_asl_and_restores_moto(tmp_path: Path) -> None:
    """Against a ThreadedMotoServer: config switched on through moto's API, real ASL executed, everything restored."""
    package = f"fake_server_export_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "app.py").write_text(FAKE_APP)
    template = tpl.load_template()
    for logical_id in ("ExportPlanFunction", "ExportChunkFunction", "ExportFinalizeFunction"):
        template["Resources"][logical_id]["Properties"]["CodeUri"] = f"{package}/"
    template["Resources"][STATE_MACHINE]["Properties"]["DefinitionUri"] = str(ROOT / "infra/statemachine/export_conversions.asl.json")
    moto = MotoBackend("ordertrail-sfn-test", template).start()
    try:
        before = _moto_config()
        runtime = LambdaRuntime(tmp_path)
        with StepFunctionsBackend(runtime, template, STATE_MACHINE, endpoint_url=moto.endpoint_url, skip_retry_waits=True) as sfn:
            assert _moto_config()["stepfunctions"] == {"execute_state_machine": True}
            assert os.environ["MOTO_PORT"] == str(moto.port)
            result = sfn.run({"tenant": "demo", "run_id": "r1"}, timeout=WAIT_LIMIT)
            assert result.succeeded, result
            assert result.output == {"run_id": "r1", "status": "succeeded", "watermark": "b"}
            assert [w.backoff for w in sfn.recorded_waits] == [30.0]
            assert [e["type"] for e in sfn.history(result.arn)][-1] == "ExecutionSucceeded"
        assert _moto_config()["stepfunctions"] == before["stepfunctions"]
        assert _moto_config()["lambda"] == before["lambda"]
    finally:
        moto.stop()


@pytest.mark.slow
def test_local_stack_starts_the_sink_and_the_state_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack points TIKTOK_EVENTS_API_URL at its sink and EXPORT_STATE_MACHINE_ARN at the state machine from the ASL."""
    from ordertrail_local.stack import LocalStack

    monkeypatch.delenv("TIKTOK_EVENTS_API_URL", raising=False)
    with LocalStack(preload=False) as stack:
        assert stack.events_sink is not None and os.environ["TIKTOK_EVENTS_API_URL"] == stack.events_sink.url
        assert stack.step_functions is not None
        assert os.environ["EXPORT_STATE_MACHINE_ARN"] == stack.step_functions.state_machine_arn
        definition = stack.moto.client("stepfunctions").describe_state_machine(stateMachineArn=stack.step_functions.state_machine_arn)
        assert "${" not in definition["definition"] and ":function:ExportChunkFunction" in definition["definition"]
    assert "EXPORT_STATE_MACHINE_ARN" not in os.environ
    monkeypatch.setenv("TIKTOK_EVENTS_API_URL", "https://events.example.test")
    with LocalStack(preload=False) as stack:
        assert stack.events_sink is None and stack.tiktok_events_api_url == "https://events.example.test"
