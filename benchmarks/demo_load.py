"""A room full of people on the dashboard (issue 26): N browsers scoring tweets on Live at once, through the real
server, with the server's own CPU and memory.

    python -m benchmarks.demo_load                      # the acceptance scenario: 20 sessions, a tweet every 5 s
                                                        # each for 2 minutes, then 20 viewers on the monitor feed
    python -m benchmarks.demo_load --sessions 2 --duration 10 --after-close 5 --viewers 2 --viewer-duration 10
                                                        # a smoke run (about a minute and a half)

`streamlit run serve.py` (or `--entry app.py`) is started pinned to one core (`--server-core`, default 0) and the
clients (Chromium driven by Playwright, one browser context per person, so each is its own Streamlit session) to
another (`--client-core`, default 1), so the figures are the server's. The runs are the newest finished run of each
local approach under `--runs-dir` (default: the project's artifacts/runs): train them first (README, "A room full
of people"). Visitors are viewers, as in a demo on the network (a random operator password is set, so nobody is an
operator and no cloud service is called); `--as-operator` measures an operator's page instead.

Phases, each printed as it ends, then one table:
1. fresh start, clicked at once: a new server; one browser opens Live as soon as /_stcore/health answers and presses
   Score; the answer's latency and how many models answered (a model still warming says so instead of blocking);
2. fresh start, warmed: a new server; once its log says "warm-up done", one browser scores a tweet (the first
   answer after a fresh start), then closes; after `--after-close` seconds, the idle memory;
3. load: `--sessions` browsers open Live, `--open-together` at a time (server CPU per page open), then each scores a new
   tweet every `--interval` seconds for `--duration` seconds (answer latency: from the click to the last card on
   screen, measured by the page itself; errors: no answer within 30 s, an exception, an answer card in error, timeout or still loading; server
   CPU per click); memory sampled every second;
4. close: every browser closes; memory at once and `--after-close` seconds later (sessions must not outlive tabs);
5. monitor: `--viewers` browsers watch the monitor page's live feed (a store filled by the real watcher from
   `--airline` tweets, or synthetic airline tweets) for `--viewer-duration` seconds: the server's CPU share; then
   again while the real watcher adds `--feed-rate` tweets a second to it.

The machine's load average is printed at the start and the end: figures taken while other work runs are upper
bounds. `--json FILE` keeps every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from playwright.async_api import TimeoutError as PlaywrightTimeout

from benchmarks.measure import ROOT, child_env
from core.config import SHARED_SAMPLE
from core.inference import live
from core.tracking.runs import list_runs

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_TIMEOUT_S = 30
OPEN_TIMEOUT_S = 180
WARM_TIMEOUT_S = 300
DEGRADED = ("Error:", "Timeout:", "Loading:", "Offline:")  # an answer card that is not an answer
# One round trip per click: arm an observer, press Score the way a tap does (the button's own click event, which
# React handles like any other), and resolve once the block that closes the answers (views/live.py) shows a number
# above `prev`, with the milliseconds from the click to that moment, as the page itself measures them.
PRESS_SCORE_JS = """(prev) => new Promise((resolve, reject) => {
  const seen = () => {
    for (const el of document.querySelectorAll('[class*="st-key-live-answered-"]')) {
      const m = el.className.match(/st-key-live-answered-(\\d+)/);
      if (m && Number(m[1]) > prev) return Number(m[1]);
    }
    return 0;
  };
  const button = [...document.querySelectorAll('button')].find((b) => b.innerText.trim().endsWith('Score'));
  if (!button) return reject(new Error('no Score button'));
  const watcher = new MutationObserver(() => {
    const n = seen();
    if (n) { watcher.disconnect(); resolve({n: n, ms: performance.now() - clicked}); }
  });
  watcher.observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});
  const clicked = performance.now();
  button.click();
})"""
# The page's animations and the text caret cost the browsers CPU (a repaint every frame) and change nothing the
# benchmark looks at: off, so the clients' core goes to what the scenario asks.
NO_ANIMATION_CSS = "*, *::before, *::after { animation: none !important; transition: none !important; }"


# ---------------------------------------------------------------- the server


class Server:
    """`streamlit run ENTRY` on a free port, pinned to one core; its CPU seconds and memory from psutil."""

    def __init__(self, entry: str, env: dict, core: int | None, log_path: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        pin = ["taskset", "-c", str(core)] if core is not None else []
        command = [*pin, sys.executable, "-m", "streamlit", "run", entry, "--server.port", str(self.port)]
        command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
        self.started = time.perf_counter()
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.ps = psutil.Process(self.proc.pid)

    def since_start(self) -> float:
        return time.perf_counter() - self.started

    def cpu_s(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def wait_healthy(self) -> float:
        """Seconds from the start until /_stcore/health answers."""
        while True:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return self.since_start()
            except OSError:
                pass
            self._check_alive(OPEN_TIMEOUT_S)
            time.sleep(0.1)

    def wait_log(self, marker: str, timeout_s: float = WARM_TIMEOUT_S) -> float:
        """Seconds from the start until `marker` shows in the server's log."""
        while marker not in self.log_path.read_text(errors="replace"):
            self._check_alive(timeout_s)
            time.sleep(0.2)
        return self.since_start()

    def _check_alive(self, timeout_s: float) -> None:
        if self.proc.poll() is not None or self.since_start() > timeout_s:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server did not get there (log {self.log_path}):\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


