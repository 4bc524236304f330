"""A batch of tweets scored as a stream: read in chunks (core.inference.stream_input), scored in the scorer's batch
size (core.inference.scorers), with progress, and the result written back as a CSV.

Every record is accounted for, in the same sentence batch scoring prints (core.inference.batch.accounting_line).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import numpy as np
import pandas as pd

from core.data.csv_reader import EMPTY_TEXT
from core.data.labels import BINARY_CLASSES, PROBABILITY_COLUMNS, is_three_way
from core.data.spreadsheet import neutralised, xlsx_bytes
from core.inference.batch import LINE_END, accounting_line
from core.inference.scorers import Scorer
from core.inference.stream_input import CHUNK_ROWS, CsvLayout, InputReport, MonitorError, count, read_chunks
from core.models.base import labels_from_proba

NOT_SCORED = "not scored"


@dataclass
class MonitorResult:
    scored: pd.DataFrame
    report: InputReport
    model: str
    cost_usd: float = 0.0
    failed_scores: int = 0
    group_column: str | None = None  # the file's column behind `scored["group"]`, when one was chosen

    @property
    def has_time(self) -> bool:
        return bool(self.scored["timestamp"].notna().any())

    def accounting(self) -> str:
        """The same count core.inference.batch prints: records in = scored + kept without a score + malformed."""
        scored = self.scored
        unscored = Counter(scored.loc[scored["p_pos"].isna(), "reason"].str.split(":").str[0])
        return accounting_line(
            self.report.records,
            int(scored["p_pos"].notna().sum()),
            unscored,
            self.report.malformed_lines,
            self.report.malformed_where,
            self.report.truncated,
        )

    @property
    def rows_needing_attention(self) -> int:
        return self.report.bad_rows + self.failed_scores

    def negative_share(self) -> float:
        """Share of the scored tweets that read negative, neutral ones counting as not negative (NaN when none
        was scored)."""
        scored = self.scored.loc[self.scored["p_pos"].notna(), "label"]
        return float((scored == "negative").mean()) if len(scored) else float("nan")


def score_stream(
    stream: IO[bytes],
    layout: CsvLayout,
    scorer: Scorer,
    on_progress: Callable[[float, int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    total_bytes: int | None = None,
) -> MonitorResult:
    """Read, score in the scorer's batch size, report progress as (fraction of bytes read, rows scored)."""
    report = InputReport()
    if total_bytes is None:
        here = stream.tell()
        total_bytes = stream.seek(0, io.SEEK_END) - here
        stream.seek(here)
    start, parts, cost, failed = stream.tell(), [], 0.0, 0
    for chunk in read_chunks(stream, layout, report, chunk_rows):
        cost += _score_chunk(chunk, scorer)
        failed += int(chunk["reason"].str.startswith(NOT_SCORED).sum())
        parts.append(chunk.drop(columns="model_text"))
        if on_progress:
            done = (stream.tell() - start) / total_bytes if total_bytes else 1.0
            on_progress(min(done, 1.0), report.rows)
    if not report.rows:
        if report.malformed_lines:
            raise MonitorError(
                f"No usable rows: all {count(report.records, 'record')} of the file are malformed "
                f"({report.malformed_where})."
            )
        raise MonitorError("No rows found: the file has a header but no data lines.")
    scored = pd.concat(parts, ignore_index=True)
    classes = tuple(getattr(scorer, "classes", BINARY_CLASSES))  # after scoring: an endpoint's answers say
    scored["label"] = labels_from_proba(_class_proba(scored, classes), classes)
    if on_progress:
        on_progress(1.0, report.rows)
    return MonitorResult(scored, report, scorer.name, cost, failed, layout.group_column)


def _class_proba(scored: pd.DataFrame, classes) -> np.ndarray:
    if is_three_way(classes) and PROBABILITY_COLUMNS["neutral"] in scored:
        return scored[[PROBABILITY_COLUMNS[c] for c in classes]].to_numpy(dtype=float)
    p_pos = scored["p_pos"].to_numpy(dtype=float)
    return np.column_stack([1 - p_pos, p_pos])


def _score_chunk(chunk: pd.DataFrame, scorer: Scorer) -> float:
    """Fill `p_pos` (and a three-way scorer's p_negative, p_neutral, p_positive) for the rows that have a text; a
    row the scorer could not answer says why. Returns the cost."""
    chunk["p_pos"] = np.nan
    p_col, reason_col = chunk.columns.get_loc("p_pos"), chunk.columns.get_loc("reason")
    todo = np.flatnonzero(chunk["reason"].ne(EMPTY_TEXT).to_numpy())
    cost = 0.0
    for begin in range(0, len(todo), scorer.batch_size):
        rows = todo[begin : begin + scorer.batch_size]
        batch = scorer.score(chunk["model_text"].iloc[rows].tolist())
        chunk.iloc[rows, p_col] = batch.p_pos
        if is_three_way(batch.classes):
            names = [PROBABILITY_COLUMNS[c] for c in batch.classes]
            for name in (n for n in names if n not in chunk):
                chunk[name] = np.nan
            chunk.iloc[rows, [chunk.columns.get_loc(c) for c in names]] = batch.class_proba()
        for i, why in batch.errors.items():
            chunk.iloc[rows[i], reason_col] = f"{NOT_SCORED}: {why}"
        cost += batch.cost_usd
    reason = chunk["reason"]
    unanswered = chunk["p_pos"].isna() & reason.ne(EMPTY_TEXT) & ~reason.str.startswith(NOT_SCORED)
    chunk.loc[unanswered, "reason"] = f"{NOT_SCORED}: no answer"
    return cost


def scored_table(scored: pd.DataFrame) -> pd.DataFrame:
    """The scored rows as the downloads give them: row, timestamp (ISO, UTC), group, text, score, label, (a three-way
    run's p_negative, p_neutral, p_positive,) reason."""
    out = scored.rename(columns={"p_pos": "score"})
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    three_way = [c for c in PROBABILITY_COLUMNS.values() if c in out]  # a three-way run's class probabilities
    columns = ["row", "timestamp", *(["group"] if "group" in out else []), "text", "score", "label", *three_way]
    return out[[*columns, "reason"]]


def scored_csv(scored: pd.DataFrame, spreadsheet_safe: bool = False) -> bytes:
    """The exact texts (UTF-8, CRLF; see core.inference.batch.LINE_END), or with formula-leading cells neutralised."""
    out = scored_table(scored)
    out = neutralised(out) if spreadsheet_safe else out
    return out.to_csv(index=False, lineterminator=LINE_END).encode("utf-8")


def scored_xlsx(scored: pd.DataFrame) -> bytes:
    """The scored rows as an Excel workbook whose text cells stay text (core.data.spreadsheet)."""
    return xlsx_bytes(scored_table(scored), sheet="scored tweets")
