"""Safe to put in front of people: one Azure budget across processes, one writer per run folder, and trainers
that fail in one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from core.azure import spend
from core.azure.cache import AnswerCache
from core.azure.errors import ServiceError
from core.azure.language import LanguageClient
from core.azure.spend import BudgetExceeded, LanguagePrice, SpendGuard
from core.tracking.runs import RunFolderInUse, RunFolderLock, read_json, start_run
from tests.support.azure_language_server import LanguageServer
from tests.support.cli import module_argv
from tests.support.data import ROOT, make_tweets, write_headered_csv

PRICE = LanguagePrice(usd_per_1000_records=1.0, free_records_per_month=5000, source="test", as_of="today")
SECRET = "SECRET-TWEET-CONTENT"  # text in the data that must never reach an error line or run.json


class SlowLanguageServer(LanguageServer):
    """The fake Language service, taking `delay` seconds per request, so two scorers overlap."""

    def __init__(self, delay: float = 0.3, **kwargs):
        self.delay = delay
        super().__init__(**kwargs)

    def analyze(self, documents):
        time.sleep(self.delay)
        return super().analyze(documents)


def tweets(prefix: str, n: int) -> list[str]:
    return [f"{prefix} {'love the crew' if i % 2 else 'flight delayed'} #{i}" for i in range(n)]


def billed_documents(server: LanguageServer) -> int:
    return sum(r.documents for r in server.requests if r.status == 200)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("[progress]")]


def _child(code: str) -> subprocess.Popen:
    """A Python child that runs `code`, prints 'ready' and waits for a line on stdin (or to be killed)."""
    script = f"import sys\n{code}\nprint('ready', flush=True)\nsys.stdin.readline()\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _finish(proc: subprocess.Popen, kill: bool = False) -> None:
    if kill:
        proc.kill()
    else:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    proc.wait(timeout=30)


# ---------------------------------------------------------------------------------------- the spend guard


def test_two_scorer_processes_never_spend_past_the_budget_together(tmp_path):
    """Two `core.inference.batch --service azure-language` processes at once, each with a file of 30 one-record tweets,
    and a budget of 30 text records: the fake service bills at most 30 in total and one scorer is refused."""
    artifacts = tmp_path / "artifacts"
    SpendGuard(artifacts / "azure" / "language_usage.json", price=PRICE).set_budget(30)
    for name in ("a", "b"):
        pd.DataFrame({"text": tweets(name, 30)}).to_csv(tmp_path / f"{name}.csv", index=False)
    with SlowLanguageServer(delay=0.3) as server:
        env = {
            **os.environ,
            "AZURE_LANGUAGE_ENDPOINT": server.endpoint,
            "AZURE_LANGUAGE_KEY": server.key,
            "BADBUZZ_ARTIFACTS": str(artifacts),
            "BADBUZZ_SECRETS_FILE": str(tmp_path / "none.toml"),
        }
        scorer = module_argv("core.score", "--service", "azure-language", "--chunk-size", "10")
        procs = [
            subprocess.Popen(
                [*scorer, "--input", str(tmp_path / f"{name}.csv"), "--output", str(tmp_path / f"{name}.out.csv")],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("a", "b")
        ]
        errors = [p.communicate(timeout=180)[1] for p in procs]
        outcomes = list(zip([p.returncode for p in procs], errors))
    assert billed_documents(server) <= 30
    assert sorted(code == 0 for code, _ in outcomes) == [False, True]
    refused = next(err for code, err in outcomes if code != 0)
    assert len(error_lines(refused)) == 1 and "refused before any request" in refused and "Traceback" not in refused
    state = read_json(artifacts / "azure" / "language_usage.json")
    assert state["months"][spend.month_key()]["text_records"] == billed_documents(server) == 30
    assert state["reservations"] == {}  # the winner released its reservation when it finished


def test_a_reservation_held_by_another_process_counts_until_that_process_dies(tmp_path):
    path = tmp_path / "usage.json"
    guard = SpendGuard(path, price=PRICE)
    guard.set_budget(50)
    holder = _child(f"from core.azure.spend import SpendGuard\nr = SpendGuard({str(path)!r}).reserve(40, 40)")
    try:
        assert guard.estimate(20, 20).reserved_elsewhere == 40
        with pytest.raises(BudgetExceeded, match="40 reserved by other running calls"):
            guard.reserve(20, 20)
        with guard.reserve(10, 10):
            pass
    finally:
        _finish(holder, kill=True)  # dies without releasing anything
    with guard.reserve(50, 50) as reservation:
        assert list(guard.reservations()) == [reservation.id]
    assert guard.reservations() == {} and guard.usage()["text_records"] == 0


def test_dead_reused_and_expired_reservations_are_reconciled(tmp_path):
    path = tmp_path / "usage.json"
    guard = SpendGuard(path, price=PRICE)
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    now = time.time()
    entries = {
        "dead": {"pid": int(exited.stdout), "host": socket.gethostname(), "text_records": 10, "touched": now},
        "reused": {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "pid_started": "1",
            "text_records": 10,
            "touched": now,
        },  # our pid, but another process's start time
        "expired": {
            "pid": 1,
            "host": "another-machine",
            "text_records": 10,
            "touched": now - spend.RESERVATION_TTL_S - 1,
        },
        "remote": {"pid": 1, "host": "another-machine", "text_records": 10, "touched": now},
    }
    path.write_text(json.dumps({"budget_text_records": 20, "reservations": entries}))
    assert set(guard.reservations()) == {"remote"}
    with guard.reserve(10, 10) as reservation:  # 10 held elsewhere + 10 = the budget
        assert set(read_json(path)["reservations"]) == {"remote", reservation.id}
        with pytest.raises(BudgetExceeded):
            SpendGuard(path, price=PRICE).reserve(1, 1)


@pytest.fixture
def client(tmp_path):
    def make(server: LanguageServer, budget: int = 1000, **kwargs) -> LanguageClient:
        guard = SpendGuard(tmp_path / "usage.json", price=PRICE)
        guard.set_budget(budget)
        return LanguageClient(
            endpoint=server.endpoint,
            api_key=server.key,
            cache=AnswerCache(tmp_path / "cache.db"),
            spend=guard,
            backoff_factor=0.01,
            **kwargs,
        )

    return make


def test_what_a_failed_call_did_not_bill_is_released(client):
    with LanguageServer(fail_every=2, fail_status=503) as server:  # the second request fails, without retries
        language = client(server, max_retries=0)
        with pytest.raises(ServiceError, match="10 of 25 new texts were scored"):
            language.score(tweets("x", 25))
    assert language.spend.usage()["text_records"] == billed_documents(server) == 10
    assert language.spend.reservations() == {}

    def interrupt(done, total):
        raise RuntimeError("stopped by the caller")

    with LanguageServer() as server:
        language = client(server)
        with pytest.raises(RuntimeError, match="stopped by the caller"):
            language.score(tweets("y", 25), on_progress=interrupt)
    assert language.spend.usage()["text_records"] == 10 + 10 and language.spend.reservations() == {}


def test_cached_texts_are_not_reserved_and_a_file_reservation_pays_for_its_chunks(client):
    texts = tweets("z", 25)
    with LanguageServer() as server:
        language = client(server, budget=25)
        language.score(texts[:10])
        with language.reserve(texts) as reservation:  # 15 left to send: the 10 cached ones are not held
            assert reservation.remaining == 15 == language.spend.estimate(0, 0).reserved_elsewhere
            for start in range(0, 25, 10):
                language.score(texts[start : start + 10])
            assert reservation.remaining == 0
        assert language.spend.usage()["text_records"] == billed_documents(server) == 25
        assert language.spend.reservations() == {}
        assert language.score(texts).requests == 0  # all cached: nothing to reserve, nothing refused


# ---------------------------------------------------------------------------------------- one writer per run


def logreg(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainers.logreg", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_a_second_trainer_on_a_busy_folder_stops_before_loading_data(tmp_path, tiny_csv, bad_data, isolated_artifacts):
    out = tmp_path / "runs" / "shared"
    first = logreg(["--data", str(tiny_csv), "--output", str(out)])
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_bytes() for name in ("run.json", "metrics.json", "model.joblib")}
    splits = sorted((isolated_artifacts / "data" / "splits").iterdir())

    with RunFolderLock(out):  # held as the first trainer holds it while it trains
        second = logreg(["--data", str(bad_data / "fine.csv"), "--output", str(out)])
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert error_lines(second.stderr) == [
        f"error: {out} is in use by another training (pid {os.getpid()}); choose another --output"
    ]
    assert sorted((isolated_artifacts / "data" / "splits").iterdir()) == splits  # its data was never loaded
    assert {name: (out / name).read_bytes() for name in before} == before  # the first one's result is intact

    again = logreg(["--data", str(bad_data / "fine.csv"), "--output", str(out)])  # free again: it may
    assert again.returncode == 0, again.stderr


def test_the_lock_of_a_killed_trainer_is_released_with_its_process(tmp_path):
    folder = tmp_path / "run"
    holder = _child(
        f"from core.tracking.runs import start_run\nrun = start_run({str(folder)!r}, kind='logreg', approach='x')"
        "\nrun.__enter__()"
    )
    try:
        with pytest.raises(RunFolderInUse, match=f"in use by another training \\(pid {holder.pid}\\)"):
            with start_run(folder, kind="logreg", approach="y"):
                pass
        assert read_json(folder / "run.json")["pid"] == holder.pid  # the refused run wrote nothing
    finally:
        _finish(holder, kill=True)
    with start_run(folder, kind="logreg", approach="y") as run:
        run.finish({})
    assert read_json(folder / "run.json")["status"] == "succeeded"


# ---------------------------------------------------------------------------------------- one-line failures


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad-data")
    write_headered_csv(folder / "one_class.csv", [(4, f"{SECRET} love it {i}") for i in range(50)])
    write_headered_csv(
        folder / "three_rows.csv", [(0, f"{SECRET} bad 1"), (4, f"{SECRET} good 2"), (0, f"{SECRET} bad 3")]
    )
    write_headered_csv(folder / "fine.csv", make_tweets(100))
    return folder


TRAINER_FAILURES = {  # case: (trainer module, arguments, expected in the error line, is a run folder marked failed)
    "folder as --data": ("logreg", ["--data", "{data}"], "is a folder", True),
    "missing file": ("logreg", ["--data", "{data}/missing.csv"], "data file not found", True),
    "one class only": ("logreg", ["--data", "{data}/one_class.csv"], "positive tweets only", True),
    "three rows": ("logreg", ["--data", "{data}/three_rows.csv"], "3 usable rows", True),
    "--C auto without validation": (
        "logreg",
        ["--data", "{data}/fine.csv", "--val-size", "0"],
        "--C auto picks C on the validation split",
        False,
    ),
    "bad --C": ("logreg", ["--data", "{data}/fine.csv", "--C", "lots"], "--C must be a positive number", False),
    "unknown option": ("logreg", ["--data", "{data}/fine.csv", "--epochs", "3"], "unrecognized arguments", False),
    "fp16 on a CPU": (
        "transformer",
        ["--data", "{data}/fine.csv", "--device", "cpu", "--precision", "fp16"],
        "needs a CUDA GPU",
        False,
    ),
    "one tweet for the service": (
        "azure_language",
        ["--data", "{data}/fine.csv", "--n", "1"],
        "--n must be at least 2",
        False,
    ),
}


@pytest.mark.parametrize("case", list(TRAINER_FAILURES))
def test_expected_trainer_failures_are_one_line_and_exit_2(case, bad_data, tmp_path, capsys):
    import importlib

    module, args, expected, marks_run = TRAINER_FAILURES[case]
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(f"trainers.{module}").main(
            [a.format(data=bad_data) for a in args] + ["--output", str(out)]
        )
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert len(error_lines(err)) == 1 and err.startswith("error: ") and expected in err and SECRET not in err
    if marks_run:
        meta = read_json(out / "run.json")
        assert meta["status"] == "failed" and meta["error"] == err.strip().removeprefix("error: ")
    else:
        assert not out.exists()  # a bad command line touches no run folder


def test_a_trainer_process_fails_in_one_line_without_a_traceback(bad_data, tmp_path):
    done = logreg(["--data", str(bad_data / "three_rows.csv"), "--output", str(tmp_path / "run")])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert error_lines(done.stderr) == [f"error: {read_json(tmp_path / 'run' / 'run.json')['error']}"]
    assert SECRET not in done.stderr + done.stdout + (tmp_path / "run" / "run.json").read_text()


def test_an_unexpected_error_is_recorded_by_type_and_place_not_by_message(tmp_path):
    with pytest.raises(ValueError):
        with start_run(tmp_path / "run", kind="logreg", approach="x"):
            raise ValueError(f"could not parse row: {SECRET}")
    error = read_json(tmp_path / "run" / "run.json")["error"]
    assert error.startswith("unexpected ValueError at test_concurrency_and_trainer_errors.py:") and SECRET not in error