class MemorySampler:
    """The server's RSS every second while a phase runs (the peak is what matters)."""

    def __init__(self, server: Server):
        self.server, self.samples, self._task = server, [], None

    async def _sample(self) -> None:
        while True:
            self.samples.append(self.server.rss_mb())
            await asyncio.sleep(1)

    def __enter__(self):
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()


# ---------------------------------------------------------------- one person in a browser


@dataclass
class Click:
    latency_s: float | None  # None: no answer within ANSWER_TIMEOUT_S
    problem: str = ""  # an exception on the page, or answer cards in error / timeout / loading


class Person:
    """One browser context on one page: its own cookies, so its own Streamlit session."""

    def __init__(self, context, page):
        self.context, self.page, self.answered = context, page, 0

    @classmethod
    async def open(cls, browser, url: str, path: str, ready: str) -> tuple[Person, float]:
        """(the person, seconds until the page showed `ready`, a CSS selector)."""
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        page = await context.new_page()
        page.set_default_timeout(OPEN_TIMEOUT_S * 1000)
        started = time.perf_counter()
        await page.goto(f"{url}/{path}")
        await page.locator(ready).first.wait_for()
        opened = time.perf_counter() - started
        await page.add_style_tag(content=NO_ANIMATION_CSS)
        return cls(context, page), opened

    async def score(self, text: str) -> Click:
        """Type a tweet, press Score; the latency is the page's own, from the click to the last answer card."""
        await self.page.get_by_role("textbox", name="Tweet").fill(text)
        try:
            answered = await asyncio.wait_for(
                self.page.evaluate(PRESS_SCORE_JS, self.answered), timeout=ANSWER_TIMEOUT_S
            )
        except TimeoutError:
            return Click(None, "no answer")
        self.answered = answered["n"]
        return Click(answered["ms"] / 1000, await self.problem())

    async def problem(self) -> str:
        if await self.page.locator('[data-testid="stException"]').count():
            return "exception"
        cards = self.page.locator('[class*="st-key-live-cards"]')
        text = await cards.first.inner_text() if await cards.count() else ""
        return next((status.rstrip(":").lower() for status in DEGRADED if status in text), "")

    async def models_answered(self, expected: int) -> int:
        """Answer cards with a score (their bar's code may still be arriving on a first visit: a few seconds)."""
        bars = self.page.locator('[class*="st-key-live-cards"] [data-testid="stProgress"]')
        deadline = time.perf_counter() + 5
        while await bars.count() < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        return await bars.count()

    async def reopen(self, ready: str) -> float:
        """Reload the page: a returning visitor, whose browser has Streamlit's files already."""
        started = time.perf_counter()
        await self.page.reload()
        await self.page.locator(ready).first.wait_for()
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.context.close()


