"""CSV exports (issue 4 item 5) against ordertrail.csv_export: cells, quoting, formula injection, streaming, the order row.

Each test reads given / when / then. Every CSV produced is parsed back with the csv module, so what is asserted
is what a spreadsheet or a script reading the file gets. Decimals are written exactly as held: 19.990 stays
"19.990" (trailing zeros are kept, never rounded or sent through float).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ordertrail.core.models import Attribution, Flow, Post, RuleOutcome
from ordertrail.reports.csv_format import (
    ATTRIBUTED_ORDER_COLUMNS,
    attributed_order_row,
    cell,
    rows_to_csv,
)
from tests.unit.attribution_builders import ORDER_AT, make_order

NASTY_COMMENT = 'LINK, please — "the blue one"\nsize M 🙏'


def parse(text: str) -> list[list[str]]:
    """Read CSV text back as a spreadsheet import would (newline="" keeps newlines inside quoted cells)."""
    return list(csv.reader(io.StringIO(text, newline="")))


def export(header: list[str], rows: list[list[object]], **kwargs: int) -> str:
    """The whole CSV text rows_to_csv streams."""
    return "".join(rows_to_csv(header, rows, **kwargs))


def as_dict(row: list[object]) -> dict[str, str]:
    """An attributed-order row rendered to cells, keyed by column."""
    return dict(zip(ATTRIBUTED_ORDER_COLUMNS, (cell(value) for value in row), strict=True))


# --- cells ---------------------------------------------------------------------------------------------------


def test_none_is_an_empty_cell() -> None:
    """Given None, when it is a cell, then it is empty."""
    assert cell(None) == ""


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("19.990", "19.990"),  # trailing zeros kept as given
        ("19.99", "19.99"),
        ("0.10", "0.10"),  # a float detour would print 0.1
        ("12345678901234.5678", "12345678901234.5678"),  # more digits than a float carries
        ("1E+2", "100"),  # never scientific notation
        ("1.5E-7", "0.00000015"),
        ("-3.00", "-3.00"),
        ("0", "0"),
    ],
)
def test_decimals_are_exact(amount: str, text: str) -> None:
    """Given a Decimal, when it is a cell, then its digits are written exactly, in plain notation."""
    assert cell(Decimal(amount)) == text


def test_numbers_are_never_prefixed() -> None:
    """Given negative numbers (a refund), when they are cells, then they stay numbers: no quote prefix."""
    assert cell(Decimal("-3.00")) == "-3.00"
    assert cell(-42) == "-42"
    assert cell(0) == "0"


def test_bools_are_true_and_false() -> None:
    """Given bools, when they are cells, then they read true / false (not 1 / 0 or True / False)."""
    assert (cell(True), cell(False)) == ("true", "false")


def test_datetimes_are_iso_8601_with_their_offset() -> None:
    """Given aware datetimes in UTC and at −05:00, when they are cells, then each is ISO-8601 with its offset."""
    assert cell(datetime(2025, 6, 15, 12, 0, tzinfo=UTC)) == "2025-06-15T12:00:00+00:00"
    eastern = timezone(timedelta(hours=-5))
    assert cell(datetime(2025, 6, 15, 7, 30, 5, tzinfo=eastern)) == "2025-06-15T07:30:05-05:00"


def test_a_datetime_without_an_offset_is_refused() -> None:
    """Given a naive datetime, when it is a cell, then it is refused rather than guessed (it would be off by hours)."""
    with pytest.raises(ValueError, match="offset"):
        cell(datetime(2025, 6, 15, 12, 0))


def test_dates_are_iso_8601() -> None:
    """Given a date, when it is a cell, then it is YYYY-MM-DD."""
    assert cell(date(2025, 6, 9)) == "2025-06-09"


def test_lists_are_joined_with_semicolons() -> None:
    """Given lists of keywords and of mixed values, when they are cells, then the parts are joined by "; "."""
    assert cell(["LINK", "PRICE"]) == "LINK; PRICE"
    assert cell([Decimal("1.50"), None, True]) == "1.50; ; true"
    assert cell([]) == ""


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_with_a_formula_character_is_prefixed(lead: str) -> None:
    """Given text starting with each OWASP formula character, when it is a cell, then a single quote comes first."""
    text = f'{lead}HYPERLINK("http://evil.example","click")'
    assert cell(text) == "'" + text


def test_a_formula_inside_a_list_is_prefixed() -> None:
    """Given a keyword list whose first keyword is a formula, when it is a cell, then the joined text is prefixed."""
    assert cell(["=1+2", "LINK"]) == "'=1+2; LINK"


def test_text_that_looks_like_a_negative_number_is_still_text() -> None:
    """Given the text "-3.00" (a comment, not an amount), when it is a cell, then it is prefixed like any text."""
    assert cell("-3.00") == "'-3.00"


def test_ordinary_text_is_untouched() -> None:
    """Given text with a formula character later on, when it is a cell, then nothing is added."""
    assert cell("size M = blue") == "size M = blue"
    assert cell("a-b@c+d") == "a-b@c+d"
    assert cell("") == ""


# --- rows_to_csv: quoting round trip -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "comma, inside",
        'a "quoted" word',
        '"',
        "line one\nline two",
        "windows\r\nline break",
        "trailing newline\n",
        "emoji 🛍️🔥 and ünïcödé — 中文",
        NASTY_COMMENT,
    ],
)
def test_text_survives_the_round_trip(text: str) -> None:
    """Given text with commas, quotes, newlines or emoji, when exported and parsed back, then it comes back unchanged."""
    rows = parse(export(["id", "comment", "after"], [["o-1", text, "next"]]))
    assert rows == [["id", "comment", "after"], ["o-1", text, "next"]]


def test_the_output_is_rfc_4180() -> None:
    """Given one row, when exported, then every field is quoted, quotes are doubled and lines end with CRLF."""
    text = export(["id", "note"], [["o-1", 'say "hi", ok']])
    assert text == '"id","note"\r\n"o-1","say ""hi"", ok"\r\n'


def test_formulas_are_neutralised_but_a_negative_amount_stays_a_number() -> None:
    """Given a formula comment and a −3.00 refund, when exported and parsed back, then only the comment is prefixed."""
    rows = parse(export(["comment", "amount", "tab", "cr"], [["=cmd|' /C calc'!A0", Decimal("-3.00"), "\tx", "\rx"]]))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-3.00", "'\tx", "'\rx"]


def test_a_semicolon_separated_formula_stays_inside_its_quoted_cell() -> None:
    """Given "a;=1+2" (a spreadsheet using ";" as separator would split it), when exported, then the cell is quoted."""
    assert export(["c"], [["a;=1+2"]]) == '"c"\r\n"a;=1+2"\r\n'


def test_the_header_is_neutralised_too() -> None:
    """Given a header name starting with "-", when exported, then it is prefixed like any text."""
    assert parse(export(["-x"], []))[0] == ["'-x"]


def test_no_rows_gives_the_header_alone() -> None:
    """Given no rows, when exported, then the output is the header line only, in one chunk."""
    chunks = list(rows_to_csv(["a", "b"], []))
    assert chunks == ['"a","b"\r\n']


def test_a_row_of_the_wrong_width_is_refused() -> None:
    """Given a row shorter than the header, when exported, then it is refused (it would shift every later column)."""
    with pytest.raises(ValueError, match="row 2 has 1 values, the header has 2"):
        export(["a", "b"], [["1", "2"], ["3"]])


# --- rows_to_csv: streaming ----------------------------------------------------------------------------------


def test_many_rows_stream_in_several_chunks() -> None:
    """Given 10,000 rows and 4 KiB chunks, when streamed, then the header comes alone first, each chunk is bounded,
    and the chunks join into the full CSV."""
    rows = [[f"o-{n}", Decimal(n) / 100, "LINK, please"] for n in range(10_000)]
    chunks = list(rows_to_csv(["id", "total", "comment"], rows, chunk_size=4096))

    assert chunks[0] == '"id","total","comment"\r\n'
    assert len(chunks) > 50
    longest_chunk = max(len(chunk) for chunk in chunks)
    assert longest_chunk < 4096 + 100  # a chunk closes at the first row that takes it past the size
    parsed = parse("".join(chunks))
    assert len(parsed) == 10_001
    assert parsed[1] == ["o-0", "0", "LINK, please"]
    assert parsed[-1] == ["o-9999", "99.99", "LINK, please"]


def test_rows_are_read_lazily() -> None:
    """Given a generator of rows, when the first chunk is taken, then no row has been read yet (nothing is built up front)."""
    read: list[int] = []

    def rows() -> Iterator[list[object]]:
        for n in range(3):
            read.append(n)
            yield [n]

    stream = rows_to_csv(["n"], rows(), chunk_size=1)
    assert next(stream) == '"n"\r\n'
    assert read == []
    assert next(stream) == '"0"\r\n'
    assert read == [0]


def test_a_chunk_size_below_one_is_refused() -> None:
    """Given chunk_size 0, when streamed, then it is refused."""
    with pytest.raises(ValueError, match="chunk_size"):
        list(rows_to_csv(["a"], [], chunk_size=0))


# --- the attributed-order row --------------------------------------------------------------------------------


def organic_attribution(order_id: str = "o-1") -> Attribution:
    """The engine's decision when nothing matched: organic, with each rule's reason."""
    return Attribution(
        order_id=order_id,
        source="tiktok_shop",
        method="organic",
        evidence=[
            RuleOutcome(rule="coupon", matched=False, reason="no_coupon", detail="the order has no coupon"),
            RuleOutcome(rule="conversation_hard", matched=False, reason="no_user_id", detail="no buyer id"),
        ],
        ordered_at=ORDER_AT,
        attributed_at=ORDER_AT + timedelta(minutes=5),
    )


def conversation_attribution(**changes: object) -> Attribution:
    """A hard conversation match: comment on post-1 (with awkward text), DM flow "Blue, M", keywords LINK and PRICE."""
    fields: dict[str, object] = {
        "order_id": "o-1",
        "source": "tiktok_shop",
        "method": "conversation",
        "rule": "conversation_hard",
        "touchpoint_ids": ["c-1", "dm-1", "sl-1"],
        "conversation_id": "conv-1",
        "post": Post(id="post-1", url="https://www.tiktok.com/@shop/video/7311"),
        "comment_id": "c-1",
        "comment_text": NASTY_COMMENT,
        "flow": Flow(id="flow-1", name="Blue, M"),
        "keywords": ["LINK", "PRICE"],
        "first_touch_at": ORDER_AT - timedelta(hours=2),
        "time_to_order_seconds": 7200,
        "evidence": [
            RuleOutcome(rule="coupon", matched=False, reason="no_coupon", detail="-"),
            RuleOutcome(rule="conversation_hard", matched=True, reason="matched", detail="sl-1 sent 2h before", touchpoint_ids=["sl-1"]),
        ],
        "ordered_at": ORDER_AT,
        "attributed_at": ORDER_AT + timedelta(minutes=5),
        "revenue": Decimal("19.990"),
    }
    fields.update(changes)
    return Attribution.model_validate(fields)


def test_the_columns_are_the_documented_ones() -> None:
    """Given the export, then its columns are these, in this order."""
    assert ATTRIBUTED_ORDER_COLUMNS == (
        "order_id", "source", "status", "ordered_at", "currency", "total", "method", "review_status", "rule",
        "post_id", "post_url", "comment_text", "flow_name", "keywords", "creator", "link_id", "coupon", "ttclid",
        "time_to_order_seconds", "counts_as_attributed", "cancelled", "evidence",
    )  # fmt: skip


def test_an_order_without_an_attribution_is_organic() -> None:
    """Given an order with no attribution, when it is a row, then it is organic, not counted, with no evidence."""
    order = make_order("o-1", total="19.990")

    row = as_dict(attributed_order_row(order, None))

    assert row == {
        "order_id": "o-1",
        "source": "tiktok_shop",
        "status": "awaiting_shipment",
        "ordered_at": "2025-06-15T12:00:00+00:00",
        "currency": "USD",
        "total": "19.990",
        "method": "organic",
        "review_status": "",
        "rule": "",
        "post_id": "",
        "post_url": "",
        "comment_text": "",
        "flow_name": "",
        "keywords": "",
        "creator": "",
        "link_id": "",
        "coupon": "",
        "ttclid": "",
        "time_to_order_seconds": "",
        "counts_as_attributed": "false",
        "cancelled": "false",
        "evidence": "",
    }


def test_an_organic_attribution_carries_its_evidence() -> None:
    """Given an organic attribution, when it is a row, then it is organic, not counted, and each rule says why not."""
    row = as_dict(attributed_order_row(make_order("o-1"), organic_attribution()))

    assert row["method"] == "organic"
    assert row["counts_as_attributed"] == "false"
    assert row["post_id"] == row["comment_text"] == row["keywords"] == ""
    assert row["evidence"] == "coupon=no_coupon; conversation_hard=no_user_id"


def test_a_conversation_order_round_trips_with_its_comment() -> None:
    """Given a conversation order whose comment has a comma, a quote, a newline and an emoji, when exported and
    parsed back, then every evidence column comes back as written."""
    order = make_order("o-1", total="19.990")
    header = list(ATTRIBUTED_ORDER_COLUMNS)

    parsed = parse(export(header, [attributed_order_row(order, conversation_attribution())]))

    assert parsed[0] == header
    row = dict(zip(header, parsed[1], strict=True))
    assert row == {
        "order_id": "o-1",
        "source": "tiktok_shop",
        "status": "awaiting_shipment",
        "ordered_at": "2025-06-15T12:00:00+00:00",
        "currency": "USD",
        "total": "19.990",
        "method": "conversation",
        "review_status": "",
        "rule": "conversation_hard",
        "post_id": "post-1",
        "post_url": "https://www.tiktok.com/@shop/video/7311",
        "comment_text": 'LINK, please — "the blue one"\nsize M 🙏',
        "flow_name": "Blue, M",
        "keywords": "LINK; PRICE",
        "creator": "",
        "link_id": "",
        "coupon": "",
        "ttclid": "",
        "time_to_order_seconds": "7200",
        "counts_as_attributed": "true",
        "cancelled": "false",
        "evidence": "coupon=no_coupon; conversation_hard=matched",
    }


def test_a_formula_in_a_comment_is_neutralised_in_the_row() -> None:
    """Given a buyer's comment "=HYPERLINK(...)", when it is exported, then it comes back prefixed with a quote."""
    attribution = conversation_attribution(comment_text='=HYPERLINK("http://evil.example","win")')

    parsed = parse(export(list(ATTRIBUTED_ORDER_COLUMNS), [attributed_order_row(make_order("o-1"), attribution)]))

    assert dict(zip(ATTRIBUTED_ORDER_COLUMNS, parsed[1], strict=True))["comment_text"] == '\'=HYPERLINK("http://evil.example","win")'


