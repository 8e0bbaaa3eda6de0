"""Every report as CSV tables: each list a report holds becomes a table of its items, flattened into columns.

Pure: no AWS. A row model's fields become columns in their declared order, its own before those it inherits; a nested
model's fields are prefixed with its name (`range_from`); a money map becomes one column per currency present
(`driven_revenue_USD`), sorted by code, because amounts in two currencies are never added (docs/reports.md); a list of
plain values is one cell; a list of models is a table of its own, its rows led by what identifies their parent (a
flow's steps carry `flow_id`). Each cell holds the value the report's JSON holds, so a table read back equals the JSON
(tests/integration/test_reports.py proves it).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ordertrail.core.errors import Unprocessable
from ordertrail.core.report_models import (
    ChannelCredit,
    ChannelRow,
    ChannelsReport,
    CouponRow,
    CouponsReport,
    CreatorRow,
    CreatorsReport,
    CrossoverBreakdown,
    CrossoverCustomer,
    CrossoverReport,
    CrossoverWeek,
    DayFigures,
    Figures,
    FlowRow,
    FlowsReport,
    FlowStep,
    HistogramBucket,
    InsightsReport,
    KeywordRow,
    KeywordsReport,
    PostRow,
    PostsReport,
    ProductRow,
    ReportRange,
    TimeToOrderReport,
    WeekFigures,
    WeeklyTimeToOrder,
)
from ordertrail.reports.csv_tables import CsvTable

# A table's rows: each item with the columns that lead it (what identifies its parent, or which period it is).
LedRows = list[tuple[dict[str, object], BaseModel]]
# Sort key of a column: the path of field positions that leads to it, then its currency code ("" for plain fields).
_Key = tuple[tuple[int, ...], str]


def _plain(rows: Sequence[BaseModel]) -> LedRows:
    """Rows that need no leading columns."""
    return [({}, row) for row in rows]


def _summary(report: BaseModel) -> LedRows:
    """The report's own scalar figures (its lists are tables of their own) as one row."""
    return [({}, report)]


def _channel_totals(report: ChannelsReport) -> LedRows:
    """Each model's total over the dimension, with the orders every model shares."""
    return [({"dimension": report.dimension, "orders": report.orders}, report.totals)]


def _flow_steps(report: FlowsReport) -> LedRows:
    """Every flow's steps, each led by its flow's id."""
    return [({"flow_id": flow.flow_id}, step) for flow in report.rows for step in flow.steps]


def _insight_totals(report: InsightsReport) -> LedRows:
    """The figures of each period (all time, the last 7 days, the weeks), led by the period and its days."""
    last, weekly = report.last_7_days.range, report.weekly.range
    return [
        ({"period": "all_time", "from": None, "to": None}, report.all_time),
        ({"period": "last_7_days", "from": last.from_, "to": last.to}, report.last_7_days.totals),
        ({"period": "weekly", "from": weekly.from_, "to": weekly.to}, report.weekly.totals),
    ]


@dataclass(frozen=True)
class TableSpec:
    """One CSV table of a report: how to take its rows out of the report, the model of each row, its leading columns."""

    rows: Callable[[Any], LedRows]
    row_model: type[BaseModel]
    lead: tuple[str, ...] = ()


# Per report: its tables in the order offered, the first being the default. Keys are the `table` query values.
TABLES: dict[type[BaseModel], dict[str, TableSpec]] = {
    PostsReport: {"posts": TableSpec(lambda r: _plain(r.rows), PostRow)},
    FlowsReport: {"flows": TableSpec(lambda r: _plain(r.rows), FlowRow), "steps": TableSpec(_flow_steps, FlowStep, ("flow_id",))},
    KeywordsReport: {"keywords": TableSpec(lambda r: _plain(r.rows), KeywordRow)},
    CreatorsReport: {"creators": TableSpec(lambda r: _plain(r.rows), CreatorRow)},
    CouponsReport: {"coupons": TableSpec(lambda r: _plain(r.rows), CouponRow)},
    ChannelsReport: {
        "values": TableSpec(lambda r: _plain(r.rows), ChannelRow),
        "totals": TableSpec(_channel_totals, ChannelCredit, ("dimension", "orders")),
    },
    TimeToOrderReport: {
        "weeks": TableSpec(lambda r: _plain(r.weeks), WeeklyTimeToOrder),
        "histogram": TableSpec(lambda r: _plain(r.histogram), HistogramBucket),
        "summary": TableSpec(_summary, TimeToOrderReport),
    },
    InsightsReport: {
        "weeks": TableSpec(lambda r: _plain(r.weekly.weeks), WeekFigures),
        "days": TableSpec(lambda r: _plain(r.last_7_days.days), DayFigures),
        "totals": TableSpec(_insight_totals, Figures, ("period", "from", "to")),
        "top_products_weekly": TableSpec(lambda r: _plain(r.weekly.top_products), ProductRow),
        "top_products_last_7_days": TableSpec(lambda r: _plain(r.last_7_days.top_products), ProductRow),
    },
    CrossoverReport: {
        "customers": TableSpec(lambda r: _plain(r.customers), CrossoverCustomer),
        "weeks": TableSpec(lambda r: _plain(r.weeks), CrossoverWeek),
        "breakdown": TableSpec(lambda r: _plain(r.breakdown), CrossoverBreakdown),
        "summary": TableSpec(_summary, CrossoverReport),
    },
}