LIVE_READY = 'button:has-text("Score")'
MONITOR_READY = 'text="Tweets stored"'


# ---------------------------------------------------------------- phases


@dataclass
class Figures:
    sessions: int
    duration_s: float
    interval_s: float
    models: list[str]
    load_average_before: list[float]
    load_average_after: list[float] = field(default_factory=list)
    cold: dict = field(default_factory=dict)
    warm: dict = field(default_factory=dict)
    load: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    monitor: dict = field(default_factory=dict)


def tweets(path: Path | None, n: int) -> list[str]:
    """Real tweets from the sample when there is one (they differ, as a room's would), else the page's examples."""
    from views.components.examples import EXAMPLE_TWEETS

    if path and path.is_file():
        import pandas as pd

        texts = pd.read_csv(path, usecols=["text"], nrows=50_000)["text"].dropna().astype(str)
        return texts.sample(min(n, len(texts)), random_state=0).tolist()
    return [f"{EXAMPLE_TWEETS[i % len(EXAMPLE_TWEETS)]} ({i})" for i in range(n)]


async def cold_click(args, env: dict, browser, models: int) -> dict:
    """Phase 1: a new server, a click as soon as the page is open."""
    server = Server(args.entry, env, args.server_core, args.logs / "cold.log")
    try:
        healthy = server.wait_healthy()
        person, open_s = await Person.open(browser, server.url, "live", LIVE_READY)
        click = await person.score("the crew lost my bag and nobody cared, awful")
        answered = await person.models_answered(models)
        await person.close()
        return {
            "healthy_after_s": healthy,
            "page_open_s": open_s,
            "clicked_after_s": healthy + open_s,
            "latency_s": click.latency_s,
            "problem": click.problem,
            "models_answered": answered,
        }
    finally:
        server.stop()


async def warm_start(args, server: Server, browser, models: int) -> dict:
    """Phase 2: the first answer once the warm-up is done, a reload (the page open of a returning visitor), then
    the idle memory after that visit."""
    figures = {"healthy_after_s": server.wait_healthy()}
    # serve.py warms at start and logs when done; a plain app.py warms from the first page on: nothing to wait for
    figures["warm_after_s"] = server.wait_log("warm-up done") if args.entry == "serve.py" else None
    figures["rss_warm_mb"] = server.rss_mb()
    person, figures["page_open_s"] = await Person.open(browser, server.url, "live", LIVE_READY)
    click = await person.score("the crew lost my bag and nobody cared, awful")
    figures.update(
        latency_s=click.latency_s, problem=click.problem, models_answered=await person.models_answered(models)
    )
    await asyncio.sleep(2)
    cpu = server.cpu_s()
    figures["reopen_s"] = await person.reopen(LIVE_READY)
    await asyncio.sleep(2)  # the script run has ended
    figures["cpu_per_reopen_ms"] = (server.cpu_s() - cpu) * 1000
    await person.close()
    await asyncio.sleep(args.after_close)
    figures["rss_idle_mb"] = server.rss_mb()
    return figures


async def open_people(args, server: Server, browser, path: str, ready: str) -> tuple[list[Person], dict]:
    """Open the pages, `--open-together` at a time, as a room does: server CPU per page open, time to content."""
    n = args.sessions if path == "live" else args.viewers
    together = asyncio.Semaphore(args.open_together)

    async def one() -> tuple[Person, float] | None:
        async with together:
            try:
                return await Person.open(browser, server.url, path, ready)
            except PlaywrightTimeout:
                return None  # counted: a page that did not show its content in OPEN_TIMEOUT_S

    cpu_before = server.cpu_s()
    opened = [o for o in await asyncio.gather(*(one() for _ in range(n))) if o is not None]
    await asyncio.sleep(2)  # the last page's script run has ended
    seconds = [s for _, s in opened] or [float("nan")]
    return [p for p, _ in opened], {
        "cpu_per_open_ms": (server.cpu_s() - cpu_before) / n * 1000,
        "open_p50_s": statistics.median(seconds),
        "open_max_s": max(seconds),
        "open_failed": n - len(opened),
    }


