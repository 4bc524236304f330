"""End to end in a real browser: `streamlit run app.py` on 127.0.0.1, driven by Playwright with Chromium.

Every page is opened and checked for real content, a run is launched and followed to the end on the train
page, a tweet is scored on the live page, a CSV is uploaded on the monitor; screenshots land in
tests/screenshots/ (git-ignored).

The same code makes the README screenshots from the runs under artifacts/runs and the real sample data:

    python -m tests.browser.test_browser --readme      # writes docs/screenshots/*.png
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from tests.support.data import FILLER, NEGATIVE, POSITIVE, make_tweets_csv

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_ROOT / "tests" / "screenshots"
README_SHOTS = PROJECT_ROOT / "docs" / "screenshots"
WAIT_MS = 90_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium) — browser test skipped"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(env: dict[str, str | None], log_path: Path, project: Path = PROJECT_ROOT, entry: str = "app.py"):
    """`streamlit run ENTRY` (app.py, or serve.py: the same app warmed at start) on a free local port; yields its
    base URL once /_stcore/health answers."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                entry,
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=project,
            env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


@contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def open_page(page, url: str, path: str, heading: str):
    page.goto(f"{url}/{path}")
    page.locator('[data-testid="stMain"]').get_by_role("heading", name=heading, exact=True).wait_for()
    return page


def settle(page, ms: int = 800) -> None:
    """Wait until Streamlit has finished the script run (no 'Running…' status widget), then a short pause."""
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_MS)
    page.wait_for_timeout(ms)


def type_tweet(page, text: str) -> None:
    page.get_by_role("textbox", name="Tweet").fill(text)  # the tweet and Score are one form: sent on Score


