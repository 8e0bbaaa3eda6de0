"""template.yaml checks: the table built from it in moto, routes and auth, least-privilege IAM, logs and the stream consumer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from ordertrail.attribution.attribute import DECISIVE_KINDS
from ordertrail_local.template import (
    HttpRoute,
    authorizer_code_dir,
    create_table,
    http_routes,
    load_template,
    repo_root,
    stream_filters,
    table_definition,
    ttl_attribute,
)

FUNCTIONS = (
    "IngestOrderFunction",
    "RecordTouchpointFunction",
    "AttributeFunction",
    "ReportsFunction",
    "AuthorizerFunction",
    "ExportPlanFunction",
    "ExportChunkFunction",
    "ExportFinalizeFunction",
    "ExportSchedulerFunction",
    "ImportPlanFunction",
    "ImportPagesFunction",
    "ImportFinalizeFunction",
    "ReattributePlanFunction",
    "ReattributeDayFunction",
    "ReattributeFinalizeFunction",
)

# The exact DynamoDB actions each function may use. Changing a set here must be a deliberate, reviewed decision.
EXPECTED_DYNAMODB_ACTIONS: dict[str, set[str]] = {
    "IngestOrderFunction": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
    "RecordTouchpointFunction": {"GetItem", "PutItem", "UpdateItem", "ConditionCheckItem"},
    "AttributeFunction": {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
    "ReportsFunction": {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
    "AuthorizerFunction": set(),
    "ExportPlanFunction": {"GetItem", "PutItem", "UpdateItem"},
    "ExportChunkFunction": {"GetItem", "PutItem", "UpdateItem", "Query", "BatchGetItem", "BatchWriteItem"},
    "ExportFinalizeFunction": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},
    "ExportSchedulerFunction": {"Query", "GetItem", "PutItem", "DeleteItem"},
    "ImportPlanFunction": {"GetItem", "PutItem"},
    # UpdateItem: each imported order (ingest's put_order); DeleteItem: a token refresh's lease given back.
    "ImportPagesFunction": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
    "ImportFinalizeFunction": {"GetItem", "PutItem"},
    "ReattributePlanFunction": {"GetItem", "PutItem"},
    # The attribution's reads and transaction (as AttributeFunction's), the day's GSI2 pages, the day and lease puts.
    "ReattributeDayFunction": {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
    "ReattributeFinalizeFunction": {"GetItem", "PutItem", "DeleteItem"},
}

# The one exception to "no Resource *": the actions Step Functions sets up its execution log delivery with. None of
# them supports resource-level permissions (Service Authorization Reference for CloudWatch Logs: no resource type),
# and the Step Functions logging guide grants them on "*". Any other action on "*" fails the test below.
LOG_DELIVERY_ACTIONS = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)
STATE_MACHINE = "ExportConversionsStateMachine"
STATE_MACHINES = (STATE_MACHINE, "ImportHistoryStateMachine", "ReattributeOrdersStateMachine")

# Routes of docs/api.md#routes this template covers: (method, path) -> (function, needs an API key).
EXPECTED_ROUTES: dict[tuple[str, str], tuple[str, bool]] = {
    ("ANY", "$default"): ("ReportsFunction", False),
    ("POST", "/v1/{tenant}/webhooks/tiktok-shop"): ("IngestOrderFunction", False),
    ("POST", "/v1/{tenant}/webhooks/shopify"): ("IngestOrderFunction", False),
    ("POST", "/v1/{tenant}/orders"): ("IngestOrderFunction", False),
    ("POST", "/v1/{tenant}/touchpoints"): ("RecordTouchpointFunction", False),
    ("GET", "/v1/{tenant}/orders/{order_id}"): ("ReportsFunction", True),
    ("POST", "/v1/{tenant}/orders/{order_id}/review"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reviews"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/coupons"): ("ReportsFunction", True),
    ("PUT", "/v1/{tenant}/coupons/{code}"): ("ReportsFunction", True),
    ("DELETE", "/v1/{tenant}/coupons/{code}"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/settings"): ("ReportsFunction", True),
    ("PUT", "/v1/{tenant}/settings"): ("ReportsFunction", True),
    ("POST", "/v1/{tenant}/conversions/export"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/conversions/runs/{run_id}"): ("ReportsFunction", True),
    ("POST", "/v1/{tenant}/imports"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/imports/{import_id}"): ("ReportsFunction", True),
    ("POST", "/v1/{tenant}/reattributions"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reattributions/{run_id}"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/posts"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/flows"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/keywords"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/creators"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/coupons"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/channels"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/time-to-order"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/insights"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/reports/crossover"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/exports/attributed-orders.csv"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/exports/customers.csv"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/exports/crossover.csv"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/dashboard"): ("ReportsFunction", True),
    ("POST", "/v1/{tenant}/dashboard/links"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/connections"): ("ReportsFunction", True),
    ("DELETE", "/v1/{tenant}/connections/tiktok-shop"): ("ReportsFunction", True),
    ("GET", "/v1/{tenant}/connections/tiktok-shop/authorize"): ("ReportsFunction", True),
    ("POST", "/v1/{tenant}/connections/shopify/verify"): ("ReportsFunction", True),
    ("GET", "/v1/connections/tiktok-shop/callback"): ("ReportsFunction", False),
    ("GET", "/v1/openapi.json"): ("ReportsFunction", False),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """The parsed repository template."""
    return load_template()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offline AWS: dummy credentials, one region, and the botocore setting moto's DescribeStream needs."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def _resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """One resource of the template."""
    return dict(template["Resources"][logical_id])


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """One resource's properties."""
    return dict(_resource(template, logical_id).get("Properties") or {})


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """Inline IAM statements of one function's Policies."""
    statements: list[dict[str, Any]] = []
    for policy in _props(template, function).get("Policies") or []:
        assert isinstance(policy, dict), f"{function}: policies must be inline statements or full ARNs in a dict"
        statements.extend(policy.get("Statement") or [])
    return statements


