"""Replay a CSV of timestamped tweets through the monitor's HTTP endpoint and measure what issue 16 asks:

    python -m benchmarks.monitor_replay --run RUN --data CSV [--group-column airline] [--speed 3600]
        [--threshold 0.6 --min-volume 20 --window 15min] [--limit N] [--db postgresql://user@host:port/emptydb]
    python -m benchmarks.monitor_replay --run RUN --synthetic 5000 [--speed 0]

Starts `python -m core.commands.watch --http` in a child process (a fresh SQLite store in a temporary folder, or the
empty database given by --db) with a local
webhook receiver, then POSTs the tweets in timestamp order: tweet i is sent (t_i - t_0) / speed seconds after the
first (`--speed 0`: as fast as the endpoint takes them, batches of --post-size). Prints
  - alert latency: for each alert, from the POST of the tweet that took its window over the rule (the first
    tweet after which the window had min_volume tweets and the threshold share, by the stored scores) to the
    webhook's arrival at the receiver;
  - sustained tweets/s: tweets scored / seconds from the first POST until nothing was pending (and the offered
    rate, to tell a replay the watcher kept up with from one it could not).
`--synthetic N` makes an airline-like file (text, airline, tweet_created, 3 airlines, one tweet every 5 s, a
negative burst in two airlines) for a first try. The text and time columns are found by content (core.data.columns).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

from benchmarks.measure import ROOT, child_env
from core.data.columns import detect_columns, frame_from_rows, parse_timestamps
from core.data.csv_reader import open_csv
from core.models.base import is_positive
from core.monitor.store import Store, url_from_target

TOKEN = "replay-token"
GOOD = ["love the crew", "great flight", "thanks for the upgrade", "smooth landing, happy", "best service, awesome"]
BAD = ["worst airline, lost my bag", "delayed again, hate this", "cancelled flight, awful", "rude staff, terrible"]


# ---------------------------------------------------------------- input


def synthetic_csv(path: Path, n: int, seed: int = 0) -> Path:
    """Three airlines, one tweet every 5 s, 25% negative; Blue bursts at 40-45% of the span, Red at 70-74%."""
    rng = random.Random(seed)
    start, rows = pd.Timestamp("2015-02-24 08:00", tz="UTC"), []
    for i in range(n):
        airline = ("Blue", "Red", "Green")[i % 3]
        burst = (airline == "Blue" and 0.40 <= i / n < 0.45) or (airline == "Red" and 0.70 <= i / n < 0.74)
        negative = rng.random() < (0.9 if burst else 0.25)
        text = f"@{airline}Air {rng.choice(BAD if negative else GOOD)} #{i}"
        when = (start + pd.Timedelta(seconds=5 * i)).tz_convert("America/Los_Angeles")
        rows.append(
            {
                "tweet_id": 570000000000000000 + i,
                "airline": airline,
                "text": text,
                "tweet_created": when.strftime("%Y-%m-%d %H:%M:%S %z"),
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def read_feed(path: Path, group_column: str, limit: int | None) -> pd.DataFrame:
    """id, text, time (UTC), group of every usable row, in time order; columns found by content."""
    with open_csv(path) as table:
        columns = table.layout.columns
        rows = [fields for _, fields in table.rows()]
    frame = frame_from_rows(rows, columns)
    guess = detect_columns(frame)
    if not guess.text or not guess.time or group_column not in columns:
        sys.exit(f"error: {path.name}: needs a text column, a time column and {group_column!r}")
    ids = frame["tweet_id"] if "tweet_id" in columns else pd.Series(range(len(frame))).astype(str)
    feed = pd.DataFrame(
        {
            "id": ids.astype(str),
            "text": frame[guess.text],
            "time": parse_timestamps(frame[guess.time]),
            "group": frame[group_column],
        }
    )
    feed = feed.dropna(subset=["time"]).drop_duplicates("id").sort_values("time", kind="stable", ignore_index=True)
    print(f"{path.name}: {len(frame):,} rows, text {guess.text!r}, time {guess.time!r}, {len(feed):,} timestamped")
    return feed.head(limit) if limit else feed


# ---------------------------------------------------------------- the webhook and the watcher


class Receiver:
    """A local webhook: (arrival time, text) of every call."""

    def __init__(self):
        self.calls: list[tuple[float, str]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                calls.append((time.time(), body.get("text", "")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def free_port() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return port


def start_watcher(args, db: str, port: int, hook: str, log) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "core.commands.watch",
        "--run",
        str(args.run),
        "--http",
        f"127.0.0.1:{port}",
        "--db",
        str(db),
        "--group-column",
        args.group_column,
        "--threshold",
        str(args.threshold),
        "--min-volume",
        str(args.min_volume),
        "--window",
        args.window,
        "--spike-factor",
        str(args.spike_factor),
        "--webhook",
        hook,
        "--poll",
        "0.1",
    ]
    env = child_env(BADBUZZ_MONITOR_TOKEN=TOKEN)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def call(port: int, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300) -> float:
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            sys.exit("error: the watcher stopped before it was ready (see its log above)")
        try:
            call(port, "/health")
            return time.time() - start
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    sys.exit("error: the watcher did not answer in time")


# ---------------------------------------------------------------- the replay


def replay(feed: pd.DataFrame, port: int, speed: float, post_size: int, column: str) -> dict[str, float]:
    """POST the tweets at `speed` x real time (0: at once); returns each tweet id's POST time."""
    offsets = ((feed["time"] - feed["time"].iloc[0]).dt.total_seconds() / speed).to_numpy() if speed else None
    sent: dict[str, float] = {}
    t0, i = time.time(), 0
    while i < len(feed):
        now = time.time() - t0
        end = i + post_size
        if offsets is not None:
            end = min(end, int((offsets <= now).sum()))
            if end <= i:
                time.sleep(min(0.05, max(0.0, offsets[i] - now)))
                continue
        batch = feed.iloc[i:end]
        posted = time.time()
        tweets = [
            {"id": r.id, "text": r.text, "created_at": r.time.isoformat(), "group": {column: r.group}}
            for r in batch.itertuples(index=False)
        ]
        call(port, "/tweets", {"tweets": tweets})
        sent.update(dict.fromkeys(batch["id"], posted))
        i = end
    return sent


