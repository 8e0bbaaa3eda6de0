"""Order hints in the table built from template.yaml (on moto and on DynamoDB Local): a notification is kept until its
order is stored, a failed fetch waits with a back-off, and a notification during a fetch is never lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from ordertrail.ingest.hints import LONGEST_RETRY, retry_delay
from ordertrail.storage.hints import UNFETCHED_RETRY
from ordertrail.storage.repository import Repository
from ordertrail_local.dynamodb_local import DynamoDBLocal
from tests.conftest import fresh_table

TABLE = "ordertrail-hints-test"
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(dynamodb_backend: DynamoDBLocal | None) -> Iterator[Repository]:
    """A repository on an empty table, on each DynamoDB backend."""
    with mock_aws():
        client = boto3.client("dynamodb")
        with fresh_table(dynamodb_backend, client, TABLE):
            yield Repository(TABLE, client)


def test_a_recorded_hint_is_due_and_pending_until_its_order_is_fetched(repo: Repository) -> None:
    """Given a notification, when its hint is recorded, then it is due and pending; when the fetch completes, it is gone."""
    repo.record_hint("acme", "tiktok_shop", "o-1", "n-1", AT)
    hint = repo.get_hint("acme", "tiktok_shop", "o-1")
    assert hint is not None and (hint.status, hint.version, hint.attempts) == ("due", 1, 0)
    assert [h.order_id for h in repo.pending_hints("acme")] == ["o-1"]
    assert repo.pending_hints("other") == []

    assert repo.hint_done(hint) is True
    assert repo.get_hint("acme", "tiktok_shop", "o-1") is None


def test_a_notification_during_a_fetch_keeps_the_hint_due(repo: Repository) -> None:
    """Given a fetch in progress for version 1, when a new notification arrives (version 2), then the fetch's outcome
    (done or failed) does not touch the newer hint, which stays due for its own fetch."""
    repo.record_hint("acme", "tiktok_shop", "o-1", "n-1", AT)
    fetching = repo.get_hint("acme", "tiktok_shop", "o-1")
    assert fetching is not None
    repo.record_hint("acme", "tiktok_shop", "o-1", "n-2", AT + timedelta(seconds=5))

    assert repo.hint_done(fetching) is False
    assert repo.hint_failed(fetching, "boom", AT + timedelta(minutes=1)) is False
    newer = repo.get_hint("acme", "tiktok_shop", "o-1")
    assert newer is not None and (newer.status, newer.version, newer.first_notified_at) == ("due", 2, fetching.first_notified_at)


def test_a_failed_fetch_waits_until_its_next_attempt_and_is_then_woken_once(repo: Repository) -> None:
    """Given a failed fetch, then the hint waits with the reason; it is not due before its next attempt, is due at it
    (every tenant's in one query), and two retriers waking it at once make it due once."""
    for tenant in ("acme", "beta"):
        repo.record_hint(tenant, "tiktok_shop", "o-1", "n-1", AT)
        hint = repo.get_hint(tenant, "tiktok_shop", "o-1")
        assert hint is not None
        assert repo.hint_failed(hint, "TikTok Shop API error 503", AT + timedelta(seconds=30)) is True

    waiting = repo.get_hint("acme", "tiktok_shop", "o-1")
    assert waiting is not None and (waiting.status, waiting.attempts, waiting.last_error) == ("waiting", 1, "TikTok Shop API error 503")
    assert repo.due_hints(AT + timedelta(seconds=29), limit=10) == []
    due = repo.due_hints(AT + timedelta(seconds=30), limit=10)
    assert sorted(h.tenant for h in due) == ["acme", "beta"]

    acme = next(h for h in due if h.tenant == "acme")
    assert repo.wake_hint(acme, AT + timedelta(seconds=30)) is True
    assert repo.wake_hint(acme, AT + timedelta(seconds=30)) is False
    woken = repo.get_hint("acme", "tiktok_shop", "o-1")
    assert woken is not None and (woken.status, woken.attempts, woken.version) == ("due", 1, 2)
    assert [h.tenant for h in repo.due_hints(AT + timedelta(minutes=10), limit=10)] == ["beta"]


def test_a_due_hint_whose_fetch_never_ran_is_retried_after_its_deadline(repo: Repository) -> None:
    """Given a due hint whose stream record was never processed (its batch went to the dead-letter queue), then the
    retry schedule finds it once its deadline (UNFETCHED_RETRY) has passed, and not before."""
    repo.record_hint("acme", "tiktok_shop", "o-1", "n-1", AT)
    assert repo.due_hints(AT + UNFETCHED_RETRY - timedelta(seconds=1), limit=10) == []
    (stuck,) = repo.due_hints(AT + UNFETCHED_RETRY, limit=10)
    assert (stuck.order_id, stuck.status) == ("o-1", "due")


def test_waking_a_tenants_pending_hints_makes_every_one_due_now(repo: Repository) -> None:
    """Given three waiting hints and one due, when the tenant's token is fixed and its hints are woken, then all four are
    due again (each with a new version, so the stream fetches it)."""
    for order_id in ("o-1", "o-2", "o-3", "o-4"):
        repo.record_hint("acme", "tiktok_shop", order_id, f"n-{order_id}", AT)
    for order_id in ("o-1", "o-2", "o-3"):
        hint = repo.get_hint("acme", "tiktok_shop", order_id)
        assert hint is not None and repo.hint_failed(hint, "token expired", AT + timedelta(hours=1))

    assert repo.wake_pending_hints("acme", AT + timedelta(minutes=1)) == 4
    assert {(h.status, h.version) for h in repo.pending_hints("acme")} == {("due", 2)}
    assert repo.due_hints(AT + timedelta(minutes=15), limit=10) == []


def test_the_back_off_doubles_from_thirty_seconds_to_an_hour() -> None:
    """Each failed fetch doubles the wait: 30 s, 1 min, 2 min, ..., never more than an hour."""
    assert [retry_delay(n).total_seconds() for n in range(5)] == [30, 60, 120, 240, 480]
    assert retry_delay(7) == LONGEST_RETRY and retry_delay(10_000) == LONGEST_RETRY
