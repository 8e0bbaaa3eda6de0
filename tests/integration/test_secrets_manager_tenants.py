"""Tenants from Secrets Manager (the deployed directory), through the real HTTP API on moto: another tenant's signature
is 403 as docs/api.md#tenant-isolation says, found through the tenant index without listing secrets, and unknown tenants cost no Secrets
Manager call each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from ordertrail_local.stack import reset_process_caches
from tests.conftest import TENANTS, Pipeline
from tests.integration.senders import moment, order, send_orders, send_shopify_webhook, shopify_order

PREFIX = "ordertrail/tenants/"


class SecretsCalls:
    """Secrets Manager requests by operation and secret, whatever client made them (Powertools builds its own)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []
        real = BaseClient._make_api_call

        def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "secretsmanager":
                self.calls.append((operation, str(params.get("SecretId", ""))))
            return real(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", counting)


@pytest.fixture
def on_secrets_manager(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Pipeline, SecretsCalls]]:
    """The pipeline with tenants in Secrets Manager (one secret each, and the index naming them), not the tenants file."""
    monkeypatch.delenv("ORDERTRAIL_TENANTS_FILE")
    client = boto3.client("secretsmanager")
    for tenant, config in TENANTS.items():
        client.create_secret(Name=f"{PREFIX}{tenant}", SecretString=json.dumps(config))
    client.create_secret(Name=f"{PREFIX}_index", SecretString=json.dumps({"tenants": sorted(TENANTS)}))
    reset_process_caches()
    calls = SecretsCalls(monkeypatch)
    yield pipeline, calls
    reset_process_caches()


def test_a_signature_of_another_tenant_is_403_found_through_the_index(on_secrets_manager: tuple[Pipeline, SecretsCalls]) -> None:
    """Given acme and globex in Secrets Manager and the index naming both, when globex's signed order or Shopify webhook
    is sent to acme's URL, then it is 403 wrong_tenant (not 401), nothing is stored, and no secret was listed."""
    api, calls = on_secrets_manager
    signed = send_orders(api, "acme", order("9401", "u-1", moment()), signer="globex")
    webhook = send_shopify_webhook(api, "acme", shopify_order(940002, moment()), signer="globex")

    assert (signed.status, signed.json()["error"]["code"]) == (403, "wrong_tenant")
    assert (webhook.status, webhook.json()["error"]["code"]) == (403, "wrong_tenant")
    assert not [item for item in api.items() if item.get("type") == "order"]
    assert {operation for operation, _ in calls.calls} == {"GetSecretValue"}
    assert send_orders(api, "acme", order("9402", "u-1", moment())).status == 202  # acme's own still works


def test_requests_for_an_unknown_tenant_are_401_and_ask_secrets_manager_once(on_secrets_manager: tuple[Pipeline, SecretsCalls]) -> None:
    """Given no secret for tenant `nobody`, when 20 signed requests and 20 keyed requests arrive for it, then every one
    is 401, and Secrets Manager was asked for that secret once (the miss is remembered), so an unauthenticated caller
    cannot run up the bill."""
    api, calls = on_secrets_manager
    for n in range(20):
        assert send_orders(api, "nobody", order(f"95{n:02d}", "u-1", moment()), signer="acme").status == 401
        keyed = api.call("GET", "/v1/nobody/settings", headers={"Authorization": "Bearer nobody.not-a-real-key"})
        assert keyed.status == 401
    assert calls.calls.count(("GetSecretValue", f"{PREFIX}nobody")) == 1