async def keep_scoring(person: Person, offset_s: float, args, texts: list[str], clicks: list[Click]) -> None:
    """One person: a new tweet every `interval` seconds, from `offset_s`, until the duration is over."""
    started = time.perf_counter()
    await asyncio.sleep(offset_s)
    k = 0
    while time.perf_counter() - started < args.duration:
        due = started + offset_s + k * args.interval
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        clicks.append(await person.score(texts[(len(clicks) * 7919 + k) % len(texts)]))
        k += 1


async def load_phase(args, server: Server, browser, texts: list[str]) -> tuple[list[Person], dict]:
    """Phase 3: every session opens Live, then scores every `interval` seconds for `duration` seconds."""
    people, opened = await open_people(args, server, browser, "live", LIVE_READY)
    clicks: list[Click] = []
    client = psutil.Process()
    client_cpu, cpu, wall, cores = _tree_cpu(client), server.cpu_s(), time.perf_counter(), psutil.cpu_times(True)
    with MemorySampler(server) as memory:
        offsets = [args.interval * i / len(people) for i in range(len(people))]  # spread over one interval
        await asyncio.gather(*(keep_scoring(p, o, args, texts, clicks) for p, o in zip(people, offsets)))
    wall, busy = time.perf_counter() - wall, _busy(cores, psutil.cpu_times(True))
    answered = sorted(c.latency_s for c in clicks if c.latency_s is not None)
    return people, {
        **opened,
        "clicks_due": len(people) * math.ceil(args.duration / args.interval),
        "clicks": len(clicks),
        "answered": len(answered),
        "errors": sum(1 for c in clicks if c.problem),
        "problems": sorted({c.problem for c in clicks if c.problem}),
        "p50_s": _quantile(answered, 0.5),
        "p95_s": _quantile(answered, 0.95),
        "max_s": answered[-1] if answered else None,
        "cpu_per_click_ms": (server.cpu_s() - cpu) / max(1, len(clicks)) * 1000,
        "server_cpu_share": (server.cpu_s() - cpu) / wall,
        "client_cpu_share": (_tree_cpu(client) - client_cpu) / wall,
        "server_core_busy": busy.get(args.server_core, float("nan")),  # whoever used it: other work too
        "client_core_busy": busy.get(args.client_core, float("nan")),
        "rss_peak_mb": max(memory.samples, default=server.rss_mb()),
    }


async def close_phase(args, server: Server, people: list[Person]) -> dict:
    """Phase 4: every tab closes; memory at once and `after_close` seconds later."""
    for person in people:
        await person.close()
    await asyncio.sleep(1)
    at_close = server.rss_mb()
    await asyncio.sleep(args.after_close)
    return {"rss_at_close_mb": at_close, "rss_after_close_mb": server.rss_mb()}


async def monitor_phase(args, server: Server, browser) -> dict:
    """Phase 5: viewers watch the monitor's live feed (a fragment that refreshes every 5 s per viewer), first a
    quiet feed, then (`--feed-rate`) one the watcher keeps adding tweets to."""
    people, opened = await open_people(args, server, browser, "monitor", MONITOR_READY)
    figures = {
        "viewers": len(people),
        "cpu_per_open_ms": opened["cpu_per_open_ms"],
        "open_failed": opened["open_failed"],
    }
    if not people:
        return figures
    figures["quiet_feed_cpu_share"] = await cpu_share(server, args.viewer_duration)
    if args.feed_rate:
        with GrowingFeed(args) as added:
            await asyncio.sleep(FEED_START_S)  # the watcher loads its model first
            before = added()
            figures["active_feed_cpu_share"] = await cpu_share(server, args.viewer_duration)
            figures["tweets_added_per_s"] = (added() - before) / args.viewer_duration
    for person in people:
        await person.close()
    return figures


