import json
import signal
import subprocess
import sys
import time

import pytest

from core.files import write_json_atomic
from core.tracking import runs
from core.tracking.runs import list_runs, read_run, start_run
from tests.support.data import ROOT


def test_successful_run_is_complete_and_listed(tmp_path):
    with start_run(tmp_path / "r1", kind="logreg", approach="TF-IDF", params={"C": 1}) as run:
        run.progress(phase="train", step=1, steps=2, loss=0.5)
        assert read_run(run.path).status == "running"
        run.finish({"test": {"accuracy": 0.9}})
    info = read_run(tmp_path / "r1")
    assert info.status == "succeeded" and info.metrics["test"]["accuracy"] == 0.9
    assert info.meta["versions"]["python"] and info.meta["timings"]["wall_seconds"] >= 0
    assert info.progress["phase"] == "train"
    assert [r.id for r in list_runs(tmp_path)] == ["r1"]


def test_exception_marks_failed_and_hides_metrics(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with start_run(tmp_path / "bad", kind="logreg", approach="x") as run:
            write_json_atomic(run.path / "metrics.json", {"test": {"accuracy": 1.0}})
            1 / 0
    info = read_run(tmp_path / "bad")
    assert info.status == "failed" and "ZeroDivisionError" in info.meta["error"]
    assert info.metrics == {}  # metrics of a run that did not succeed are never shown


def test_run_without_finish_is_not_succeeded(tmp_path):
    with pytest.raises(RuntimeError, match="finish"):
        with start_run(tmp_path / "r", kind="logreg", approach="x"):
            pass
    assert read_run(tmp_path / "r").status == "failed"


def _start_child(tmp_path, body):
    code = (
        f"import time\n"
        f"from core.tracking.runs import start_run\n"
        f"with start_run({str(tmp_path / 'child')!r}, kind='logreg', approach='x') as run:\n"
        f"    print('started', flush=True)\n    {body}\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "started"
    return proc


def test_sigterm_marks_cancelled(tmp_path):
    proc = _start_child(tmp_path, "time.sleep(60)")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert read_run(tmp_path / "child").status == "cancelled"


def test_killed_process_shows_failed(tmp_path):
    proc = _start_child(tmp_path, "time.sleep(60)")
    assert read_run(tmp_path / "child").status == "running"
    proc.kill()
    proc.wait(timeout=20)
    info = read_run(tmp_path / "child")
    assert info.meta["status"] == "running"  # nothing was written at death...
    assert info.status == "failed" and "died" in info.status_reason  # ...but readers know


def test_stale_heartbeat_from_another_host_shows_failed(tmp_path):
    folder = tmp_path / "remote"
    folder.mkdir()
    write_json_atomic(
        folder / "run.json",
        {
            "id": "remote",
            "kind": "logreg",
            "status": "running",
            "host": "another-machine",
            "pid": 1,
            "timings": {"started_unix": time.time() - 3600},
        },
    )
    (folder / "heartbeat").write_text(str(time.time() - runs.STALE_AFTER_SECONDS - 5))
    assert read_run(folder).status == "failed"
    (folder / "heartbeat").write_text(str(time.time()))
    assert read_run(folder).status == "running"


def test_atomic_write_never_leaves_partial_files(tmp_path):
    target = tmp_path / "x.json"
    write_json_atomic(target, {"a": list(range(1000))})
    assert json.loads(target.read_text())["a"][-1] == 999
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
