"""The one object callers hold for the single table: every record type's reads and writes, composed."""

from __future__ import annotations

from ordertrail.storage.attributions import AttributionRecords
from ordertrail.storage.config import ConfigRecords
from ordertrail.storage.connections import ConnectionRecords
from ordertrail.storage.exports import ExportRecords
from ordertrail.storage.hints import HintRecords
from ordertrail.storage.imports import ImportRecords
from ordertrail.storage.orders import OrderRecords
from ordertrail.storage.reattributions import ReattributionRecords


class Repository(
    ConfigRecords, AttributionRecords, OrderRecords, ExportRecords, HintRecords, ConnectionRecords, ImportRecords, ReattributionRecords
):
    """Typed access to the single table; every method costs a fixed number of requests."""
