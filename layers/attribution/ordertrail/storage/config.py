"""A tenant's configuration in the table: attribution and export settings, coupon mappings."""

from __future__ import annotations

from typing import Any

from ordertrail.core.models import (
    CouponMapping,
)
from ordertrail.core.tenant_settings import TenantSettings
from ordertrail.storage import keys
from ordertrail.storage.table import Table, deserialize, model_json, serialize, tenant_of


class ConfigRecords(Table):
    """A tenant's configuration in the table."""

    # -- settings ---------------------------------------------------------------------------------------
    def get_tenant_settings(self, tenant: str) -> TenantSettings:
        """The tenant's settings, or the defaults."""
        item = self.client.get_item(TableName=self.table_name, Key=serialize(keys.settings_key(tenant))).get("Item")
        return TenantSettings.model_validate_json(deserialize(item)["data"]) if item else TenantSettings()

    def put_tenant_settings(self, tenant: str, settings: TenantSettings) -> None:
        """Replace the tenant's settings (never the export token: it is excluded from the model's dump)."""
        item: dict[str, Any] = {**keys.settings_key(tenant), "type": "settings", "data": model_json(settings)}
        if settings.export.enabled:
            item.update(keys.exporting_tenants_gsi(tenant))
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def exporting_tenants(self) -> list[str]:
        """Tenants whose daily export is on: one GSI1 Query (paged)."""
        items = self._query(
            IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk", ExpressionAttributeValues=serialize({":pk": keys.EXPORTING_TENANTS})
        )
        return [tenant_of(item["PK"]) for item in items]

    # -- coupons ----------------------------------------------------------------------------------------
    def put_coupon(self, tenant: str, mapping: CouponMapping) -> None:
        """Create or replace a coupon mapping."""
        item = {
            **keys.coupon_key(tenant, mapping.code),
            **keys.coupons_gsi(tenant, mapping.code),
            "type": "coupon",
            "data": model_json(mapping),
        }
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def delete_coupon(self, tenant: str, code: str) -> bool:
        """Delete a coupon mapping; False when there was none."""
        result = self.client.delete_item(TableName=self.table_name, Key=serialize(keys.coupon_key(tenant, code)), ReturnValues="ALL_OLD")
        return "Attributes" in result

    def list_coupons(self, tenant: str) -> list[CouponMapping]:
        """All of a tenant's coupon mappings by code: one GSI1 Query (paged)."""
        items = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=serialize({":pk": keys.coupons_gsi(tenant, "")["GSI1PK"]}),
        )
        return [CouponMapping.model_validate_json(item["data"]) for item in items]
