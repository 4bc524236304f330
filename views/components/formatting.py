"""How the pages word and format what core/ computes: column formats, sentences, history rows."""

from __future__ import annotations

import math
import time

import streamlit as st

from core.inference.live import Answer, PreparedText
from core.inference.stream import MonitorResult

HISTORY_TEXT_CHARS = 80  # a tweet in the history table is cut to this (with "...")


# ------------------------------------------------------------------ st.dataframe column formats


def percent(decimals: int = 2) -> st.column_config.NumberColumn:
    """A column already in percent (0-100): '93.12 %'."""
    return st.column_config.NumberColumn(format=f"%.{decimals}f %%")


def seconds() -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(format="%.1f s")


def milliseconds(decimals: int = 2) -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(format=f"%.{decimals}f ms")


def whole_number() -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(format="%.0f")


def dollars() -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(format="$%.6f")  # fractions of a cent matter per 1,000 tweets


def probability(label: str | None = None, **options) -> st.column_config.ProgressColumn:
    """A P(positive) column as a bar from 0 to 1 with three decimals."""
    return st.column_config.ProgressColumn(label, format="%.3f", min_value=0.0, max_value=1.0, **options)


# ------------------------------------------------------------------ sentences


def signed_points(value: float, decimals: int = 1) -> str:
    """A difference in percentage points with its sign ("+2.3 points"); one that rounds to zero is "0.0 points",
    never "-0.0 points"."""
    rounded = round(value, decimals)
    return f"{0:.{decimals}f} points" if rounded == 0 else f"{rounded:+.{decimals}f} points"


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def split_warning(split_ids: dict[str, str | None]) -> str | None:
    """The Compare page's warning for core.analysis.compare.mixed_splits(runs); None when they agree."""
    if not split_ids:
        return None
    by_split: dict[str, list[str]] = {}
    for run_id, split in split_ids.items():
        by_split.setdefault(split or "unknown", []).append(run_id)
    groups = "; ".join(f"split {split}: {', '.join(runs)}" for split, runs in by_split.items())
    return (
        "These runs were evaluated on different test splits, so their test-split metrics are not strictly "
        f"comparable ({groups}). Compare them on a common evaluation set (the selector below); the "
        "tweet-by-tweet views keep the runs of one split."
    )


def truncation_notice(prepared: PreparedText) -> str:
    """What the Live page says when the text was cut before scoring ('' when it was not)."""
    if not prepared.truncated:
        return ""
    return (
        f"The text had {prepared.original_chars:,} characters; only the first {prepared.max_chars:,} "
        f"were scored (a tweet is at most 280)."
    )


def monitor_lines(result: MonitorResult) -> list[str]:
    """What the Monitor lists about its input: the accounting `python -m core.score` prints, then each kind of
    row that needs a look."""
    report = result.report
    out = [result.accounting()]
    if report.malformed_lines:
        out.append(f"{plural(report.malformed_lines, 'malformed record')} left out ({report.malformed_where})")
    if report.empty_text:
        out.append(f"{plural(report.empty_text, 'row')} with empty text (kept, not scored)")
    if report.truncated:
        out.append(f"{plural(report.truncated, 'row')} with a text over the length limit (scored on its start)")
    if report.bad_timestamp:
        out.append(
            f"{plural(report.bad_timestamp, 'row')} with an unparseable timestamp (scored, left out of the time chart)"
        )
    if report.blank_lines:
        out.append(f"{plural(report.blank_lines, 'blank line')} ignored (not records)")
    if result.failed_scores:
        out.append(f"{plural(result.failed_scores, 'row')} the model could not score (see `reason`)")
    return out


def attention_title(rows: int) -> str:
    return f"{rows:,} row{'s' if rows != 1 else ''} need{'s' if rows == 1 else ''} attention"


def model_choice_label(run) -> str:
    """A run in the Monitor's model list: approach, folder and test accuracy."""
    accuracy = (run.metrics.get("test") or {}).get("accuracy")
    return f"{run.approach} — {run.id}" + (f", accuracy {accuracy:.1%}" if accuracy is not None else "")


# ------------------------------------------------------------------ Live scoring history


def history_rows(text: str, answers: list[Answer], when: float | None = None) -> list[dict]:
    """One row per answered column, for the session's history table."""
    stamp = time.strftime("%H:%M:%S", time.localtime(when or time.time()))
    shown = text if len(text) <= HISTORY_TEXT_CHARS else text[: HISTORY_TEXT_CHARS - 3] + "..."
    return [
        {
            "time": stamp,
            "text": shown,
            "approach": a.name,
            "label": a.label if a.ok else f"({a.status})",
            "P(positive)": round(a.p_pos, 4) if a.p_pos is not None else None,
            "P(neutral)": round(a.probabilities["neutral"], 4) if a.probabilities else None,
            "latency (ms)": round(a.latency_ms, 1) if a.latency_ms is not None else None,
            "cost (USD)": a.cost_usd if a.source == "cloud" else None,  # a local model costs nothing per call
        }
        for a in answers
    ]


SPREADSHEET_NOTE = (
    "Open the **.xlsx** (or the spreadsheet-safe CSV) in Excel, LibreOffice or Google Sheets: tweets are written by "
    "anyone, and a text starting with `=`, `+`, `-` or `@` would run there as a formula. The spreadsheet-safe CSV "
    "puts a `'` before such texts; the plain CSV keeps every text exactly, for programs (and the project's readers)."
)


def usd(amount: float) -> str:
    """A price as people read it, with two significant digits however small: '$0.0010', '$0.00025'."""
    if not amount:
        return "no charge"
    digits = max(2, 1 - math.floor(math.log10(abs(amount))))
    return f"${amount:,.{digits}f}"


def answer_details(answer: Answer) -> str:
    """Under a Live answer: how long it took, what loading cost, and for a cloud service what the call cost (a
    local model costs nothing per call, so its cost is not shown)."""
    parts = [f"latency {answer.latency_ms:.1f} ms"] if answer.latency_ms is not None else []
    if answer.source == "cloud":
        parts.append("cached answer, not billed" if answer.cached else usd(answer.cost_usd or 0.0))
    if answer.load_ms:
        parts.append(f"model loaded in {answer.load_ms:.0f} ms")
    return " · ".join(parts)
