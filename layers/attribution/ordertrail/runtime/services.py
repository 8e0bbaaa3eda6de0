"""The process's shared collaborators (repository, tenant directory), built once on first use."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from ordertrail.core.environment import get_environment
from ordertrail.storage.tenant_secrets import TenantDirectory, tenant_directory

if TYPE_CHECKING:
    from ordertrail.storage.executions import ExecutionLauncher
    from ordertrail.storage.files import DownloadFiles
    from ordertrail.storage.repository import Repository


@lru_cache(maxsize=1)
def repository() -> Repository:
    """The table repository for this process."""
    # Imported on first use, not at the top: the repository pulls in every model, and the authorizer reads only tenants.
    from ordertrail.storage.repository import Repository

    return Repository(get_environment().table_name)


@lru_cache(maxsize=1)
def launcher() -> ExecutionLauncher:
    """Starts export runs on the state machine named by EXPORT_STATE_MACHINE_ARN."""
    from ordertrail.storage.executions import ExecutionLauncher  # on first use: most handlers start no runs

    arn = get_environment().export_state_machine_arn
    if not arn:
        raise RuntimeError("EXPORT_STATE_MACHINE_ARN is not set: this function cannot start export runs")
    return ExecutionLauncher(arn)


@lru_cache(maxsize=1)
def import_launcher() -> ExecutionLauncher:
    """Starts history imports on the state machine named by IMPORT_STATE_MACHINE_ARN."""
    from ordertrail.storage.executions import ExecutionLauncher  # on first use: most handlers start no runs

    arn = get_environment().import_state_machine_arn
    if not arn:
        raise RuntimeError("IMPORT_STATE_MACHINE_ARN is not set: this function cannot start history imports")
    return ExecutionLauncher(arn)


@lru_cache(maxsize=1)
def reattribute_launcher() -> ExecutionLauncher:
    """Starts re-attribution runs on the state machine named by REATTRIBUTE_STATE_MACHINE_ARN."""
    from ordertrail.storage.executions import ExecutionLauncher  # on first use: most handlers start no runs

    arn = get_environment().reattribute_state_machine_arn
    if not arn:
        raise RuntimeError("REATTRIBUTE_STATE_MACHINE_ARN is not set: this function cannot start re-attribution runs")
    return ExecutionLauncher(arn)


def download_files() -> DownloadFiles | None:
    """The exports bucket for large CSV files (None: not configured, large CSV downloads are refused)."""
    from ordertrail.storage.files import DownloadFiles  # on first use: only the reports hand out download links

    bucket = get_environment().exports_bucket
    return DownloadFiles(bucket) if bucket else None


def tenants() -> TenantDirectory:
    """The tenant directory for this process."""
    return tenant_directory(get_environment())


def address_salt(tenant: str) -> str | None:
    """The tenant's crossover address-hash key (None: addresses of this tenant are not matched)."""
    secrets = tenants().get(tenant)
    return secrets.crossover_salt if secrets else None


def now() -> datetime:
    """The current time in UTC (one place to read the clock)."""
    return datetime.now(UTC)
