"""The Azure ML parallel batch-scoring job (core.azure_ml.batch_job): the parts, the entry script run for real on this
machine with a real logreg run, the merged output against core.score's, and the job spec (nothing submitted)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from core.azure_ml import batch_score_script as entry
from core.azure_ml.batch_job import (
    SUMMARY_FILE,
    build_batch_job,
    collect,
    job_accounting,
    merge_scored,
    prepare,
    split_into_parts,
)
from core.cli.parser import parse_options
from core.commands import azure_batch_job
from core.config import PROJECT_ROOT
from tests.support.cli import score_cli
from tests.support.data import make_tweets, write_official_csv

# records core.score must account for: a quoted line break, doubled quotes, an extra field (malformed), an empty
# text, a lone carriage return, non-ASCII, a text over MAX_TEXT_CHARS and a quote that never closes (malformed)
TRICKY = (
    '4,"multi\nline, with ""quotes"""\n'
    "0,extra,field\n"
    "4,\n"
    '0,"h\u00e9llo \u263a \r lone cr"\n'
    f"4,{'x' * 1200}\n"
    '0,"never closed\n'
    "4,after the bad quote\n"
)


def headered_csv(path: Path) -> Path:
    lines = [f"{target},{text}" for target, text in make_tweets(40)]
    path.write_text("target,text\n" + "\n".join(lines) + "\n" + TRICKY, encoding="utf-8", newline="")
    return path


def official_csv(path: Path) -> Path:
    return write_official_csv(path, [*make_tweets(30), (0, "caf\u00e9 cr\u00e8me"), (4, "")], encoding="latin-1")


def score_as_the_job_does(source: Path, run: Path, work: Path, part_rows: int) -> tuple[Path, str, dict]:
    """Cut, then init() and run() the entry script as the parallel runner would (two mini-batches, the runner's
    own arguments mixed in), then join: (merged CSV, accounting line, manifest). The outputs are laid out as
    `--download` finds them (named-outputs/scored, named-outputs/summary)."""
    manifest = split_into_parts(source, work / "staging", part_rows)
    parts = sorted(str(p) for p in (work / "staging" / "parts").glob("*.csv"))
    scored = work / "named-outputs" / "scored"
    entry.init(
        ["--run", str(run), "--data", str(work / "staging" / "parts"), "--scored", str(scored)]
        + ["--manifest", str(work / "staging" / "manifest.json"), "--logging_level", "INFO"]
    )
    lines = entry.run(parts[:2]) + entry.run(parts[2:])
    assert len(lines) == len(parts)  # one line per file: the runner counts a file without one as failed
    (work / "named-outputs" / "summary").mkdir()
    (work / "named-outputs" / "summary" / SUMMARY_FILE).write_text("\n".join(reversed(lines)) + "\n")
    merge_scored(scored, work / "merged.csv")
    return work / "merged.csv", job_accounting([json.loads(line) for line in lines], manifest), manifest


@pytest.mark.parametrize("make_input", [headered_csv, official_csv], ids=["headered-tricky", "official-latin1"])
def test_the_parallel_entry_script_writes_what_core_score_writes(tmp_path, trained_logreg_run, make_input):
    source = make_input(tmp_path / "tweets.csv")
    merged, accounting, manifest = score_as_the_job_does(source, trained_logreg_run, tmp_path, part_rows=7)
    assert len(manifest["parts"]) >= 4
    reference = tmp_path / "core-score.csv"
    done = score_cli(trained_logreg_run, source, reference)
    assert done.returncode == 0, done.stderr
    assert merged.read_bytes() == reference.read_bytes()  # same rows, columns, order, quoting and line ends
    assert done.stdout.splitlines()[0].startswith(accounting)  # same accounting line
    assert (tmp_path / "named-outputs" / "scored" / "manifest.json").is_file()


