"""Read template.yaml so the local stack and the tests build exactly what SAM deploys (table, routes, stream filters)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
NO_AUTHORIZER = "NONE"
DEFAULT_HANDLER = "app.lambda_handler"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags (!Ref, !GetAtt, !Sub, ...) into their long-form dicts."""


def _construct_cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    """Map `!Name value` to {"Ref": value} for !Ref/!Condition, else {"Fn::Name": value}."""
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # The short form is "Resource.Attribute"; the long form is a two-element list.
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


# Registered on the private subclass only, so importing this module leaves yaml.SafeLoader untouched.
_CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP API route as template.yaml wires it: method, path, target function and whether it needs an API key."""

    method: str
    path: str
    function: str
    code_dir: str
    authorized: bool


def repo_root() -> Path:
    """The repository root (the directory holding template.yaml)."""
    return Path(__file__).resolve().parents[3]


def load_template(path: Path | None = None) -> dict[str, Any]:
    """Parse template.yaml (default: the repository's) into plain dicts with long-form intrinsic functions."""
    source = (path or repo_root() / "template.yaml").read_text(encoding="utf-8")
    parsed = yaml.load(source, Loader=_CfnLoader)  # noqa: S506 -- a SafeLoader subclass: no arbitrary objects
    if not isinstance(parsed, dict) or "Resources" not in parsed:
        raise ValueError("not a CloudFormation template: no Resources section")
    return parsed


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources of one type by logical id, in template order."""
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == resource_type}


def resource_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """Properties of one resource (empty when it has none)."""
    try:
        resource = template["Resources"][logical_id]
    except KeyError:
        raise KeyError(f"template has no resource {logical_id!r}") from None
    return dict(resource.get("Properties") or {})


def _table_properties(template: dict[str, Any]) -> dict[str, Any]:
    """Properties of the single DynamoDB table."""
    tables = _resources(template, DYNAMODB_TABLE)
    if len(tables) != 1:
        raise ValueError(f"expected exactly one {DYNAMODB_TABLE}, found {sorted(tables)}")
    (logical_id,) = tables
    return resource_properties(template, logical_id)


def _function_globals(template: Mapping[str, Any]) -> dict[str, Any]:
    """Globals.Function (properties every function inherits)."""
    return dict((template.get("Globals") or {}).get("Function") or {})


def function_code_dir(template: Mapping[str, Any], function: str) -> str:
    """A function's CodeUri as a repo-relative directory without a trailing slash."""
    code_uri = resource_properties(template, function).get("CodeUri", _function_globals(template).get("CodeUri"))
    if not isinstance(code_uri, str):
        raise TypeError(f"{function} has no local CodeUri (a directory path)")
    return code_uri.rstrip("/")


def function_handler(template: Mapping[str, Any], function: str) -> str:
    """A function's Handler (its own, else Globals.Function's, else app.lambda_handler)."""
    handler = resource_properties(template, function).get("Handler") or _function_globals(template).get("Handler")
    return str(handler or DEFAULT_HANDLER)


def _ref(value: Any) -> str | None:
    """The logical id named by {"Ref": id} or {"Fn::GetAtt": [id, attr]}, else None."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att:
            return str(get_att[0])
    return None


def ttl_attribute(template: dict[str, Any]) -> str:
    """The table's TTL attribute name."""
    spec = _table_properties(template).get("TimeToLiveSpecification") or {}
    if not spec.get("Enabled") or not spec.get("AttributeName"):
        raise ValueError("the table has no enabled TimeToLiveSpecification")
    return str(spec["AttributeName"])


def table_definition(template: dict[str, Any], table_name: str) -> dict[str, Any]:
    """Keyword arguments for boto3 `dynamodb.create_table`, taken from the template's table."""
    props = _table_properties(template)
    definition: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": [dict(k) for k in props["KeySchema"]],
        "AttributeDefinitions": [dict(a) for a in props["AttributeDefinitions"]],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if definition["BillingMode"] == "PROVISIONED":
        definition["ProvisionedThroughput"] = dict(props["ProvisionedThroughput"])
    indexes = props.get("GlobalSecondaryIndexes") or []
    if indexes:
        # Copy only what CreateTable accepts for an on-demand index (the CloudFormation shape is otherwise the same).
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": gsi["IndexName"],
                "KeySchema": [dict(k) for k in gsi["KeySchema"]],
                "Projection": dict(gsi["Projection"]),
                **({"ProvisionedThroughput": dict(gsi["ProvisionedThroughput"])} if "ProvisionedThroughput" in gsi else {}),
            }
            for gsi in indexes
        ]
    stream = props.get("StreamSpecification")
    if stream:
        # CloudFormation implies StreamEnabled by the presence of StreamSpecification; the API wants it explicit.
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return definition


