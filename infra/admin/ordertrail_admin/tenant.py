"""`make tenant ARGS=...`: create tenants, issue and revoke team API keys, rotate the touchpoint secret, print a tenant's URLs.

Every write goes through `TenantDirectory.update` (the tenants file or Secrets Manager, docs/operations.md#secrets).
A new API key or secret is printed once, on stdout; everything else goes to stderr, and no stored secret is ever printed.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import click
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from ordertrail.storage.tenant_secrets import (
    INDEX_SECRET,
    TENANT_ID,
    FileTenantDirectory,
    SecretChange,
    SecretsManagerTenantDirectory,
    TenantDirectory,
    TenantSecrets,
    hash_api_key,
)

ROOT = Path(__file__).resolve().parents[3]
SAMCONFIG = ROOT / "samconfig.toml"
DEFAULT_PREFIX = "ordertrail/tenants/"  # template.yaml's TenantSecretPrefix default
DEFAULT_STACK = "ordertrail"
# template.yaml's AllowedPattern of TenantSecretPrefix.
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
HASH_PREFIX = 12  # what list-keys prints, and the shortest hash prefix revoke-key accepts
MAX_GRACE_HOURS = 720
CACHE_NOTE = "Warm Lambdas see the change within SECRET_CACHE_SECONDS (default 5 minutes)."


class NotATenant(click.ClickException):
    """The tenant has no stored secret (exit status 1)."""


@dataclass(frozen=True)
class Store:
    """Where the tenants live: a tenants file, or Secrets Manager under a prefix."""

    tenants_file: Path | None
    prefix: str

    @property
    def where(self) -> str:
        """The store, named for messages."""
        return f"tenants file {self.tenants_file}" if self.tenants_file else f"Secrets Manager (prefix {self.prefix})"

    def directory(self, create_file: bool = False) -> TenantDirectory:
        """The directory over this store; `create_file` makes an empty tenants file (mode 0600) when there is none."""
        if self.tenants_file is None:
            # Fresh reads: this process must not act on a cached copy.
            return SecretsManagerTenantDirectory(self.prefix, max_age=0, miss_age=0)
        if not self.tenants_file.exists():
            if not create_file:
                raise click.ClickException(f"the tenants file {self.tenants_file} does not exist")
            self.tenants_file.touch(mode=0o600)
            self.tenants_file.write_text(json.dumps({"tenants": {}}, indent=2) + "\n")
        return FileTenantDirectory(self.tenants_file)


class TenantGroup(click.Group):
    """A click group that turns AWS, file and stored-JSON errors into one clear message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; the errors it may meet become click errors (their messages hold no secret)."""
        try:
            return super().invoke(ctx)
        except (BotoCoreError, ClientError) as error:
            raise click.ClickException(f"AWS refused: {error}") from error
        except ValidationError as error:
            # Only where and what: pydantic's own text would repeat the stored values, which may be secrets.
            problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())
            raise click.ClickException(f"the stored tenant JSON is not valid: {problems}") from error
        except json.JSONDecodeError as error:
            raise click.ClickException(f"the stored JSON cannot be read: {error.msg} (line {error.lineno})") from error
        except OSError as error:
            raise click.ClickException(str(error)) from error
        except Exception as error:
            if type(error).__module__.startswith("aws_lambda_powertools"):  # GetSecretError, SetSecretError, ...
                raise click.ClickException(str(error)) from error
            raise


def tenant_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a tenant id the stack cannot name a secret after (docs/operations.md#secrets), with exit status 1."""
    if not TENANT_ID.match(value):
        raise click.ClickException(f"invalid tenant id {value!r}: use 1 to 40 lower-case letters, digits and -")
    return value


