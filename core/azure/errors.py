"""The one error every Azure client raises; it imports nothing of this project, so every module can use it."""

from __future__ import annotations


class ServiceError(Exception):
    """The whole call failed (down, bad key, quota, budget). The message says what to fix and never holds a key."""
