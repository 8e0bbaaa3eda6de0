"""ImportHistory functions: the history import state machine's Plan, Pages and Finalize steps (docs/operations.md#import-history)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.connections import tokens
from ordertrail.connections.connector import connector_from
from ordertrail.core.environment import get_environment
from ordertrail.core.import_runs import ImportFinalizeInput, ImportPagesInput, ImportPlanInput, ImportRun
from ordertrail.imports import history
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics
from ordertrail.storage.tenant_secrets import TikTokShopSecrets


@logger.inject_lambda_context
@event_parser(model=ImportPlanInput)
def plan_handler(event: ImportPlanInput, context: LambdaContext) -> dict[str, Any]:
    """ImportPlan: the run's windows of at most 30 days."""
    return history.plan(services.repository(), event.tenant, event.import_id, services.now())


@logger.inject_lambda_context
@metrics.log_metrics
@event_parser(model=ImportPagesInput)
def pages_handler(event: ImportPagesInput, context: LambdaContext) -> dict[str, Any]:
    """ImportPages: the next pages of one window; RetryableImportError and ImportAuthorizationError reach the state machine by name."""
    from ordertrail.imports import stores  # on first use: the store clients serve this step alone, not Plan or Finalize

    repository, directory, environment, now = services.repository(), services.tenants(), get_environment(), services.now()

    def refresh(tenant: str, rejected_access_token: str, at: datetime) -> TikTokShopSecrets | None:
        # Built only when TikTok refused a token.
        return tokens.refresh_after_rejection(connector_from(environment, repository, directory), tenant, at, rejected_access_token)

    def pages_of(run: ImportRun) -> stores.OrderPages:
        return stores.pages_for(environment, directory, run.tenant, run.source, now, refresh)

    return history.import_pages(repository, pages_of, event.tenant, event.import_id, event.window, now)


@logger.inject_lambda_context
@event_parser(model=ImportFinalizeInput)
def finalize_handler(event: ImportFinalizeInput, context: LambdaContext) -> dict[str, Any]:
    """ImportFinalize (or RecordFailure): record how the import ended."""
    return history.finalize(services.repository(), event.tenant, event.import_id, event.error, services.now())
