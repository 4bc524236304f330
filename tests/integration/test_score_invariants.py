"""Batch scoring accounts for every record (issue 11), and one text gets one answer on every path.

rows out + malformed = records in, on generated files and on each case the issue lists; the same empty,
blank or huge text gets the same answer from core.inference.batch, the monitor, the endpoint's score script and the live
page's preparation.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from core.commands import score as score_command
from core.data import csv_reader
from core.data.csv_reader import MAX_TEXT_CHARS, prepare_texts
from core.inference import batch, live
from core.inference.scorers import ModelScorer
from core.inference.stream import score_stream
from core.inference.stream_input import inspect_csv
from tests.support.cli import score_cli
from tests.support.csv_strategies import csv_files, start_lines


def fake_predict(texts):
    """A deterministic stand-in model: the invariant is about accounting, not about sentiment."""
    return np.array([(len(t) % 97) / 97 for t in texts]), None


def read_output(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """core.inference.batch's CLI in this process: (exit code, stdout, stderr)."""
    try:
        score_command.main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code in (None, 0) else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the invariant on generated files


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(csv_files(damage=True))
def test_score_csv_writes_every_good_record_and_counts_the_rest(tmp_path_factory, generated):
    data, _, records, damaged, parts = generated
    folder = tmp_path_factory.mktemp("gen")
    (folder / "in.csv").write_bytes(data)
    report = batch.score_csv(folder / "in.csv", folder / "out.csv", fake_predict, chunk_size=4)
    rows = read_output(folder / "out.csv")
    assert rows[0] == ["id", "text", "user", "score", "label", "reason", "language"]
    good = [record for i, record in enumerate(records) if i not in damaged]
    assert [row[:3] for row in rows[1:]] == good  # in order, every column in place, the text whole
    for row in rows[1:]:
        usable = bool(row[1].strip())
        assert (row[3] != "") == usable and (row[4] != "") == usable
        assert row[5] == (
            ""
            if usable and len(row[1].strip()) <= MAX_TEXT_CHARS
            else "empty text"
            if not usable
            else csv_reader.truncation_reason(len(row[1].strip()))
        )
    starts = start_lines(parts)[1:]
    assert report.records == len(records) == report.rows + report.malformed_lines
    assert report.rows == len(rows) - 1 == report.scored + report.unscored
    assert report.malformed_examples == [
        f"line {starts[i]}: " + report.malformed_examples[k].split(": ", 1)[1] for k, i in enumerate(sorted(damaged))
    ]
    assert report.summary().startswith(f"{len(records):,} records in: ")
    assert f"= {len(records):,}" in report.summary()


# ---------------------------------------------------------------- the cases of issue 11, through the CLI


@pytest.fixture()
def run_dir(trained_logreg_run):
    return trained_logreg_run


def test_a_million_character_tweet_is_scored_truncated_and_kept_whole(tmp_path, capsys, run_dir):
    (tmp_path / "in.csv").write_text("id,text\n1,love the crew\n2," + "awful " * 170_000 + "\n3,great flight\n")
    code, out, err = run_main(
        capsys, "--run", run_dir, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.csv"
    )
    assert code == 0, err
    rows = read_output(tmp_path / "out.csv")
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"] and len(rows[2][1]) == 6 * 170_000
    assert rows[2][3] == "negative" and rows[2][4].startswith("text truncated: the first 1,000 of its")
    assert "3 records in: 3 scored (1 on a truncated text), 0 kept without a score, 0 malformed; 3 + 0 + 0 = 3" in out


def test_a_stray_quote_early_keeps_the_following_rows(tmp_path, capsys, run_dir):
    lines = ["id,text", '1,"love this flight'] + [f"{i},great crew {i}" for i in range(2, 300)]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run_main(
        capsys, "--run", run_dir, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.csv"
    )
    assert code == 0, err
    assert len(read_output(tmp_path / "out.csv")) == 1 + 298
    assert "299 records in: 298 scored, 0 kept without a score, 1 malformed (line 2); 298 + 0 + 1 = 299" in out
    assert "malformed line 2: a quoted field is still open after 100 lines" in out and "love" not in out


def test_an_extra_field_in_the_first_rows_shifts_no_column(tmp_path, capsys, run_dir):
    (tmp_path / "in.csv").write_text("id,text,user\n1,love it,a,EXTRA\n2,awful delay,b\n3,great crew,c\n")
    code, out, err = run_main(
        capsys, "--run", run_dir, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.csv"
    )
    assert code == 0, err
    rows = read_output(tmp_path / "out.csv")
    assert [r[:3] for r in rows[1:]] == [["2", "awful delay", "b"], ["3", "great crew", "c"]]
    assert [r[4] for r in rows[1:]] == ["negative", "positive"]
    assert "1 malformed (line 2)" in out and "malformed line 2: 4 fields instead of 3" in out


