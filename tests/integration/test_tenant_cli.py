"""The tenant CLI (`make tenant`, docs/operations.md#tenant-onboarding) against the real handlers: what it creates, issues,
revokes and rotates works (or stops working) on the HTTP API, on the tenants file and on Secrets Manager (moto)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from ordertrail.ingest import signed_batches
from ordertrail.runtime import services
from ordertrail.sources.signatures import sign_ordertrail
from ordertrail.storage.tenant_secrets import TenantSecrets, hash_api_key
from ordertrail_admin.tenant import cli
from ordertrail_local.stack import reset_process_caches
from tests.conftest import TENANTS, Pipeline
from tests.integration.senders import body_bytes, comment, moment

PREFIX = "ordertrail/tenants/"


def run(*args: str) -> Result:
    """The CLI as `make tenant ARGS="..."` runs it, in this process (so on this test's moto)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    reset_process_caches()  # the handlers then read the tenants afresh, as a container after SECRET_CACHE_SECONDS
    return result


def printed(result: Result, name: str) -> str:
    """A value the CLI printed once on stdout as `name: value`."""
    values = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith(f"{name}: ")]
    assert len(values) == 1, result.stdout
    return values[0]


def settings_with(api: Pipeline, tenant: str, key: str) -> Any:
    """GET /v1/<tenant>/settings with a team key (through the authorizer and ReportsFunction)."""
    return api.call("GET", f"/v1/{tenant}/settings", headers={"Authorization": f"Bearer {key}"})


def touchpoint_signed_with(api: Pipeline, tenant: str, secret: str, tp_id: str, signed_at: int) -> Any:
    """POST /v1/<tenant>/touchpoints with one comment, signed with `secret` at `signed_at`."""
    raw = body_bytes(comment(tp_id, "u1", moment()))
    headers = {"Content-Type": "application/json", "X-OrderTrail-Signature": sign_ordertrail(secret, raw, signed_at)}
    return api.call("POST", f"/v1/{tenant}/touchpoints", raw, headers)


def error_code(response: Any) -> tuple[int, str]:
    return response.status, response.json()["error"]["code"]


@pytest.fixture
def tenants_file(pipeline: Pipeline) -> Path:
    """The pipeline's own tenants file (aws_env's copy of the fixture, named by ORDERTRAIL_TENANTS_FILE)."""
    return Path(os.environ["ORDERTRAIL_TENANTS_FILE"])


