"""Webhook de-duplication on Powertools idempotency, stored in the single table (records expire through `ttl`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.core.environment import get_environment

F = TypeVar("F", bound=Callable[..., dict[str, Any]])
_CONFIGS: list[IdempotencyConfig] = []
_BUILDERS: list[Any] = []


def persistence_layer() -> DynamoDBPersistenceLayer:
    """A persistence layer in the single table (it creates a boto3 client, so only on first use).

    One per idempotent function: Powertools configures a persistence layer once, with the first function's key
    expression, so a shared one would key every other function's calls wrongly.
    """
    environment = get_environment()
    return DynamoDBPersistenceLayer(table_name=environment.table_name, key_attr="PK", sort_key_attr="SK", expiry_attr="ttl")


def forget_persistence_layers() -> None:
    """Drop the persistence layers built so far (a new Lambda container starts without them too)."""
    for build in _BUILDERS:
        build.cache_clear()


def register_lambda_context(context: LambdaContext) -> None:
    """Tell every idempotent function how long this invocation has left.

    Without it, a record left "in progress" by a timed-out invocation would block the platform's retries until the
    record expires; with it, the record expires with the invocation.
    """
    for config in _CONFIGS:
        config.register_lambda_context(context)


def once_per(key_jmespath: str) -> Callable[[F], F]:
    """Run the decorated function once per natural id (a JMESPath over its `request` dict); repeats get the first result."""

    def decorate(function: F) -> F:
        config = IdempotencyConfig(event_key_jmespath=key_jmespath, raise_on_no_idempotency_key=True)
        _CONFIGS.append(config)

        @functools.lru_cache(maxsize=1)
        def build() -> Callable[..., dict[str, Any]]:
            config.expires_after_seconds = get_environment().idempotency_ttl_seconds
            wrapped: Callable[..., dict[str, Any]] = idempotent_function(
                function, data_keyword_argument="request", persistence_store=persistence_layer(), config=config
            )
            return wrapped

        _BUILDERS.append(build)

        @functools.wraps(function)
        def call(*, request: dict[str, Any], **collaborators: Any) -> dict[str, Any]:
            return build()(request=request, **collaborators)

        return call  # type: ignore[return-value]

    return decorate
