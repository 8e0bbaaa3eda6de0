"""Generate the OpenAPI document from the API functions' Powertools resolvers (`make openapi` commits its output)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from ordertrail.sources import signed_payloads
from ordertrail.sources.tiktok_shop import TikTokNotification
from ordertrail_local.lambda_runtime import import_handler_module
from ordertrail_local.template import repo_root

API_FUNCTIONS = ("ingest_order", "record_touchpoint", "reports")
DOCUMENT_PATH = Path(__file__).resolve().parents[3] / "layers" / "attribution" / "ordertrail" / "api" / "openapi.json"
DESCRIPTION = (
    "OrderTrail receives orders and touchpoints from TikTok Shop, Shopify and DM/link tools, attributes every order to what "
    "sold it, and explains each decision. Signed routes verify `X-OrderTrail-Signature`, TikTok's `Authorization` or Shopify's "
    "`X-Shopify-Hmac-Sha256`; team routes need `Authorization: Bearer <api key>`."
)
SERVERS = [
    {
        "url": "https://{api_id}.execute-api.{region}.amazonaws.com",
        "description": "The deployed HTTP API (the stack's ApiUrl output)",
        "variables": {
            "api_id": {"default": "api-id", "description": "The HttpApi's id"},
            "region": {"default": "us-east-1", "description": "The stack's AWS Region"},
        },
    },
    {
        "url": "http://127.0.0.1:{port}",
        "description": "The local stack (`make serve`, `make run`)",
        "variables": {"port": {"default": "3000", "description": "The Makefile's PORT"}},
    },
]
# Signed routes read their raw body (the signature is over its exact bytes), so their body schema is declared here.
RAW_BODIES: dict[tuple[str, str], tuple[TypeAdapter[Any], str]] = {
    ("post", "/v1/{tenant}/touchpoints"): (signed_payloads.TOUCHPOINTS_BODY, "X-OrderTrail-Signature"),
    ("post", "/v1/{tenant}/orders"): (signed_payloads.ORDERS_BODY, "X-OrderTrail-Signature"),
    ("post", "/v1/{tenant}/webhooks/tiktok-shop"): (TypeAdapter(TikTokNotification), "Authorization"),
    ("post", "/v1/{tenant}/webhooks/shopify"): (TypeAdapter(dict[str, Any]), "X-Shopify-Hmac-Sha256"),
}
SECURITY_SCHEMES = {
    "teamApiKey": {"type": "http", "scheme": "bearer", "description": "A team API key of this tenant"},
    "dashboardLink": {
        "type": "apiKey",
        "in": "query",
        "name": "link",
        "description": "A signed, expiring dashboard link (POST /v1/{tenant}/dashboard/links): a browser cannot send the key",
    },
}
TEAM_SECURITY: list[dict[str, list[str]]] = [{"teamApiKey": []}]
# The routes a browser opens also take a signed link instead of the key (functions/authorizer's LINK_ROUTES); TikTok
# Shop's redirect to the callback carries neither: its signed `state` is the proof (docs/api.md#connections).
OTHER_SECURITY: dict[tuple[str, str], list[dict[str, list[str]]]] = {
    ("get", "/v1/{tenant}/dashboard"): [{"teamApiKey": []}, {"dashboardLink": []}],
    ("get", "/v1/{tenant}/connections/tiktok-shop/authorize"): [{"teamApiKey": []}, {"dashboardLink": []}],
    ("get", "/v1/connections/tiktok-shop/callback"): [],
}
# What each signed operation says about its auth: no team key, and no OpenAPI security scheme for a body signature.
SIGNED = (
    "Signed, not keyed: `{header}` carries the sender's HMAC of the exact body bytes under the tenant's secret for that sender. "
    "No OpenAPI security scheme describes a body signature, so this operation declares no `security`; the header is a required "
    "parameter."
)
SIGNED_FUNCTIONS = ("ingest_order", "record_touchpoint")


def _merge(document: dict[str, Any], part: dict[str, Any], secured: bool) -> None:
    for path, operations in part.get("paths", {}).items():
        if secured:
            for method, operation in operations.items():
                operation["security"] = OTHER_SECURITY.get((method, path), TEAM_SECURITY)
        document["paths"].setdefault(path, {}).update(operations)
    document["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))


def _add_raw_bodies(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for (method, path), (adapter, header) in RAW_BODIES.items():
        schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        operation = document["paths"][path][method]
        operation["description"] = SIGNED.format(header=header)
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
        operation.setdefault("parameters", []).append(
            {"name": header, "in": "header", "required": True, "schema": {"type": "string"}, "description": "Signature of the raw body"}
        )


OMITTED_WHEN_NULL = "Left out of responses when it has no value (responses never carry null)."


def _references(node: Any) -> list[str]:
    """The component schemas a schema fragment refers to, directly."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = [ref.rsplit("/", 1)[1]] if isinstance(ref, str) and ref.startswith("#/components/schemas/") else []
        return found + [name for value in node.values() for name in _references(value)]
    if isinstance(node, list):
        return [name for value in node for name in _references(value)]
    return []


def _nullable(schema: dict[str, Any]) -> bool:
    """Whether a property's schema admits null."""
    types = schema.get("type")
    return any(branch.get("type") == "null" for branch in schema.get("anyOf", [])) or (isinstance(types, list) and "null" in types)


def _responses_omit_nulls(document: dict[str, Any]) -> None:
    """Mark the nullable members of every schema a response can reach as optional, and say that they are then absent.

    Responses leave out members whose value is null (ordertrail.api.response_json).
    """
    schemas = document["components"]["schemas"]
    pending = [name for path in document["paths"].values() for operation in path.values() for name in _references(operation["responses"])]
    reachable: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            pending += _references(schemas[name])
    for name in sorted(reachable):
        schema = schemas[name]
        nullable = [member for member, prop in schema.get("properties", {}).items() if _nullable(prop)]
        for member in nullable:
            prop = schema["properties"][member]
            prop["description"] = f"{prop['description']} {OMITTED_WHEN_NULL}" if prop.get("description") else OMITTED_WHEN_NULL
        if "required" in schema:
            schema["required"] = [member for member in schema["required"] if member not in nullable]
            if not schema["required"]:
                del schema["required"]


def build_document() -> dict[str, Any]:
    """The whole HTTP API as one OpenAPI 3 document, from the handlers' routes and the layer's models."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "OrderTrail", "version": "1", "description": DESCRIPTION},
        "servers": SERVERS,
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": SECURITY_SCHEMES},
    }
    for name in API_FUNCTIONS:
        app = import_handler_module(repo_root(), f"functions/{name}").app
        _merge(document, json.loads(app.get_openapi_json_schema(title="OrderTrail", version="1")), secured=name not in SIGNED_FUNCTIONS)
    _add_raw_bodies(document)
    _responses_omit_nulls(document)
    for operations in document["paths"].values():
        for operation in operations.values():
            # Powertools gives every response its return type's schema; a 204 carries no body at all.
            operation["responses"].get("204", {}).pop("content", None)
    document["info"]["description"] += " Responses leave out members that have no value: they never carry `null`."
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def render() -> str:
    """The document as committed: indented, keys in a stable order, ending with a newline."""
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write (or with --check, compare) the committed document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the committed document is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        raise SystemExit(0 if DOCUMENT_PATH.read_text() == text else "openapi.json is stale: run `make openapi`")
    DOCUMENT_PATH.write_text(text)
    print(f"wrote {DOCUMENT_PATH}")


if __name__ == "__main__":
    main()