def test_a_late_stray_quote_or_over_long_field_refuses_nothing(tmp_path, capsys, run_dir, monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_FIELD_CHARS", 50_000)
    previous = csv.field_size_limit(50_000)
    try:
        good = "".join(f"{i},great crew {i}\n" for i in range(1, 200))
        (tmp_path / "in.csv").write_text("id,text\n" + good + '200,"stray\n201,' + "x" * 60_000 + "\n202,awful\n")
        code, out, err = run_main(
            capsys, "--run", run_dir, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.csv"
        )
    finally:
        csv.field_size_limit(previous)
    assert code == 0, err
    assert len(read_output(tmp_path / "out.csv")) == 1 + 200
    assert "202 records in: 200 scored, 0 kept without a score, 2 malformed (lines 201, 202)" in out
    assert "line 202: a field is longer than 50,000 characters" in out


def test_a_utf16_file_is_read_not_called_columnless(tmp_path, capsys, run_dir):
    (tmp_path / "in.csv").write_bytes("text,user\nlove the café,a\nawful delay,b\n".encode("utf-16"))
    code, _, err = run_main(capsys, "--run", run_dir, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.csv")
    assert code == 0, err
    rows = read_output(tmp_path / "out.csv")
    assert rows[1][:2] == ["love the café", "a"] and [r[3] for r in rows[1:]] == ["positive", "negative"]


def test_an_excel_file_gets_one_sentence_and_no_bytes(tmp_path, capsys, run_dir):
    with zipfile.ZipFile(tmp_path / "tweets.xlsx", "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>" * 100)
        zf.writestr("xl/worksheets/sheet1.xml", "<sheet/>" * 100)
    code, _, err = run_main(
        capsys, "--run", run_dir, "--input", tmp_path / "tweets.xlsx", "--output", tmp_path / "out.csv"
    )
    assert code == 1 and err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "is an Excel workbook (.xlsx), not a CSV" in err and "save the sheet as CSV" in err
    assert err.isascii() and len(err) < 250 and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("how", ["same", "symlink", "dotdot", "hardlink"])
def test_the_output_never_replaces_the_input(tmp_path, capsys, run_dir, how, monkeypatch):
    (tmp_path / "x").mkdir()
    src = tmp_path / "x" / "in.csv"
    src.write_text("text\nlove it\n")
    before = src.read_bytes()
    if how == "symlink":
        (tmp_path / "link.csv").symlink_to(src)
        out_path = tmp_path / "link.csv"
    elif how == "hardlink":
        os.link(src, tmp_path / "hard.csv")
        out_path = tmp_path / "hard.csv"
    elif how == "dotdot":
        monkeypatch.chdir(tmp_path)
        out_path = Path("./x/../x/in.csv")
    else:
        out_path = src
    code, _, err = run_main(capsys, "--run", run_dir, "--input", src, "--output", out_path)
    assert code == 1 and "is the input file" in err and "never overwrites its input" in err
    assert src.read_bytes() == before


def test_the_cli_says_it_in_one_line_and_counts_in_a_child_process(tmp_path, run_dir):
    """The real command, as a user runs it: exit 0, the summary, the output file."""
    (tmp_path / "in.csv").write_text('text\nlove it\n""\n"oops\nawful\n')
    done = score_cli(run_dir, tmp_path / "in.csv", tmp_path / "out.csv")
    assert done.returncode == 0, done.stderr
    assert (
        "4 records in: 2 scored, 1 kept without a score (empty text: 1), 1 malformed (line 4); 2 + 1 + 1 = 4"
    ) in done.stdout
    assert "3 rows written" in done.stdout


# ---------------------------------------------------------------- one text, one answer

EMPTY, BLANK, HUGE = "", " \t  ", "  " + "awful delay lost bag " * 50_000  # 1,050,000 characters


@pytest.fixture()
def endpoint_script(run_dir, monkeypatch):
    from core.azure_ml import score_script

    monkeypatch.setenv("AZUREML_MODEL_DIR", str(run_dir))
    score_script.init()
    return score_script


def test_the_same_text_gets_the_same_answer_on_every_path(tmp_path, run_dir, endpoint_script):
    from core.models.base import load

    model = load(run_dir)
    texts = [EMPTY, BLANK, HUGE, "love the crew"]
    expected_huge = float(model.predict_proba([HUGE.strip()[:MAX_TEXT_CHARS]])[0])

    # batch: core.inference.batch
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "in.csv", index=False)
    predict = batch.make_predictor(str(run_dir), None, batch.ScoreReport())
    batch.score_csv(tmp_path / "in.csv", tmp_path / "out.csv", predict)
    written = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    batch_scores = [None if s == "" else float(s) for s in written["score"]]

    # the monitor
    data = (tmp_path / "in.csv").read_bytes()
    result = score_stream(io.BytesIO(data), inspect_csv(io.BytesIO(data)), ModelScorer(model, "m"))
    monitor_scores = [None if np.isnan(p) else round(float(p), 6) for p in result.scored["p_pos"]]

    # the endpoint's scoring script (what azmlinfsrv calls)
    answer = endpoint_script.run(json.dumps({"texts": texts}))

    assert batch_scores[:2] == monitor_scores[:2] == answer["p_pos"][:2] == [None, None]
    assert (
        list(written["reason"][:2]) == list(result.scored["reason"][:2]) == answer["reasons"][:2] == ["empty text"] * 2
    )
    assert answer["labels"][:2] == [None, None] and list(written["label"][:2]) == ["", ""]
    for scores in (batch_scores, monitor_scores, answer["p_pos"]):
        assert scores[2] == pytest.approx(expected_huge, abs=1e-6)
        assert scores[3] == pytest.approx(batch_scores[3], abs=1e-6)
    truncated = csv_reader.truncation_reason(len(HUGE.strip()))
    assert written["reason"][2] == result.scored["reason"][2] == answer["reasons"][2] == truncated

    # the live page: refuses empty input, and scores the same prefix of a huge one
    for blank in (EMPTY, BLANK):
        with pytest.raises(live.EmptyText):
            live.prepare_text(blank)
    assert live.MAX_CHARS == MAX_TEXT_CHARS
    assert live.prepare_text(HUGE).text == prepare_texts([HUGE])[0][0]


def test_the_endpoint_refuses_only_what_is_too_big_to_send(endpoint_script):
    answer = endpoint_script.run(json.dumps({"texts": ["x" * (endpoint_script.MAX_CHARS + 1)]}))
    assert answer.status_code == 413 and "characters" in json.loads(answer.get_data(as_text=True))["error"]
