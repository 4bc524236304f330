"""Where alerts go: a webhook (Slack incoming webhooks and Teams both take `{"text": ...}`) and e-mail (SMTP).

A channel's `send(message)` raises DeliveryError with one line that never holds the URL, the address book or a
password (a Slack webhook URL is a secret); core.monitor.alerts records it and tries again later.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

import pandas as pd

from core.monitor.rules import SHARE

TIMEOUT_S = 10
SHOWN_TWEETS = 5
SHOWN_CHARS = 200
TWITTER_LINK = "https://twitter.com/i/web/status/{id}"


class DeliveryError(RuntimeError):
    """A send that failed; the message is one line, safe to store and show."""


@dataclass
class AlertMessage:
    subject: str
    text: str


def _time(seconds: float) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M")


def describe(alert: dict) -> str:
    """One sentence: which group, which rule, the figures, the window."""
    who = f"{alert['group_column']} = {alert['grp']}" if alert.get("group_column") else "all tweets"
    window = f"{_time(alert['window_start'])}–{_time(alert['window_end'])[-5:]} UTC"
    share = f"{alert['share']:.0%}" if alert.get("share") is not None else "–"
    if alert["rule"] == SHARE:
        return (
            f"{who}: {share} negative ({alert['negative']} of {alert['volume']} tweets) in {window} "
            f"(threshold {alert['threshold']:.0%}, at least {alert['min_volume']} tweets)"
        )
    usual = alert.get("trailing_median") or 0
    return f"{who}: volume spike, {alert['volume']} tweets in {window} against a usual {usual:g} ({share} negative)"


def tweet_link(tweet_id, template: str | None) -> str:
    if not tweet_id:
        return ""
    if template:
        return template.format(id=tweet_id)
    return TWITTER_LINK.format(id=tweet_id) if str(tweet_id).isdigit() else f"id {tweet_id}"


def format_alert(alert: dict, tweets: pd.DataFrame, link_template: str | None = None) -> AlertMessage:
    """The alert in words, with the most negative tweets behind it (their score, text and a link)."""
    lines = [f"Bad buzz alert — {describe(alert)}."]
    if len(tweets):
        lines.append("Most negative tweets:")
    for row in tweets.head(SHOWN_TWEETS).itertuples(index=False):
        text = " ".join(str(row.text).split())
        text = text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
        link = tweet_link(row.tweet_id, link_template)
        lines.append(f"• P(positive) {row.score:.2f}: {text}" + (f" — {link}" if link else ""))
    subject = f"Bad buzz: {alert['grp']} ({alert['rule']})"
    return AlertMessage(subject, "\n".join(lines))


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str):
        self.url = url

    def send(self, message: AlertMessage) -> None:
        body = json.dumps({"text": message.text}).encode("utf-8")
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json; charset=utf-8"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook unreachable: {type(reason).__name__}") from None


@dataclass
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "badbuzz-monitor@localhost"
    recipients: list[str] = field(default_factory=list)
    user: str | None = None
    password: str | None = None  # from BADBUZZ_SMTP_PASSWORD, never an option
    starttls: bool = False

    @classmethod
    def parse(cls, address: str, sender: str | None, recipients: str | None, starttls: bool = False) -> SmtpSettings:
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "25")
        return cls(
            host or address,
            int(port or 25),
            sender or os.environ.get("BADBUZZ_SMTP_FROM") or cls.sender,
            [r.strip() for r in (recipients or os.environ.get("BADBUZZ_SMTP_TO", "")).split(",") if r.strip()],
            os.environ.get("BADBUZZ_SMTP_USER") or None,
            os.environ.get("BADBUZZ_SMTP_PASSWORD") or None,
            starttls,
        )


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings):
        if not settings.recipients:
            raise ValueError("--smtp needs recipients: --smtp-to a@x,b@y (or BADBUZZ_SMTP_TO)")
        self.settings = settings

    def send(self, message: AlertMessage) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = message.subject, s.sender, ", ".join(s.recipients)
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_S) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.user and s.password:
                    smtp.login(s.user, s.password)
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"mail server answered {exc.smtp_code}") from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"mail server unreachable: {type(exc).__name__}") from None
