"""Batch scoring: add `score` (P(positive)), `label` and `reason` to every row of a CSV (the command:
`python -m core.score`, core.commands.score). A three-way run (or service) adds `p_negative`, `p_neutral`,
`p_positive` after `label`, which reads negative / neutral / positive; a binary run's columns are unchanged.

The input is read by core.data.csv_reader in chunks (constant memory) and every record is accounted for: it is
written out scored, or written out with an empty score and a `reason` (empty text, a per-row service error), or
counted as malformed with its line number in the summary; the summary's counts add up to the records read.
A text longer than MAX_TEXT_CHARS is scored on its first MAX_TEXT_CHARS characters and says so in `reason`
(the output keeps the whole text). The output is UTF-8 with CRLF line ends and never replaces the input file.
Tweets are written by anyone: open the .xlsx output (or a CSV written with --spreadsheet-safe) in a spreadsheet,
never the plain CSV, whose `=…` cells a spreadsheet would run (core.data.spreadsheet).
"""

from __future__ import annotations

import csv
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.csv_reader import CsvFormatError, ReadReport, open_csv, prepare_texts
from core.data.labels import BINARY_CLASSES, PROBABILITY_COLUMNS, THREE_CLASSES, binary_proba, probability_columns
from core.data.spreadsheet import XlsxWriter, neutralise, neutralised
from core.models.base import labels_from_proba
from core.text.language import detect_languages, other_language_note

# language: core.text.language (ISO 639-1, 'und')
OUTPUT_COLUMNS = ("score", "label", "reason", "language")  # a binary run's
THREE_WAY_COLUMNS = ("score", "label", *PROBABILITY_COLUMNS.values(), "reason", "language")  # a three-way run's
# RFC 4180 line ends: the csv writer quotes a field only for the characters of its line end, so with "\n" a
# text holding a lone carriage return would be written unquoted and split in two by every reader.
LINE_END = "\r\n"


class ScoreError(Exception):
    """A request core.inference.batch refuses (the output would overwrite the input), with what to do instead."""