def test_a_cancelled_order_does_not_count_even_before_its_attribution_catches_up() -> None:
    """Given a cancelled order whose attribution was written before the cancellation, when it is a row, then it
    is cancelled and not counted."""
    row = as_dict(attributed_order_row(make_order("o-1", status="CANCEL"), conversation_attribution()))

    assert (row["status"], row["cancelled"], row["counts_as_attributed"]) == ("cancelled", "true", "false")


def test_a_pending_soft_match_does_not_count_until_confirmed() -> None:
    """Given soft conversation matches pending and confirmed, when they are rows, then only the confirmed one counts."""
    order = make_order("o-1")
    pending = as_dict(
        attributed_order_row(order, conversation_attribution(method="conversation_soft", rule="conversation_soft", review_status="pending"))
    )
    confirmed = as_dict(
        attributed_order_row(
            order, conversation_attribution(method="conversation_soft", rule="conversation_soft", review_status="confirmed")
        )
    )

    assert (pending["review_status"], pending["counts_as_attributed"]) == ("pending", "false")
    assert (confirmed["review_status"], confirmed["counts_as_attributed"]) == ("confirmed", "true")


def test_a_creator_coupon_order_fills_creator_link_and_coupon() -> None:
    """Given a coupon attribution to @maya's link L-1, when it is a row, then creator, link id and coupon are filled."""
    attribution = conversation_attribution(
        method="coupon",
        rule="coupon",
        post=None,
        comment_text=None,
        flow=None,
        keywords=[],
        creator="@maya",
        link_id="L-1",
        coupon="MAYA10",
    )

    row = as_dict(attributed_order_row(make_order("o-1", coupons=["maya10"]), attribution))

    # "@maya" starts with @, a formula character: it is text, so it is prefixed.
    assert (row["creator"], row["link_id"], row["coupon"]) == ("'@maya", "L-1", "MAYA10")
    assert row["post_id"] == row["flow_name"] == row["keywords"] == ""
