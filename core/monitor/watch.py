"""The watcher: follow a feed of tweets, score each new one with a run, store it, and raise alerts that reach
people. Its command is core.commands.watch (`python -m core.commands.watch`); docs/monitor.md says more."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import exc as sa_exc

from core.inference.scorers import Scorer
from core.monitor import alerts
from core.monitor.masking import mask_secrets
from core.monitor.rules import Rules
from core.monitor.scoring import score_pending
from core.monitor.store import Store, StoreError
from core.monitor.why import ReasonThread, explain_alert, tag_pending

log = logging.getLogger(__name__)

SAFE_TO_QUOTE = (OSError, StoreError, sa_exc.SQLAlchemyError)  # their messages name a file or a database, masked


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
    tagger: object | None = None  # core.reasons.tagger.Tagger: complaint reasons and each alert's explanation

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
                self.explain(evaluation.new_alerts)
                if evaluation.new_alerts:  # sent at once, not after the backlog
                    done["sent"] += alerts.deliver_pending(self.store, self.channels, self.link_template)
            if not scored.tweets:
                break
        done["sent"] += alerts.deliver_pending(self.store, self.channels, self.link_template)  # retries due
        return done

    def explain(self, alert_ids: list[int]) -> None:
        """Each new alert's why (its window's reasons and clusters), stored before it is sent; a failure leaves the
        alert as it was."""
        for alert_id in alert_ids if self.tagger else []:
            try:
                explain_alert(self.store, self.tagger, alert_id)
            except Exception as exc:  # noqa: BLE001 - the alert goes out without its why rather than not at all
                log.error("explaining alert %d failed: %s", alert_id, round_error(exc))

    def tag_all(self) -> int:
        """Tag every scored negative tweet still without a reason (--once; the reason thread does it otherwise)."""
        tagged = 0
        while self.tagger and (step := tag_pending(self.store, self.tagger)):
            tagged += step
        return tagged

    def run_forever(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set; an error in a round is logged and the next round goes on. With a tagger, a
        thread tags the negative tweets' reasons meanwhile."""
        if self.tagger:
            ReasonThread(self.store, self.tagger, self.poll_s).start(stop)
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - a watcher keeps watching (a locked store, a full disk)
                log.error("round failed: %s", round_error(exc))
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
                "reasons": self.tagger.method if self.tagger else None,
            },
        )


def round_error(exc: Exception) -> str:
    """One line for the log: the error's type and where it was raised; its message only for a store or file error
    (a locked database, a full disk), masked, since another message may quote a URL or a tweet."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    said = f": {mask_secrets(str(exc).strip().splitlines()[0])}" if isinstance(exc, SAFE_TO_QUOTE) and str(exc) else ""
    return f"{type(exc).__name__}{where}{said}"
