"""The Powertools logger, metrics and tracer, made in one place and shared by every function."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="ordertrail")
metrics = Metrics(namespace="OrderTrail", service="ordertrail")


@lru_cache(maxsize=1)
def tracer() -> Any:
    """The X-Ray tracer, created on first use and only when tracing is on (it costs ~220 ms to import)."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true"):
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service="ordertrail")
