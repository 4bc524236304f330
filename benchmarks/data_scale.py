"""Data at scale: reading, the split and the Data page on one official-format file, each step in a fresh process.

    python -m benchmarks.data_scale /tmp/s140_100k.csv /tmp/s140_400k.csv /tmp/s140_1600k.csv

(files from `python -m benchmarks.official_format --rows N --out PATH`). For each file it prints, in seconds
measured inside the child process (imports excluded) and peak RSS of that child (os.wait4):
a bare `pyarrow.csv.read_csv` decoding the text (the yardstick) and one reading every column as bytes (the
floor), `load_dataset` with no fingerprint cache (cold) and with it (warm), `load_split` computed then
reloaded, and the Data page's first render under AppTest with no statistics on disk (cold) then in a new
process with them (warm). `measure(path) -> dict` is the same for the scale benchmark to call.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import child_env, python_code

BARE_READ = """
import pyarrow.csv as pacsv
from core.data.csv_reader import detect_encoding
encoding = {"utf-8-sig": "utf-8"}.get(detect_encoding(PATH), detect_encoding(PATH))
START()
table = pacsv.read_csv(PATH, read_options=pacsv.ReadOptions(encoding=encoding, autogenerate_column_names=True))
STOP(rows=table.num_rows)
"""
BINARY_READ = """
import pyarrow as pa, pyarrow.csv as pacsv
START()
table = pacsv.read_csv(PATH, read_options=pacsv.ReadOptions(autogenerate_column_names=True),
    convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.binary() for i in range(64)}))
STOP(rows=table.num_rows)
"""
LOAD = """
from core.data.loading import load_dataset
START()
loaded = load_dataset(PATH)
STOP(rows=loaded.report.rows_kept, reader=loaded.reader)
"""
SPLIT = """
from core.data.split import load_split
START()
split = load_split(PATH)
STOP(rows=len(split.train) + len(split.val) + len(split.test))
"""
PAGE = """
from streamlit.testing.v1 import AppTest
import core.analysis.data_explorer, views.components.figures, views.components.data_sources  # a server has them
START()
at = AppTest.from_file("views/data.py", default_timeout=600).run()
STOP(exception=bool(at.exception), metrics=[m.value for m in at.metric][:2])
"""
PRELUDE = """
import json, sys, time
PATH = sys.argv[1]
_t = {}
def START(): _t["start"] = time.perf_counter()
def STOP(**extra): print("RESULT " + json.dumps({"seconds": time.perf_counter() - _t["start"], **extra}))
"""


def child(code: str, path: Path, data_dir: Path, env: dict | None = None) -> dict:
    """Run `code` in a fresh interpreter; its own seconds (START..STOP) and the child's peak RSS in MiB."""
    env = {**(env or child_env()), "BADBUZZ_DATA_DIR": str(data_dir), "BADBUZZ_DATA": str(path)}
    env.setdefault("BADBUZZ_NO_DOWNLOAD", "1")
    _, peak, out = python_code(PRELUDE + code, str(path), env=env)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    return {**result, "seconds": round(result["seconds"], 2), "peak_mib": round(peak)}


def measure(path: str | Path, env: dict | None = None) -> dict[str, dict]:
    """Every figure for one file: {step: {"seconds", "peak_mib", ...}}; `load_cold` also has `over_bare_read`
    (load_dataset's seconds over the bare read's). `env`: the children's environment (data folders are set
    here: a fresh one for the cold steps, another for the page)."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        cold, page = Path(tmp) / "cold", Path(tmp) / "page"
        steps = [
            ("bare_read", BARE_READ, cold),
            ("binary_read", BINARY_READ, cold),
            ("load_cold", LOAD, cold),
            ("load_warm", LOAD, cold),
            ("split_first", SPLIT, cold),
            ("split_reload", SPLIT, cold),
            ("page_cold", PAGE, page),
            ("page_warm", PAGE, page),
        ]
        figures = {name: child(code, path, folder, env) for name, code, folder in steps}
    figures["load_cold"]["over_bare_read"] = round(figures["load_cold"]["seconds"] / figures["bare_read"]["seconds"], 2)
    return figures


def main() -> None:
    for path in sys.argv[1:] or ["/tmp/s140_100k.csv"]:
        figures = measure(path)
        print(f"{path}: load_dataset / bare read = {figures['load_cold']['over_bare_read']}x")
        for step, result in figures.items():
            extra = {k: v for k, v in result.items() if k not in ("seconds", "peak_mib")}
            print(f"  {step:13s} {result['seconds']:7.2f} s  peak {result['peak_mib']:5d} MiB  {extra}")


if __name__ == "__main__":
    main()
