"""First content time of each dashboard page, on a cold and on a warm server, in headless Chromium at 1,400 px.

Cold: a fresh `streamlit run serve.py` per page, the page opened first (what a visitor meets after a restart).
Warm: the same server once its warm-up is done ("warm-up done" in its log), the page opened again in a new tab.
First content = from the navigation until the page's title heading is visible in the main area. The target is
3 s on a warm server; figures depend on the machine's load (say it with them).

    python -m benchmarks.first_content --runs-dir artifacts/runs [--data CSV] [--monitor-db URL_OR_PATH]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.measure import ROOT
from tests.browser.test_browser import browser_page, streamlit_server

PAGES = [
    ("", "Bad Buzz — Air Paradis"),
    ("data", "Data"),
    ("train", "Train"),
    ("resume", "Résumé"),
    ("compare", "Compare"),
    ("live", "Live scoring"),
    ("monitor", "Bad Buzz monitor"),
]
TARGET_WARM_S = 3.0
WARM_TIMEOUT_S = 300


def first_content(page, url: str, path: str, heading: str) -> float:
    started = time.perf_counter()
    page.goto(f"{url}/{path}")
    page.locator('[data-testid="stMain"]').get_by_role("heading", name=heading, exact=True).wait_for()
    return time.perf_counter() - started


def wait_for_warm_up(log: Path) -> None:
    deadline = time.time() + WARM_TIMEOUT_S
    while "warm-up done" not in log.read_text(errors="replace"):
        if time.time() > deadline:
            raise RuntimeError(f"no 'warm-up done' in {log} after {WARM_TIMEOUT_S} s")
        time.sleep(0.5)


def measure(path: str, heading: str, env: dict, logs: Path) -> tuple[float, float]:
    """(cold, warm) first content seconds of one page, on its own fresh server."""
    log = logs / f"{path or 'overview'}.log"
    with streamlit_server(env, log, project=ROOT, entry="serve.py") as url, browser_page() as page:
        cold = first_content(page, url, path, heading)
        wait_for_warm_up(log)
        page.goto("about:blank")
        warm = first_content(page, url, path, heading)
    return cold, warm


def main(argv: list[str] | None = None) -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--runs-dir", required=True, help="the runs the pages show")
    cli.add_argument("--data", help="BADBUZZ_DATA for the pages (default: as configured)")
    cli.add_argument("--monitor-db", help="BADBUZZ_MONITOR_DB: a monitor store for the Overview's buzz")
    args = cli.parse_args(argv)
    env = {"BADBUZZ_RUNS_DIR": str(Path(args.runs_dir).resolve())}
    env |= {"BADBUZZ_DATA": args.data} if args.data else {}
    env |= {"BADBUZZ_MONITOR_DB": args.monitor_db} if args.monitor_db else {}
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print(f"{'page':<20} {'cold (s)':>9} {'warm (s)':>9}  warm ≤ {TARGET_WARM_S:g} s")
    with tempfile.TemporaryDirectory(prefix="first_content_") as logs:
        for path, heading in PAGES:
            cold, warm = measure(path, heading, env, Path(logs))
            print(f"{heading:<20} {cold:>9.2f} {warm:>9.2f}  {'yes' if warm <= TARGET_WARM_S else 'NO'}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