async def cpu_share(server: Server, seconds: float) -> float:
    cpu, wall = server.cpu_s(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (server.cpu_s() - cpu) / (time.perf_counter() - wall)


FEED_START_S = 20
FEED_COLUMNS = "tweet_id,airline,text,tweet_created\n"


class GrowingFeed:
    """The real watcher tailing a file this benchmark appends `--feed-rate` synthetic tweets a second to (both on
    the clients' core); the store is the one the server reads."""

    def __init__(self, args):
        self.args, self.path, self.count = args, args.logs / "growing.csv", 0
        self.path.write_text(FEED_COLUMNS)

    def __enter__(self):
        run = live.latest_per_approach(list_runs(self.args.runs_dir))[0].path
        command = [sys.executable, "-m", "core.monitor.watch", "--run", str(run), "--file", str(self.path)]
        command += ["--db", str(self.args.logs / "feed.sqlite"), "--group-column", "airline", "--poll", "1"]
        self.watcher = subprocess.Popen(command, cwd=ROOT, env=server_env(self.args), stdout=subprocess.DEVNULL)
        self.task = asyncio.get_running_loop().create_task(self._append())
        return lambda: self.count

    async def _append(self) -> None:
        airlines, words = ("Blue", "Red", "Green"), ("lost my bag, awful", "great crew, thanks", "delayed again")
        while True:
            now = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime())
            line = f'{self.count},{airlines[self.count % 3]},"{words[self.count % 3]} #{self.count}",{now}\n'
            with self.path.open("a") as out:
                out.write(line)
            self.count += 1
            await asyncio.sleep(1 / self.args.feed_rate)

    def __exit__(self, *exc) -> None:
        self.task.cancel()
        self.watcher.terminate()
        self.watcher.wait(timeout=30)


def _quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def _busy(before: list, after: list) -> dict[int, float]:
    """Each core's busy share between two psutil.cpu_times(percpu=True) readings, whoever kept it busy."""
    shares = {}
    for core, (a, b) in enumerate(zip(before, after)):
        total = sum(b) - sum(a)
        idle = (b.idle + getattr(b, "iowait", 0)) - (a.idle + getattr(a, "iowait", 0))
        shares[core] = 1 - idle / total if total else 0.0
    return shares


def _tree_cpu(process: psutil.Process) -> float:
    """CPU seconds of a process and all its children (the browsers)."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


# ---------------------------------------------------------------- set-up


def monitor_store(args, env: dict) -> Path:
    """A feed store filled by the real watcher (`--once`) from `--airline` tweets, or synthetic airline tweets."""
    from benchmarks.monitor_replay import synthetic_csv

    inbox = args.logs / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    db = args.logs / "feed.sqlite"
    if args.airline:
        import pandas as pd

        pd.read_csv(args.airline).head(args.feed_tweets).to_csv(inbox / "tweets.csv", index=False)
    else:
        synthetic_csv(inbox / "tweets.csv", args.feed_tweets)
    run = live.latest_per_approach(list_runs(args.runs_dir))[0].path
    command = [sys.executable, "-m", "core.commands.watch", "--run", str(run), "--folder", str(inbox)]
    command += ["--db", str(db), "--group-column", "airline", "--once", "--settle", "0"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return db


def server_env(args) -> dict:
    env = child_env(BADBUZZ_RUNS_DIR=str(args.runs_dir), BADBUZZ_WARM_WAIT_S="0")  # warm at once, as it measured
    if not args.as_operator:  # a password nobody knows: every visitor is a viewer, as on a demo network
        env["BADBUZZ_OPERATOR_PASSWORD"] = secrets.token_urlsafe(24)
    return env


def pin_clients(core: int | None) -> None:
    """This process and the browsers it starts run on the clients' core."""
    if core is not None:
        os.sched_setaffinity(0, {core})


