"""Batch scoring CLI: add `score` (P(positive)), `label` and `reason` to every row of a CSV.

    python -m core.score --run RUN_DIR --input CSV --output CSV [--text-column text] [--chunk-size N]
    python -m core.score --service azure-language|azure-endpoint --input CSV --output CSV

The input is streamed in chunks (constant memory); every input row is written out, in order. Rows that
cannot be scored (empty text, a per-row service error) keep an empty score and say why in `reason`;
malformed CSV lines are counted and reported.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

THRESHOLD = 0.5


@dataclass
class ScoreReport:
    rows: int = 0
    scored: int = 0
    unscored: int = 0
    malformed_lines: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cost_usd: float = 0.0

    def summary(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0
        cost = f", estimated cost {self.cost_usd:.4f} USD" if self.cost_usd else ""
        return (f"{self.rows:,} rows: {self.scored:,} scored, {self.unscored:,} without a score, "
                f"{self.malformed_lines:,} malformed lines skipped; {self.seconds:.1f} s ({rate:,.0f} rows/s){cost}")


def _detect_encoding(path: Path) -> str:
    """utf-8 unless the file holds bytes that are not (the official Sentiment140 files are latin-1)."""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            try:
                block.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(block) - 4:  # not just a character cut at the block boundary
                    return "latin-1"
    return "utf-8"


def read_chunks(path: Path, chunk_size: int, report: ScoreReport) -> Iterator[pd.DataFrame]:
    """Stream a CSV as string-typed chunks; lines with the wrong number of fields are counted and skipped."""
    def bad_line(fields: list[str]) -> None:
        report.malformed_lines += 1
        if len(report.malformed_examples) < 10:
            report.malformed_examples.append(",".join(fields)[:200])
        return None

    yield from pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_size, engine="python",
                           skip_blank_lines=False,  # in a one-column CSV, an empty line is an empty text
                           on_bad_lines=bad_line, encoding=_detect_encoding(path))


def score_frame(chunk: pd.DataFrame, text_column: str,
                predict: Callable[[list[str]], tuple[np.ndarray, list]]) -> pd.DataFrame:
    """Score the non-empty texts of one chunk; empty texts get a reason instead of a score."""
    texts = chunk[text_column].fillna("").astype(str)
    usable = texts.str.strip() != ""
    scores = np.full(len(chunk), np.nan)
    reasons = np.where(usable, "", "empty text").astype(object)
    if usable.any():
        p_pos, row_errors = predict(texts[usable].tolist())
        scores[usable.to_numpy()] = p_pos
        if row_errors:
            idx = np.flatnonzero(usable.to_numpy())
            for i, err in zip(idx, row_errors):
                if err:
                    reasons[i] = err
    out = chunk.copy()
    out["score"] = np.round(scores, 6)
    out["label"] = np.where(np.isnan(scores), "", np.where(scores >= THRESHOLD, "positive", "negative"))
    out["reason"] = reasons
    return out


def make_predictor(run: str | None, service: str | None, report: ScoreReport):
    """A function texts -> (P(positive) array, per-row errors or None) for a run folder or a cloud service."""
    if run:
        from core.models import load
        model = load(run)
        return lambda texts: (model.predict_proba(texts), None)
    from core.azure.services import get_service
    svc = get_service(service)

    def predict(texts):
        result = svc.score(texts)
        report.cost_usd += result.cost_usd
        p = np.array([np.nan if v is None else v for v in result.p_pos], dtype=float)
        return p, result.errors

    return predict


def score_csv(input_path: Path, output_path: Path, predict, text_column: str = "text",
              chunk_size: int = 10_000, report: ScoreReport | None = None) -> ScoreReport:
    report = report or ScoreReport()
    start = time.perf_counter()
    tmp = output_path.with_name(f".{output_path.name}.{os.getpid()}.part")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            for i, chunk in enumerate(read_chunks(input_path, chunk_size, report)):
                if text_column not in chunk.columns:
                    raise ValueError(f"{input_path} has no {text_column!r} column (columns: {list(chunk.columns)}); "
                                     f"pass --text-column")
                scored = score_frame(chunk, text_column, predict)
                scored.to_csv(out, header=(i == 0), index=False, quoting=csv.QUOTE_MINIMAL)
                report.rows += len(scored)
                report.scored += int(scored["label"].ne("").sum())
                report.unscored = report.rows - report.scored
                print(f"[progress] scored {report.rows:,} rows", file=sys.stderr, flush=True)
        os.replace(tmp, output_path)
    finally:
        tmp.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="a run folder (any local run kind)")
    source.add_argument("--service", choices=["azure-language", "azure-endpoint"], help="a cloud service")
    parser.add_argument("--input", required=True, type=Path, help="CSV with a text column")
    parser.add_argument("--output", required=True, type=Path, help="CSV to write (input rows + score, label, reason)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--chunk-size", type=int, default=10_000)
    args = parser.parse_args(argv)
    if not args.input.exists():
        sys.exit(f"error: input file not found: {args.input}")
    report = ScoreReport()
    try:
        predict = make_predictor(args.run, args.service, report)
        if args.service:  # a spend guard judges the whole file before the first request, not chunk by chunk
            from core.azure.services import check_budget
            check_budget(args.service, (text for chunk in read_chunks(args.input, args.chunk_size, ScoreReport())
                                        if args.text_column in chunk for text in chunk[args.text_column]))
        score_csv(args.input, args.output, predict, args.text_column, args.chunk_size, report)
    except Exception as exc:  # every failure ends with one clear line, and no partial output file
        sys.exit(f"error: {type(exc).__name__}: {exc}")
    print(report.summary())
    for example in report.malformed_examples:
        print(f"  malformed: {example}")


if __name__ == "__main__":
    main()