def create_table(client: Any, table_name: str, template: dict[str, Any] | None = None) -> str:
    """Create the table as the template defines it, enable its TTL, wait until active; return the stream ARN."""
    template = template if template is not None else load_template()
    client.create_table(**table_definition(template, table_name))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    # CreateTable cannot set TTL; CloudFormation does it with a second call, and so do we.
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute(template)},
    )
    description = client.describe_table(TableName=table_name)["Table"]
    return str(description.get("LatestStreamArn", ""))


def _default_authorizers(template: dict[str, Any]) -> dict[str | None, str | None]:
    """DefaultAuthorizer per HttpApi logical id (key None: the implicit API configured in Globals.HttpApi)."""
    defaults: dict[str | None, str | None] = {}
    global_auth = ((template.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}
    defaults[None] = global_auth.get("DefaultAuthorizer")
    for name in _resources(template, SERVERLESS_HTTP_API):
        auth = resource_properties(template, name).get("Auth") or global_auth
        defaults[name] = auth.get("DefaultAuthorizer")
    return defaults


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    """Every HttpApi route of every function, in template order, with whether it goes through an API-key authorizer."""
    defaults = _default_authorizers(template)
    routes: list[HttpRoute] = []
    for function in _resources(template, SERVERLESS_FUNCTION):
        events = resource_properties(template, function).get("Events") or {}
        for event in events.values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            authorizer = (props.get("Auth") or {}).get("Authorizer") or defaults.get(_ref(props.get("ApiId")))
            routes.append(
                HttpRoute(
                    method=str(props.get("Method", "ANY")).upper(),
                    path=str(props.get("Path", "$default")),
                    function=function,
                    code_dir=function_code_dir(template, function),
                    authorized=authorizer is not None and authorizer != NO_AUTHORIZER,
                )
            )
    return routes


def stream_filters(template: dict[str, Any], function: str = "AttributeFunction") -> list[dict[str, Any]]:
    """The event-filter patterns of a function's DynamoDB stream events, parsed from their JSON strings."""
    patterns: list[dict[str, Any]] = []
    for event in (resource_properties(template, function).get("Events") or {}).values():
        if event.get("Type") != "DynamoDB":
            continue
        criteria = (event.get("Properties") or {}).get("FilterCriteria") or {}
        for item in criteria.get("Filters") or []:
            pattern = item["Pattern"]
            patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
    return patterns


def stream_functions(template: dict[str, Any]) -> list[str]:
    """The functions the table's stream is delivered to (each with a DynamoDB event), in template order."""
    return [
        function
        for function in _resources(template, SERVERLESS_FUNCTION)
        if any(event.get("Type") == "DynamoDB" for event in (resource_properties(template, function).get("Events") or {}).values())
    ]


def authorizer_code_dir(template: dict[str, Any]) -> str:
    """Code directory of the function behind the HTTP API's Lambda authorizer."""
    for api in _resources(template, SERVERLESS_HTTP_API):
        authorizers = (resource_properties(template, api).get("Auth") or {}).get("Authorizers") or {}
        for config in authorizers.values():
            function = _ref(config.get("FunctionArn"))
            if function is not None:
                return function_code_dir(template, function)
    raise ValueError("template has no HttpApi Lambda authorizer")


EXPORTS_BUCKET = "ExportsBucket"


def create_exports_bucket(s3: Any, template: dict[str, Any], bucket_name: str) -> str:
    """Create the CSV exports bucket as the template declares it (its 7-day expiry rule included); returns its name."""
    props = resource_properties(template, EXPORTS_BUCKET)
    s3.create_bucket(Bucket=bucket_name)
    rules = (props.get("LifecycleConfiguration") or {}).get("Rules") or []
    if rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket_name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": r["Id"],
                        "Status": r["Status"],
                        "Filter": {"Prefix": r.get("Prefix", "")},
                        "Expiration": {"Days": r["ExpirationInDays"]},
                    }
                    for r in rules
                ]
            },
        )
    return bucket_name