async def run_all(args) -> Figures:
    from playwright.async_api import async_playwright

    runs = live.latest_per_approach(list_runs(args.runs_dir))
    figures = Figures(args.sessions, args.duration, args.interval, [r.id for r in runs], list(os.getloadavg()))
    env = server_env(args)
    if args.viewers:
        env["BADBUZZ_MONITOR_DB"] = str(monitor_store(args, env))
    texts = tweets(args.tweets, 2000)
    pin_clients(args.client_core)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        figures.cold = await cold_click(args, env, browser, len(runs))
        print_phase("1. fresh start, clicked at once", figures.cold)
        server = Server(args.entry, env, args.server_core, args.logs / "server.log")
        try:
            await phases_on_one_server(args, server, browser, texts, figures, len(runs))
        finally:
            server.stop()
            await browser.close()
    figures.load_average_after = list(os.getloadavg())
    return figures


async def phases_on_one_server(args, server: Server, browser, texts: list[str], figures: Figures, models: int) -> None:
    figures.warm = await warm_start(args, server, browser, models)
    print_phase("2. fresh start, warmed", figures.warm)
    people, figures.load = await load_phase(args, server, browser, texts)
    print_phase(f"3. {args.sessions} sessions scoring", figures.load)
    figures.memory = await close_phase(args, server, people)
    print_phase("4. sessions closed", figures.memory)
    if args.viewers:
        figures.monitor = await monitor_phase(args, server, browser)
        print_phase(f"5. {args.viewers} viewers on the monitor's live feed", figures.monitor)


# ---------------------------------------------------------------- report


def print_phase(name: str, values: dict) -> None:
    shown = ", ".join(f"{k} {_fmt(v)}" for k, v in values.items())
    print(f"{name}: {shown}", flush=True)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


def _s(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f} s"


def report(f: Figures, args) -> str:
    head = (
        f"{f.sessions} sessions on Live scoring, a tweet every {f.interval_s:g} s each for {f.duration_s:g} s; models: "
        f"{', '.join(f.models)}; server `streamlit run {args.entry}` on core {args.server_core}, browsers on core "
        f"{args.client_core}; load average {_loads(f.load_average_before)} before, {_loads(f.load_average_after)} after"
    )
    rows = start_rows(f) + load_rows(f, args) + monitor_rows(f.monitor)
    lines = [head, "", "| figure | measured | target |", "| --- | --- | --- |"]
    return "\n".join(lines + [f"| {a} | {b} | {c} |" for a, b, c in rows])


def start_rows(f: Figures) -> list[tuple[str, str, str]]:
    warm, cold = f.warm, f.cold
    return [
        ("first Score after a fresh start (warm-up done)", _s(warm.get("latency_s")), "≤ 1.5 s"),
        (
            "  the same, clicked as soon as the page opened",
            f"{_s(cold.get('latency_s'))}, {cold.get('models_answered')} of {len(f.models)} models answered "
            f"({_s(cold.get('clicked_after_s'))} after the start)",
            "",
        ),
        (
            "  start → health / → warm-up done",
            f"{_s(warm.get('healthy_after_s'))} / {_s(warm.get('warm_after_s'))}",
            "",
        ),
    ]


