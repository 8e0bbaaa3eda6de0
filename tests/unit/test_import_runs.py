"""History import runs in the table (moto): a start that Step Functions refuses leaves a failed run, never a queued one
no execution will finalize; the window cursor moves once per recorded page; windows are at most 30 days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ordertrail.core.errors import UpstreamError
from ordertrail.core.import_runs import ImportRequest, ImportWindow
from ordertrail.imports import history
from ordertrail.storage.repository import Repository
from ordertrail.storage.tenant_secrets import FileTenantDirectory
from ordertrail_local.template import create_table, load_template

TABLE = "ordertrail-import-test"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tenants.json"


class Launcher:
    """Stands in for ExecutionLauncher: records what it started, or refuses every start."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse, self.started = refuse, []

    def start(self, run_id: str, payload: dict[str, Any]) -> str:
        """Start (or refuse) one execution."""
        if self.refuse:
            raise RuntimeError("StateMachineDoesNotExist")
        self.started.append((run_id, payload))
        return f"arn:execution:{run_id}"


@pytest.fixture
def repo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Repository]:
    """A Repository on an empty moto table built from template.yaml."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client, TABLE, load_template())
        yield Repository(TABLE, client)


def request(days: int = 65) -> ImportRequest:
    """Import TikTok Shop's last `days` days."""
    return ImportRequest(source="tiktok_shop", from_=NOW - timedelta(days=days), to=NOW)


def test_a_start_step_functions_refuses_is_a_502_and_the_run_says_it_failed(repo: Repository) -> None:
    """Given Step Functions refuses the execution, when an import starts, then 502 and the run is `failed` with
    `start_failed` (a queued run would wait forever)."""
    with pytest.raises(UpstreamError):
        history.start_import(repo, Launcher(refuse=True), FileTenantDirectory(FIXTURE), "acme", request(), NOW, import_id="i-1")  # type: ignore[arg-type]

    report = history.report(repo, "acme", "i-1")
    assert report.status == "failed" and report.error is not None and report.error.code == "start_failed"


def test_starting_the_same_import_twice_starts_one_execution_and_plan_cuts_thirty_day_windows(repo: Repository) -> None:
    """Given an import started twice with one id, then one execution starts; Plan cuts 65 days into 30 + 30 + 5, and
    planning again keeps a window's progress."""
    launcher = Launcher()
    directory = FileTenantDirectory(FIXTURE)
    for _ in range(2):
        history.start_import(repo, launcher, directory, "acme", request(), NOW, import_id="i-2")  # type: ignore[arg-type]
    assert [run_id for run_id, _ in launcher.started] == ["i-2"]

    planned = history.plan(repo, "acme", "i-2", NOW)
    lengths = [datetime.fromisoformat(w["end"]) - datetime.fromisoformat(w["start"]) for w in planned["windows"]]
    assert lengths == [timedelta(days=30), timedelta(days=30), timedelta(days=5)]

    run = repo.get_import("acme", "i-2")
    first = repo.get_window("acme", "i-2", 0)
    assert run is not None and first is not None
    moved = first.model_copy(update={"pages": 1, "page_token": "p2", "seen": 100, "imported": 100})
    assert repo.advance_window(run, first, moved)
    assert not repo.advance_window(run, first, moved.model_copy(update={"pages": 1}))  # the same page recorded twice: refused
    history.plan(repo, "acme", "i-2", NOW)
    assert repo.get_window("acme", "i-2", 0) == ImportWindow.model_validate(moved.model_dump())
    assert history.report(repo, "acme", "i-2").imported == 100
