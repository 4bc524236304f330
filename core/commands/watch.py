"""Follow a feed of tweets, score each new one with a run, store it, and raise alerts that reach people
(core.monitor.watch).

    python -m core.commands.watch --run RUN (--folder DIR | --file FILE | --http HOST:PORT)
        [--db PATH|URL | --db-file F] [--group-column airline]
        [--threshold 0.6 --min-volume 20 --window 15min --cooldown 60min]
        [--spike-factor 3 --spike-min 30] [--rules rules.json] [--webhook-file F | --webhook URL]
        [--smtp HOST:PORT --smtp-to a@x,b@y [--smtp-from ...] [--smtp-starttls | --smtp-ssl] [--smtp-password-file F]]
        [--reasons]

Secrets (a database URL with a password, the webhook URL, the SMTP password) come from a file or the environment
($BADBUZZ_MONITOR_DB, $BADBUZZ_MONITOR_WEBHOOK, $BADBUZZ_SMTP_PASSWORD), not argv, and are masked wherever shown.

--folder: CSV / JSON-lines files that land there are read once each. --file: a file that grows is tailed.
--http: POST /tweets with `Authorization: Bearer $BADBUZZ_MONITOR_TOKEN` (or --token-file). The store is SQLite
(default config.data_dir()/monitor/feed.sqlite, what the dashboard's live feed reads) or a PostgreSQL server
(--db postgresql://user@host:port/db; the dashboard reads it from $BADBUZZ_MONITOR_DB). --reasons: each negative
tweet gets a complaint reason (the taxonomy in $BADBUZZ_REASONS_FILE or the data folder, else the airline default)
and each alert says what its window is about. docs/monitor.md says more.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from core.cli.fields import option
from core.cli.parser import expected_failures, parse_options
from core.inference.scorers import scorer_for_run
from core.logs import configure_cli_logging
from core.models.base import ModelLoadError
from core.monitor.channels import EmailChannel, SmtpSettings, WebhookChannel
from core.monitor.http_api import TweetApi
from core.monitor.masking import mask_url
from core.monitor.records import Fields
from core.monitor.rules import GroupRule, Rules, RulesError, load_rules
from core.monitor.sources import FolderSource, TailSource
from core.monitor.store import DB_ENV, Store, StoreError
from core.monitor.watch import Watcher
from core.reasons.tagger import load_tagger
from core.reasons.taxonomy import TaxonomyError

log = logging.getLogger(__name__)

TOKEN_ENV = "BADBUZZ_MONITOR_TOKEN"
WEBHOOK_ENV = "BADBUZZ_MONITOR_WEBHOOK"
SOURCE = "source (one of them)"
RULES = "rules (a --rules JSON file overrides them, per group too)"
CHANNELS = "channels"


@dataclass(kw_only=True)
class WatchOptions:
    run: Path = option(help="the run folder that scores the tweets")
    folder: Path | None = option(None, "a folder where CSV / JSON-lines files land", group=SOURCE)
    file: Path | None = option(None, "a file that grows (CSV with a header line, or JSON lines)", group=SOURCE)
    http: str | None = option(None, "serve POST /tweets on this address (127.0.0.1:8765)", group=SOURCE)
    db: str | None = option(
        None,
        "the store: a SQLite path, sqlite:///PATH or postgresql://user@host:port/db "
        f"(default: ${DB_ENV}, else data dir/monitor/feed.sqlite)",
    )
    db_file: Path | None = option(None, "a file holding the store's URL (keeps a password out of ps)")
    group_column: str | None = option(None, "the field that splits the feed (airline, route, language)")
    text_column: str | None = option(None, "the text field (default: found from the values, or `text`)")
    time_column: str | None = option(None, "the time field (default: found from the values, or `created_at`)")
    threshold: float = option(GroupRule.threshold, "negative share that alerts", group=RULES)
    min_volume: int = option(GroupRule.min_volume, "tweets a window needs to alert", group=RULES)
    window: str = option(Rules.window, "window length (15min, 1h)", group=RULES)
    cooldown: str = option(Rules.cooldown, "an episode's longest silence between two alerts", group=RULES)
    spike_factor: float = option(
        GroupRule.spike_factor, "volume against the trailing median; 0 turns spikes off", group=RULES
    )
    spike_min: int = option(GroupRule.spike_min, "tweets a window needs to count as a spike", group=RULES)
    rules: Path | None = option(None, "a JSON rules file (docs/monitor.md)", group=RULES)
    webhook: str | None = option(
        None, f"Slack / Teams incoming webhook URL (better: ${WEBHOOK_ENV} or --webhook-file)", group=CHANNELS
    )
    webhook_file: Path | None = option(
        None, "a file holding the webhook URL (a secret: kept out of ps)", group=CHANNELS
    )
    smtp: str | None = option(
        None, "mail server HOST[:PORT] (user and password: BADBUZZ_SMTP_USER/_PASSWORD)", group=CHANNELS
    )
    smtp_to: str | None = option(None, "comma-separated recipients (or BADBUZZ_SMTP_TO)", group=CHANNELS)
    smtp_from: str | None = option(None, "sender (or BADBUZZ_SMTP_FROM)", group=CHANNELS)
    smtp_starttls: bool = option(False, "upgrade the connection with STARTTLS", group=CHANNELS)
    smtp_ssl: bool = option(False, "implicit TLS (SMTPS; the default port becomes 465)", group=CHANNELS)
    smtp_password_file: Path | None = option(
        None, "a file holding the SMTP password (or BADBUZZ_SMTP_PASSWORD)", group=CHANNELS
    )
    smtp_allow_plaintext: bool = option(
        False, "send the SMTP password unencrypted: only to a test server on this machine (127.0.0.1)", group=CHANNELS
    )
    link_template: str | None = option(
        None, "a tweet's link in alerts, {id} replaced (default: twitter.com status)", group=CHANNELS
    )
    token_file: Path | None = option(None, f"a file holding the API token (default: ${TOKEN_ENV})")
    poll: float = option(1.0, "seconds between two looks at the source")
    settle: float = option(1.0, "seconds a landed file must stay unchanged")
    once: bool = option(False, "read what is there, score, alert, and exit")
    reasons: bool = option(
        False, "tag negative tweets with a complaint reason and explain each alert (sentence encoder; docs/monitor.md)"
    )

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.folder, self.file, self.http)) != 1:
            raise ValueError("give one source: --folder DIR, --file FILE or --http HOST:PORT")
        for one, other in (("db", "db_file"), ("webhook", "webhook_file"), ("smtp_starttls", "smtp_ssl")):
            if getattr(self, one) and getattr(self, other):
                raise ValueError(f"--{one.replace('_', '-')} and --{other.replace('_', '-')}: give one of them")


def rules_from(options: WatchOptions) -> Rules:
    default = GroupRule(options.threshold, options.min_volume, options.spike_factor, options.spike_min)
    rules = Rules(window=options.window, cooldown=options.cooldown, default=default)
    return load_rules(options.rules, rules) if options.rules else rules


def channels_from(options: WatchOptions) -> dict:
    channels = {}
    webhook = options.webhook or read_secret(options.webhook_file, WEBHOOK_ENV, "webhook URL")
    if webhook:
        channels["webhook"] = WebhookChannel(webhook)
    if options.smtp:
        password = read_secret(options.smtp_password_file, None, "SMTP password") or None
        settings = SmtpSettings.parse(
            options.smtp,
            options.smtp_from,
            options.smtp_to,
            options.smtp_starttls,
            options.smtp_ssl,
            password,
            options.smtp_allow_plaintext,
        )
        channels["email"] = EmailChannel(settings)
    return channels


def read_secret(path: Path | None, env: str | None, what: str) -> str:
    """A secret from its file when one is given, else from the environment ('' when neither says)."""
    if path is None:
        return os.environ.get(env, "").strip() if env else ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise ValueError(f"cannot read the {what} file {path}: {why}") from None


def read_token(token_file: Path | None) -> str:
    return read_secret(token_file, TOKEN_ENV, "token")


def store_target(options: WatchOptions) -> str | Path | None:
    """--db, else the URL in --db-file, else $BADBUZZ_MONITOR_DB (what the dashboard reads), else the default."""
    return options.db or read_secret(options.db_file, DB_ENV, "store URL") or None


def warn_about_argv_secrets(options: WatchOptions) -> None:
    """Secrets given as options work, but every local user reads them with `ps`: say what to use instead."""
    if options.webhook:
        log.warning("--webhook is readable by every local user (ps): prefer --webhook-file or $%s", WEBHOOK_ENV)
    if options.db and "://" in options.db and mask_url(options.db) != options.db:
        log.warning("--db holds a password readable by every local user (ps): prefer --db-file or $%s", DB_ENV)


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--http takes HOST:PORT (127.0.0.1:8765), not {address!r}")
    return host, int(port)


def build(options: WatchOptions) -> tuple[Watcher, TweetApi | None]:
    """The watcher (and its HTTP server, not started) from the options; ValueError and its kin say what is wrong."""
    rules, channels = rules_from(options), channels_from(options)
    if not (options.run / "run.json").is_file():
        raise ValueError(f"{options.run} is not a run folder (no run.json)")
    fields = Fields(options.text_column, options.time_column, [options.group_column] if options.group_column else [])
    store = Store.open(store_target(options))
    watcher = Watcher(
        store,
        scorer_for_run(options.run),
        options.run.name,
        rules,
        options.group_column,
        channels=channels,
        link_template=options.link_template,
        poll_s=options.poll,
    )
    if options.reasons:
        watcher.tagger = load_tagger()
    api = None
    if options.folder:
        if not options.folder.is_dir():
            raise ValueError(f"--folder {options.folder} is not a folder")
        watcher.source = FolderSource(options.folder, store, fields, settle_s=options.settle)
    elif options.file:
        watcher.source = TailSource(options.file, store, fields)
    else:
        api = TweetApi(store, fields, read_token(options.token_file), *host_port(options.http), on_new=watcher.wake.set)
    return watcher, api


def main(argv: list[str] | None = None) -> None:
    options = parse_options(WatchOptions, argv, __doc__)
    configure_cli_logging()
    with expected_failures(ValueError, OSError, RulesError, StoreError, ModelLoadError, TaxonomyError):
        watcher, api = build(options)
        gc.freeze()  # the model's objects live as long as the watcher: full collections need not walk them
    warn_about_argv_secrets(options)
    source = str(options.folder or options.file or f"http://{options.http}/tweets")
    watcher.save_settings(source)
    if options.once:
        done = watcher.run_once()
        print(done | ({"tagged": watcher.tag_all()} if watcher.tagger else {}))
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: (stop.set(), watcher.wake.set()))
    if api:
        api.start()
    print(f"watching {source} with {options.run.name}; store {watcher.store.where}; Ctrl-C stops", flush=True)
    watcher.run_forever(stop)
    if api:
        api.stop()
    watcher.store.close()


if __name__ == "__main__":
    main()