@pytest.fixture
def on_secrets_manager(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """The pipeline with acme and globex in (moto's) Secrets Manager and the index naming them; no tenants file."""
    monkeypatch.delenv("ORDERTRAIL_TENANTS_FILE")
    client = boto3.client("secretsmanager")
    for tenant, config in TENANTS.items():
        client.create_secret(Name=f"{PREFIX}{tenant}", SecretString=json.dumps(config))
    client.create_secret(Name=f"{PREFIX}_index", SecretString=json.dumps({"tenants": sorted(TENANTS)}))
    reset_process_caches()
    yield pipeline
    reset_process_caches()


def stored_secret(name: str) -> dict[str, Any]:
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


# ------------------------------------------------------------------------------------------------ create
def test_a_created_tenant_on_the_tenants_file_reads_the_team_api_with_its_printed_key(pipeline: Pipeline, tenants_file: Path) -> None:
    """Given the pipeline's tenants file (named by ORDERTRAIL_TENANTS_FILE), when `create newco` runs, then the key it printed
    reads /v1/newco/settings (200), acme's key there is 403, the printed touchpoint secret signs a touchpoint (202), and the
    file holds only the key's hash and an address salt of its own."""
    result = run("create", "newco", "--shopify-client-secret", "shp-secret")

    assert result.exit_code == 0, result.output
    key, secret = printed(result, "api_key"), printed(result, "touchpoint_secret")
    assert key.startswith("newco.") and len(key) > 40
    assert settings_with(pipeline, "newco", key).status == 200
    assert error_code(settings_with(pipeline, "newco", "acme-team-key")) == (403, "wrong_tenant")
    assert touchpoint_signed_with(pipeline, "newco", secret, "c-new", int(services.now().timestamp())).status == 202

    text = tenants_file.read_text()
    stored = json.loads(text)["tenants"]["newco"]
    assert key not in text and "api_keys" not in stored
    assert stored["api_key_sha256"] == [hash_api_key(key)]
    assert stored["shopify"] == {"client_secret": "shp-secret"}
    assert stored["address_salt"] and stored["address_salt"] != stored["touchpoint_secret"]
    assert set(json.loads(text)["tenants"]) == {"acme", "globex", "newco"}  # the others are untouched


def test_a_created_tenant_on_secrets_manager_is_in_the_index_and_its_key_reads_the_team_api(on_secrets_manager: Pipeline) -> None:
    """Given tenants in Secrets Manager, when `create newco` runs with TikTok Shop credentials, then the secret holds the
    key's hash only, the index names newco beside the others, and the printed key reads /v1/newco/settings."""
    result = run(
        "create", "newco", "--tiktok-app-key", "app-k", "--tiktok-app-secret", "app-s", "--tiktok-service-id", "7310001",
        "--shopify-client-secret", "shp-s", "--shopify-shop-domain", "newco.myshopify.com", "--shopify-admin-token", "shpat_x",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    key = printed(result, "api_key")
    stored = stored_secret(f"{PREFIX}newco")
    assert stored["api_key_sha256"] == [hash_api_key(key)] and key not in json.dumps(stored)
    assert stored["tiktok_shop"] == {"app_key": "app-k", "app_secret": "app-s", "service_id": "7310001"}
    assert stored["shopify"] == {"client_secret": "shp-s", "shop_domain": "newco.myshopify.com", "admin_access_token": "shpat_x"}
    assert stored_secret(f"{PREFIX}_index") == {"tenants": ["acme", "globex", "newco"]}
    assert settings_with(on_secrets_manager, "newco", key).status == 200
    assert error_code(settings_with(on_secrets_manager, "acme", key)) == (403, "wrong_tenant")


def test_the_first_tenant_on_secrets_manager_creates_the_index(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given an account with no tenant secrets at all, when `create first` runs under another prefix, then the index is created."""
    monkeypatch.delenv("ORDERTRAIL_TENANTS_FILE")
    with mock_aws():
        assert run("--prefix", "ot/dev/", "create", "first").exit_code == 0
        assert stored_secret("ot/dev/_index") == {"tenants": ["first"]}
        assert stored_secret("ot/dev/first")["touchpoint_secret"]


@pytest.mark.parametrize("store", ["tenants file", "Secrets Manager"])
def test_an_existing_tenant_is_refused_with_status_1_and_nothing_changes(
    pipeline: Pipeline, tenants_file: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """Given acme exists, when `create acme` runs, then it exits 1 saying so and acme's secret is as it was."""
    if store == "Secrets Manager":
        monkeypatch.delenv("ORDERTRAIL_TENANTS_FILE")
        boto3.client("secretsmanager").create_secret(Name=f"{PREFIX}acme", SecretString=json.dumps(TENANTS["acme"]))
    before = tenants_file.read_text()

    result = run("create", "acme")

    assert result.exit_code == 1
    assert "tenant acme already exists" in result.stderr and result.stdout == ""
    assert tenants_file.read_text() == before
    if store == "Secrets Manager":
        assert stored_secret(f"{PREFIX}acme") == TENANTS["acme"]
    assert settings_with(pipeline, "acme", "acme-team-key").status == 200


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["create", "Bad_Id"], 1, "invalid tenant id 'Bad_Id'"),
        (["create", "a" * 41], 1, "invalid tenant id"),
        (["create", "newco", "--tiktok-app-key", "k"], 1, "--tiktok-app-key and --tiktok-app-secret go together"),
        (["create", "newco", "--tiktok-service-id", "7"], 1, "--tiktok-service-id belongs to an app"),
        (["create", "newco", "--shopify-shop-domain", "x.myshopify.com"], 1, "--shopify-shop-domain and --shopify-admin-token go together"),
        (["create", "newco", "--shopify-shop-domain", "x", "--shopify-admin-token", "t"], 1, "needs its app's --shopify-client-secret"),
        (["add-key", "nobody"], 1, "tenant nobody does not exist"),
        (["list-keys", "nobody"], 1, "tenant nobody does not exist"),
        (["rotate-touchpoint-secret", "nobody"], 1, "tenant nobody does not exist"),
        (["revoke-key", "acme", "acme.not-a-key"], 1, "no API key of this tenant matches"),
        (["revoke-key", "acme", "acme-team-key"], 1, "last API key of acme"),
        (["rotate-touchpoint-secret", "acme", "--grace-hours", "-1"], 2, "--grace-hours"),
        (["urls", "acme", "--local", "--stack-name", "x"], 1, "--local and --stack-name/--region exclude each other"),
        (["--prefix", "bad prefix", "list-keys", "acme"], 1, "invalid --prefix"),
        (["--tenants-file", "/nonexistent/t.json", "add-key", "acme"], 1, "the tenants file /nonexistent/t.json does not exist"),
    ],
)
def test_invalid_input_exits_non_zero_naming_the_problem_and_changes_nothing(
    pipeline: Pipeline, tenants_file: Path, args: list[str], status: int, message: str
) -> None:
    """Given the tenants file, when a command is given a bad tenant, key, option or store, then it exits non-zero with a
    message naming the problem, prints no secret, and the file is unchanged."""
    before = tenants_file.read_text()

    result = run(*args)

    assert (result.exit_code, message in result.stderr) == (status, True), result.output
    assert result.stdout == ""
    assert tenants_file.read_text() == before