def script_runs(frames: list) -> list[list[str]]:
    """The script runs among the websocket frames the page received: each run's fragment ids ([] = the page)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    runs = []
    for payload in frames:
        if isinstance(payload, bytes) and (msg := ForwardMsg.FromString(payload)).HasField("new_session"):
            runs.append(list(msg.metadata.run.fragment_ids))
    return runs


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


# Each visible table's (and chart's) scrolled width against the width it is shown in: a table wider than the page
# scrolls sideways inside its frame (glide-data-grid's .dvn-scroller), and its right-hand columns are cut off.
WIDTHS_JS = """() => {
  // what a reader sees: not inside a folded expander (its tables are laid out all the same)
  const shown = (el) => el.offsetParent !== null && el.clientWidth > 0 && !el.closest('details:not([open])');
  const tables = Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"]'))
    .filter(shown).map((el) => { const s = el.querySelector('.dvn-scroller') || el;
      return {what: 'table', scroll: s.scrollWidth, shown: s.clientWidth}; });
  const charts = Array.from(document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')).filter(shown)
    .map((el) => ({what: 'chart', scroll: el.querySelector('.main-svg').getBoundingClientRect().width,
                   shown: el.parentElement.clientWidth}));
  const main = document.querySelector('[data-testid="stMain"]');
  return [...tables, ...charts, {what: 'page', scroll: main.scrollWidth, shown: main.clientWidth}];
}"""
RAW_WORDS = re.compile(r"\bNone\b|\bnan\b|\bNaN\b|&quot;|&amp;|&lt;|&gt;")


def check_reads_well(page, name: str) -> None:
    """Nothing wider than the page at 1,400 px (tables, charts, the page itself), and no raw None, nan or HTML
    entity in the page's text."""
    wide = [w for w in page.evaluate(WIDTHS_JS) if w["scroll"] > w["shown"] + 2]
    assert not wide, f"{name}: wider than the page (scrolled width, shown width): {wide}"
    raw = sorted(set(RAW_WORDS.findall(main_text(page))))
    assert not raw, f"{name}: raw values in the page's text: {raw}"


def monitor_csv(path: Path, n: int = 240) -> Path:
    """Tweets over four hours with a burst of angry ones in the third hour."""
    rng = random.Random(7)
    lines = ["timestamp,text"]
    for i in range(n):
        minute = i * 240 // n
        angry = rng.random() < (0.9 if 120 <= minute < 180 else 0.1)
        words = rng.sample(NEGATIVE if angry else POSITIVE, 2) + rng.sample(FILLER, 2)
        lines.append(f"2024-06-01 {8 + minute // 60:02d}:{minute % 60:02d}:00,{' '.join(words)}")
    lines.append("not a time,great crew")
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from trainers import logreg

    root = tmp_path_factory.mktemp("browser")
    data = make_tweets_csv(root / "tweets.csv", n=600)
    env = {
        "BADBUZZ_RUNS_DIR": str(root / "runs"),
        "BADBUZZ_DATA_DIR": str(root / "data"),
        "BADBUZZ_DATA": str(data),
        "BADBUZZ_ARTIFACTS": str(root / "artifacts"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        logreg.main(["--data", str(data), "--output", str(root / "runs" / "logreg-tfidf")])
    with streamlit_server(env, root / "streamlit.log", entry="serve.py") as url:
        yield url


def test_every_page_in_a_real_browser(app_url, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page() as page:
        frames: list = []  # what the server sends, to see which script runs a click starts
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
        # A bookmarked page opened first on a fresh server still gets the app's navigation and sidebar.
        open_page(page, app_url, "compare", "Compare")
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Device").wait_for()
        assert "Live scoring" in sidebar.inner_text()

        open_page(page, app_url, "", "Bad Buzz — Air Paradis")
        page.get_by_text("Best accuracy").first.wait_for(timeout=60_000)  # a loaded machine renders it late
        settle(page)
        text = main_text(page)
        assert "Best accuracy" in text and "%" in text  # the trained run's figures (tables are canvases)
        check_reads_well(page, "overview")
        page.screenshot(path=SCREENSHOTS / "overview.png")

        open_page(page, app_url, "data", "Data")
        # The summary renders after the headings on a loaded machine: wait for it rather than for a quiet page.
        page.get_by_text("Tweets kept").wait_for(timeout=60_000)
        settle(page)
        assert "tweets" in main_text(page).lower()
        check_reads_well(page, "data")
        page.screenshot(path=SCREENSHOTS / "data.png")

        open_page(page, app_url, "train", "Train")
        page.get_by_text("Runs launched from the dashboard").wait_for()
        # the device panel follows the server's background probe (it never holds the page up)
        page.locator('[data-testid="stMain"]').get_by_text("CPU cores").wait_for()
        settle(page)
        text = main_text(page)
        assert "scikit-learn pipelines" in text and "1 run in the runs folder" in text
        assert page.get_by_role("button", name="Launch").is_enabled()
        page.get_by_role("button", name="Launch").click()  # a real logreg run, followed live to the end
        page.get_by_text("see Résumé and Compare").wait_for()
        assert "succeeded" in main_text(page)
        check_reads_well(page, "train")
        page.screenshot(path=SCREENSHOTS / "train.png")

        open_page(page, app_url, "resume", "Résumé")
        page.get_by_text("Accuracy against cost").wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        settle(page)
        assert page.locator('[data-testid="stDownloadButton"]').get_by_text("Download as CSV").is_visible()
        check_reads_well(page, "résumé")
        page.screenshot(path=SCREENSHOTS / "resume.png")

        open_page(page, app_url, "compare", "Compare")
        settle(page)
        assert "Metrics on the test split" in main_text(page)
        check_reads_well(page, "compare")
        page.screenshot(path=SCREENSHOTS / "compare.png")

        open_page(page, app_url, "live", "Live scoring")
        settle(page)
        type_tweet(page, "my bag is lost and the flight is delayed, awful and rude crew")
        frames.clear()
        page.get_by_role("button", name="Score").click()
        page.get_by_text("P(positive) =").first.wait_for()
        settle(page)
        assert "negative" in main_text(page)
        [run] = script_runs(frames)  # a click is one script run: the scoring fragment's, not the page's
        assert run, "Score reran the whole page instead of its fragment"
        check_reads_well(page, "live")
        page.screenshot(path=SCREENSHOTS / "live.png")

        open_page(page, app_url, "monitor", "Bad Buzz monitor")
        settle(page)
        page.locator('input[type="file"]').set_input_files(str(monitor_csv(tmp_path / "stream.csv")))
        page.get_by_role("button", name="Score").wait_for()
        settle(page)
        page.get_by_role("button", name="Score").click()
        page.locator(".js-plotly-plot").first.wait_for()
        page.get_by_text("Threshold crossed at").wait_for()
        settle(page)
        text = main_text(page)
        assert "Negative share per 15 minutes" in text
        assert "1 row with an unparseable timestamp" in text
        assert page.locator('[data-testid="stDownloadButton"]').get_by_text("Download the scored CSV").is_visible()
        check_reads_well(page, "monitor")
        page.screenshot(path=SCREENSHOTS / "monitor.png", full_page=True)


# ---------------------------------------------------------------- a newcomer's first minutes


def fresh_checkout(dest: Path) -> Path:
    """The project's files as a clone has them (tracked and new, not ignored), with no ../shared beside it."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = PROJECT_ROOT / name
        if source.is_file() and not name.startswith("docs/screenshots/"):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return dest


@pytest.fixture
def newcomer_url(tmp_path):
    project = fresh_checkout(tmp_path / "clone" / "bad-buzz")
    assert not (project.parent / "shared").exists()
    env: dict = {name: None for name in ("BADBUZZ_DATA", "BADBUZZ_ARTIFACTS", "BADBUZZ_RUNS_DIR", "BADBUZZ_DATA_DIR")}
    # nothing listens on port 9: the download fails at once, as on a machine without internet
    env["BADBUZZ_SENTIMENT140_URL"] = "http://127.0.0.1:9/trainingandtestdata.zip"
    with streamlit_server(env, tmp_path / "streamlit.log", project=project) as url:
        yield url, project


def test_newcomer_from_fresh_clone_to_first_live_answer(newcomer_url, tmp_path):
    url, project = newcomer_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page() as page:
        open_page(page, url, "", "Bad Buzz — Air Paradis")
        page.get_by_text("No tweets to train on yet").wait_for()
        page.get_by_role("button", name="Download Sentiment140").click()
        page.get_by_text("cannot reach the internet").wait_for()
        page.screenshot(path=SCREENSHOTS / "newcomer-offline.png")

        page.locator('input[type="file"]').set_input_files(str(make_tweets_csv(tmp_path / "my tweets.csv", n=600)))
        page.get_by_text("Now using").wait_for()
        settle(page)
        assert "No tweets to train on yet" not in main_text(page)
        page.get_by_role("button", name="Train the quick baselines").click()
        page.get_by_text("Best accuracy").wait_for(timeout=240_000)  # both baselines trained and listed
        settle(page)
        page.screenshot(path=SCREENSHOTS / "newcomer-baselines.png")

        open_page(page, url, "live", "Live scoring")
        settle(page)
        type_tweet(page, "the crew was rude and my bag is lost, awful")
        page.get_by_role("button", name="Score").click()
        page.get_by_text("P(positive) =").first.wait_for()
        settle(page)
        assert "negative" in main_text(page)
        page.screenshot(path=SCREENSHOTS / "newcomer-live.png")
    uploads = list((project / "artifacts" / "data" / "uploads").glob("*.csv"))
    assert len(uploads) == 1 and len(list((project / "artifacts" / "runs").iterdir())) == 2


# ---------------------------------------------------------------- README screenshots


def readme_screenshots() -> None:
    """Screenshots of the real dashboard (artifacts/runs + the shared sample) for the README."""
    from core.config import SHARED_SAMPLE, runs_dir
    from core.tracking.runs import list_runs

    if not any(r.status == "succeeded" for r in list_runs(runs_dir())):
        sys.exit(f"no finished run under {runs_dir()}: train some first (see docs/dashboard_ops.md)")
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    sample = Path(os.environ.get("BADBUZZ_DATA") or SHARED_SAMPLE)
    stream = README_SHOTS.parent.parent / "artifacts" / "monitor_demo.csv"
    stream.parent.mkdir(parents=True, exist_ok=True)
    demo_stream(sample, stream)
    with (
        streamlit_server({"BADBUZZ_DATA": str(sample)}, Path("/tmp/badbuzz_readme_streamlit.log")) as url,
        browser_page(1400, 1300) as page,
    ):
        open_page(page, url, "", "Bad Buzz — Air Paradis")
        settle(page, 1500)
        page.screenshot(path=README_SHOTS / "overview.png")
        open_page(page, url, "compare", "Compare")
        page.locator(".js-plotly-plot").first.wait_for()
        settle(page, 2000)
        page.screenshot(path=README_SHOTS / "compare.png")
        open_page(page, url, "resume", "Résumé")
        page.locator(".js-plotly-plot").first.wait_for()
        settle(page, 1500)
        page.screenshot(path=README_SHOTS / "resume.png")
        open_page(page, url, "live", "Live scoring")
        settle(page)
        type_tweet(page, "@AirParadis two hours on the tarmac and now my bag is lost. Never again.")
        page.get_by_role("button", name="Score").click()
        page.get_by_text("P(positive) =").first.wait_for()
        settle(page, 1500)
        page.screenshot(path=README_SHOTS / "live.png")
        open_page(page, url, "monitor", "Bad Buzz monitor")
        settle(page)
        page.locator('input[type="file"]').set_input_files(str(stream))
        page.get_by_role("button", name="Score").wait_for()
        settle(page)
        page.get_by_role("button", name="Score").click()
        page.locator(".js-plotly-plot").first.wait_for()
        settle(page, 4500)  # the "Scored" toast fades
        page.get_by_text("Negative share per").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        page.screenshot(path=README_SHOTS / "monitor.png")
    print(f"screenshots written to {README_SHOTS}")


def demo_stream(sample: Path, out: Path, n: int = 3000) -> None:
    """Real tweets from the sample laid out over a day, with a burst of negative ones in the afternoon."""
    import pandas as pd

    tweets = pd.read_csv(sample, encoding="utf-8", encoding_errors="replace").sample(20_000, random_state=1)
    negative, positive = tweets[tweets["target"] == 0]["text"], tweets[tweets["target"] == 4]["text"]
    rng = random.Random(1)
    rows, start = [], pd.Timestamp("2024-06-01 06:00")
    for i in range(n):
        at = start + pd.Timedelta(minutes=16 * 60 * i / n)
        angry = rng.random() < (0.8 if 14 <= at.hour < 16 else 0.35)
        rows.append((at.isoformat(), (negative if angry else positive).iloc[i]))
    pd.DataFrame(rows, columns=["timestamp", "text"]).to_csv(out, index=False)


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--readme", action="store_true", help="write the README screenshots to docs/screenshots/")
    if cli.parse_args().readme:
        readme_screenshots()
    else:
        cli.print_help()
