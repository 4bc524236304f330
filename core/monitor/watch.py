"""Follow a feed of tweets, score each new one with a run, store it, and raise alerts that reach people.

    python -m core.monitor.watch --run RUN (--folder DIR | --file FILE | --http HOST:PORT) [--db PATH|URL]
        [--group-column airline] [--threshold 0.6 --min-volume 20 --window 15min --cooldown 60min]
        [--spike-factor 3 --spike-min 30] [--rules rules.json] [--webhook URL]
        [--smtp HOST:PORT --smtp-to a@x,b@y [--smtp-from ...] [--smtp-starttls]]

--folder: CSV / JSON-lines files that land there are read once each. --file: a file that grows is tailed.
--http: POST /tweets with `Authorization: Bearer $BADBUZZ_MONITOR_TOKEN` (or --token-file). The store is SQLite
(default config.data_dir()/monitor/feed.sqlite, what the dashboard's live feed reads) or a PostgreSQL server
(--db postgresql://user@host:port/db; the dashboard reads it from $BADBUZZ_MONITOR_DB). docs/monitor.md says more.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.logs import configure_cli_logging
from core.models.base import ModelLoadError
from core.monitor import alerts
from core.monitor.channels import EmailChannel, SmtpSettings, WebhookChannel
from core.monitor.http_api import TweetApi
from core.monitor.records import Fields
from core.monitor.rules import GroupRule, Rules, RulesError, load_rules
from core.monitor.scoring import score_pending
from core.monitor.sources import FolderSource, TailSource
from core.monitor.store import Store, StoreError
from core.scoring.monitor import Scorer, scorer_for_run

log = logging.getLogger(__name__)

TOKEN_ENV = "BADBUZZ_MONITOR_TOKEN"
WEBHOOK_ENV = "BADBUZZ_MONITOR_WEBHOOK"


@dataclass
class Watcher:
    """One loop: read the source, score what is pending, evaluate the rules, deliver the alerts."""

    store: Store
    scorer: Scorer
    run: str
    rules: Rules = field(default_factory=Rules)
    group_column: str | None = None
    source: object | None = None  # FolderSource / TailSource (poll() -> records added); None for --http
    channels: dict = field(default_factory=dict)
    link_template: str | None = None
    poll_s: float = 1.0
    wake: threading.Event = field(default_factory=threading.Event)

    def run_once(self) -> dict:
        """One round; returns what it did (records read, tweets scored, alerts raised, messages sent)."""
        done = {"read": self.source.poll() if self.source else 0, "scored": 0, "alerts": 0, "sent": 0}
        while True:
            scored = score_pending(self.store, self.scorer, self.run)
            done["scored"] += scored.tweets
            if scored.span:
                evaluation = alerts.evaluate(
                    self.store, self.rules, self.group_column, scored.span, list(self.channels)
                )
                done["alerts"] += len(evaluation.new_alerts)
                if evaluation.new_alerts:  # sent at once, not after the backlog
                    done["sent"] += alerts.deliver_pending(self.store, self.channels, self.link_template)
            if not scored.tweets:
                break
        done["sent"] += alerts.deliver_pending(self.store, self.channels, self.link_template)  # retries due
        return done

    def run_forever(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set; an error in a round is logged and the next round goes on."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - a watcher keeps watching (a locked store, a full disk)
                log.error("round failed: %s: %s", type(exc).__name__, exc)
            self.wake.wait(self.poll_s)
            self.wake.clear()

    def save_settings(self, source: str) -> None:
        """What the dashboard's live feed shows beside the figures: the run, the group column, the rules."""
        self.store.put_setting(
            "watcher",
            {
                "run": self.run,
                "group_column": self.group_column,
                "rules": self.rules.to_json(),
                "source": source,
                "started_at": time.time(),
                "channels": sorted(self.channels),
            },
        )


