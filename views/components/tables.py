"""Tables that fit the page: the columns a reader ranks by in one table sized to the page's width, every other
column in a second one below (folded, and saying it scrolls sideways); tweet texts as people wrote them."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st


def fitting_table(table: pd.DataFrame, main: dict, other_formats: dict | None = None, keep: tuple = ()) -> None:
    """`main` (column -> st.column_config with a short label and a width) shown in a table that fits the page;
    the other columns, with `keep` (the row's names) first, folded below."""
    st.dataframe(
        table, hide_index=True, width="stretch", column_order=[c for c in main if c in table], column_config=main
    )
    rest = [c for c in table.columns if c not in main]
    if not rest:
        return
    with st.expander(f"Every other column ({', '.join(rest)})"):
        st.caption("This table may be wider than the page: scroll it sideways.")
        shown = [*[c for c in keep if c in table], *rest]
        st.dataframe(table[shown], hide_index=True, width="stretch", column_config=other_formats or {})


def readable_texts(frame: pd.DataFrame, column: str = "text") -> pd.DataFrame:
    """Tweet texts with their HTML entities decoded (Sentiment140 keeps `&quot;`, `&amp;`, `&lt;` as sent)."""
    if column not in frame:
        return frame
    return frame.assign(**{column: frame[column].map(lambda t: html.unescape(t) if isinstance(t, str) else t)})


def human_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names in words: `vocabulary_words` -> `vocabulary words`."""
    return frame.rename(columns=lambda c: str(c).replace("_", " "))
