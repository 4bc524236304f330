"""The watcher's HTTP endpoint under slow and idle clients (issue 25): its memory, open connections and threads.

    python -m benchmarks.monitor_slow_clients --run RUN [--clients 50] [--seconds 60] [--every 2] [--code DIR]

Starts `python -m core.commands.watch --http` in a child process (a fresh SQLite store in a temporary folder), then
for --seconds keeps --clients hostile connections open: half trickle a request one byte every --every seconds (never
idle long enough for a per-read timeout, never a whole request), half connect and send nothing; a client whose
connection is closed connects again at once. Meanwhile one well-behaved client POSTs a tweet every 0.5 s. Prints,
sampled every second on the watcher's process (psutil): its resident memory, its established connections on the
port and its threads (peak and last), the slow clients' reconnections (connections the server cut), and the good
client's answers and latency; then the latency of 50 keep-alive GET /health on one connection (headers and body
in one packet, or Nagle's 40 ms delayed ACK). --code DIR runs the watcher from another checkout (a before/after).
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.measure import ROOT, child_env

TOKEN = "slow-clients-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_watcher(run: Path, code: Path, port: int, db: Path, log) -> subprocess.Popen:
    module = "core.commands.watch" if (code / "core/commands/watch.py").is_file() else "core.monitor.watch"  # older
    cmd = [sys.executable, "-m", module, "--run", str(run), "--http", f"127.0.0.1:{port}"]
    cmd += ["--db", str(db), "--poll", "0.5"]
    env = {**child_env(BADBUZZ_MONITOR_TOKEN=TOKEN), "PYTHONPATH": str(code)}
    return subprocess.Popen(cmd, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            sys.exit("error: the watcher stopped before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("error: the watcher did not answer in time")


class HostileClient(threading.Thread):
    """Keeps one connection open: trickling a request (every > 0) or idle (every == 0); reconnects when cut."""

    def __init__(self, port: int, every: float, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.every, self.stop, self.reconnections = port, every, stop, 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    self._hold(s)
            except OSError:
                pass
            self.reconnections += 1
            self.stop.wait(0.05)

    def _hold(self, s: socket.socket) -> None:
        s.settimeout(self.every or 1.0)
        request = b"POST /tweets HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nX-Pad: " + b"a" * 100_000
        sent = 0
        while not self.stop.is_set():
            if self.every:
                s.sendall(request[sent : sent + 1])
                sent += 1
            try:
                if s.recv(4096) == b"":
                    return  # closed by the server (or answered and closed)
            except TimeoutError:
                continue


def good_client(port: int, stop: threading.Event, results: list) -> None:
    n = 0
    while not stop.is_set():
        body = json.dumps({"tweets": [{"id": f"good-{n}", "text": "love the crew, great flight"}]})
        started = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/tweets", body, {"Authorization": f"Bearer {TOKEN}"})
            status = conn.getresponse().status
            conn.close()
        except OSError as exc:
            status = type(exc).__name__
        results.append((status, time.perf_counter() - started))
        n += 1
        stop.wait(0.5)


def sample(proc: psutil.Process, port: int) -> tuple[float, int, int]:
    """(RSS MiB, established connections on the port, threads) of the watcher."""
    conns = [c for c in proc.net_connections(kind="tcp") if c.laddr and c.laddr.port == port and c.raddr]
    established = sum(1 for c in conns if c.status == psutil.CONN_ESTABLISHED)
    return proc.memory_info().rss / 2**20, established, proc.num_threads()


def keepalive_ms(port: int, requests: int = 50) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        conn.request("GET", "/health")
        conn.getresponse().read()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(times)


def attack(port: int, proc: psutil.Process, args) -> None:
    stop, results = threading.Event(), []
    clients = [HostileClient(port, args.every if i % 2 == 0 else 0.0, stop) for i in range(args.clients)]
    for client in clients:
        client.start()
    good = threading.Thread(target=good_client, args=(port, stop, results), daemon=True)
    good.start()
    samples, started = [], time.time()
    while time.time() - started < args.seconds:
        time.sleep(1)
        samples.append(sample(proc, port))
    stop.set()
    rss, conns, threads = zip(*samples)
    ok = [s for s, _ in results if s == 202]
    latency = sorted(t for s, t in results if s == 202)
    print(
        f"{args.clients} hostile clients ({args.clients - args.clients // 2} trickling a byte every {args.every:g} s, "
        f"{args.clients // 2} idle) for {args.seconds:g} s:"
    )
    print(f"  watcher memory: RSS {rss[0]:.0f} MiB at start, peak {max(rss):.0f} MiB, last {rss[-1]:.0f} MiB")
    print(f"  open connections on the port: peak {max(conns)}, median {statistics.median(conns):.0f}, last {conns[-1]}")
    print(f"  watcher threads: peak {max(threads)}, last {threads[-1]}")
    print(f"  hostile connections cut by the server (reconnections): {sum(c.reconnections for c in clients)}")
    other = sorted({str(s) for s, _ in results if s != 202})
    print(
        f"  good client: {len(ok)} of {len(results)} POSTs answered 202"
        + (f" (others: {', '.join(other)})" if other else "")
    )
    if latency:
        p95 = latency[min(len(latency) - 1, int(0.95 * len(latency)))]
        print(f"  good client latency: median {statistics.median(latency) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, type=Path, help="a run folder (the watcher loads it)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between two bytes of a trickling client")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose watcher runs (default: this one)")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "watcher.log", "w") as log:
        watcher = start_watcher(args.run.resolve(), args.code.resolve(), port, Path(tmp) / "feed.sqlite", log)
        try:
            wait_ready(port, watcher)
            print(f"keep-alive GET /health before: median {keepalive_ms(port):.1f} ms")
            attack(port, psutil.Process(watcher.pid), args)
            time.sleep(1)
            print(f"keep-alive GET /health after: median {keepalive_ms(port):.1f} ms")
        finally:
            watcher.terminate()
            watcher.wait(30)


if __name__ == "__main__":
    main()
