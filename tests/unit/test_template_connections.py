"""template.yaml for connecting TikTok Shops: the four routes, RefreshTokensFunction's schedule, log group and least privilege."""

from __future__ import annotations

from typing import Any

import pytest

from ordertrail_local.template import http_routes, load_template

FUNCTION = "RefreshTokensFunction"
SECRETS = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${TenantSecretPrefix}*"}
TABLE = [{"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "${Table.Arn}/index/*"}]
DLQ = {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """The parsed repository template."""
    return load_template()


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id]["Properties"])


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [statement for policy in _props(template, function)["Policies"] for statement in policy["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_the_connection_routes_go_to_reports_and_only_the_callback_skips_the_key(template: dict[str, Any]) -> None:
    """Given the HTTP API, then the three tenant routes need the authorizer and TikTok's callback has none."""
    routes = {(route.method, route.path): route for route in http_routes(template)}
    expected = {
        ("GET", "/v1/{tenant}/connections"): True,
        ("DELETE", "/v1/{tenant}/connections/tiktok-shop"): True,
        ("GET", "/v1/{tenant}/connections/tiktok-shop/authorize"): True,
        ("GET", "/v1/connections/tiktok-shop/callback"): False,
    }
    for key, authorized in expected.items():
        assert (routes[key].function, routes[key].authorized) == ("ReportsFunction", authorized), key


def test_reports_gets_the_auth_host_and_the_authorization_page_and_may_write_tenant_secrets(template: dict[str, Any]) -> None:
    """Given ReportsFunction, then it is told where TikTok's auth host and authorization page are (parameters), and may
    read and write only the tenant secrets (the callback stores the tokens)."""
    variables = _props(template, "ReportsFunction")["Environment"]["Variables"]
    assert variables["TIKTOK_SHOP_AUTH_URL"] == {"Ref": "TikTokShopAuthUrl"}
    assert variables["TIKTOK_SHOP_AUTHORIZE_URL"] == {"Ref": "TikTokShopAuthorizeUrl"}
    writes = [s for s in _statements(template, "ReportsFunction") if "secretsmanager:PutSecretValue" in _actions(s)]
    assert len(writes) == 1 and writes[0]["Resource"] == SECRETS
    parameters = template["Parameters"]
    assert parameters["TikTokShopAuthUrl"]["Default"] == "https://auth.tiktok-shops.com"
    assert parameters["TikTokShopAuthorizeUrl"]["Default"] == "https://services.tiktokshop.com/open/authorize"


def test_the_refresh_function_runs_every_four_hours_with_retries_and_a_dead_letter_queue(template: dict[str, Any]) -> None:
    """Given RefreshTokensFunction, then an EventBridge schedule from TokenRefreshScheduleExpression (rate(4 hours))
    triggers it, a failed delivery or run is retried and then parked in the schedule dead-letter queue."""
    props = _props(template, FUNCTION)
    assert props["CodeUri"] == "functions/refresh_tokens/" and props.get("Handler", "app.lambda_handler") == "app.lambda_handler"
    assert template["Parameters"]["TokenRefreshScheduleExpression"]["Default"] == "rate(4 hours)"
    (event,) = props["Events"].values()
    assert event["Type"] == "Schedule"
    schedule = event["Properties"]
    assert schedule["Schedule"] == {"Ref": "TokenRefreshScheduleExpression"} and schedule["Enabled"] is True
    assert schedule["DeadLetterConfig"] == {"Arn": DLQ}
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    invoke = props["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": DLQ}
    assert props["Environment"]["Variables"]["TIKTOK_SHOP_AUTH_URL"] == {"Ref": "TikTokShopAuthUrl"}


def test_the_refresh_function_logs_to_its_own_group_with_retention(template: dict[str, Any]) -> None:
    """Given RefreshTokensFunction, then it logs to its own group, named after it, kept LogRetentionDays."""
    group = _props(template, FUNCTION)["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = template["Resources"][group]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert FUNCTION in log_group["Properties"]["LogGroupName"]["Fn::Sub"]
    others = {
        _props(template, name)["LoggingConfig"]["LogGroup"]["Ref"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function" and name != FUNCTION
    }
    assert group not in others


def test_the_refresh_function_has_exactly_the_permissions_it_uses(template: dict[str, Any]) -> None:
    """Least privilege: Query/GetItem/PutItem/DeleteItem on the table and its index (the due connections, the lease,
    the connection), read and write of tenant secrets only, and sending its failures to the dead-letter queue."""
    granted: dict[str, Any] = {}
    for statement in _statements(template, FUNCTION):
        assert statement["Effect"] == "Allow"
        for action in _actions(statement):
            assert action not in granted, action
            granted[action] = statement["Resource"]
    assert set(granted) == {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "sqs:SendMessage",
    }
    assert all(granted[action] == TABLE for action in granted if action.startswith("dynamodb:"))
    assert granted["secretsmanager:GetSecretValue"] == granted["secretsmanager:PutSecretValue"] == SECRETS
    assert granted["sqs:SendMessage"] == DLQ