def _as_list(value: Any) -> list[Any]:
    """A scalar or a list, as a list."""
    return value if isinstance(value, list) else [value]


def _walk_statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict anywhere in the template that looks like an IAM statement."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node
        for value in node.values():
            yield from _walk_statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_statements(value)


def _stream_event(template: dict[str, Any]) -> dict[str, Any]:
    """Properties of AttributeFunction's DynamoDB stream event."""
    events = [e for e in _props(template, "AttributeFunction")["Events"].values() if e["Type"] == "DynamoDB"]
    assert len(events) == 1
    return dict(events[0]["Properties"])


# ---------------------------------------------------------------- parsing


def test_loader_maps_short_form_tags_without_touching_safe_loader(tmp_path: Path) -> None:
    """!Ref/!GetAtt/!Sub become long-form dicts, and yaml.SafeLoader keeps no extra constructors."""
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  A:\n    Type: X\n    Properties:\n"
        "      R: !Ref B\n      G: !GetAtt B.Arn\n      S: !Sub '${B}-x'\n      J: !Join [',', [a, b]]\n"
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {"R": {"Ref": "B"}, "G": {"Fn::GetAtt": ["B", "Arn"]}, "S": {"Fn::Sub": "${B}-x"}, "J": {"Fn::Join": [",", ["a", "b"]]}}
    assert "!" not in yaml.SafeLoader.yaml_multi_constructors


def test_repo_root_holds_the_template() -> None:
    """repo_root() is the directory with template.yaml."""
    assert (repo_root() / "template.yaml").is_file()


# ---------------------------------------------------------------- table


