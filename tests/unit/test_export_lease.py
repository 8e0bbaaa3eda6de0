"""The tenant's export lease in the table (moto): taken only when free or expired, renewed only by its own run,
released only by its own run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from ordertrail.core.export_runs import ExportLease
from ordertrail.export.steps import LEASE_TTL
from ordertrail.storage.repository import Repository
from ordertrail_local.template import create_table, load_template

TABLE = "ordertrail-lease-test"
T0 = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)


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
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client, TABLE, load_template())
        yield Repository(TABLE, client)


def lease(run_id: str, at: datetime) -> ExportLease:
    """The lease a run writes at `at`."""
    return ExportLease(run_id=run_id, renewed_at=at, expires_at=at + LEASE_TTL)


def test_a_free_lease_is_taken_and_then_refused_to_another_run(repo: Repository) -> None:
    """Given no lease, when run A takes it, then it holds it; when run B tries before it expires, then B is refused
    with A's lease (run and expiry) and A still holds it."""
    assert repo.take_export_lease("acme", lease("A", T0), T0) is None

    held = repo.take_export_lease("acme", lease("B", T0 + timedelta(minutes=5)), T0 + timedelta(minutes=5))

    assert held == lease("A", T0)
    assert repo.get_export_lease("acme") == lease("A", T0)


def test_a_run_renews_its_own_lease_but_a_new_start_of_it_does_not(repo: Repository) -> None:
    """Given run A holds the lease, when one of A's steps renews it, then it is extended; when A's id is started again
    (not a renewal), then that start is refused like any other run's."""
    repo.take_export_lease("acme", lease("A", T0), T0)
    later = T0 + timedelta(minutes=10)

    assert repo.take_export_lease("acme", lease("A", later), later, renew=True) is None

    assert repo.get_export_lease("acme") == lease("A", later)
    assert repo.take_export_lease("acme", lease("A", later), later) == lease("A", later)


def test_an_expired_lease_is_taken_over_and_its_old_run_cannot_renew_it(repo: Repository) -> None:
    """Given run A's lease expired (A crashed), when run B starts, then B takes it over; when A's late step tries to
    renew, then it is refused with B's lease, and A cannot release B's lease."""
    repo.take_export_lease("acme", lease("A", T0), T0)
    after = T0 + LEASE_TTL + timedelta(seconds=1)

    assert repo.take_export_lease("acme", lease("B", after), after) is None

    assert repo.take_export_lease("acme", lease("A", after), after, renew=True) == lease("B", after)
    assert repo.release_export_lease("acme", "A") is False
    assert repo.get_export_lease("acme") == lease("B", after)


def test_only_the_holder_releases_and_then_anyone_may_take_it(repo: Repository) -> None:
    """Given run A holds the lease, when A releases it, then it is gone and run B takes it at once; leases are per
    tenant, so globex's is untouched by acme's."""
    repo.take_export_lease("acme", lease("A", T0), T0)
    repo.take_export_lease("globex", lease("G", T0), T0)

    assert repo.release_export_lease("acme", "A") is True

    assert repo.get_export_lease("acme") is None and repo.release_export_lease("acme", "A") is False
    assert repo.take_export_lease("acme", lease("B", T0), T0) is None
    assert repo.get_export_lease("globex") == lease("G", T0)
