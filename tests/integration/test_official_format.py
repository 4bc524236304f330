"""The scale benchmarks' files: official layout, balanced, every text distinct, so the reader keeps every row."""

from benchmarks.official_format import write_official
from core.data.loading import load_dataset
from tests.support.data import make_tweets, write_headered_csv


def test_a_built_file_is_official_format_with_exactly_the_rows_asked_for(tmp_path):
    sample = write_headered_csv(tmp_path / "sample.csv", make_tweets(300))
    path = write_official(2_500, tmp_path / "official.csv", sample=sample)  # ~9 copies of each tweet
    loaded = load_dataset(path)
    assert loaded.report.format == "sentiment140"  # the official headerless six-column layout
    assert loaded.report.rows_read == loaded.report.rows_kept == 2_500
    assert loaded.report.duplicates_dropped == loaded.report.conflicting_rows_dropped == 0
    assert loaded.frame["label"].value_counts().to_dict() == {0: 1_250, 1: 1_250}
    assert "user" in loaded.frame.columns and loaded.frame["text"].is_unique