# ------------------------------------------------------------------------------------------------ API keys
def test_add_list_and_revoke_keys_reach_the_team_api(pipeline: Pipeline, tenants_file: Path) -> None:
    """Given a created tenant with a second key, when the first is revoked (by the key itself), then it is 401 and the second
    still reads; list-keys prints hash prefixes, never a key; the last key is revoked only with --force."""
    first = printed(run("create", "newco"), "api_key")
    second = printed(run("add-key", "newco"), "api_key")
    assert settings_with(pipeline, "newco", second).status == 200

    listed = run("list-keys", "newco")
    assert sorted(listed.stdout.split()) == sorted(hash_api_key(k)[:12] for k in (first, second))
    assert first not in listed.output and second not in listed.output

    assert run("revoke-key", "newco", first).exit_code == 0
    assert error_code(settings_with(pipeline, "newco", first)) == (401, "invalid_api_key")
    assert settings_with(pipeline, "newco", second).status == 200

    last = run("revoke-key", "newco", hash_api_key(second))
    assert last.exit_code == 1 and "--force" in last.stderr
    assert settings_with(pipeline, "newco", second).status == 200
    assert run("revoke-key", "newco", hash_api_key(second)[:12], "--force").exit_code == 0
    assert error_code(settings_with(pipeline, "newco", second)) == (401, "invalid_api_key")
    assert json.loads(tenants_file.read_text())["tenants"]["newco"]["api_key_sha256"] == []


def test_a_plain_key_of_the_committed_file_is_revoked_by_its_hash(pipeline: Pipeline, tenants_file: Path) -> None:
    """Given acme's plain `api_keys` entry and a new hashed key, when the plain one is revoked by its SHA-256, then it is
    401, it is gone from `api_keys`, and the new key reads."""
    new = printed(run("add-key", "acme"), "api_key")

    assert run("revoke-key", "acme", hash_api_key("acme-team-key")).exit_code == 0

    assert error_code(settings_with(pipeline, "acme", "acme-team-key")) == (401, "invalid_api_key")
    assert settings_with(pipeline, "acme", new).status == 200
    stored = json.loads(tenants_file.read_text())["tenants"]["acme"]
    assert "api_keys" not in stored and stored["api_key_sha256"] == [hash_api_key(new)]


def test_a_revoked_key_on_secrets_manager_is_401(on_secrets_manager: Pipeline) -> None:
    """Given newco in Secrets Manager with two keys, when one is revoked, then it is 401 and the other still reads."""
    first = printed(run("create", "newco"), "api_key")
    second = printed(run("add-key", "newco"), "api_key")

    assert run("revoke-key", "newco", first).exit_code == 0

    assert error_code(settings_with(on_secrets_manager, "newco", first)) == (401, "invalid_api_key")
    assert settings_with(on_secrets_manager, "newco", second).status == 200