def test_malformed_records_are_counted_with_their_line_and_none_is_lost(tmp_path, trained_logreg_run, capsys):
    source = headered_csv(tmp_path / "tweets.csv")
    merged, accounting, manifest = score_as_the_job_does(source, trained_logreg_run, tmp_path, part_rows=5)
    assert manifest["malformed"] == 2 and manifest["malformed_where"] == "lines 44, 49"
    assert manifest["records"] == 47 == manifest["rows"] + manifest["malformed"]
    assert sum(part["rows"] for part in manifest["parts"]) == manifest["rows"]
    assert accounting.startswith("47 records in: ") and accounting.endswith(
        "2 malformed (lines 44, 49); 44 + 1 + 2 = 47"
    )
    with open(merged, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert header == ["target", "text", "score", "label", "reason", "language"] and len(rows) == manifest["rows"] == 45
    assert rows[40][1] == 'multi\nline, with "quotes"' and rows[-1][1:] == ["after the bad quote", *rows[-1][2:]]
    collect(tmp_path)  # what --download does once the job's outputs are down
    assert (tmp_path / "scored.csv").read_bytes() == merged.read_bytes()
    assert capsys.readouterr().out.splitlines() == [
        accounting,
        f"9 scored parts joined into {tmp_path / 'scored.csv'}",
    ]


def test_a_folder_of_parts_is_scored_file_by_file_with_their_own_counts(tmp_path, trained_logreg_run):
    for folder in ("a", "b"):  # the same file name in two sub-folders: two outputs
        (tmp_path / "parts" / folder).mkdir(parents=True)
        (tmp_path / "parts" / folder / "x.csv").write_text("text\ngood day\nbad day\n", encoding="utf-8")
    (tmp_path / "parts" / "b" / "x.csv").write_text('text\ngood day\n"never closed\n', encoding="utf-8")
    entry.init(["--run", str(trained_logreg_run), "--data", str(tmp_path / "parts"), "--scored", str(tmp_path / "out")])
    lines = entry.run([str(tmp_path / "parts" / "a" / "x.csv"), str(tmp_path / "parts" / "b" / "x.csv")])
    summaries = [json.loads(line) for line in lines]
    assert [s["file"] for s in summaries] == ["a__x.csv", "b__x.csv"]
    assert [(s["records"], s["scored"], s["malformed"]) for s in summaries] == [(2, 2, 0), (2, 1, 1)]
    assert (
        job_accounting(summaries)
        == "4 records in: 3 scored, 0 kept without a score, 1 malformed (line 3); 3 + 0 + 1 = 4"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a__x.csv", "b__x.csv"]


# ---------------------------------------------------------------- the job spec


@pytest.fixture
def small_run(tmp_path, trained_logreg_run) -> Path:
    return Path(shutil.copytree(trained_logreg_run, tmp_path / "runs" / "logreg-tiny"))


def test_the_parallel_job_spec(tmp_path, small_run):
    manifest = tmp_path / "staging" / "manifest.json"
    job = build_batch_job(
        small_run, str(tmp_path / "staging" / "parts"), "cpu-cluster", manifest=manifest,
        instance_count=3, processes_per_node=2, mini_batch_size=4, text_column="my text",
    )  # fmt: skip
    spec = job._to_dict()  # the SDK's own serialisation: what is sent to Azure ML
    assert spec["type"] == "pipeline" and spec["compute"] == "azureml:cpu-cluster"
    step = spec["jobs"]["score"]
    assert step["type"] == "parallel" and step["input_data"] == "${{inputs.data}}"
    assert step["mini_batch_size"] == "4" and step["resources"] == {"instance_count": 3}
    assert step["max_concurrency_per_instance"] == 2
    assert step["error_threshold"] == 0 and step["mini_batch_error_threshold"] == 0
    assert step["retry_settings"] == {"max_retries": 2, "timeout": 3600}
    assert step["inputs"]["data"]["type"] == "uri_folder" and step["inputs"]["data"]["mode"] == "ro_mount"
    assert step["inputs"]["data"]["path"].endswith("staging/parts")
    assert step["inputs"]["run"]["type"] == "uri_folder" and step["inputs"]["run"]["path"].endswith("logreg-tiny")
    assert step["inputs"]["manifest"]["type"] == "uri_file"
    assert step["outputs"] == {"scored": "${{parent.outputs.scored}}", "summary": "${{parent.outputs.summary}}"}
    assert spec["outputs"]["scored"] == {"mode": "rw_mount", "type": "uri_folder"}
    task = step["task"]
    assert task["type"] == "run_function" and task["code"] == str(PROJECT_ROOT)
    assert (
        task["entry_script"] == "core/azure_ml/batch_score_script.py"
        and (PROJECT_ROOT / task["entry_script"]).is_file()
    )
    assert task["program_arguments"] == (
        "--run ${{inputs.run}} --data ${{inputs.data}} --scored ${{outputs.scored}} "
        "--manifest ${{inputs.manifest}} --text-column 'my text'"
    )
    assert task["append_row_to"] == "${{outputs.summary}}"
    assert "cuda" not in task["environment"]["image"]
    assert "scikit-learn==1.9.1" in task["environment"]["conda_file"]["dependencies"][-1]["pip"]


def test_batch_dry_run_cuts_the_parts_and_prints_the_spec(tmp_path, small_run, capsys):
    source = headered_csv(tmp_path / "tweets.csv")
    args = ("--run", small_run, "--data", source, "--compute", "cpu-2", "--staging", tmp_path / "stage")
    azure_batch_job.main([*map(str, args), "--part-rows", "20", "--instance-count", "2", "--dry-run"])
    done = capsys.readouterr()
    assert "nothing submitted" in done.out and "entry_script: core/azure_ml/batch_score_script.py" in done.out
    assert "instance_count: 2" in done.out and "mini_batch_size: '1'" in done.out
    assert "tweets.csv: 3 part(s) of up to 20 records" in done.err and "lines 44, 49" in done.err
    assert sorted(p.name for p in (tmp_path / "stage" / "parts").iterdir()) == [f"part-0000{i}.csv" for i in range(3)]


def test_bad_batch_requests_are_refused_before_any_part_is_cut(tmp_path, small_run, capsys):
    source = headered_csv(tmp_path / "tweets.csv")
    no_text = tmp_path / "numbers.csv"
    no_text.write_text("a,b\n1,2\n")
    base = ["--compute", "c", "--staging", str(tmp_path / "stage")]
    cases = {
        ("--run", tmp_path, "--data", source): "not a run folder",
        ("--run", small_run, "--data", tmp_path / "missing.csv"): "data not found",
        ("--run", small_run, "--data", no_text): "no text column",
        ("--run", small_run, "--data", source, "--part-rows", "0"): "must be at least 1",
    }
    for args, why in cases.items():
        with pytest.raises((ValueError, OSError), match=why):
            prepare(parse_options(azure_batch_job.AzureBatchJobOptions, [*base, *map(str, args)]))
    assert not (tmp_path / "stage" / "parts").exists() or not any((tmp_path / "stage" / "parts").iterdir())
    with pytest.raises(SystemExit) as exit_:
        azure_batch_job.main([*base, "--run", str(small_run), "--data", str(source), "--instance-count", "0"])
    done = capsys.readouterr()
    assert exit_.value.code == 2 and done.out == "", done.err
    assert done.err.splitlines() == [
        "error: --instance-count, --processes-per-node, --mini-batch-size and --part-rows must be at least 1"
    ]