def table_names(report_type: type[BaseModel]) -> tuple[str, ...]:
    """The tables a report of this type offers as CSV, the default first."""
    return tuple(TABLES[report_type])


def choose(report_type: type[BaseModel], asked: str | None) -> str:
    """The table asked for (default the report's first); an unknown name is a 422 naming `table` and the choices."""
    offered = table_names(report_type)
    if asked is None:
        return offered[0]
    if asked not in offered:
        raise Unprocessable(f"this report has no table {asked!r}; choose one of {', '.join(offered)}", field="table", code="unknown_table")
    return asked


def report_table(report_name: str, report: BaseModel, table: str) -> CsvTable:
    """One table of a report as a CSV download, named for the report, the table and the days it covers."""
    spec = TABLES[type(report)][table]
    flat = [(lead, _columns(row)) for lead, row in spec.rows(report)]
    names: dict[_Key, str] = dict(_plain_columns(spec.row_model))
    for _, columns in flat:
        names.update({key: name for key, (name, _) in columns.items()})
    ordered = [names[key] for key in sorted(names)]
    rows = []
    for lead, columns in flat:
        values = dict(columns.values())
        rows.append([*(lead[name] for name in spec.lead), *(values.get(name) for name in ordered)])
    span = getattr(report, "range", None)
    days = f"_{span.from_}_{span.to}" if isinstance(span, ReportRange) else ""
    return CsvTable(f"{report_name}-{table}{days}.csv", [*spec.lead, *ordered], rows)


def _columns(model: BaseModel, prefix: str = "", path: tuple[int, ...] = ()) -> dict[_Key, tuple[str, object]]:
    """A model's columns keyed for ordering: plain fields, nested models prefixed, money maps one column per currency."""
    out: dict[_Key, tuple[str, object]] = {}
    for position, (name, info) in enumerate(_fields(type(model))):
        if _item_model(info) is not None:
            continue  # a list of models is a table of its own
        column = prefix + _name(name, info)
        value = getattr(model, name)
        here = (*path, position)
        if isinstance(value, BaseModel):
            out.update(_columns(value, f"{column}_", here))
        elif isinstance(value, dict):
            out.update({(here, code): (f"{column}_{code}", amount) for code, amount in value.items()})
        else:
            out[(here, "")] = (column, value)
    return out


def _plain_columns(model_type: type[BaseModel], prefix: str = "", path: tuple[int, ...] = ()) -> list[tuple[_Key, str]]:
    """The columns every row of a model has whatever its values: all but money maps, whose columns need a currency."""
    out: list[tuple[_Key, str]] = []
    for position, (name, info) in enumerate(_fields(model_type)):
        annotation = info.annotation
        if _item_model(info) is not None or typing.get_origin(annotation) is dict:
            continue
        column = prefix + _name(name, info)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += _plain_columns(annotation, f"{column}_", (*path, position))
        else:
            out.append((((*path, position), ""), column))
    return out


def _fields(model_type: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    """A model's fields, its own before those it inherits: a row's own fields say what it is (post_id before the figures)."""
    own = inspect.get_annotations(model_type)
    fields = list(model_type.model_fields.items())
    return [field for field in fields if field[0] in own] + [field for field in fields if field[0] not in own]


def _name(name: str, info: FieldInfo) -> str:
    """A field's name as the JSON writes it (its alias, when it has one)."""
    return info.serialization_alias or info.alias or name


def _item_model(info: FieldInfo) -> type[BaseModel] | None:
    """The model a list field holds, or None."""
    if typing.get_origin(info.annotation) is not list:
        return None
    (item,) = typing.get_args(info.annotation)
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None