def load_rows(f: Figures, args) -> list[tuple[str, str, str]]:
    load, warm, mem = f.load, f.warm, f.memory
    return [
        (
            "answers (clicks made; due)",
            f"{load['answered']} of {load['clicks']} ({load['clicks_due']} due), {load['errors']} errors "
            f"{load['problems'] or ''}; {load['open_failed']} pages did not open",
            "no error",
        ),
        (
            "answer latency p50 / p95 / max",
            f"{_s(load['p50_s'])} / {_s(load['p95_s'])} / {_s(load['max_s'])}",
            "p95 ≤ 2 s",
        ),
        ("server CPU per Score click", f"{load['cpu_per_click_ms']:.0f} ms", "≤ 100 ms"),
        ("server CPU per page open (a first visit)", f"{load['cpu_per_open_ms']:.0f} ms", "≤ 300 ms"),
        ("  the same, a returning visitor (files cached)", f"{warm['cpu_per_reopen_ms']:.0f} ms", ""),
        ("page open to the Score button, p50 / max", f"{_s(load['open_p50_s'])} / {_s(load['open_max_s'])}", ""),
        (
            "while scoring: server core busy (the server's part) / client core busy (the browsers' part)",
            f"{load['server_core_busy']:.0%} ({load['server_cpu_share']:.0%}) / "
            f"{load['client_core_busy']:.0%} ({load['client_cpu_share']:.0%})",
            "the latencies are the server's while the client core has room",
        ),
        (
            "server RSS: idle / peak / at close / after",
            f"{warm['rss_idle_mb']:.0f} / {load['rss_peak_mb']:.0f} / {mem['rss_at_close_mb']:.0f} / "
            f"{mem['rss_after_close_mb']:.0f} MB ({args.after_close:g} s after closing)",
            f"after - idle ≤ 50 MB: {mem['rss_after_close_mb'] - warm['rss_idle_mb']:+.0f} MB",
        ),
    ]


def monitor_rows(m: dict) -> list[tuple[str, str, str]]:
    if not m or "quiet_feed_cpu_share" not in m:
        return []
    rows = [
        (
            f"monitor live feed, {m['viewers']} viewers watching ({m['open_failed']} did not open)",
            f"server CPU {m['quiet_feed_cpu_share']:.1%} of its core (quiet feed); {m['cpu_per_open_ms']:.0f} ms per open",
            "",
        )
    ]
    if "active_feed_cpu_share" in m:
        rows.append(
            (
                "  the same while the watcher adds tweets",
                f"server CPU {m['active_feed_cpu_share']:.1%} of its core ({m['tweets_added_per_s']:.1f} tweets/s)",
                "",
            )
        )
    return rows


def _loads(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--sessions", type=int, default=20, help="browsers scoring on Live at once")
    cli.add_argument("--duration", type=float, default=120, help="seconds each session keeps scoring")
    cli.add_argument("--interval", type=float, default=5, help="seconds between two tweets of one session")
    cli.add_argument("--after-close", type=float, default=60, help="seconds after the tabs close to measure memory")
    cli.add_argument("--viewers", type=int, default=20, help="browsers on the monitor's live feed (0: skip)")
    cli.add_argument("--viewer-duration", type=float, default=60, help="seconds the viewers watch")
    cli.add_argument("--open-together", type=int, default=4, help="pages opening at the same time")
    cli.add_argument("--runs-dir", type=Path, default=ROOT / "artifacts" / "runs")
    cli.add_argument("--tweets", type=Path, default=SHARED_SAMPLE, help="a CSV with a text column to type")
    cli.add_argument("--airline", type=Path, help="Twitter US Airline Sentiment's Tweets.csv for the feed")
    cli.add_argument("--feed-tweets", type=int, default=2000, help="tweets in the monitor's feed")
    cli.add_argument("--feed-rate", type=float, default=2, help="tweets/s added while viewers watch (0: quiet only)")
    cli.add_argument("--entry", default="serve.py", help="what `streamlit run` starts: serve.py or app.py")
    cli.add_argument("--server-core", type=int, default=0)
    cli.add_argument("--client-core", type=int, default=1)
    cli.add_argument("--as-operator", action="store_true", help="visitors are operators (cloud columns asked)")
    cli.add_argument("--json", type=Path, help="write every figure here")
    return cli.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    if not live.latest_per_approach(list_runs(args.runs_dir)):
        sys.exit(f"no finished local run under {args.runs_dir}: train some first (README)")
    if len(os.sched_getaffinity(0)) < 2:
        print("one core only: server and clients share it, so the latencies are not the server's alone")
        args.server_core = args.client_core = None
    with tempfile.TemporaryDirectory(prefix="demo_load_") as logs:
        args.logs = Path(logs)
        figures = asyncio.run(run_all(args))
        print()
        print(report(figures, args))
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2))


if __name__ == "__main__":
    main()