def test_table_created_from_template_matches_the_design(aws_env: None, template: dict[str, Any]) -> None:
    """PK/SK, GSI1 (everything), GSI2 (keys only), TTL on "ttl" and a NEW_AND_OLD_IMAGES stream, as deployed."""
    client = boto3.client("dynamodb")
    stream_arn = create_table(client, "ordertrail-test", template)
    table = client.describe_table(TableName="ordertrail-test")["Table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("PK", "HASH"), ("SK", "RANGE")}
    gsi, by_day = sorted(table["GlobalSecondaryIndexes"], key=lambda index: index["IndexName"])
    assert gsi["IndexName"] == "GSI1"
    assert {(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]} == {("GSI1PK", "HASH"), ("GSI1SK", "RANGE")}
    assert gsi["Projection"]["ProjectionType"] == "ALL"
    assert by_day["IndexName"] == "GSI2"
    assert {(k["AttributeName"], k["KeyType"]) for k in by_day["KeySchema"]} == {("GSI2PK", "HASH"), ("GSI2SK", "RANGE")}
    assert by_day["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert stream_arn and stream_arn == table["LatestStreamArn"]
    ttl = client.describe_time_to_live(TableName="ordertrail-test")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "ttl" and ttl["TimeToLiveStatus"] in {"ENABLED", "ENABLING"}
    streams = boto3.client("dynamodbstreams")
    assert streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_table_definition_comes_from_the_template(template: dict[str, Any]) -> None:
    """The create_table kwargs mirror the template's key schema and attribute definitions."""
    definition = table_definition(template, "t")
    props = _props(template, "Table")
    assert definition["TableName"] == "t"
    assert definition["KeySchema"] == props["KeySchema"]
    assert definition["AttributeDefinitions"] == props["AttributeDefinitions"]
    assert {a["AttributeName"] for a in definition["AttributeDefinitions"]} == {"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"}
    assert ttl_attribute(template) == "ttl"


def test_table_is_retained_and_protected(template: dict[str, Any]) -> None:
    """The data survives stack deletion/replacement, has point-in-time recovery and encryption."""
    table = _resource(template, "Table")
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


# ---------------------------------------------------------------- HTTP API


def test_every_covered_route_has_the_right_function_and_auth(template: dict[str, Any]) -> None:
    """Each route of docs/api.md#routes in this template maps to its function, and only team routes need an API key."""
    routes = {(r.method, r.path): r for r in http_routes(template)}
    assert set(routes) == set(EXPECTED_ROUTES)
    for key, (function, authorized) in EXPECTED_ROUTES.items():
        route = routes[key]
        assert (route.function, route.authorized) == (function, authorized), key
        assert route.code_dir == _props(template, function)["CodeUri"].rstrip("/")


def test_http_route_is_a_frozen_value() -> None:
    """HttpRoute is hashable and immutable, so the local router can key on it."""
    route = HttpRoute("GET", "/v1/openapi.json", "ReportsFunction", "functions/reports", authorized=False)
    with pytest.raises(AttributeError):
        route.method = "POST"  # type: ignore[misc]
    assert hash(route) == hash(HttpRoute("GET", "/v1/openapi.json", "ReportsFunction", "functions/reports", False))


def test_api_key_authorizer_is_the_default_and_wired_to_its_function(template: dict[str, Any]) -> None:
    """ApiKeyAuthorizer: payload 2.0, simple responses, no identity source (a missing key reaches our 401), invoke permission scoped."""
    auth = _props(template, "HttpApi")["Auth"]
    assert auth["DefaultAuthorizer"] == "ApiKeyAuthorizer"
    authorizer = auth["Authorizers"]["ApiKeyAuthorizer"]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert "Identity" not in authorizer
    assert authorizer_code_dir(template) == "functions/authorizer"
    permission = _props(template, "AuthorizerInvokePermission")
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert permission["SourceArn"]["Fn::Sub"].endswith(":${HttpApi}/authorizers/*")
    assert not _props(template, "AuthorizerFunction").get("Events")


# ---------------------------------------------------------------- IAM


def test_no_iam_statement_grants_every_resource(template: dict[str, Any]) -> None:
    """Given every IAM statement of the template, then none uses NotResource, and only each state machine's one statement
    of exactly the log-delivery actions has Resource "*" (tracing relies on SAM's managed X-Ray policy)."""
    statements = list(_walk_statements(template))
    assert statements
    everywhere = []
    for statement in statements:
        assert "NotResource" not in statement and "NotAction" not in statement, statement
        if "*" in _as_list(statement["Resource"]):
            assert _as_list(statement["Resource"]) == ["*"], statement
            assert set(_as_list(statement["Action"])) == LOG_DELIVERY_ACTIONS, statement
            everywhere.append(statement)
    assert len(everywhere) == len(STATE_MACHINES)
    for machine in STATE_MACHINES:
        assert sum(statement in everywhere for statement in _statements(template, machine)) == 1, f"{machine} sets up its log delivery"


def test_each_function_has_exactly_its_dynamodb_actions(template: dict[str, Any]) -> None:
    """Least privilege: each function's DynamoDB actions are exactly the reviewed set, on this table only."""
    table_arn = {"Fn::GetAtt": ["Table", "Arn"]}
    index_arn = {"Fn::Sub": "${Table.Arn}/index/*"}
    # A function may name the indexes it queries instead of all of them.
    named_indexes = [{"Fn::Sub": "${Table.Arn}/index/GSI1"}, {"Fn::Sub": "${Table.Arn}/index/GSI2"}]
    for function in FUNCTIONS:
        actions: set[str] = set()
        for statement in _statements(template, function):
            assert statement["Effect"] == "Allow"
            dynamodb = {a.removeprefix("dynamodb:") for a in _as_list(statement["Action"]) if a.startswith("dynamodb:")}
            if not dynamodb:
                continue
            actions |= dynamodb
            resources = _as_list(statement["Resource"])
            assert table_arn in resources, function
            # An index ARN is granted exactly when the function queries (the GSI access patterns).
            indexes = [index_arn, *named_indexes]
            assert any(r in indexes for r in resources) == ("Query" in dynamodb), function
            assert all(r in [table_arn, *indexes] for r in resources), function
        assert actions == EXPECTED_DYNAMODB_ACTIONS[function], function


def test_tenant_secrets_are_read_only_under_the_prefix(template: dict[str, Any]) -> None:
    """Functions that resolve tenant secrets may only GetSecretValue under TenantSecretPrefix; only ReportsFunction writes
    (PUT /settings stores the write-only Events API token)."""
    # AttributeFunction reads the key its crossover address hashes are made with.
    expected = {
        "IngestOrderFunction",
        "RecordTouchpointFunction",
        "AuthorizerFunction",
        "ExportChunkFunction",
        "ReportsFunction",
        "AttributeFunction",
        "ImportPagesFunction",
        "ReattributeDayFunction",
    }
    # ImportPagesFunction writes the rotated tokens when TikTok refused the shop's token during an import.
    writers = {"ReportsFunction", "ImportPagesFunction"}
    readers = set()
    for function in FUNCTIONS:
        for statement in _statements(template, function):
            actions = _as_list(statement["Action"])
            if any(a.startswith("secretsmanager:") for a in actions):
                readers.add(function)
                allowed = (
                    ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
                    if function in writers
                    else ["secretsmanager:GetSecretValue"]
                )
                assert actions == allowed, function
                assert statement["Resource"] == {
                    "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${TenantSecretPrefix}*"
                }
    assert readers == expected


def test_managed_policies_are_full_arns(template: dict[str, Any]) -> None:
    """A managed policy given by bare name makes `sam validate` call IAM (fails offline): only full ARNs."""
    for function in FUNCTIONS:
        for policy in _props(template, function).get("Policies") or []:
            if isinstance(policy, str):
                assert policy.startswith("arn:"), (function, policy)


# ---------------------------------------------------------------- functions, logs, runtime


def test_runtime_is_python313_on_arm64(template: dict[str, Any]) -> None:
    """Every function and the layer target python3.13 on arm64, and no function overrides it."""
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Tracing"] == "Active"
    assert globals_["Layers"] == [{"Ref": "AttributionLayer"}]
    for function in FUNCTIONS:
        props = _props(template, function)
        assert props.get("Runtime", "python3.13") == "python3.13", function
        assert props.get("Architectures", ["arm64"]) == ["arm64"], function
        assert props["CodeUri"].startswith("functions/"), function
    layer = _resource(template, "AttributionLayer")
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


def test_every_function_logs_to_its_own_group_with_retention(template: dict[str, Any]) -> None:
    """Each function's LoggingConfig names its own log group, which has the configured retention."""
    groups = set()
    for function in FUNCTIONS:
        group = _props(template, function)["LoggingConfig"]["LogGroup"]["Ref"]
        groups.add(group)
        log_group = _resource(template, group)
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert function in log_group["Properties"]["LogGroupName"]["Fn::Sub"]
    assert len(groups) == len(FUNCTIONS)


def test_state_machine_logs_errors_to_its_own_group_with_retention(template: dict[str, Any]) -> None:
    """Given the export state machine, then it logs at ERROR without execution data to its own log group (under
    /aws/vendedlogs/states/, as Step Functions asks), which keeps LogRetentionDays like the functions' groups."""
    logging = _props(template, STATE_MACHINE)["Logging"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ERROR", False)
    (destination,) = logging["Destinations"]
    assert destination == {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["ExportConversionsLogGroup", "Arn"]}}}
    group = _resource(template, "ExportConversionsLogGroup")
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["Properties"]["LogGroupName"]["Fn::Sub"].startswith("/aws/vendedlogs/states/${AWS::StackName}/")


def test_attribute_function_consumes_the_stream_safely(template: dict[str, Any]) -> None:
    """Partial batch failures, bisecting, bounded retries and a dead-letter queue for what still fails."""
    event = _stream_event(template)
    assert event["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert event["StartingPosition"] == "LATEST"
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BisectBatchOnFunctionError"] is True
    assert event["MaximumRetryAttempts"] == 5
    assert event["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["AttributeDeadLetterQueue", "Arn"]}}
    queue = _props(template, "AttributeDeadLetterQueue")
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 1209600
    assert _props(template, "AttributeFunction")["Timeout"] == 60


def test_attribute_function_filters_orders_and_new_decisive_touchpoints(template: dict[str, Any]) -> None:
    """Only order changes and new buyer-timeline touchpoints that can change an attribution reach AttributeFunction.

    Never its own ATTR writes, and never comments, DMs or flow steps: they only add context, and waking a Lambda for
    each would be most of its invocations (issue 11). Nor the day keys the backfill adds to an unchanged order.
    """
    decisive = [kind.model_fields["kind"].annotation.__args__[0] for kind in DECISIVE_KINDS]
    not_backfilled = {"backfilled_at": {"S": [{"exists": False}]}}
    assert stream_filters(template) == [
        {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"SK": {"S": ["ORDER"]}}, "NewImage": not_backfilled}},
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {"SK": {"S": [{"prefix": "TP#"}]}}, "NewImage": {"kind": {"S": decisive}}}},
    ]
    assert stream_filters(template, "ReportsFunction") == []


