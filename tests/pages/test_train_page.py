"""The Train page's form, built from the trainers' options dataclasses (tests/unit/test_registry.py checks the
command lines themselves)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.cli import fields
from core.config import PROJECT_ROOT
from core.run_kinds import RUN_KINDS
from core.tracking import devices
from core.training import options
from core.training.registry import trainers
from tests.support.data import make_tweets_csv
from tests.unit import test_new_run_kind as new_run_kind


@pytest.fixture(autouse=True)
def cpu_only_machine(monkeypatch):
    """The Train page's device panel without probing TensorFlow and PyTorch in child processes (seconds each; the
    probe is the pages' and the browser's business): a 2-core machine without a GPU."""
    summary = devices.DeviceSummary("test", 2, 8.0, [], {"torch": devices.FrameworkView("torch", True, "test")})
    monkeypatch.setattr(devices, "device_summary", lambda **_: summary)


WIDGETS = {
    "bool": "checkbox",
    "tristate": "selectbox",
    "choice": "selectbox",
    "int": "number_input",
    "float": "number_input",
    "text": "text_input",
    "list": "multiselect",  # --extra-data: among the data sources
}

EXTRA_DATA_FIELDS = ("extra_data", "extra_repeat")


def test_the_train_page_form_has_one_widget_per_option(tmp_path, monkeypatch):
    """Every trainer's form, and a new kind's from its RunKind alone (tests/unit/test_new_run_kind.py)."""
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BADBUZZ_DATA", str(make_tweets_csv(tmp_path / "tweets.csv")))
    monkeypatch.setitem(RUN_KINDS, new_run_kind.KEY, new_run_kind.ENTRY)
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "train.py"), default_timeout=90).run()
    for spec in trainers().values():
        at.selectbox[0].set_value(spec.key).run()
        assert not at.exception, at.exception
        defaults = {f.name: fields.default_of(f) for f in options.form_fields(spec.options)}
        for field in options.form_fields(spec.options):
            widget = "selectbox" if field.name == "init_from" else WIDGETS[fields.option_kind(spec.options, field)]
            key = f"opt-{spec.key}-{field.name}"
            shown = 0 if not spec.run_kind.trains and field.name in EXTRA_DATA_FIELDS else 1  # no training split
            shown *= fields.applies(field, defaults)  # e.g. no hashing size with the default TF-IDF features
            assert [w.key for w in getattr(at, widget)].count(key) == shown, (spec.key, field.name)
            assert all(w.label != field.name for w in getattr(at, widget) if w.key == key)  # words, not the name
        shown = "\n".join(str(c.value) for c in at.code)
        assert f"python -m {spec.module} --data " in shown and "--output RUN_DIR" in shown


def test_the_train_page_continues_a_finished_run_of_its_kind_picked_by_name(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    for name, kind, status in (
        ("lstm-a", "keras", "succeeded"),
        ("lstm-b", "keras", "failed"),
        ("tf", "logreg", "succeeded"),
    ):
        (runs / name).mkdir(parents=True)
        meta = {"id": name, "kind": kind, "approach": f"approach {name}", "status": status}
        (runs / name / "run.json").write_text(json.dumps(meta))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(runs))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BADBUZZ_DATA", str(make_tweets_csv(tmp_path / "tweets.csv")))
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "train.py"), default_timeout=90).run()
    at.selectbox[0].set_value("keras").run()
    parent = next(w for w in at.selectbox if w.label == "Continue from run")
    assert parent.value is None and len(parent.options) == 2 and "lstm-a" in parent.options[1]
    parent.set_value("lstm-a").run()
    assert not at.exception and "--init-from lstm-a" in "\n".join(str(c.value) for c in at.code)
