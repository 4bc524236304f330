import zipfile

import pandas as pd
import pytest

from core import config
from core.data.loading import DataError, download_sentiment140, load_dataset
from core.data.split import load_split
from tests.support.data import make_tweets, write_headered_csv, write_official_csv


def test_official_format_latin1_with_bad_rows_duplicates_and_conflicts(tmp_path):
    rows = make_tweets(40)
    rows[3] = (0, "caf\u00e9 was closed")  # latin-1 only character
    rows += [rows[0], rows[0]]  # exact duplicates
    rows += [(0, "same words"), (4, "same words")]  # conflicting labels
    path = write_official_csv(tmp_path / "training.csv", rows)
    with open(path, "a", encoding="latin-1") as fh:
        fh.write('"0","1","date","NO_QUERY","user"\n')  # 5 fields: malformed
        fh.write('"7","1","date","NO_QUERY","user","bad label"\n')
    data = load_dataset(path)
    r = data.report
    assert (r.format, r.encoding) == ("sentiment140", "latin-1")
    assert r.malformed_rows == 2 and len(r.malformed_examples) == 2
    assert r.duplicates_dropped == 2
    assert (r.conflicting_texts, r.conflicting_rows_dropped) == (1, 2)
    assert r.rows_kept == 40 == len(data.frame)
    assert "caf\u00e9 was closed" in set(data.frame["text"])
    assert set(data.frame["label"]) == {0, 1}
    assert {"user", "date"} <= set(data.frame.columns)


def test_official_test_file_drops_neutral_and_reads_from_zip(tmp_path):
    rows = make_tweets(10) + [(2, "just a neutral tweet"), (2, "another neutral one")]
    write_official_csv(tmp_path / config.OFFICIAL_TEST_NAME, rows)
    write_official_csv(tmp_path / config.OFFICIAL_TRAIN_NAME, make_tweets(20, seed=1))
    archive = tmp_path / config.OFFICIAL_ZIP_NAME
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmp_path / config.OFFICIAL_TRAIN_NAME, config.OFFICIAL_TRAIN_NAME)
        zf.write(tmp_path / config.OFFICIAL_TEST_NAME, config.OFFICIAL_TEST_NAME)
    assert load_dataset(archive).report.rows_kept == 20  # default member: the training file
    test = load_dataset(f"{archive}:{config.OFFICIAL_TEST_NAME}")
    assert test.report.neutral_dropped == 2 and test.report.rows_kept == 10


@pytest.mark.parametrize("labels", [("0", "4"), ("0", "1"), ("negative", "positive")])
def test_headered_label_encodings(tmp_path, labels):
    path = tmp_path / "d.csv"
    pd.DataFrame({"sentiment": [labels[0], labels[1]] * 3, "tweet": [f"text {i}" for i in range(6)]}).to_csv(
        path, index=False
    )
    frame = load_dataset(path).frame
    assert frame["label"].tolist() == [0, 1] * 3


def test_unusable_sources_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset(tmp_path / "missing.csv")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="layout"):
        load_dataset(tmp_path / "x.csv")


def test_split_is_stratified_persisted_and_deterministic(tmp_path, tiny_csv):
    a = load_split(tiny_csv, seed=1)
    b = load_split(tiny_csv, seed=1)
    assert a.split_id == b.split_id
    assert a.test["row_id"].tolist() == b.test["row_id"].tolist()
    assert (config.data_dir() / "splits" / a.split_id / "test.parquet").exists()
    assert len(a.test) == 120 and a.test["label"].mean() == pytest.approx(0.5)
    assert not set(a.train.row_id) & set(a.test.row_id) and not set(a.val.row_id) & set(a.test.row_id)
    c = load_split(tiny_csv, seed=2)
    assert c.split_id != a.split_id and c.test["row_id"].tolist() != a.test["row_id"].tolist()
    sampled = load_split(tiny_csv, sample=200, seed=1)
    assert len(sampled.train) + len(sampled.val) + len(sampled.test) == 200
    assert sampled.describe()["sizes"]["test"] == 40


def test_split_id_changes_with_the_data(tmp_path):
    a = load_split(write_headered_csv(tmp_path / "a.csv", make_tweets(50)))
    b = load_split(write_headered_csv(tmp_path / "b.csv", make_tweets(50, seed=9)))
    assert a.split_id != b.split_id


def test_download_offline_says_how_to_pass_a_local_file(tmp_path):
    with pytest.raises(DataError, match="--data"):  # the tests' download address is a port nothing listens on
        download_sentiment140(tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


def test_training_data_goes_through_the_one_reader(tmp_path):
    """Issue 11: a stray quote, an extra field or a NUL byte costs its own record only, reported by line."""
    rows = [f"{4 if i % 2 else 0},tweet number {i} {'love' if i % 2 else 'awful'}" for i in range(20)]
    rows[2] = '0,"a stray quote that never closes'
    rows[5] = "4,one field too many,EXTRA"
    rows[8] = "0,a nul\x00byte"
    rows[11] = "7,the label is not one we know"
    rows[14] = "4," + "long " * 300  # 1,500 characters: kept, cut to MAX_TEXT_CHARS
    path = tmp_path / "d.csv"
    path.write_text("target,text\n" + "\n".join(rows) + "\n")
    data = load_dataset(path)
    r = data.report
    assert r.rows_read == 20 and r.malformed_rows == 4 and r.truncated_texts == 1
    assert r.malformed_examples == [
        "line 4: a quote opened here never closes",
        "line 7: 3 fields instead of 2",
        "line 10: NUL byte",
        "line 13: the label is not 0/4, 0/1 or negative/positive",
    ]
    assert (
        r.rows_read
        == r.malformed_rows
        + r.empty_texts
        + r.neutral_dropped
        + r.duplicates_dropped
        + r.conflicting_rows_dropped
        + r.rows_kept
    )
    assert sorted(set(range(20)) - set(data.frame["row_id"])) == [2, 5, 8, 11]  # row_id = record index
    assert data.frame["text"].str.len().max() == 1000
    assert "stray" not in " ".join(r.malformed_examples) and "EXTRA" not in " ".join(r.malformed_examples)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "latin-1"])
def test_training_data_encodings(tmp_path, encoding):
    path = tmp_path / "d.csv"
    path.write_bytes(
        ("sentiment,text\n" + "\n".join(f"{i % 2 * 4},caf\u00e9 {i}" for i in range(10)) + "\n").encode(encoding)
    )
    data = load_dataset(path)
    assert data.report.encoding == encoding and data.report.rows_kept == 10
    assert data.frame["text"][0] == "caf\u00e9 0"


def test_unrecognised_files_are_described_never_quoted(tmp_path):
    (tmp_path / "x.csv").write_text("secret,words,here\nmore,secret,words\n")
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path / "x.csv")
    message = str(err.value)
    assert "line 1 has 3 columns (utf-8)" in message and "secret" not in message and "words" not in message
    (tmp_path / "t.csv").write_text("tweet,when\nhello,today\n")
    with pytest.raises(DataError, match="a text column but no label column"):
        load_dataset(tmp_path / "t.csv")
    with zipfile.ZipFile(tmp_path / "book.xlsx", "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(DataError, match=r"Excel workbook \(\.xlsx\), not a CSV: .*save the sheet as CSV"):
        load_dataset(tmp_path / "book.xlsx")
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as zf:
        zf.writestr("secret-name.txt", "hello")
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path / "notes.zip")
    assert "holds 1 files and none ends in .csv" in str(err.value) and "secret-name" not in str(err.value)
