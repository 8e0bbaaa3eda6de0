"""Webhook de-duplication on Powertools idempotency, stored in the single table (records expire through `ttl`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function

from ordertrail.settings import get_settings

F = TypeVar("F", bound=Callable[..., dict[str, Any]])


@functools.lru_cache(maxsize=1)
def persistence_layer() -> DynamoDBPersistenceLayer:
    """The persistence layer, made on first use (it creates a boto3 client)."""
    settings = get_settings()
    return DynamoDBPersistenceLayer(table_name=settings.table_name, key_attr="PK", sort_key_attr="SK", expiry_attr="ttl")


def once_per(key_jmespath: str) -> Callable[[F], F]:
    """Run the decorated function once per natural id (a JMESPath over its `request` dict); repeats get the first result."""

    def decorate(function: F) -> F:
        @functools.lru_cache(maxsize=1)
        def build() -> Callable[..., dict[str, Any]]:
            config = IdempotencyConfig(
                event_key_jmespath=key_jmespath,
                expires_after_seconds=get_settings().idempotency_ttl_seconds,
                raise_on_no_idempotency_key=True,
            )
            wrapped: Callable[..., dict[str, Any]] = idempotent_function(
                function, data_keyword_argument="request", persistence_store=persistence_layer(), config=config
            )
            return wrapped

        @functools.wraps(function)
        def call(*, request: dict[str, Any], **collaborators: Any) -> dict[str, Any]:
            return build()(request=request, **collaborators)

        return call  # type: ignore[return-value]

    return decorate
