"""A tenant's settings (attribution windows, priority, time zone, conversion export), validated; defaults in docs/api.md#settings."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ordertrail.core.credit import DEFAULT_MODEL, CreditModel
from ordertrail.core.models import DEFAULT_PRIORITY, RuleName

# The longest lookback any window may have; conversations are kept this long (plus the grace) after their DM.
MAX_WINDOW_DAYS = 90
# Touchpoints may be kept up to two years past their window, so a re-attribution run can reach back as far as it may
# cover (docs/reattribution.md#how-far-back); storage grows with it (docs/data-model.md#time-to-live).
MAX_GRACE_DAYS = 731


class AttributionSettings(BaseModel):
    """Per-tenant attribution settings; every field has the default docs/api.md#settings names."""

    model_config = ConfigDict(extra="forbid")

    conversation_window_days: int = Field(default=14, ge=1, le=MAX_WINDOW_DAYS, description="How long a shop link can credit an order")
    click_window_days: int = Field(default=7, ge=1, le=MAX_WINDOW_DAYS, description="Ad-click lookback")
    creator_window_days: int = Field(default=7, ge=1, le=MAX_WINDOW_DAYS, description="Creator-link click lookback")
    ttl_grace_days: int = Field(
        default=2,
        ge=0,
        le=MAX_GRACE_DAYS,
        description="Kept past the window before TTL deletes a touchpoint (how far back re-attribution reaches)",
    )
    settle_hours: int = Field(default=24, ge=0, le=720, description="How long after an order a late touchpoint may re-attribute it")
    priority: list[RuleName] = Field(default_factory=lambda: list(DEFAULT_PRIORITY), description="Rule order; first match wins")
    time_zone: str = Field(default="UTC", description="IANA zone for days and weeks in reports")

    @field_validator("priority")
    @classmethod
    def _every_rule_once(cls, priority: list[RuleName]) -> list[RuleName]:
        """The priority must name every rule exactly once."""
        if sorted(priority) != sorted(DEFAULT_PRIORITY):
            raise ValueError(f"priority must list each of {', '.join(DEFAULT_PRIORITY)} exactly once")
        return priority

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        """Reject time zones the IANA database does not know."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
        return zone

    @property
    def conversation_window(self) -> timedelta:
        """The conversation window as a duration."""
        return timedelta(days=self.conversation_window_days)

    @property
    def click_window(self) -> timedelta:
        """The ad-click lookback as a duration."""
        return timedelta(days=self.click_window_days)

    @property
    def creator_window(self) -> timedelta:
        """The creator-click lookback as a duration."""
        return timedelta(days=self.creator_window_days)

    @property
    def longest_window(self) -> timedelta:
        """The longest lookback; a buyer's touchpoints older than this never matter."""
        return max(self.conversation_window, self.click_window, self.creator_window)

    @property
    def settle_period(self) -> timedelta:
        """How long after an order a late touchpoint may still re-attribute it."""
        return timedelta(hours=self.settle_hours)

    def window_for(self, kind: str) -> timedelta:
        """How long a touchpoint of this kind can matter (its TTL is this plus the grace)."""
        if kind == "ad_click":
            return self.click_window
        if kind == "creator_click":
            return self.creator_window
        return self.conversation_window

    def ttl_for(self, kind: str) -> timedelta:
        """How long to keep a touchpoint of this kind before TTL deletes it."""
        return self.window_for(kind) + timedelta(days=self.ttl_grace_days)

    @property
    def conversation_ttl(self) -> timedelta:
        """How long to keep a conversation (and its flow-step markers) after its DM: any window's length, plus the grace."""
        return timedelta(days=MAX_WINDOW_DAYS + self.ttl_grace_days)


MAX_EXPORT_LOOKBACK = timedelta(days=28)


class ExportSettings(BaseModel):
    """How a tenant's attributed conversions are sent to TikTok's Events API (docs/attribution.md#conversion-events)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=False, description="Run the daily export for this tenant")
    event_name: str = Field(
        default="Purchase",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="Events API event name (case-sensitive)",
    )
    pixel_code: str | None = Field(default=None, max_length=100, description="Pixel (event source) id; else the tenant secret's")
    advertiser_id: str | None = Field(default=None, max_length=100, description="Advertiser account id (for reference)")
    access_token: SecretStr | None = Field(
        default=None, exclude=True, description="Write-only: stored in the tenant's secret, never returned or kept in the table"
    )
    lookback_days: int = Field(default=7, ge=1, le=28, description="Touches this long before the order share its credit")
    model: CreditModel = Field(default=DEFAULT_MODEL, description="Multi-touch credit model for the exported value")
    only_first_conversion: bool = Field(default=True, description="Send only each user's first conversion")
    max_event_age_days: int = Field(default=7, ge=1, le=28, description="Older conversions are skipped as too old (never above 28)")
    test_event_code: str | None = Field(default=None, max_length=100, description="Sends to Events Manager's test view when set")

    @property
    def lookback(self) -> timedelta:
        """The credit lookback as a duration."""
        return timedelta(days=self.lookback_days)

    @property
    def max_event_age(self) -> timedelta:
        """The oldest event the export still sends."""
        return timedelta(days=self.max_event_age_days)


class ReportSettings(BaseModel):
    """Thresholds that make report rows stand out."""

    model_config = ConfigDict(extra="forbid")

    dead_keyword_min_fires: int = Field(
        default=20, ge=1, le=1_000_000, description="A keyword that fired this often and sold nothing is flagged"
    )
    flow_drop_off_alert: float = Field(default=0.6, gt=0, le=1, description="A flow step losing at least this share of users stands out")


class TenantSettings(AttributionSettings):
    """Everything a tenant configures: attribution windows and priority, time zone, reports and the conversion export."""

    reports: ReportSettings = Field(default_factory=ReportSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)


class ExportSettingsView(ExportSettings):
    """Export settings as GET /settings shows them: the token is never returned, only whether one is set."""

    access_token_set: bool = False


class TenantSettingsView(AttributionSettings):
    """GET /settings: the tenant's settings with secrets hidden."""

    reports: ReportSettings = Field(default_factory=ReportSettings)
    export: ExportSettingsView = Field(default_factory=ExportSettingsView)
