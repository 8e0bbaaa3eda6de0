"""The only module that talks to Step Functions: start an export run's or a history import's execution."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError


class ExecutionLauncher:
    """Starts executions of one state machine (one per run, named by the run id so a repeat starts nothing)."""

    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 Step Functions client, created on first use."""
        if self._client is None:
            self._client = boto3.client("stepfunctions")
        return self._client

    def start(self, run_id: str, payload: dict[str, Any]) -> str:
        """Start the run's execution; an execution of the same name already running is reused."""
        try:
            response = self.client.start_execution(stateMachineArn=self.state_machine_arn, name=run_id, input=json.dumps(payload))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{run_id}"
        return str(response["executionArn"])
