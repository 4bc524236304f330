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
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

import pandas as pd

from core.monitor.masking import mask_url
from core.monitor.rules import SHARE
from core.reasons.clusters import Explanation

TIMEOUT_S = 10
SHOWN_TWEETS = 5
SHOWN_CHARS = 200
TWITTER_LINK = "https://twitter.com/i/web/status/{id}"
SMTPS_PORT = 465  # implicit TLS (RFC 8314)
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


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
            f"{who}: {share} negative{_interval(alert)} ({alert['negative']} of {alert['volume']} tweets called "
            f"negative) in {window} (threshold {alert['threshold']:.0%}, at least {alert['min_volume']} tweets)"
        )
    usual = alert.get("trailing_median") or 0
    return f"{who}: volume spike, {alert['volume']} tweets in {window} against a usual {usual:g} ({share} negative)"


def _interval(alert: dict) -> str:
    """' (90 % interval 52–71 %, P(over 60 %) 0.83)': the estimate's interval, when the alert has one."""
    low, high, p_over = alert.get("share_low"), alert.get("share_high"), alert.get("p_over")
    if low is None or high is None:
        return ""
    over = f", P(over {alert['threshold']:.0%}) {p_over:.2f}" if p_over is not None else ""
    return f" (estimate; 90 % interval {low:.0%}–{high:.0%}{over})"


def tweet_link(tweet_id, template: str | None) -> str:
    if not tweet_id:
        return ""
    if template:
        return template.format(id=tweet_id)
    return TWITTER_LINK.format(id=tweet_id) if str(tweet_id).isdigit() else f"id {tweet_id}"


def format_alert(alert: dict, tweets: pd.DataFrame, link_template: str | None = None) -> AlertMessage:
    """The alert in words, with the most negative tweets behind it (their score, text and a link)."""
    lines = [f"Bad buzz alert — {describe(alert)}."]
    why = Explanation.parse(alert.get("explanation"))
    if why is not None:
        lines.append(f"About: {why.summary()}.")
        lines += [f"• {line}" for line in why.cluster_lines()]
    if len(tweets):
        lines.append("Most negative tweets:")
    for row in tweets.head(SHOWN_TWEETS).itertuples(index=False):
        text = " ".join(str(row.text).split())
        text = text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
        link = tweet_link(row.tweet_id, link_template)
        lines.append(f"• P(positive) {row.score:.2f}: {text}" + (f" — {link}" if link else ""))
    subject = f"Bad buzz: {alert['grp']} ({alert['rule']})"
    return AlertMessage(subject, "\n".join(lines))


def check_webhook_url(url: str) -> str:
    """The URL, or ValueError when it cannot be sent to (its message shows the URL as scheme://host/… only)."""
    url = str(url).strip()
    shown = mask_url(url, keep_path=False)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError(f"the webhook URL {shown} holds a space or a control character: copy it again")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        raise ValueError(f"the webhook URL {shown} has an unreadable host or port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the webhook URL {shown} is not an http(s)://host/… address")
    return url


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str):
        self.url = check_webhook_url(url)

    def send(self, message: AlertMessage) -> None:
        body = json.dumps({"text": message.text}).encode("utf-8")
        try:
            request = urllib.request.Request(
                self.url, body, {"Content-Type": "application/json; charset=utf-8"}, method="POST"
            )
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook unreachable: {type(reason).__name__}") from None
        except Exception as exc:  # noqa: BLE001 - http.client's InvalidURL and kin: their message holds the URL
            raise DeliveryError(f"webhook failed: {type(exc).__name__}") from None


@dataclass
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "badbuzz-monitor@localhost"
    recipients: list[str] = field(default_factory=list)
    user: str | None = None
    password: str | None = None  # from BADBUZZ_SMTP_PASSWORD or a file, never an option
    starttls: bool = False
    ssl: bool = False  # implicit TLS (SMTPS, port 465)
    plaintext_auth: bool = False  # a password over plain text: only to a test server on this machine

    @classmethod
    def parse(
        cls,
        address: str,
        sender: str | None,
        recipients: str | None,
        starttls: bool = False,
        use_ssl: bool = False,
        password: str | None = None,
        plaintext_auth: bool = False,
    ) -> SmtpSettings:
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
        port = int(port) if port else SMTPS_PORT if use_ssl else 25
        return cls(
            host or address,
            port,
            sender or os.environ.get("BADBUZZ_SMTP_FROM") or cls.sender,
            [r.strip() for r in (recipients or os.environ.get("BADBUZZ_SMTP_TO", "")).split(",") if r.strip()],
            os.environ.get("BADBUZZ_SMTP_USER") or None,
            password or os.environ.get("BADBUZZ_SMTP_PASSWORD") or None,
            starttls,
            use_ssl or port == SMTPS_PORT,
            plaintext_auth,
        )

    @property
    def loopback(self) -> bool:
        return self.host.strip("[]").lower() in LOOPBACK_HOSTS


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings):
        if not settings.recipients:
            raise ValueError("--smtp needs recipients: --smtp-to a@x,b@y (or BADBUZZ_SMTP_TO)")
        if settings.plaintext_auth and not settings.loopback:
            raise ValueError("--smtp-allow-plaintext is for a test server on this machine (127.0.0.1, ::1, localhost)")
        if settings.user and settings.password and not (settings.starttls or settings.ssl or settings.plaintext_auth):
            raise ValueError(
                "the SMTP password would cross the network in plain text: add --smtp-starttls, or --smtp-ssl for "
                "implicit TLS (port 465)"
            )
        self.settings = settings

    def send(self, message: AlertMessage) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = message.subject, s.sender, ", ".join(s.recipients)
        mail.set_content(message.text)
        try:
            with self._connect() as smtp:
                if s.starttls and not s.ssl:
                    smtp.starttls(context=ssl.create_default_context())  # SMTPNotSupportedError when not offered
                if s.user and s.password:
                    if not (isinstance(smtp.sock, ssl.SSLSocket) or s.plaintext_auth):
                        raise DeliveryError("the mail server's connection is not encrypted: password not sent")
                    smtp.login(s.user, s.password)
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"mail server answered {exc.smtp_code}") from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"mail server unreachable: {type(exc).__name__}") from None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT_S, context=ssl.create_default_context())
        return smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_S)