def wait_scored(port: int, expected: int, timeout: float = 600) -> float:
    start = time.time()
    while time.time() - start < timeout:
        health = call(port, "/health")
        if health["pending"] == 0 and health["tweets"] >= expected:
            return time.time()
        time.sleep(0.05)
    sys.exit("error: the watcher did not score everything in time")


# ---------------------------------------------------------------- figures


def crossing_tweet(scored: pd.DataFrame, alert: dict, sent: dict[str, float], min_volume: int) -> str | None:
    """The tweet (id) after whose POST the alert's window first broke its rule, in POST order."""
    inside = scored[
        (scored["grp"] == alert["grp"])
        & (scored["event_at"] >= alert["window_start"])
        & (scored["event_at"] < alert["window_end"])
    ].copy()
    inside["sent"] = inside["tweet_id"].map(sent)
    inside = inside.sort_values(["sent", "id"])
    volume = pd.Series(range(1, len(inside) + 1), index=inside.index)
    negative = pd.Series(~is_positive(inside["score"]), index=inside.index).cumsum()
    if alert["rule"] == "negative share":
        hit = (volume >= min_volume) & (negative / volume >= alert["threshold"])
    else:
        hit = volume >= alert["volume"]
    return inside.loc[hit[hit].index[0], "tweet_id"] if hit.any() else None