@dataclass
class ScoreReport:
    records: int = 0  # records read: rows + malformed_lines
    rows: int = 0  # rows written: scored + unscored
    scored: int = 0
    unscored: int = 0
    truncated: int = 0  # scored on their first MAX_TEXT_CHARS characters
    reasons: Counter = field(default_factory=Counter)  # why rows have no score
    malformed_lines: int = 0
    malformed_examples: list[str] = field(default_factory=list)  # "line N: why", the first ones
    malformed_where: str = ""  # "lines 4, 9, …"
    blank_lines: int = 0
    seconds: float = 0.0
    cost_usd: float = 0.0

    def take_read_report(self, read: ReadReport) -> None:
        self.records, self.malformed_lines = read.records, read.malformed
        self.malformed_examples = list(read.malformed_examples)
        self.malformed_where, self.blank_lines = read.malformed_lines_text(), read.blank_lines

    def summary(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0
        cost = f", estimated cost {self.cost_usd:.4f} USD" if self.cost_usd else ""
        blank = f" ({self.blank_lines:,} blank lines are not records)" if self.blank_lines else ""
        return (
            accounting_line(
                self.records, self.scored, self.reasons, self.malformed_lines, self.malformed_where, self.truncated
            )
            + blank
            + f"; {self.seconds:.1f} s ({rate:,.0f} rows/s){cost}"
        )


def accounting_line(
    records: int, scored: int, reasons: Counter, malformed: int, malformed_where: str, truncated: int = 0
) -> str:
    """'N records in: X scored, Y kept without a score (why: n, …), Z malformed (lines …); X + Y + Z = N'."""
    unscored = sum(reasons.values())
    why = ", ".join(f"{reason}: {n:,}" for reason, n in reasons.most_common(3))
    why += ", …" if len(reasons) > 3 else ""
    cut = f" ({truncated:,} on a truncated text)" if truncated else ""
    return (
        f"{records:,} records in: {scored:,} scored{cut}, {unscored:,} kept without a score"
        f"{f' ({why})' if why else ''}, {malformed:,} malformed{f' ({malformed_where})' if malformed else ''}; "
        f"{scored:,} + {unscored:,} + {malformed:,} = {scored + unscored + malformed:,}"
    )


def score_frame(
    chunk: pd.DataFrame, text_column: str, predict: Callable[[list[str]], tuple[np.ndarray, list]]
) -> pd.DataFrame:
    """Score the usable texts of one chunk (cut to MAX_TEXT_CHARS); the others get a reason instead. `predict`
    answers P(positive) per text (n,) for a binary model, or (n, 3) class probabilities for a three-way one."""
    model_texts, reasons, usable = prepare_texts(chunk[text_column])
    idx = np.flatnonzero(usable)
    scores, row_errors = predict([model_texts[i] for i in idx]) if len(idx) else (np.zeros(0), None)
    classes = getattr(predict, "classes", BINARY_CLASSES)  # read after the call: an endpoint's first answer says
    scores = np.asarray(scores, dtype=float)
    proba = np.full((len(chunk), len(classes)), np.nan)
    if len(idx):
        proba[idx] = binary_proba(scores) if scores.ndim == 1 else scores
    for i, err in zip(idx, row_errors or ()):
        if err:
            reasons[i] = err
    out = chunk.copy()
    out["score"] = np.round(proba[:, -1], 6)  # P(positive): the last class
    out["label"] = labels_from_proba(proba, classes)  # labelled before rounding: 0.4999999 reads negative
    for name, values in probability_columns(proba, classes).items():
        out[name] = values
    languages = detect_languages(chunk[text_column])
    model_languages = getattr(predict, "languages", None)
    for i in idx[~np.isnan(proba[idx, -1])]:  # a scored tweet in a language the model was not trained on says so
        note = other_language_note(languages[i], model_languages, model_texts[i])
        reasons[i] = "; ".join(r for r in (reasons[i], note) if r)
    out["reason"] = reasons
    out["language"] = languages
    return out


class Predictor:
    """texts -> (scores, per-row errors or None), for score_frame: P(positive) per text from a binary run, (n, 3)
    class probabilities from a three-way one; `classes` says which (for the output's columns)."""

    def __init__(
        self, answer: Callable[[list[str]], tuple[np.ndarray, list | None]], classes, service=None, languages=None
    ):
        self.answer, self.classes, self.service = answer, tuple(classes), service
        self.languages = languages  # what the model reads (SentimentModel.languages): a note on other languages

    def __call__(self, texts: list[str]) -> tuple[np.ndarray, list | None]:
        return self.answer(texts)

    @property
    def columns(self) -> tuple[str, ...]:
        return THREE_WAY_COLUMNS if self.classes == THREE_CLASSES else OUTPUT_COLUMNS


def make_predictor(run: str | None, service: str | None, report: ScoreReport) -> Predictor:
    """The Predictor of a run folder or a cloud service (a three-way one answers its class probabilities)."""
    if run:
        from core.models.base import load

        model = load(run)
        if model.three_way:
            return Predictor(
                lambda texts: (model.predict_class_proba(texts), None), model.classes, languages=model.languages
            )
        return Predictor(lambda texts: (model.predict_proba(texts), None), model.classes, languages=model.languages)
    from core.azure.services import get_service

    svc = get_service(service)
    predictor = Predictor(lambda texts: None, getattr(svc, "classes", BINARY_CLASSES), service=svc)
    answered = []

    def predict(texts):
        result = svc.score(texts)
        report.cost_usd += result.cost_usd
        if not answered:  # an endpoint says its run's classes with its first answer
            predictor.classes = tuple(result.classes)
        elif tuple(result.classes) != predictor.classes:
            raise ScoreError(f"{svc.name} answered {result.classes}, then {predictor.classes}: was it redeployed?")
        answered.append(len(texts))
        proba = result.class_proba()
        return (proba if predictor.classes == THREE_CLASSES else proba[:, -1]), result.errors

    predictor.answer = predict  # main() reserves the whole file's budget on predictor.service
    return predictor


def refuse_overwriting_input(input_path: Path, output_path: Path) -> None:
    """ScoreError when the output is the input file, by any path (symlink, hard link, `x/../`)."""
    same = Path(output_path).resolve() == Path(input_path).resolve()
    if not same and Path(output_path).exists():
        same = os.path.samefile(input_path, output_path)
    if same:
        raise ScoreError(
            f"--output {output_path} is the input file: choose another path (core.inference.batch never "
            "overwrites its input)"
        )


def score_csv(
    input_path: Path,
    output_path: Path,
    predict,
    text_column: str | None = None,
    chunk_size: int = 10_000,
    report: ScoreReport | None = None,
    spreadsheet_safe: bool = False,
) -> ScoreReport:
    """Score every record of `input_path` into `output_path` (written whole or not at all): a CSV, or an Excel
    workbook when it ends in .xlsx (text cells stay text); `spreadsheet_safe` neutralises the CSV's formula-leading
    cells (core.data.spreadsheet)."""
    report = report or ScoreReport()
    input_path, output_path = Path(input_path), Path(output_path)
    refuse_overwriting_input(input_path, output_path)
    start = time.perf_counter()
    tmp = output_path.with_name(f".{output_path.name}.{os.getpid()}.part")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    xlsx = output_path.suffix.lower() == ".xlsx"
    try:
        with open_csv(input_path) as table, _Output(tmp, xlsx, spreadsheet_safe) as out:
            column = table.column(text_column)
            header = None  # written with the first chunk: an endpoint's classes come with its first answer
            for chunk in table.frames(chunk_size):
                scored = score_frame(chunk, column, predict)
                header = header or _write_header(out, table.layout.columns, predict)
                out.rows(scored)
                _count_rows(scored, report)
                print(f"[progress] scored {report.rows:,} rows", file=sys.stderr, flush=True)
            header = header or _write_header(out, table.layout.columns, predict)
            report.take_read_report(table.report)
        os.replace(tmp, output_path)
    finally:
        tmp.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    return report


class _Output:
    """Where score_csv writes: a UTF-8 CSV with CRLF line ends (spreadsheet-safe on demand) or an .xlsx workbook."""

    def __init__(self, path: Path, xlsx: bool, spreadsheet_safe: bool):
        self.path, self.xlsx, self.safe = path, xlsx, spreadsheet_safe
        self.file = None if xlsx else open(path, "w", encoding="utf-8", newline="")  # closed on exit
        self.workbook: XlsxWriter | None = None

    def __enter__(self) -> _Output:
        return self

    def header(self, names: list[str]) -> None:
        if self.xlsx:
            self.workbook = XlsxWriter(names)
        else:
            csv.writer(self.file, lineterminator=LINE_END).writerow(
                [neutralise(n) for n in names] if self.safe else names
            )

    def rows(self, frame: pd.DataFrame) -> None:
        if self.workbook is not None:
            for row in frame.itertuples(index=False, name=None):
                self.workbook.append(row)
            return
        frame = neutralised(frame) if self.safe else frame
        frame.to_csv(self.file, header=False, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator=LINE_END)

    def __exit__(self, exc_type, *_) -> None:
        if self.file is not None:
            self.file.close()
        elif self.workbook is not None and exc_type is None:
            self.workbook.save(self.path)


def _write_header(out: _Output, columns: list[str], predict) -> list[str]:
    header = [*columns, *getattr(predict, "columns", OUTPUT_COLUMNS)]
    out.header(header)
    return header


def _count_rows(scored: pd.DataFrame, report: ScoreReport) -> None:
    has_score = scored["label"].ne("").to_numpy()
    reasons = scored["reason"].to_numpy()
    report.rows += len(scored)
    report.scored += int(has_score.sum())
    report.unscored = report.rows - report.scored
    report.truncated += int(sum(1 for r in reasons[has_score] if r.startswith("text truncated")))
    report.reasons.update(reasons[~has_score])


def scorable_texts(input_path: Path, text_column: str | None, chunk_size: int = 10_000) -> Iterator[str]:
    """The texts a service would be sent for this file, as score_csv sends them (for its spend guard)."""
    with open_csv(input_path) as table:
        column = table.column(text_column)
        for chunk in table.frames(chunk_size):
            model_texts, _, usable = prepare_texts(chunk[column])
            yield from (text for text, ok in zip(model_texts, usable) if ok)


def unexpected(exc: BaseException) -> str:
    """Type and place of a bug, not its message (which may quote the data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"unexpected {type(exc).__name__}{where}; please report it"


def expected_errors(service: str | None) -> tuple[type[BaseException], ...]:
    """The failures of batch scoring that are the input's or the service's, not bugs."""
    from core.models.base import ModelLoadError

    known: tuple[type[BaseException], ...] = (ScoreError, CsvFormatError, ModelLoadError, OSError)
    if service:
        from core.azure.errors import ServiceError

        known += (ServiceError,)
    return known
