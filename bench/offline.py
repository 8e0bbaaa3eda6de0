"""Shared set-up of the benchmarks: the layer and local stack on the path, and an offline AWS environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def use_repository_code() -> None:
    """Make the layer (`ordertrail`) and the local stack (`ordertrail_local`) importable, as on Lambda and in tests."""
    for extra in ("layers/attribution", "infra/local"):
        if str(ROOT / extra) not in sys.path:
            sys.path.insert(0, str(ROOT / extra))


def environment(table: str) -> dict[str, str]:
    """Dummy credentials, the table's name and quiet Powertools: what a benchmark needs so moto answers everything."""
    return {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "TABLE_NAME": table,
        "POWERTOOLS_METRICS_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }


def offline_env(table: str) -> None:
    """Set environment(table) where unset and drop any endpoint override: moto in-process answers everything."""
    for name, value in environment(table).items():
        os.environ.setdefault(name, value)
    os.environ.pop("AWS_ENDPOINT_URL", None)
