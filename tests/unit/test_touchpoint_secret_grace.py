"""The touchpoint secret's grace (docs/operations.md#touchpoint-secret): after a rotation the previous secret still verifies
X-OrderTrail-Signature until its expiry, judged at the injected `now`; API keys load from plain keys and from hashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ordertrail.core.environment import Environment
from ordertrail.core.errors import Unauthorized
from ordertrail.ingest.signed_batches import verify_ordertrail_signature
from ordertrail.sources.signatures import sign_ordertrail
from ordertrail.storage.tenant_secrets import TenantSecrets, hash_api_key

EXPIRES = 1_800_000_000
BODY = b'{"touchpoints":[]}'
ROTATED = {"touchpoint_secret": "new-secret", "previous_touchpoint_secret": "old-secret", "previous_touchpoint_secret_expires_at": EXPIRES}


class OneTenant:
    """A directory holding acme alone (the part of TenantDirectory signed requests use)."""

    def __init__(self, config: dict) -> None:
        self.secrets = TenantSecrets.from_config("acme", config)

    def get(self, tenant: str) -> TenantSecrets | None:
        return self.secrets if tenant == "acme" else None

    def others(self, tenant: str) -> list[TenantSecrets]:
        return []


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def check(config: dict, secret: str, signed_at: int, now: int) -> TenantSecrets:
    headers = {"X-OrderTrail-Signature": sign_ordertrail(secret, BODY, signed_at)}
    return verify_ordertrail_signature(OneTenant(config), Environment(table_name="t"), "acme", BODY, headers, at(now))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "expected"),
    [(EXPIRES - 3600, ("new-secret", "old-secret")), (EXPIRES - 1, ("new-secret", "old-secret")), (EXPIRES, ("new-secret",))],
)
def test_the_previous_secret_counts_until_its_expiry_and_not_at_it(now: int, expected: tuple[str, ...]) -> None:
    """Given a rotated tenant, when its secrets are asked for at `now`, then the previous one is there strictly before the expiry."""
    assert TenantSecrets.from_config("acme", ROTATED).touchpoint_secrets(now) == expected


def test_a_tenant_never_rotated_has_only_its_secret_and_one_without_any_has_none() -> None:
    """Given no previous secret (or no secret at all), then only the current one (or nothing) verifies."""
    assert TenantSecrets.from_config("acme", {"touchpoint_secret": "s"}).touchpoint_secrets(0) == ("s",)
    assert TenantSecrets.from_config("acme", {}).touchpoint_secrets(0) == ()


def test_within_the_grace_the_old_and_the_new_secret_both_verify() -> None:
    """Given a rotation expiring at EXPIRES, when a request signed with either secret is checked an hour before, then it passes."""
    for secret in ("old-secret", "new-secret"):
        assert check(ROTATED, secret, EXPIRES - 3600, EXPIRES - 3600).tenant == "acme"


def test_after_the_grace_the_old_secret_is_a_bad_signature_and_the_new_one_still_verifies() -> None:
    """Given the same rotation, when the clock reaches EXPIRES, then the old secret is 401 bad_signature and the new one passes."""
    with pytest.raises(Unauthorized) as refused:
        check(ROTATED, "old-secret", EXPIRES, EXPIRES)
    assert refused.value.code == "bad_signature"
    assert check(ROTATED, "new-secret", EXPIRES, EXPIRES).tenant == "acme"


def test_the_grace_is_judged_at_the_injected_now_and_the_request_time_still_within_the_tolerance() -> None:
    """Given a request signed with the old secret in the grace, when it is checked 301 s later, then it is expired_signature
    (the tolerance of today applies whatever secret signed it)."""
    with pytest.raises(Unauthorized) as refused:
        check(ROTATED, "old-secret", EXPIRES - 3600, EXPIRES - 3600 + 301)
    assert refused.value.code == "expired_signature"


def test_api_keys_load_from_plain_keys_and_from_their_hashes() -> None:
    """Given a tenant with a plain key and a stored hash (in upper case), then both hashes are the tenant's."""
    secrets = TenantSecrets.from_config("acme", {"api_keys": ["acme.plain"], "api_key_sha256": [hash_api_key("acme.hashed").upper()]})
    assert secrets.api_key_hashes == {hash_api_key("acme.plain"), hash_api_key("acme.hashed")}


@pytest.mark.parametrize("member", ["api_keys", "api_key_sha256"])
def test_a_key_list_that_is_not_a_list_of_strings_is_refused_naming_it(member: str) -> None:
    """Given a key member holding one string instead of a list, then loading fails naming the member."""
    with pytest.raises(ValueError, match=member):
        TenantSecrets.from_config("acme", {member: "acme.k1"})
