"""Secrets kept out of what the monitor prints, logs, stores as an error or shows on a page.

A database URL may hold a password (`postgresql://u:pw@host/db`, `?password=…`), a webhook URL is a secret as a
whole (a Slack or Teams incoming webhook's path is its key). `mask_url` is the one rendering of such a URL for a
message; `mask_secrets` applies it to every URL found in a free text (a driver's error) and hides `password=…`
pairs. Secret values themselves are given through the environment or a file (core.commands.watch), not argv.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "***"
# query parameters whose value is a secret: password, sslpassword, token, access_token, api_key, secret, sig…
SECRET_NAME = re.compile(r"pass|pwd|token|secret|key|sig|auth|credential|session", re.IGNORECASE)
URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
PAIR_IN_TEXT = re.compile(r"\b(\w*(?:password|passwd|pwd|token|secret)\w*)(\s*[=:]\s*)([^\s&;,'\"]+)", re.IGNORECASE)


def mask_url(url: str, keep_path: bool = True) -> str:
    """The URL without its secrets: the password of its user part and the values of secret-looking query
    parameters become ***; with keep_path=False (a webhook), only `scheme://host[:port]/…` is left."""
    text = str(url).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return "(a URL that cannot be read)"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not parts.scheme or "://" not in text:
        return _mask_pairs(text)
    if not keep_path:
        return f"{parts.scheme}://{hostport}/…"
    user = userinfo.partition(":")[0]
    shown = f"{parts.scheme}://" + (f"{user}:{MASK}@" if ":" in userinfo else f"{user}@" if at else "") + hostport
    shown += parts.path
    if parts.query:
        shown += "?" + "&".join(_mask_param(p) for p in parts.query.split("&"))
    return shown + (f"#{MASK}" if parts.fragment else "")


def _mask_param(pair: str) -> str:
    name, equals, value = pair.partition("=")
    return f"{name}={MASK}" if equals and value and SECRET_NAME.search(name) else pair


def _mask_pairs(text: str) -> str:
    return PAIR_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def mask_secrets(text: str) -> str:
    """A free text (an error message) with every URL in it masked by mask_url and `password=…` pairs hidden."""
    return _mask_pairs(URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), str(text)))
