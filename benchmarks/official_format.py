"""Official-format Sentiment140 files of any size, built from the shared 90k sample, for the scale benchmarks.

    python -m benchmarks.official_format --rows 1600000 --out /tmp/s140_1600k.csv

The file looks like `training.1600000.processed.noemoticon.csv`: no header, six quoted fields
(target, id, date, flag, user, text), Latin-1, CRLF-free, positives after negatives as in the original.
Every text is distinct: copy k > 0 of a sample tweet gets a different @mention in front, as real tweets have,
so duplicate removal keeps them all and the cleaned set has exactly `rows` rows.
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared/data/sentiment140_sample_90k.csv"
START = datetime(2009, 4, 6, 22, 19, 45)


def sample_tweets(sample: Path = SAMPLE) -> pd.DataFrame:
    """The shared sample, distinct Latin-1-encodable texts only (the official file is Latin-1)."""
    frame = pd.read_csv(sample, dtype={"text": str}, keep_default_na=False)
    frame = frame[frame["text"].str.strip() != ""].drop_duplicates("text")
    encodable = frame["text"].map(lambda t: t.isascii() or _latin1(t))
    return frame[encodable].reset_index(drop=True)


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def official_rows(rows: int, seed: int = 0, sample: Path = SAMPLE) -> pd.DataFrame:
    """`rows` official-format records, half negative and half positive, every text distinct."""
    tweets = sample_tweets(sample)
    rng = np.random.default_rng(seed)
    parts = []
    for target, half in ((0, rows // 2), (4, rows - rows // 2)):
        pool = tweets.loc[tweets["target"] == target, "text"].to_numpy()
        position = rng.permutation(half)  # row i is copy i // len(pool) of pool tweet i % len(pool)
        copy = position // len(pool)
        prefix = np.where(copy > 0, np.char.add(np.char.add("@fan", copy.astype(str)), " "), "")
        texts = prefix.astype(object) + pool[position % len(pool)]
        parts.append(pd.DataFrame({"target": target, "text": texts}))
    frame = pd.concat(parts, ignore_index=True)
    n = len(frame)
    frame["id"] = 1467810369 + np.arange(n)
    stamps = [START + timedelta(seconds=int(s)) for s in np.linspace(0, 86400 * 60, n)]
    frame["date"] = [s.strftime("%a %b %d %H:%M:%S PDT %Y") for s in stamps]
    frame["flag"] = "NO_QUERY"
    frame["user"] = [f"user{i % 50_000}" for i in range(n)]
    return frame[["target", "id", "date", "flag", "user", "text"]]


def write_official(rows: int, out: Path, seed: int = 0, sample: Path = SAMPLE) -> Path:
    """Write (or reuse, when already built with this row count) an official-format file."""
    out = Path(out)
    if out.exists() and out.stat().st_size > 0:
        return out
    frame = official_rows(rows, seed, sample)
    tmp = out.with_suffix(out.suffix + ".tmp")
    frame.to_csv(tmp, header=False, index=False, quoting=csv.QUOTE_ALL, encoding="latin-1", lineterminator="\n")
    tmp.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_600_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = write_official(args.rows, args.out, args.seed)
    print(f"{path}: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
