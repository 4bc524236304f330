"""Training data read by pyarrow (core.data.arrow_reader) or by the pure-Python reader give the same frame and the
same report, on generated files, hostile ones included: the fast path reads a file exactly or declines."""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from core import config
from core.data.loading import DataError, load_dataset, source_fingerprint
from tests.support.csv_strategies import PROPERTY, texts

LABELS = ["0", "4", "1", "2", "negative", "positive", " Pos ", "neutral", "7", ""]
BLANKS = ["", " ", "\t", "\u3000", "\x1c", "\xa0 "]
DAMAGE = ["extra field", "fewer fields", "NUL byte", "stray quote", "blank line", "lone CR", "after quote"]


def _quoted(value: str, quote_all: bool) -> str:
    if quote_all or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _damaged(line: str, kind: str | None, end: str) -> str:
    body = line[: -len(end)]
    return {
        None: line,
        "extra field": body + ",extra" + end,
        "fewer fields": body.split(",", 1)[-1] + end,
        "NUL byte": body + "\0" + end,
        "stray quote": '0,"an open quote' + end + line,
        "blank line": end + line,
        "lone CR": body + "\r",
    }[kind]


@st.composite
def training_files(draw, damage: bool):
    """(bytes, encoding): a headered or official-format CSV, its records with labels of every kind, blank and
    long texts, duplicates and conflicts; with `damage`, records broken the ways exports break them."""
    encoding = draw(
        st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"] if damage else ["utf-8", "latin-1"])
    )
    official = draw(st.booleans())
    quote_all = draw(st.booleans())
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text_strategy = st.one_of(texts("latin-1"), st.sampled_from(BLANKS[:5]), st.just("long " * 250))
    n = draw(st.integers(1, 10))
    rows = [(draw(st.sampled_from(LABELS if damage else ["0", "4"])), draw(text_strategy)) for _ in range(n)]
    rows += draw(st.lists(st.sampled_from(rows), max_size=3))  # duplicates
    rows += [("4" if label == "0" else "0", text) for label, text in draw(st.lists(st.sampled_from(rows), max_size=2))]
    simple = not any(c in text for _, text in rows for c in "\r\n")
    lines = [] if official else [",".join(_quoted(c, quote_all) for c in ("Sentiment", "id", "Text", "user")) + end]
    for i, (label, text) in enumerate(rows):
        fields = (
            [label, str(i), "Mon Apr 06 22:19:45 PDT 2009", "NO_QUERY", f"user{i % 3}", text]
            if official
            else [label, str(i), text, f"user{i % 3}"]
        )
        kind = draw(st.sampled_from([None, None, None, *DAMAGE])) if damage else None
        if kind == "after quote":  # text after a closing quote: both readers keep it, in the field
            fields[-1 if official else 2] = f'"{fields[-1 if official else 2]}"after'
            kind = None
        line = ",".join(f if f.endswith('"after') else _quoted(f, quote_all) for f in fields) + end
        lines.append(_damaged(line, kind, end))
    body = "".join(lines)
    if draw(st.booleans()):
        body = body[: -len(end)]  # no line end after the last record
        simple = False  # pyarrow declines some (one unterminated line: "cannot infer number of columns")
    return body.encode(encoding, errors="replace"), simple


def _load_both(data: bytes, classes: int = 2):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        path.write_bytes(data)
        return _load(path, fast=True, classes=classes), _load(path, fast=False, classes=classes)


def _load(path: Path, fast: bool, classes: int = 2):
    try:
        return load_dataset(path, fast=fast, classes=classes)
    except DataError as exc:
        return f"DataError: {exc}"


def _assert_same(fast, exact) -> None:
    if isinstance(exact, str):
        assert fast == exact
        return
    pd.testing.assert_frame_equal(fast.frame, exact.frame)
    assert fast.report == exact.report
    assert fast.fingerprint == exact.fingerprint


@PROPERTY
@given(training_files(damage=False))
def test_clean_files_take_the_fast_path_and_read_the_same(generated):
    data, simple = generated
    fast, exact = _load_both(data)
    _assert_same(fast, exact)
    if simple and not isinstance(fast, str):  # one line per record: nothing for pyarrow to decline
        assert fast.reader == "pyarrow"


@PROPERTY
@given(training_files(damage=True))
def test_hostile_files_read_the_same_by_either_path(generated):
    data, _ = generated
    _assert_same(*_load_both(data))
    _assert_same(*_load_both(data, classes=3))  # neutral rows kept


def test_clean_official_and_headered_files_use_pyarrow(tmp_path):
    rows = [f'"{i % 2 * 4}","{i}","date","NO_QUERY","user{i}","caf\xe9 tweet {i}"\n' for i in range(50)]
    official = tmp_path / "official.csv"
    official.write_bytes("".join(rows).encode("latin-1"))
    loaded = load_dataset(official)
    assert loaded.reader == "pyarrow" and loaded.report.encoding == "latin-1"
    assert loaded.frame["text"][0] == "caf\xe9 tweet 0" and list(loaded.frame.columns) == [
        "row_id",
        "text",
        "label",
        "user",
        "date",
    ]
    headered = tmp_path / "headered.csv"
    headered.write_text("label,text\n" + "".join(f"{i % 2},text {i}\n" for i in range(20)) + "7,bad label\n")
    loaded = load_dataset(headered)
    assert loaded.reader == "pyarrow"
    assert loaded.report.malformed_examples == ["line 22: the label is not 0/4, 0/1 or negative/positive"]
    headered.write_text("label,text\n\n0,a\n\r\n4,b\n\n")
    loaded = load_dataset(headered)
    assert loaded.reader == "pyarrow" and (loaded.report.blank_lines, loaded.report.rows_read) == (3, 2)


def test_a_multiline_record_falls_back_to_the_one_reader(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('label,text\n0,"two\nlines"\n4,one line\n')
    loaded = load_dataset(path)
    assert loaded.reader == "python" and loaded.frame["text"].tolist() == ["two\nlines", "one line"]


def test_zip_members_stream_and_the_fingerprint_is_the_members(tmp_path):
    csv_path = tmp_path / "t.csv"
    with open(csv_path, "w", newline="", encoding="latin-1") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerows([[i % 2 * 4, i, "d", "NO_QUERY", "u", f"tweet {i}"] for i in range(30)])
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv_path, "t.csv")
    from_zip, from_csv = load_dataset(archive), load_dataset(csv_path)
    assert from_zip.reader == "pyarrow"
    pd.testing.assert_frame_equal(from_zip.frame, from_csv.frame)
    assert from_zip.fingerprint == from_csv.fingerprint == source_fingerprint(f"{archive}:t.csv")


def test_the_fingerprint_cache_answers_for_the_same_file_version_only(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("label,text\n0,a\n4,b\n")
    os.utime(path, ns=(10**18, 10**18))  # long ago: not racy, so the scan is cached
    first = load_dataset(path).fingerprint
    assert list((config.data_dir() / "fingerprints").glob("*.json"))
    path.write_text("label,text\n0,a\n4,c\n")  # same size, and mtime set back: ctime still tells
    os.utime(path, ns=(10**18, 10**18))
    assert load_dataset(path).fingerprint == hashlib.sha256(path.read_bytes()).hexdigest() != first
