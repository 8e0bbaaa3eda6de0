"""Writing a tenant's secret: a change is read fresh, merged and written back, on the tenants file and on Secrets Manager."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from ordertrail.storage.tenant_secrets import FileTenantDirectory, SecretsManagerTenantDirectory, hash_api_key


def add_shop_token(config: dict[str, Any]) -> dict[str, Any]:
    """The change a TikTok Shop connection makes: the shop's tokens beside the app's credentials."""
    shop = {**config.get("tiktok_shop", {}), "access_token": "tok-2", "refresh_token": "ref-2", "access_token_expires_at": 1_900_000_000}
    return {**config, "tiktok_shop": shop}


def test_a_file_tenant_is_updated_in_place_and_keeps_what_the_change_did_not_touch(tmp_path: Path) -> None:
    """Given a tenants file, when a tenant's secret is updated, then the file and the directory show the change and the rest stays."""
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps({"tenants": {"acme": {"api_keys": ["acme.k1"], "tiktok_shop": {"app_key": "a", "app_secret": "s"}}}}))
    directory = FileTenantDirectory(path)

    updated = directory.update("acme", add_shop_token)

    assert updated.tiktok_shop is not None and updated.tiktok_shop.refresh_token == "ref-2"
    stored = json.loads(path.read_text())["tenants"]["acme"]
    assert stored["api_keys"] == ["acme.k1"] and stored["tiktok_shop"]["app_key"] == "a"
    assert directory.get("acme") == updated
    assert directory.tenant_of_key("acme.k1") == "acme"


def test_a_new_file_tenant_is_created_and_its_key_works(tmp_path: Path) -> None:
    """Given a tenants file without the tenant, when it is updated, then the tenant exists with what the change wrote."""
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps({"tenants": {}}))
    directory = FileTenantDirectory(path)

    directory.update("newco", lambda config: {**config, "api_keys": ["newco.k1"]})

    assert directory.tenant_of_key("newco.k1") == "newco"
    assert FileTenantDirectory(path).get("newco") is not None


def test_a_secrets_manager_tenant_is_read_fresh_and_written_as_a_new_version(monkeypatch: Any) -> None:
    """Given a tenant secret, when it is updated, then the new version holds the merge and the next read shows it."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("secretsmanager")
        config = {"api_keys": ["acme.k1"], "tiktok_shop": {"app_key": "a", "app_secret": "s", "access_token": "tok-1"}}
        client.create_secret(Name="ordertrail/tenants/acme", SecretString=json.dumps(config))
        directory = SecretsManagerTenantDirectory("ordertrail/tenants/", max_age=300)
        assert directory.get("acme") is not None  # cached now

        directory.update("acme", add_shop_token)

        stored = json.loads(client.get_secret_value(SecretId="ordertrail/tenants/acme")["SecretString"])
        assert stored["tiktok_shop"] == {
            "app_key": "a",
            "app_secret": "s",
            "access_token": "tok-2",
            "refresh_token": "ref-2",
            "access_token_expires_at": 1_900_000_000,
        }
        fresh = directory.get("acme")
        assert fresh is not None and fresh.tiktok_shop is not None and fresh.tiktok_shop.access_token == "tok-2"
        assert hash_api_key("acme.k1") in fresh.api_key_hashes


def test_a_secrets_manager_tenant_without_a_secret_gets_one(monkeypatch: Any) -> None:
    """Given no secret for a tenant (remembered as unknown), when it is updated, then the secret is created and found at once."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        directory = SecretsManagerTenantDirectory("ordertrail/tenants/", max_age=300)
        assert directory.get("newco") is None

        directory.update("newco", lambda config: {**config, "api_keys": ["newco.k1"]})

        assert directory.tenant_of_key("newco.k1") == "newco"