def test_outputs_name_the_api_table_queue_and_functions(template: dict[str, Any]) -> None:
    """Outputs give what a deployer and the smoke tests need."""
    outputs = template["Outputs"]
    assert outputs["ApiUrl"]["Value"] == {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert outputs["TableName"]["Value"] == {"Ref": "Table"}
    assert outputs["AttributeDeadLetterQueueUrl"]["Value"] == {"Ref": "AttributeDeadLetterQueue"}
    for function in FUNCTIONS:
        assert outputs[f"{function}Arn"]["Value"] == {"Fn::GetAtt": [function, "Arn"]}


def test_no_schedule_fails_silently(template: dict[str, Any]) -> None:
    """Every EventBridge schedule retries a failed delivery and then parks it in a dead-letter queue, and the function it
    starts sends a run that keeps failing to a queue too (no day's trigger disappears without a trace)."""
    schedules = [
        (name, event["Properties"])
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] in ("Schedule", "ScheduleV2")
    ]
    assert schedules, "the daily export is scheduled"
    for function, props in schedules:
        assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1, function
        queue = props["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert _resource(template, queue)["Type"] == "AWS::SQS::Queue", function
        invoke = _props(template, function)["EventInvokeConfig"]
        assert invoke["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": {"Fn::GetAtt": [queue, "Arn"]}}, function
        policy = _props(template, f"{queue}Policy")["PolicyDocument"]["Statement"][0]
        assert policy["Principal"] == {"Service": "events.amazonaws.com"} and policy["Action"] == "sqs:SendMessage"


def test_reattribution_runs_each_day_as_a_child_of_a_distributed_map_it_may_start(template: dict[str, Any]) -> None:
    """Given ReattributeOrdersStateMachine, then its days are a DISTRIBUTED map of Standard child executions over Plan's
    list, and its role may start, describe and stop exactly its own executions (a Distributed Map's children)."""
    import json

    props = _props(template, "ReattributeOrdersStateMachine")
    definition = json.loads((Path(__file__).resolve().parents[2] / props["DefinitionUri"]).read_text(encoding="utf-8"))
    days = definition["States"]["ReattributeDays"]
    assert days["Type"] == "Map" and days["ItemsPath"] == "$.days"
    assert days["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert 1 < days["MaxConcurrency"] <= 1000
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-reattribute-orders"}
    own = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
    granted = {
        action: statement["Resource"]
        for statement in _statements(template, "ReattributeOrdersStateMachine")
        for action in _as_list(statement["Action"])
        if action.startswith("states:")
    }
    assert granted == {
        "states:StartExecution": {"Fn::Sub": f"{own}:stateMachine:${{AWS::StackName}}-reattribute-orders"},
        "states:DescribeExecution": {"Fn::Sub": f"{own}:execution:${{AWS::StackName}}-reattribute-orders/*"},
        "states:StopExecution": {"Fn::Sub": f"{own}:execution:${{AWS::StackName}}-reattribute-orders/*"},
    }
