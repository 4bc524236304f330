"""The one CSV reader: every record comes out, or is reported malformed at its line, and nothing else moves.

Property tests write random records as RFC 4180 CSV (quotes, commas, line breaks, empty and huge fields,
four encodings), damage some of them the ways real exports do, and check that exactly the damaged
records are reported, at their start lines, and every other record comes out intact and in order.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.data import csv_reader
from core.data.csv_reader import (
    MAX_RECORD_LINES,
    CsvFormatError,
    detect_encoding,
    detect_layout,
    open_csv,
    prepare_texts,
)
from tests.support.csv_strategies import HEADER, PROPERTY, csv_files, read_all, start_lines

# ---------------------------------------------------------------- properties


@PROPERTY
@given(csv_files())
def test_any_well_formed_file_reads_back_exactly(generated):
    data, encoding, records, _, parts = generated
    table, out = read_all(data)
    assert table.layout.columns == HEADER
    assert [fields for _, fields, _ in out] == records
    assert [line for line, _, _ in out] == start_lines(parts)[1:]
    assert table.report.malformed == 0 and table.report.records == table.report.rows == len(records)
    assert table.encoding == encoding or (encoding == "latin-1" and table.encoding == "utf-8")  # ASCII only


@PROPERTY
@given(csv_files(damage=True))
def test_damage_affects_only_its_own_record(generated):
    data, _, records, damaged, parts = generated
    table, out = read_all(data)
    starts = start_lines(parts)[1:]
    good = [(starts[i], record) for i, record in enumerate(records) if i not in damaged]
    assert [(line, fields) for line, fields, problem in out if problem is None] == good
    assert [line for line, _, problem in out if problem] == [starts[i] for i in sorted(damaged)]
    report = table.report
    assert report.records == report.rows + report.malformed == len(records)  # every record accounted for


@PROPERTY
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=30), st.builds(lambda n: " " * n + "x" * n, st.integers(0, 1500))),
        max_size=20,
    )
)
def test_prepared_texts_are_empty_or_scored_and_never_longer_than_the_limit(values):
    model_texts, reasons, usable = prepare_texts(values)
    for value, text, reason, ok in zip(values, model_texts, reasons, usable):
        stripped = (value or "").strip()
        assert ok == bool(stripped)
        assert reason == (
            "empty text"
            if not stripped
            else csv_reader.truncation_reason(len(stripped))
            if len(stripped) > 1000
            else ""
        )
        assert text == stripped[:1000]


# ---------------------------------------------------------------- named cases from issue 11


def test_a_million_character_tweet_is_read_whole():
    data = ("id,text\n1,hello\n2," + "a" * 1_000_000 + "\n3,bye\n").encode()
    table, out = read_all(data)
    assert [len(fields[1]) for _, fields, _ in out] == [5, 1_000_000, 3] and table.report.malformed == 0


def test_a_field_over_the_field_limit_is_malformed_alone(monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_FIELD_CHARS", 5_000)
    previous = csv.field_size_limit(5_000)
    try:
        data = ("id,text\n1,hello\n2," + "a" * 6_000 + "\n3,bye\n").encode()
        _, out = read_all(data)
    finally:
        csv.field_size_limit(previous)
    assert [(line, problem) for line, _, problem in out] == [
        (2, None),
        (3, "a field is longer than 5,000 characters"),
        (4, None),
    ]


def test_a_stray_quote_early_in_the_file_loses_no_following_row():
    data = ('id,text\n1,"great flight\n' + "".join(f"{i},row {i}\n" for i in range(2, 400))).encode()
    table, out = read_all(data)
    assert [fields for _, fields, problem in out if not problem] == [[str(i), f"row {i}"] for i in range(2, 400)]
    assert table.report.malformed_examples == ["line 2: a quoted field is still open after 100 lines"]


def test_a_stray_quote_late_in_the_file_is_reported_with_its_line():
    data = ("id,text\n" + "".join(f"{i},row {i}\n" for i in range(1, 50)) + '50,"oops\n51,last\n52,"x, y"\n').encode()
    table, out = read_all(data)
    assert table.report.malformed_examples == [
        "line 51: a quote opened here is not closed properly (the record would span 3 lines)"
    ]
    assert out[-2:] == [(52, ["51", "last"], None), (53, ["52", "x, y"], None)] and table.report.rows == 51


def test_a_quote_that_never_closes_at_the_end_is_reported():
    _, out = read_all(b'id,text\n1,fine\n2,"never closed')
    assert out[-1] == (3, None, "a quote opened here never closes")


def test_line_breaks_inside_quotes_are_one_record():
    _, out = read_all(b'id,text\r\n1,"first line\r\nsecond line"\r\n2,next\r\n')
    assert out == [(2, ["1", "first line\r\nsecond line"], None), (4, ["2", "next"], None)]


def test_an_extra_field_in_the_first_rows_shifts_no_column():
    data = b"id,text,user\n1,hello,a,EXTRA\n2,world,b\n3,again,c\n"
    _, out = read_all(data)
    assert out[0] == (2, None, "4 fields instead of 3")
    assert [fields for _, fields, problem in out if not problem] == [["2", "world", "b"], ["3", "again", "c"]]


def test_a_nul_byte_affects_only_its_record():
    _, out = read_all(b'id,text\n1,he\x00llo\n2,"multi\nline"\n3,ok\n')
    assert out == [(2, None, "NUL byte"), (3, ["2", "multi\nline"], None), (5, ["3", "ok"], None)]


def test_blank_lines_are_not_records_except_in_a_one_column_file():
    table, _ = read_all(b"id,text\n1,a\n\n2,b\n\n")
    assert table.report.blank_lines == 2 and table.report.records == 2
    _, out = read_all(b'text\nlove it\n\n""\n')
    assert [fields for _, fields, _ in out] == [["love it"], [""], [""]]


@pytest.mark.parametrize(
    "encoding,expected",
    [
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("utf-8-sig", "utf-8-sig"),
        ("latin-1", "latin-1"),
        ("utf-8", "utf-8"),
    ],
)
def test_encodings_are_detected(encoding, expected):
    data = "text,target\ncafé au lait,4\nnaïve crew,0\n".encode(encoding)
    table, out = read_all(data)
    assert table.encoding == expected and table.layout.text_column == "text"
    assert [fields[0] for _, fields, _ in out] == ["café au lait", "naïve crew"]


def test_excel_files_are_refused_with_a_sentence_and_no_bytes(tmp_path):
    xlsx = io.BytesIO()
    with zipfile.ZipFile(xlsx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    for data, kind in ((xlsx.getvalue(), ".xlsx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), ".xls")):
        with pytest.raises(CsvFormatError) as err:
            detect_encoding(data, "tweets.csv")
        message = str(err.value)
        assert f"tweets.csv is an Excel workbook ({kind}), not a CSV" in message and "save the sheet as CSV" in message
        assert message.isprintable() and len(message) < 200
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("tweets.csv", "text\nhi\n")
    with pytest.raises(CsvFormatError, match="zip archive"):
        detect_encoding(zipped.getvalue())


def test_layouts_and_column_names():
    assert detect_layout(["ID", " Tweet ", "Created_At"]).text_column == "Tweet"
    assert detect_layout(["ID", " Tweet ", "Created_At"]).time_index == 2
    official = detect_layout(["0", "1467810369", "Mon Apr 06", "NO_QUERY", "user", "text"])
    assert official.kind == "sentiment140" and not official.header and official.text_index == 5
    assert detect_layout(["hello there"]).kind == "lines"
    assert detect_layout(["a", "b"]).kind == "unknown"
    assert detect_layout(["text", "text", ""]).columns == ["text", "text.1", "column_3"]


def test_a_label_column_named_after_its_subject_is_found():
    airline_export = ["tweet_id", "airline_sentiment", "airline_sentiment_confidence", "airline", "text"]
    assert detect_layout(airline_export).label_index == 1
    assert detect_layout(["Label", "true_label", "text"]).label_index == 0  # an exact name comes first
    assert detect_layout(["sentiment_confidence", "text"]).label_index is None


def test_an_unrecognised_file_is_described_without_its_content():
    with open_csv(b"secret,words\nsecret,words\n", name="x.csv") as table, pytest.raises(CsvFormatError) as err:
        table.column()
    message = str(err.value)
    assert "secret" not in message and "words" not in message
    assert "line 1 has 2 columns (utf-8)" in message and "text, tweet" in message


def test_plain_line_files_keep_commas_and_quotes():
    with open_csv(b'I love it, really\n"quoted"\n\nlast\n') as table:
        assert table.layout.kind == "unknown"  # line 1 has two fields: the page asks for the column
    with open_csv(b'love it\nworst delay, lost bag\n"quoted\n') as table:
        assert table.layout.kind == "lines"
        assert [fields for _, fields in table.rows()] == [["love it"], ["worst delay, lost bag"], ['"quoted']]


def test_a_quoted_field_may_span_up_to_the_line_limit():
    inside = "\n".join(f"line {i}" for i in range(MAX_RECORD_LINES))  # MAX_RECORD_LINES lines in one field
    table, out = read_all(f'id,text\n1,"{inside}"\n2,next\n'.encode())
    assert table.report.malformed == 0 and out[0][1] == ["1", inside] and out[1][1] == ["2", "next"]
