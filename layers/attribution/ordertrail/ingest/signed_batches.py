"""The one path of a signed batch (orders or touchpoints): check X-OrderTrail-Signature, parse the body, split valid from refused."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ordertrail.api import auth
from ordertrail.api.resolver import parse_json
from ordertrail.core.environment import Environment
from ordertrail.core.errors import Unauthorized
from ordertrail.sources import signatures, signed_payloads
from ordertrail.sources.signed_payloads import Parsed
from ordertrail.storage.tenant_secrets import TenantDirectory, TenantSecrets

T = TypeVar("T")


def signed_batch(
    directory: TenantDirectory,
    environment: Environment,
    tenant: str,
    raw: bytes,
    headers: Mapping[str, str],
    parse: Callable[[Any], Parsed[T]],
) -> Parsed[T]:
    """Verify the sender, then parse one item or a batch; a single refused item is an error, a batch reports by index."""
    verify_ordertrail_signature(directory, environment, tenant, raw, headers)
    parsed = parse(parse_json(raw))
    signed_payloads.single_or_raise(parsed)
    return parsed


def verify_ordertrail_signature(
    directory: TenantDirectory, environment: Environment, tenant: str, raw: bytes, headers: Mapping[str, str]
) -> TenantSecrets:
    """Check X-OrderTrail-Signature with the tenant's touchpoint secret (403 when signed for another tenant)."""
    signature = auth.header(headers, "X-OrderTrail-Signature")
    if not signature:
        raise Unauthorized("X-OrderTrail-Signature is missing", field="X-OrderTrail-Signature", code="missing_signature")

    def verify(secrets: TenantSecrets) -> None:
        assert secrets.touchpoint_secret is not None
        signatures.verify_ordertrail(secrets.touchpoint_secret, raw, signature, int(time.time()), environment.signature_tolerance_seconds)

    return auth.require_signed(directory, tenant, verify, lambda s: s.touchpoint_secret is not None, "touchpoint secret")
