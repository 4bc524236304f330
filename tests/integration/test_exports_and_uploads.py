"""Exports safe to open in a spreadsheet, and uploads bounded in what they expand to (issue 25): a tweet that starts
like a formula stays text in the .xlsx and is neutralised in the spreadsheet CSV while the plain CSV keeps it
exactly; a zip bomb, an encrypted or a deflate64 zip is refused in one line, quickly, and never kept."""

from __future__ import annotations

import csv
import io
import struct
import time
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core.commands import score as score_command
from core.data import corrections
from core.data.loading import DataError, load_dataset
from core.data.sources import allowed_sources, store_upload, uploads_dir
from core.inference.batch import ScoreReport, make_predictor, score_csv
from core.inference.stream import scored_csv, scored_xlsx

FORMULAS = ['=HYPERLINK("http://x","click")', "+cmd|' /c calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=2"]


def run_score(run, src, out, *extra: str) -> None:
    """The command in-process (a failure ends in SystemExit with its one line)."""
    score_command.main(["--run", str(run), "--input", str(src), "--output", str(out), *extra])


def workbook_rows(data: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows()]
    assert all(kind != "f" for row in rows for _, kind in row)  # no formula anywhere
    return [[value for value, _ in row] for row in rows]


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_the_monitors_scored_tweets_download_safely(tmp_path):
    scored = pd.DataFrame(
        {
            "row": range(1, 7),
            "line": range(2, 8),
            "text": FORMULAS,
            "timestamp": pd.Series(pd.NaT, index=range(6), dtype="datetime64[ns, UTC]"),
            "p_pos": np.linspace(0.1, 0.9, 6),
            "label": ["negative"] * 3 + ["positive"] * 3,
            "reason": "",
        }
    )
    exact = csv_rows(scored_csv(scored))
    assert [row[2] for row in exact[1:]] == FORMULAS  # the plain CSV round-trips exactly
    safe = csv_rows(scored_csv(scored, spreadsheet_safe=True))
    assert [row[2] for row in safe[1:]] == ["'" + text for text in FORMULAS]
    book = workbook_rows(scored_xlsx(scored))
    assert book[0] == ["row", "timestamp", "text", "score", "label", "reason"]
    assert [row[2] for row in book[1:5]] == FORMULAS[:4] and book[5][2] == "\t=1+1"
    assert isinstance(book[1][3], float)  # numbers stay numbers


def test_core_score_writes_a_workbook_and_a_spreadsheet_safe_csv(tmp_path, trained_logreg_run):
    source = tmp_path / "in.csv"
    pd.DataFrame({"text": FORMULAS[:4] + ["great flight"]}).to_csv(source, index=False)
    run_score(trained_logreg_run, source, tmp_path / "out.csv", "--spreadsheet-safe")
    safe = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert safe["text"].tolist() == ["'" + t for t in FORMULAS[:4]] + ["great flight"]
    predict = make_predictor(str(trained_logreg_run), None, ScoreReport())
    score_csv(source, tmp_path / "out.xlsx", predict)
    book = workbook_rows((tmp_path / "out.xlsx").read_bytes())
    assert book[0] == ["text", "score", "label", "reason", "language"] and [r[0] for r in book[1:]] == [
        *FORMULAS[:4],
        "great flight",
    ]
    score_csv(source, tmp_path / "plain.csv", predict)
    assert pd.read_csv(tmp_path / "plain.csv", keep_default_na=False)["text"].tolist()[:4] == FORMULAS[:4]


def test_the_corrections_export_keeps_texts_exactly_and_has_safe_forms():
    texts = ["\t=1+1", "  spaced ends  ", "a NUL \0 inside", '=HYPERLINK("x")']
    for text in texts:
        corrections.add_correction(text, "negative", who="ana@example.com")
    exact = csv_rows(corrections.export_csv())
    assert [row[0] for row in exact[1:]] == texts  # nothing stripped, no NUL dropped
    safe = csv_rows(corrections.export_csv(spreadsheet_safe=True, with_who=False))
    assert "who" not in safe[0] and [row[0] for row in safe[1:]] == ["'\t=1+1", texts[1], texts[2], "'" + texts[3]]
    book = workbook_rows(corrections.export_xlsx(with_who=False))
    assert "who" not in book[0] and book[1][0] == "\t=1+1" and book[3][0] == "a NUL \ufffd inside"
    assert "ana@example.com" not in corrections.export_csv(with_who=False).decode()


# ---------------------------------------------------------------- uploads


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def patched(content: bytes, flag: int | None = None, method: int | None = None) -> bytes:
    """The zip with its (only) member's flag bits or compression method rewritten in both of its headers."""
    data = bytearray(content)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(signature)
        if flag is not None:
            struct.pack_into("<H", data, at + flag_at, struct.unpack_from("<H", data, at + flag_at)[0] | flag)
        if method is not None:
            struct.pack_into("<H", data, at + method_at, method)
    return bytes(data)


def tweets_csv(rows: int) -> bytes:
    return ("text,label\n" + "".join(f"great flight {i},4\nawful delay {i},0\n" for i in range(rows))).encode()


def assert_refused_and_gone(content: bytes, match: str) -> None:
    started = time.monotonic()
    with pytest.raises(DataError, match=match) as refused:
        store_upload("tweets.zip", content)
    assert time.monotonic() - started < 20  # streamed and stopped at the cap, not expanded whole
    message = str(refused.value)
    assert str(uploads_dir()) not in message and "/" not in message.replace("N/A", "")  # no server path
    assert not uploads_dir().exists() or not any(uploads_dir().iterdir())  # nothing kept, nothing offered
    assert not [s for s in allowed_sources() if s.origin == "upload"]


def test_a_zip_bomb_is_refused_by_its_expanded_size_and_ratio(monkeypatch):
    monkeypatch.setenv("BADBUZZ_MAX_UPLOAD_MB", "20")
    bomb = zipped({"tweets.csv": b"text,label\n" + b"a" * (60 << 20)})  # 60 MB of one letter: about 60 KB zipped
    assert len(bomb) < 200_000
    assert_refused_and_gone(bomb, "expands to more than 20 MiB")
    ratio = zipped({"tweets.csv": b"text,label\n" + b"a" * (15 << 20)})  # under the size cap, 1000 times its size
    assert_refused_and_gone(ratio, "expands more than 100 times its size")
    good = store_upload("ok.zip", zipped({"tweets.csv": tweets_csv(50)}))
    assert good.origin == "upload" and load_dataset(good.key).report.rows_kept == 100


def test_encrypted_and_deflate64_zips_are_refused_in_one_line_and_removed():
    plain = zipped({"tweets.csv": tweets_csv(20)})
    assert_refused_and_gone(patched(plain, flag=0x1), "encrypted")
    assert_refused_and_gone(patched(plain, method=9), "deflate64")
    assert_refused_and_gone(b"PK\x03\x04" + b"\0" * 100, "not a readable zip archive")


def test_the_command_line_refuses_an_encrypted_member_in_one_line(tmp_path):
    path = tmp_path / "tweets.zip"
    path.write_bytes(patched(zipped({"tweets.csv": tweets_csv(20)}), method=9))
    with pytest.raises(DataError, match="compressed with deflate64, which cannot be read here"):
        load_dataset(path)


def test_an_upload_error_names_the_file_as_uploaded_not_its_server_path():
    with pytest.raises(DataError) as refused:
        store_upload("mine.csv", b"just,two\ncolumns,here\n")
    assert str(uploads_dir()) not in str(refused.value) and not any(uploads_dir().iterdir())