def latencies(db: str, calls, sent, min_volume: int, column: str) -> list[tuple[dict, float | None]]:
    store = Store(db, readonly=True)
    alerts = [dict(r._mapping) for r in store.query("SELECT * FROM alerts ORDER BY id")]
    scored = store.frame(
        f"SELECT id, tweet_id, {store.group_sql()} AS grp, event_at, score FROM tweets WHERE score IS NOT NULL",
        {"group_path": store.group_arg(column)},
    )
    store.close()
    out = []
    for alert in alerts:
        stamp = pd.Timestamp(alert["window_start"], unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M")
        arrival = next((t for t, text in calls if f"{column} = {alert['grp']}:" in text and stamp in text), None)
        first = crossing_tweet(scored, alert, sent, min_volume)
        alert["detected_s"] = None if first is None else alert["created_at"] - sent[first]
        out.append((alert, None if arrival is None or first is None else arrival - sent[first]))
    return out


def report(results, scored: int, seconds: float, offered: float, load_s: float) -> None:
    print(f"watcher ready in {load_s:.1f} s (model loaded)")
    print(
        f"sustained: {scored:,} tweets scored in {seconds:.1f} s = {scored / seconds:,.0f} tweets/s "
        f"(offered {offered:,.0f} tweets/s)"
    )
    for alert, latency in results:
        when = pd.Timestamp(alert["window_start"], unit="s", tz="UTC").strftime("%m-%d %H:%M")
        figure = f"{latency * 1000:,.0f} ms" if latency is not None else "n/a (webhook not matched)"
        if alert.get("detected_s") is not None:
            figure += f" (recorded after {alert['detected_s'] * 1000:,.0f} ms)"
        print(
            f"  alert {alert['grp']} {alert['rule']} window {when}: share {alert['share'] or 0:.0%} "
            f"of {alert['volume']} -> latency {figure}"
        )
    values = [lat for _, lat in results if lat is not None]
    if values:
        print(
            f"alert latency: median {statistics.median(values) * 1000:,.0f} ms, max {max(values) * 1000:,.0f} ms "
            f"over {len(values)} alerts"
        )
    else:
        print("no alert raised: lower --threshold / --min-volume, or replay a file with a burst")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path)
    p.add_argument("--data", type=Path, help="a CSV with a text, a time and the group column")
    p.add_argument("--synthetic", type=int, help="replay N generated airline tweets instead")
    p.add_argument("--group-column", default="airline")
    p.add_argument("--speed", type=float, default=3600.0, help="x real time (3600: an hour a second); 0: at once")
    p.add_argument("--limit", type=int, help="the first N tweets (in time order)")
    p.add_argument("--threshold", type=float, default=0.6)
    p.add_argument("--min-volume", type=int, default=20)
    p.add_argument("--window", default="15min")
    p.add_argument("--spike-factor", type=float, default=0.0, help="the spike rule (default off)")
    p.add_argument("--post-size", type=int, default=500, help="tweets per POST at most")
    p.add_argument("--db", help="the store: an empty database's URL (default: a fresh SQLite file)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_replay(args, Path(tmp))


def run_replay(args, tmp: Path) -> None:
    data = synthetic_csv(tmp / "synthetic.csv", args.synthetic) if args.synthetic else args.data
    if data is None:
        sys.exit("error: give --data CSV or --synthetic N")
    feed = read_feed(Path(data), args.group_column, args.limit)
    span = (feed["time"].iloc[-1] - feed["time"].iloc[0]).total_seconds()
    print(
        f"replaying {len(feed):,} tweets spanning {span / 3600:.1f} h at x{args.speed:g}"
        + (f" (~{span / args.speed:.0f} s)" if args.speed else " (as fast as possible)"),
        flush=True,
    )
    receiver, port, log = Receiver(), free_port(), open(tmp / "watch.log", "w+")
    db = args.db or str(tmp / "feed.sqlite")
    print(f"store: {url_from_target(db).render_as_string(hide_password=True)}", flush=True)
    proc = start_watcher(args, db, port, receiver.url, log)
    try:
        load_s = wait_ready(port, proc)
        start = time.time()
        sent = replay(feed, port, args.speed, args.post_size, args.group_column)
        posted = time.time() - start
        done = wait_scored(port, len(feed))
        time.sleep(1.0)  # the last round's deliveries
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.seek(0)
        print("\n".join(f"  watcher: {line}" for line in log.read().strip().splitlines()[-5:]))
    results = latencies(db, receiver.calls, sent, args.min_volume, args.group_column)
    report(results, len(feed), done - start, len(feed) / max(posted, 1e-9), load_s)
    print(f"machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