def secret_prefix(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a prefix template.yaml's TenantSecretPrefix would refuse."""
    if not PREFIX_PATTERN.match(value):
        raise click.ClickException(f"invalid --prefix {value!r}: use letters, digits and /_+=.@-")
    return value


@click.group(cls=TenantGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tenants-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ORDERTRAIL_TENANTS_FILE",
    help="Edit this local tenants file (default $ORDERTRAIL_TENANTS_FILE); without it, Secrets Manager.",
)
@click.option("--prefix", default=DEFAULT_PREFIX, show_default=True, callback=secret_prefix, help="Secrets Manager name prefix.")
@click.pass_context
def cli(ctx: click.Context, tenants_file: Path | None, prefix: str) -> None:
    """Manage OrderTrail tenants: their secret, team API keys, touchpoint secret and URLs (docs/operations.md#tenant-onboarding)."""
    ctx.obj = Store(tenants_file, prefix)


def new_api_key(tenant: str) -> str:
    """A team API key `<tenant>.<random>`: the prefix is how the stack finds the key's tenant (docs/api.md#team-api-keys)."""
    return f"{tenant}.{secrets.token_urlsafe(32)}"


def new_secret() -> str:
    """A fresh random secret (touchpoint secret, address salt)."""
    return secrets.token_urlsafe(32)


def stored_hashes(tenant: str, config: Mapping[str, Any]) -> list[str]:
    """Every API key hash of a stored tenant JSON (plain `api_keys` hashed), in a stable order."""
    return sorted(TenantSecrets.from_config(tenant, dict(config)).api_key_hashes)


def existing(tenant: str, store: Store) -> Callable[[SecretChange], SecretChange]:
    """Wrap a change so that it refuses a tenant with no stored JSON (and so writes nothing)."""

    def wrap(change: SecretChange) -> SecretChange:
        def checked(config: dict[str, Any]) -> Mapping[str, Any]:
            if not config:
                raise NotATenant(f"tenant {tenant} does not exist in {store.where}")
            return change(config)

        return checked

    return wrap


# ------------------------------------------------------------------------------------------------ create
@cli.command()
@click.argument("tenant", callback=tenant_id)
@click.option("--shopify-client-secret", help="The Shopify app's client secret (verifies Shopify webhooks).")
@click.option("--tiktok-app-key", help="The TikTok Shop app key (with --tiktok-app-secret).")
@click.option("--tiktok-app-secret", help="The TikTok Shop app secret (with --tiktok-app-key).")
@click.option("--tiktok-service-id", help="The TikTok Shop app's service id (names the app on the seller's authorization page).")
@click.option("--shopify-shop-domain", help="The shop's myshopify.com domain (history import, webhook setup check).")
@click.option("--shopify-admin-token", help="The shop's Admin API access token (with --shopify-shop-domain).")
@click.pass_obj
def create(
    store: Store,
    tenant: str,
    shopify_client_secret: str | None,
    tiktok_app_key: str | None,
    tiktok_app_secret: str | None,
    tiktok_service_id: str | None,
    shopify_shop_domain: str | None,
    shopify_admin_token: str | None,
) -> None:
    """Create TENANT: a touchpoint secret, an address salt and a first API key (printed once)."""
    if bool(tiktok_app_key) != bool(tiktok_app_secret):
        raise click.ClickException("--tiktok-app-key and --tiktok-app-secret go together: give both or neither")
    if tiktok_service_id and not tiktok_app_key:
        raise click.ClickException("--tiktok-service-id belongs to an app: give --tiktok-app-key and --tiktok-app-secret too")
    if bool(shopify_shop_domain) != bool(shopify_admin_token):
        raise click.ClickException("--shopify-shop-domain and --shopify-admin-token go together: give both or neither")
    if shopify_shop_domain and not shopify_client_secret:
        raise click.ClickException("the Shopify shop needs its app's --shopify-client-secret too (it verifies the webhooks)")
    if store.tenants_file is None and secret_exists(f"{store.prefix}{tenant}"):
        raise click.ClickException(f"tenant {tenant} already exists in {store.where}: nothing was changed")
    api_key = new_api_key(tenant)
    touchpoint_secret = new_secret()

    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        if config:
            raise click.ClickException(f"tenant {tenant} already exists in {store.where}: nothing was changed")
        created: dict[str, Any] = {
            "api_key_sha256": [hash_api_key(api_key)],
            "touchpoint_secret": touchpoint_secret,
            # Its own salt, so crossover address hashes never depend on the touchpoint secret (docs/operations.md#secrets).
            "address_salt": new_secret(),
        }
        if shopify_client_secret:
            created["shopify"] = {"client_secret": shopify_client_secret}
            if shopify_shop_domain and shopify_admin_token:
                created["shopify"].update({"shop_domain": shopify_shop_domain, "admin_access_token": shopify_admin_token})
        if tiktok_app_key and tiktok_app_secret:
            created["tiktok_shop"] = {"app_key": tiktok_app_key, "app_secret": tiktok_app_secret}
            if tiktok_service_id:
                created["tiktok_shop"]["service_id"] = tiktok_service_id
        return created

    store.directory(create_file=True).update(tenant, change)
    if store.tenants_file is None:
        add_to_index(store.prefix, tenant)
    note(f"Created tenant {tenant} in {store.where}. The API key and touchpoint secret below are shown only this once.")
    click.echo(f"api_key: {api_key}")
    click.echo(f"touchpoint_secret: {touchpoint_secret}")
    if store.tenants_file is None:
        note(f"Added {tenant} to {store.prefix}{INDEX_SECRET}. A new tenant may answer 401 for up to SECRET_MISS_CACHE_SECONDS (1 minute).")


def secret_exists(name: str) -> bool:
    """Whether Secrets Manager has a secret by that name (any error but "not found" stops the command)."""
    try:
        boto3.client("secretsmanager").describe_secret(SecretId=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    return True


def add_to_index(prefix: str, tenant: str) -> None:
    """Add the tenant to `<prefix>_index`, `{"tenants": [...]}`, creating it the first time (docs/operations.md#secrets)."""
    client = boto3.client("secretsmanager")
    name = f"{prefix}{INDEX_SECRET}"
    try:
        current = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        client.create_secret(Name=name, SecretString=json.dumps({"tenants": [tenant]}))
        return
    names = current.get("tenants") if isinstance(current, dict) else None
    if not isinstance(names, list):
        raise click.ClickException(f"{name} does not hold {{'tenants': [...]}}: add {tenant} to it by hand")
    if tenant not in names:
        client.put_secret_value(SecretId=name, SecretString=json.dumps({**current, "tenants": sorted({*names, tenant})}))


# ------------------------------------------------------------------------------------------------ API keys
@cli.command("add-key")
@click.argument("tenant", callback=tenant_id)
@click.pass_obj
def add_key(store: Store, tenant: str) -> None:
    """Issue another team API key for TENANT (printed once; only its SHA-256 is stored)."""
    api_key = new_api_key(tenant)

    @existing(tenant, store)
    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        return {**config, "api_key_sha256": [*(config.get("api_key_sha256") or []), hash_api_key(api_key)]}

    store.directory().update(tenant, change)
    note(f"New API key for {tenant} ({hash_api_key(api_key)[:HASH_PREFIX]}), shown only this once. {CACHE_NOTE}")
    click.echo(f"api_key: {api_key}")


@cli.command("revoke-key")
@click.argument("tenant", callback=tenant_id)
@click.argument("key")
@click.option("--force", is_flag=True, help="Revoke even the tenant's last key (the team is locked out until add-key).")
@click.pass_obj
def revoke_key(store: Store, tenant: str, key: str, force: bool) -> None:
    """Revoke one of TENANT's API keys: KEY is the key, its SHA-256 hex, or a hash prefix list-keys printed."""
    revoked: list[str] = []

    @existing(tenant, store)
    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        hashes = stored_hashes(tenant, config)
        target = matching_hash(key, hashes)
        if len(hashes) == 1 and not force:
            raise click.ClickException(f"that is the last API key of {tenant}: revoking it locks the team out; add --force to do it anyway")
        revoked.append(target)
        kept_hashes = [h for h in config.get("api_key_sha256") or [] if h.strip().lower() != target]
        kept_plain = [k for k in config.get("api_keys") or [] if hash_api_key(k) != target]
        changed = {name: value for name, value in config.items() if name not in ("api_keys", "api_key_sha256")}
        return {**changed, **({"api_keys": kept_plain} if kept_plain else {}), "api_key_sha256": kept_hashes}

    store.directory().update(tenant, change)
    note(f"Revoked API key {revoked[0][:HASH_PREFIX]} of {tenant}, and every dashboard link made with it. {CACHE_NOTE}")


def matching_hash(given: str, hashes: list[str]) -> str:
    """The stored hash `given` names: as a key, as a full SHA-256 hex, or as a unique hash prefix of at least 12 hex digits."""
    if hash_api_key(given) in hashes:
        return hash_api_key(given)
    wanted = given.strip().lower()
    if SHA256_HEX.match(wanted) and wanted in hashes:
        return wanted
    if len(wanted) >= HASH_PREFIX and re.fullmatch(r"[0-9a-f]+", wanted):
        found = [h for h in hashes if h.startswith(wanted)]
        if len(found) > 1:
            raise click.ClickException(f"the hash prefix {wanted} names {len(found)} keys: give more digits")
        if found:
            return found[0]
    raise click.ClickException("no API key of this tenant matches (give the key, its SHA-256 hex, or a prefix list-keys printed)")


@cli.command("list-keys")
@click.argument("tenant", callback=tenant_id)
@click.pass_obj
def list_keys(store: Store, tenant: str) -> None:
    """List TENANT's API keys as SHA-256 prefixes (the keys themselves are not stored)."""
    found = store.directory().get(tenant)
    if found is None:
        raise NotATenant(f"tenant {tenant} does not exist in {store.where}")
    for digest in sorted(found.api_key_hashes):
        click.echo(f"{digest[:HASH_PREFIX]}")
    note(f"{len(found.api_key_hashes)} API key(s) for {tenant} (SHA-256 prefixes; revoke-key accepts them).")


# ------------------------------------------------------------------------------------------------ touchpoint secret
@cli.command("rotate-touchpoint-secret")
@click.argument("tenant", callback=tenant_id)
@click.option(
    "--grace-hours",
    type=click.IntRange(0, MAX_GRACE_HOURS),
    default=24,
    show_default=True,
    help="How long the old secret still verifies signed requests, so senders can switch.",
)
@click.pass_obj
def rotate_touchpoint_secret(store: Store, tenant: str, grace_hours: int) -> None:
    """Give TENANT a new touchpoint secret (printed once); the old one is accepted for --grace-hours more."""
    touchpoint_secret = new_secret()
    now = int(time.time())
    expires_at = now + grace_hours * 3600
    happened: list[str] = []

    @existing(tenant, store)
    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        current = TenantSecrets.from_config(tenant, config)
        rotated = dict(config)
        if not config.get("address_salt"):
            # Pin the salt the addresses are hashed with today, so the new secret does not split crossover profiles
            # (docs/operations.md#touchpoint-secret).
            rotated["address_salt"] = current.crossover_salt or new_secret()
            happened.append("pinned")
        if current.previous_touchpoint_secret in current.touchpoint_secrets(now)[1:]:
            happened.append("dropped")
        rotated.pop("previous_touchpoint_secret", None)
        rotated.pop("previous_touchpoint_secret_expires_at", None)
        if not current.touchpoint_secret:
            happened.append("first")
        elif grace_hours > 0:
            rotated["previous_touchpoint_secret"] = current.touchpoint_secret
            rotated["previous_touchpoint_secret_expires_at"] = expires_at
            happened.append("grace")
        rotated["touchpoint_secret"] = touchpoint_secret
        return rotated

    store.directory().update(tenant, change)
    note(f"New touchpoint secret for {tenant}, shown only this once. {CACHE_NOTE}")
    click.echo(f"touchpoint_secret: {touchpoint_secret}")
    if "pinned" in happened:
        note("address_salt was pinned to the value the old secret derived, so crossover address hashes do not change.")
    if "dropped" in happened:
        note("The secret of the previous rotation, still in its grace, is no longer accepted.")
    if "grace" in happened:
        until = datetime.fromtimestamp(expires_at, UTC).isoformat().replace("+00:00", "Z")
        note(f"The old secret still verifies X-OrderTrail-Signature until {until} ({grace_hours} h): switch every sender before then.")
    elif "first" not in happened:
        note("The old secret is no longer accepted.")


# ------------------------------------------------------------------------------------------------ urls
URLS = (
    ("TikTok Shop webhook", "POST", "/v1/{tenant}/webhooks/tiktok-shop"),
    ("Shopify webhook", "POST", "/v1/{tenant}/webhooks/shopify"),
    ("signed orders", "POST", "/v1/{tenant}/orders"),
    ("touchpoints", "POST", "/v1/{tenant}/touchpoints"),
    ("dashboard", "GET", "/v1/{tenant}/dashboard"),
    ("OpenAPI document", "GET", "/v1/openapi.json"),
)


@cli.command()
@click.argument("tenant", callback=tenant_id)
@click.option("--stack-name", help="The deployed stack (default: samconfig.toml's stack_name).")
@click.option("--region", help="The stack's region (default: the AWS CLI's).")
@click.option("--local", "local", is_flag=True, help="The local stack (make serve) instead of a deployed one.")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True, help="The local stack's port (with --local).")
@click.pass_obj
def urls(store: Store, tenant: str, stack_name: str | None, region: str | None, local: bool, port: int) -> None:
    """Print every URL the deployment gives TENANT (docs/api.md#routes), from the stack's ApiUrl output or the local stack."""
    if local and (stack_name or region):
        raise click.ClickException("--local and --stack-name/--region exclude each other")
    base = f"http://127.0.0.1:{port}" if local else api_url(stack_name or default_stack_name(), region)
    for label, method, path in tenant_urls(base, tenant):
        click.echo(f"{label:<20} {method:<4} {path}")


def tenant_urls(base: str, tenant: str) -> list[tuple[str, str, str]]:
    """(what, method, URL) of each route a tenant's senders, platforms and team use, under `base`."""
    root = base.rstrip("/")
    return [(label, method, root + path.format(tenant=tenant)) for label, method, path in URLS]


def default_stack_name(samconfig: Path = SAMCONFIG) -> str:
    """The stack name `sam deploy` uses: samconfig.toml's (global, then deploy) stack_name, else `ordertrail`."""
    if not samconfig.exists():
        return DEFAULT_STACK
    default = tomllib.loads(samconfig.read_text()).get("default", {})
    for command in ("global", "deploy"):
        name = default.get(command, {}).get("parameters", {}).get("stack_name")
        if isinstance(name, str) and name:
            return name
    return DEFAULT_STACK


def api_url(stack_name: str, region: str | None) -> str:
    """The stack's `ApiUrl` output (docs/operations.md#deploy)."""
    client = boto3.client("cloudformation", region_name=region) if region else boto3.client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise click.ClickException(f"stack {stack_name} cannot be read: {error}") from error
    outputs = {o.get("OutputKey"): o.get("OutputValue") for stack in stacks for o in stack.get("Outputs", [])}
    url = outputs.get("ApiUrl")
    if not url:
        raise click.ClickException(f"stack {stack_name} has no ApiUrl output (is it OrderTrail's, and fully deployed?)")
    return str(url)


# ------------------------------------------------------------------------------------------------ helpers
def note(message: str) -> None:
    """Tell the operator something (stderr: stdout carries only the values printed once)."""
    click.echo(message, err=True)


def main() -> None:
    """Run the CLI (`python -m ordertrail_admin.tenant`)."""
    cli()


if __name__ == "__main__":
    main()
