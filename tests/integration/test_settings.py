"""Tenant settings through the API: the export's access token is write-only."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.integration.senders import api_key

TOKEN = "tt-events-token-7f3a9c"


def test_the_events_token_is_stored_in_the_secret_and_never_shown_or_kept_in_the_table(pipeline) -> None:  # type: ignore[no-untyped-def]
    """Given export settings with an access token, when they are PUT, then GET shows only that a token is set, the
    table holds no copy of it, and the tenant's secret (locally: the tenants file) has it."""
    headers = {**api_key("acme"), "Content-Type": "application/json"}
    body = {"export": {"enabled": True, "pixel_code": "PIX1", "access_token": TOKEN, "model": "linear", "max_event_age_days": 14}}
    put = pipeline.call("PUT", "/v1/acme/settings", body, headers)
    assert put.status == 200, put.body
    assert TOKEN not in put.body.decode()
    shown = pipeline.call("GET", "/v1/acme/settings", headers=api_key("acme")).json()["export"]
    assert shown["access_token_set"] is True and "access_token" not in shown
    assert (shown["model"], shown["max_event_age_days"], shown["pixel_code"]) == ("linear", 14, "PIX1")
    assert TOKEN not in json.dumps(pipeline.items(), default=str)
    secrets = json.loads(Path(os.environ["ORDERTRAIL_TENANTS_FILE"]).read_text())
    assert secrets["tenants"]["acme"]["tiktok_events"]["access_token"] == TOKEN


def test_settings_without_a_token_keep_the_stored_one(pipeline) -> None:  # type: ignore[no-untyped-def]
    headers = {**api_key("acme"), "Content-Type": "application/json"}
    pipeline.call("PUT", "/v1/acme/settings", {"export": {"access_token": TOKEN}}, headers)
    pipeline.call("PUT", "/v1/acme/settings", {"export": {"enabled": True}}, headers)
    assert pipeline.call("GET", "/v1/acme/settings", headers=api_key("acme")).json()["export"]["access_token_set"] is True


def test_export_settings_are_validated_naming_the_field(pipeline) -> None:  # type: ignore[no-untyped-def]
    """A maximum event age above 28 days or an unknown model is a 422 naming the field."""
    headers = {**api_key("acme"), "Content-Type": "application/json"}
    too_old = pipeline.call("PUT", "/v1/acme/settings", {"export": {"max_event_age_days": 29}}, headers)
    assert too_old.status == 422 and too_old.json()["error"]["field"] == "export.max_event_age_days"
    model = pipeline.call("PUT", "/v1/acme/settings", {"export": {"model": "w-shaped"}}, headers)
    assert model.status == 422 and model.json()["error"]["field"] == "export.model"
