"""The tweet text the reason tools see: @mentions and links out (they name the brand, not the complaint), and the
airline agents' signatures in quoted replies ("... ^JP"), which would otherwise name a cluster."""

from __future__ import annotations

import re

_MENTION = re.compile(r"(?<!\w)@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_SIGNATURE = re.compile(r"\^[A-Z]{1,3}\b")
_SPACES = re.compile(r"\s+")
EMPTY = "(empty)"


def clean(text: str) -> str:
    """Mentions, links and agents' signatures stripped, spaces squeezed; '(empty)' when nothing is left."""
    text = _SIGNATURE.sub(" ", _MENTION.sub(" ", _URL.sub(" ", str(text))))
    return _SPACES.sub(" ", text).strip() or EMPTY
