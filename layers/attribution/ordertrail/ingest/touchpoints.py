"""Touchpoint recording: verify the sender, validate each item, store the valid ones once (duplicates are not errors)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ordertrail.core.responses import BatchResult
from ordertrail.ingest.signed_batches import signed_batch
from ordertrail.runtime.observability import logger, metrics
from ordertrail.sources import signed_payloads

if TYPE_CHECKING:
    from ordertrail.core.environment import Environment
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.tenant_secrets import TenantDirectory


def record_touchpoints(
    repo: Repository,
    directory: TenantDirectory,
    environment: Environment,
    tenant: str,
    raw: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> BatchResult:
    """Store one touchpoint or a batch; returns the batch result `{accepted, duplicates, errors}` (docs/api.md#batch-result)."""
    parsed = signed_batch(directory, environment, tenant, raw, headers, signed_payloads.parse_touchpoints)
    stamped = [touchpoint.model_copy(update={"received_at": now}) for _, touchpoint in parsed.items]
    stored = repo.put_touchpoints(tenant, stamped, repo.get_tenant_settings(tenant)) if stamped else []
    accepted = stored.count(True)
    duplicates = len(stored) - accepted
    metrics.add_metric(name="TouchpointsAccepted", unit="Count", value=accepted)
    logger.info(
        "touchpoints recorded", extra={"tenant": tenant, "accepted": accepted, "duplicates": duplicates, "refused": len(parsed.errors)}
    )
    return BatchResult(accepted=accepted, duplicates=duplicates, errors=parsed.errors)