# ------------------------------------------------------------------------------------------------ touchpoint secret
def test_a_rotated_secret_still_signs_within_the_grace_and_is_refused_after(
    pipeline: Pipeline, tenants_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given acme (no address_salt yet), when its touchpoint secret is rotated with 24 hours of grace, then the old and the
    new secret both sign POST /touchpoints (202); 25 hours later the old one is 401 bad_signature and the new one still
    signs; and address_salt was pinned to the derived salt, so crossover address hashes do not change."""
    old = TENANTS["acme"]["touchpoint_secret"]
    salt_before = TenantSecrets.from_config("acme", TENANTS["acme"]).crossover_salt

    result = run("rotate-touchpoint-secret", "acme", "--grace-hours", "24")

    assert result.exit_code == 0, result.output
    new = printed(result, "touchpoint_secret")
    assert old not in result.output and new != old
    now = services.now()
    assert touchpoint_signed_with(pipeline, "acme", old, "c-old", int(now.timestamp())).status == 202
    assert touchpoint_signed_with(pipeline, "acme", new, "c-new", int(now.timestamp())).status == 202
    stored = json.loads(tenants_file.read_text())["tenants"]["acme"]
    assert stored["address_salt"] == salt_before
    assert TenantSecrets.from_config("acme", stored).crossover_salt == salt_before

    later = now + timedelta(hours=25)
    monkeypatch.setattr(services, "now", lambda: later)
    monkeypatch.setattr(signed_batches, "wall_clock", later.timestamp)
    refused = touchpoint_signed_with(pipeline, "acme", old, "c-old-2", int(later.timestamp()))
    assert error_code(refused) == (401, "bad_signature")
    assert touchpoint_signed_with(pipeline, "acme", new, "c-new-2", int(later.timestamp())).status == 202


def test_a_rotation_without_grace_refuses_the_old_secret_at_once(on_secrets_manager: Pipeline) -> None:
    """Given acme in Secrets Manager, when its secret is rotated with --grace-hours 0, then the old secret is 401 at once,
    the new one signs, and the salt is pinned in the secret."""
    result = run("rotate-touchpoint-secret", "acme", "--grace-hours", "0")

    assert result.exit_code == 0, result.output
    new, at = printed(result, "touchpoint_secret"), int(services.now().timestamp())
    assert error_code(touchpoint_signed_with(on_secrets_manager, "acme", TENANTS["acme"]["touchpoint_secret"], "c-1", at)) == (
        401,
        "bad_signature",
    )
    assert touchpoint_signed_with(on_secrets_manager, "acme", new, "c-2", at).status == 202
    stored = stored_secret(f"{PREFIX}acme")
    assert stored["address_salt"] == TenantSecrets.from_config("acme", TENANTS["acme"]).crossover_salt
    assert "previous_touchpoint_secret" not in stored


# ------------------------------------------------------------------------------------------------ urls
API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com"


def test_urls_come_from_the_stacks_api_url_output(aws_env: None) -> None:
    """Given a CloudFormation stack named as samconfig.toml says with an ApiUrl output, when `urls acme` runs, then it
    prints the six URLs of docs/api.md#routes under that base."""
    with mock_aws():
        template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"ApiUrl": {"Value": API_URL}}}
        boto3.client("cloudformation").create_stack(StackName="ordertrail", TemplateBody=json.dumps(template))

        result = run("urls", "acme")

    assert result.exit_code == 0, result.output
    urls = [line.split()[-2:] for line in result.stdout.splitlines()]
    assert urls == [
        ["POST", f"{API_URL}/v1/acme/webhooks/tiktok-shop"],
        ["POST", f"{API_URL}/v1/acme/webhooks/shopify"],
        ["POST", f"{API_URL}/v1/acme/orders"],
        ["POST", f"{API_URL}/v1/acme/touchpoints"],
        ["GET", f"{API_URL}/v1/acme/dashboard"],
        ["GET", f"{API_URL}/v1/openapi.json"],
    ]


def test_urls_of_the_local_stack_and_of_a_missing_stack(aws_env: None) -> None:
    """Given --local --port 3100, then the base is the loopback; given a stack that does not exist, then it exits 1 naming it."""
    local = run("urls", "acme", "--local", "--port", "3100")
    assert local.exit_code == 0 and "http://127.0.0.1:3100/v1/acme/touchpoints" in local.stdout

    with mock_aws():
        missing = run("urls", "acme", "--stack-name", "nope")
    assert missing.exit_code == 1 and "stack nope cannot be read" in missing.stderr
