"""Dashboard links: signed with a key's hash, bound to the tenant, expiring, never longer than a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ordertrail.api.dashboard_links import link_for, mint, verify
from ordertrail.storage.tenant_secrets import hash_api_key

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KEY_HASH = hash_api_key("acme-team-key")


def test_a_fresh_link_opens_its_tenants_dashboard() -> None:
    """Given a link minted for an hour, when checked now, then it opens acme's dashboard."""
    assert verify(mint(KEY_HASH, "acme", NOW + timedelta(hours=1)), "acme", [KEY_HASH], NOW)


def test_an_expired_link_does_not() -> None:
    """Given a link that expired a second ago, then it is refused."""
    assert not verify(mint(KEY_HASH, "acme", NOW - timedelta(seconds=1)), "acme", [KEY_HASH], NOW)


def test_a_link_for_another_tenant_or_a_revoked_key_does_not() -> None:
    """Given acme's link, then it does not open globex's dashboard, nor acme's once the key is gone."""
    token = mint(KEY_HASH, "acme", NOW + timedelta(hours=1))
    assert not verify(token, "globex", [KEY_HASH], NOW)
    assert not verify(token, "acme", [hash_api_key("a-new-key")], NOW)


def test_a_tampered_or_too_long_link_does_not() -> None:
    """Given a link whose expiry was pushed out, or one minted for more than 24 hours, then both are refused."""
    token = mint(KEY_HASH, "acme", NOW + timedelta(hours=1))
    later = str(int((NOW + timedelta(hours=2)).timestamp()))
    assert not verify(f"{later}.{token.split('.')[1]}", "acme", [KEY_HASH], NOW)
    assert not verify(mint(KEY_HASH, "acme", NOW + timedelta(hours=25)), "acme", [KEY_HASH], NOW)
    assert not verify("not-a-token", "acme", [KEY_HASH], NOW)
    assert not verify(None, "acme", [KEY_HASH], NOW)


def test_link_for_builds_the_path_with_its_expiry() -> None:
    """Given the caller's key, when a 2-hour link is made, then its path opens /v1/acme/dashboard and it expires in 2 hours."""
    link = link_for("acme", "acme-team-key", 2, NOW)
    assert link.path.startswith("/v1/acme/dashboard?link=")
    assert link.expires_at == NOW + timedelta(hours=2)
    assert verify(link.path.split("link=")[1], "acme", [KEY_HASH], NOW)
