"""Language detection on short tweets (core.text.language): accuracy per language on the XLM-T sentiment test sets,
the share of English airline tweets called another language, and the speed.

    python -m benchmarks.language_detection --xlmt /work/.mirror/cardiffnlp+xlm-t/repo [--airline Tweets.csv]

--xlmt: a clone (or bare mirror) of github.com/cardiffnlp/xlm-t; its data/sentiment/<language>/test_text.txt
are read with `git show` (a bare mirror has no work tree). The "hindi" set is romanised Hindi-English code-mix,
which no detector calls 'hi': it is printed apart and left out of the mean.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.text.language import UNDETERMINED, detect_languages

LANGUAGES = {"arabic": "ar", "english": "en", "french": "fr", "german": "de", "italian": "it"}
LANGUAGES |= {"portuguese": "pt", "spanish": "es", "hindi": "hi"}


def xlmt_texts(repo: str, language: str) -> list[str]:
    path = f"data/sentiment/{language}/test_text.txt"
    if (Path(repo) / path).is_file():
        return (Path(repo) / path).read_text(encoding="utf-8").splitlines()
    git_dir = repo if not (Path(repo) / ".git").exists() else str(Path(repo) / ".git")
    shown = subprocess.run(["git", "--git-dir", git_dir, "show", f"HEAD:{path}"], capture_output=True, check=True)
    return shown.stdout.decode("utf-8").splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xlmt", required=True)
    parser.add_argument("--airline", help="Twitter US Airline Sentiment CSV (all English)")
    args = parser.parse_args()
    accuracy, seconds, tweets = {}, 0.0, 0
    for name, code in LANGUAGES.items():
        texts = xlmt_texts(args.xlmt, name)
        began = time.process_time()
        found = detect_languages(texts)
        seconds, tweets = seconds + time.process_time() - began, tweets + len(texts)
        accuracy[code] = float(np.mean([f == code for f in found]))
        print(f"{code}: accuracy {accuracy[code]:.3f} on {len(texts)} tweets, 'und' {found.count(UNDETERMINED)}")
    mean = np.mean([v for k, v in accuracy.items() if k != "hi"])
    print(f"mean of {len(accuracy) - 1} (hi left out): {mean:.3f}; {tweets / seconds:,.0f} tweets per CPU-second")
    if args.airline:
        found = detect_languages(pd.read_csv(args.airline)["text"].astype(str))
        other = np.mean([f not in ("en", UNDETERMINED) for f in found])
        print(
            f"airline (English): {other:.2%} called another language, {found.count(UNDETERMINED) / len(found):.2%} 'und'"
        )


if __name__ == "__main__":
    main()
