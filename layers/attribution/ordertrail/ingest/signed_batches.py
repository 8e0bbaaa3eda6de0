"""The one path of a signed batch (orders or touchpoints): check X-OrderTrail-Signature, parse the body, split valid from refused."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ordertrail.api import auth
from ordertrail.api.json_body import parse_json
from ordertrail.core.errors import Unauthorized
from ordertrail.sources import signatures, signed_payloads

if TYPE_CHECKING:
    from ordertrail.core.environment import Environment
    from ordertrail.sources.signed_payloads import Parsed
    from ordertrail.storage.tenant_secrets import TenantDirectory, TenantSecrets

T = TypeVar("T")
# A signature's age is measured in real time (tests move it here, not the reports' clock).
wall_clock = time.time


def signed_batch(
    directory: TenantDirectory,
    environment: Environment,
    tenant: str,
    raw: bytes,
    headers: Mapping[str, str],
    parse: Callable[[Any], Parsed[T]],
    now: datetime | None = None,
) -> Parsed[T]:
    """Verify the sender, then parse one item or a batch; a single refused item is an error, a batch reports by index."""
    verify_ordertrail_signature(directory, environment, tenant, raw, headers, now)
    parsed = parse(parse_json(raw))
    signed_payloads.single_or_raise(parsed)
    return parsed


def verify_ordertrail_signature(
    directory: TenantDirectory,
    environment: Environment,
    tenant: str,
    raw: bytes,
    headers: Mapping[str, str],
    now: datetime | None = None,
) -> TenantSecrets:
    """Check X-OrderTrail-Signature with the tenant's touchpoint secret (403 when signed for another tenant).

    A rotated-out secret still verifies until its grace ends (docs/operations.md#touchpoint-secret). `now` is the time
    the request is checked at; without one, the wall clock (a signature's age is real time, whatever clock a report uses).
    """
    signature = auth.header(headers, "X-OrderTrail-Signature")
    if not signature:
        raise Unauthorized("X-OrderTrail-Signature is missing", field="X-OrderTrail-Signature", code="missing_signature")
    at = int(now.timestamp()) if now is not None else int(wall_clock())

    def verify(secrets: TenantSecrets) -> None:
        verify_with_any(secrets.touchpoint_secrets(at), raw, signature, at, environment.signature_tolerance_seconds)

    return auth.require_signed(directory, tenant, verify, lambda s: s.touchpoint_secret is not None, "touchpoint secret")


def verify_with_any(secrets: Sequence[str], raw: bytes, signature: str, now: int, tolerance_seconds: int) -> None:
    """Pass when one of the secrets verifies the signature at `now`; else raise the first secret's refusal (the current one's)."""
    first: Unauthorized | None = None
    for secret in secrets:
        try:
            signatures.verify_ordertrail(secret, raw, signature, now, tolerance_seconds)
            return
        except Unauthorized as refused:
            first = first or refused
    if first is None:
        raise Unauthorized("no touchpoint secret is configured", code="unknown_tenant")
    raise first