# ---------------------------------------------------------------- command line


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="the run folder that scores the tweets")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--folder", type=Path, help="a folder where CSV / JSON-lines files land")
    source.add_argument("--file", type=Path, help="a file that grows (CSV with a header line, or JSON lines)")
    source.add_argument("--http", metavar="HOST:PORT", help="serve POST /tweets on this address (127.0.0.1:8765)")
    p.add_argument(
        "--db",
        help="the store: a SQLite path, sqlite:///PATH or postgresql://user@host:port/db "
        "(default: data dir/monitor/feed.sqlite)",
    )
    p.add_argument("--group-column", help="the field that splits the feed (airline, route, language)")
    p.add_argument("--text-column", help="the text field (default: found from the values, or `text`)")
    p.add_argument("--time-column", help="the time field (default: found from the values, or `created_at`)")
    rules = p.add_argument_group("rules (a --rules JSON file overrides them, per group too)")
    rules.add_argument("--threshold", type=float, default=GroupRule.threshold, help="negative share that alerts")
    rules.add_argument("--min-volume", type=int, default=GroupRule.min_volume, help="tweets a window needs to alert")
    rules.add_argument("--window", default=Rules.window, help="window length (15min, 1h)")
    rules.add_argument("--cooldown", default=Rules.cooldown, help="an episode's longest silence between two alerts")
    rules.add_argument("--spike-factor", type=float, default=GroupRule.spike_factor, help="0 turns spikes off")
    rules.add_argument("--spike-min", type=int, default=GroupRule.spike_min)
    rules.add_argument("--rules", type=Path, help="a JSON rules file (docs/monitor.md)")
    out = p.add_argument_group("channels")
    out.add_argument("--webhook", help=f"Slack / Teams incoming webhook URL (or ${WEBHOOK_ENV})")
    out.add_argument(
        "--smtp", metavar="HOST[:PORT]", help="mail server (user and password: BADBUZZ_SMTP_USER/_PASSWORD)"
    )
    out.add_argument("--smtp-to", help="comma-separated recipients (or BADBUZZ_SMTP_TO)")
    out.add_argument("--smtp-from", help="sender (or BADBUZZ_SMTP_FROM)")
    out.add_argument("--smtp-starttls", action="store_true")
    out.add_argument("--link-template", help="a tweet's link in alerts, {id} replaced (default: twitter.com status)")
    p.add_argument("--token-file", type=Path, help=f"a file holding the API token (default: ${TOKEN_ENV})")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between two looks at the source")
    p.add_argument("--settle", type=float, default=1.0, help="seconds a landed file must stay unchanged")
    p.add_argument("--once", action="store_true", help="read what is there, score, alert, and exit")
    return p


def rules_from_args(args: argparse.Namespace) -> Rules:
    default = GroupRule(args.threshold, args.min_volume, args.spike_factor, args.spike_min)
    rules = Rules(window=args.window, cooldown=args.cooldown, default=default)
    return load_rules(args.rules, rules) if args.rules else rules


def channels_from_args(args: argparse.Namespace) -> dict:
    channels = {}
    webhook = args.webhook or os.environ.get(WEBHOOK_ENV)
    if webhook:
        channels["webhook"] = WebhookChannel(webhook)
    if args.smtp:
        channels["email"] = EmailChannel(
            SmtpSettings.parse(args.smtp, args.smtp_from, args.smtp_to, args.smtp_starttls)
        )
    return channels


def read_token(token_file: Path | None) -> str:
    if token_file is None:
        return os.environ.get(TOKEN_ENV, "").strip()
    try:
        return token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read the token file {token_file}: {exc.strerror or type(exc).__name__}") from None


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--http takes HOST:PORT (127.0.0.1:8765), not {address!r}")
    return host, int(port)


def build(args: argparse.Namespace) -> tuple[Watcher, TweetApi | None]:
    """The watcher (and its HTTP server, not started) from the options; ValueError and its kin say what is wrong."""
    rules, channels = rules_from_args(args), channels_from_args(args)
    if not (args.run / "run.json").is_file():
        raise ValueError(f"{args.run} is not a run folder (no run.json)")
    fields = Fields(args.text_column, args.time_column, [args.group_column] if args.group_column else [])
    store = Store.open(args.db)
    watcher = Watcher(
        store,
        scorer_for_run(args.run),
        args.run.name,
        rules,
        args.group_column,
        channels=channels,
        link_template=args.link_template,
        poll_s=args.poll,
    )
    api = None
    if args.folder:
        if not args.folder.is_dir():
            raise ValueError(f"--folder {args.folder} is not a folder")
        watcher.source = FolderSource(args.folder, store, fields, settle_s=args.settle)
    elif args.file:
        watcher.source = TailSource(args.file, store, fields)
    else:
        api = TweetApi(store, fields, read_token(args.token_file), *host_port(args.http), on_new=watcher.wake.set)
    return watcher, api


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    configure_cli_logging()
    try:
        watcher, api = build(args)
        gc.freeze()  # the model's objects live as long as the watcher: full collections need not walk them
    except (ValueError, OSError, RulesError, StoreError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    source = str(args.folder or args.file or f"http://{args.http}/tweets")
    watcher.save_settings(source)
    if args.once:
        print(watcher.run_once())
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: (stop.set(), watcher.wake.set()))
    if api:
        api.start()
    print(f"watching {source} with {args.run.name}; store {watcher.store.where}; Ctrl-C stops", flush=True)
    watcher.run_forever(stop)
    if api:
        api.stop()
    watcher.store.close()


if __name__ == "__main__":
    main()
