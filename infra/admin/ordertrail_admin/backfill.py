"""`make backfill-order-days ARGS=--table <name>`: give orders stored before the day index (GSI2) their keys, once.

A re-attribution run lists a day's orders on GSI2 (docs/reattribution.md); orders stored before that index existed have
no GSI2 keys until their next state arrives. This operator tool Scans the table for them (the one Scan anyone runs:
the product never scans) and sets their keys, each under a condition, so it can be stopped and run again at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import click

from ordertrail.core.models import Order
from ordertrail.storage import keys
from ordertrail.storage.table import deserialize, serialize, tenant_of

PAGE_ITEMS = 1000  # a Scan page's items before the filter (bounds the read units one page takes)


@dataclass
class Backfilled:
    """What one pass did."""

    scanned: int = 0
    updated: int = 0
    already: int = 0


def backfill(client: Any, table: str, dry_run: bool = False) -> Backfilled:
    """Set GSI2PK/GSI2SK on every order item that lacks them; what was scanned and updated."""
    done = Backfilled()
    now = keys.iso(datetime.now(UTC))
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#type = :order AND attribute_not_exists(GSI2PK)",
        "ExpressionAttributeNames": {"#type": "type"},
        "ExpressionAttributeValues": serialize({":order": "order"}),
        "Limit": PAGE_ITEMS,
    }
    while True:
        page = client.scan(**request)
        done.scanned += page.get("ScannedCount", 0)
        for raw in page.get("Items", []):
            item = deserialize(raw)
            order = Order.model_validate_json(item["data"])
            index = keys.order_day_gsi(tenant_of(item["PK"]), order.ordered_at, order.source, order.id)
            if dry_run:
                done.updated += 1
                continue
            try:
                client.update_item(
                    TableName=table,
                    Key=serialize({"PK": item["PK"], "SK": item["SK"]}),
                    # `backfilled_at` keeps this change off AttributeFunction's stream filter: the order did not change.
                    UpdateExpression="SET GSI2PK = :pk, GSI2SK = :sk, backfilled_at = :now",
                    ConditionExpression="attribute_exists(PK) AND attribute_not_exists(GSI2PK)",
                    ExpressionAttributeValues=serialize({":pk": index["GSI2PK"], ":sk": index["GSI2SK"], ":now": now}),
                )
                done.updated += 1
            except client.exceptions.ConditionalCheckFailedException:
                done.already += 1  # a new state of the order set them meanwhile
        if "LastEvaluatedKey" not in page:
            return done
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--table", required=True, help="The table's name (the stack's TableName output).")
@click.option("--endpoint-url", default=None, help="A DynamoDB endpoint other than AWS's (DynamoDB Local).")
@click.option("--dry-run", is_flag=True, help="Count the orders without keys; write nothing.")
def main(table: str, endpoint_url: str | None, dry_run: bool) -> None:
    """Give every order without GSI2 keys its keys (safe to stop and run again)."""
    done = backfill(boto3.client("dynamodb", endpoint_url=endpoint_url), table, dry_run)
    verb = "would set" if dry_run else "set"
    click.echo(f"scanned {done.scanned} items; {verb} the day keys of {done.updated} orders ({done.already} had them meanwhile)")


if __name__ == "__main__":
    main()
