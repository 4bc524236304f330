"""Behavioural tests (core/evaluation/behaviour.py, `python -m core.commands.behaviour`): the suite's data files, seeded
expansion, failure rates judged on models whose behaviour is known, the command on a real tiny run, and its
refusal to spend on a cloud run without consent (the fake Language server stands for the service)."""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pytest

from core.commands import behaviour as cli
from core.evaluation import behaviour as bh
from core.models.base import SentimentModel
from tests.support.azure_language_server import LanguageServer


class ConstantModel(SentimentModel):
    """The same P(positive) for every text: never changes its mind, so no INV or DIR test can fail."""

    def __init__(self, p: float):
        super().__init__(f"constant {p}")
        self.p = p

    def _predict(self, texts):
        return np.full(len(texts), self.p)


class NegationBlindModel(SentimentModel):
    """A bag of the suite's own sentiment words that ignores negation: 'not great' reads as 'great'."""

    def __init__(self, lexicon: dict):
        super().__init__("negation-blind")
        self.positive = {w.lower() for key in ("pos_adj", "pos_verb") for w in lexicon[key]}
        self.negative = {w.lower() for key in ("neg_adj", "neg_verb") for w in lexicon[key]}

    def _predict(self, texts):
        scores = []
        for text in texts:
            words = set(re.findall(r"[a-z]+", text.lower()))
            balance = len(words & self.positive) - len(words & self.negative)
            scores.append(0.9 if balance > 0 else 0.1 if balance < 0 else 0.5)
        return np.array(scores)


@pytest.fixture(scope="module")
def suite() -> bh.Suite:
    return bh.load_suite()


def rate(results: dict, name: str) -> float:
    return next(t for t in results["tests"] if t["name"] == name)["failure_rate"]


def test_the_suite_loads_and_expands_the_same_way_every_time(suite):
    assert {t.type for t in suite.tests} == {"MFT", "INV", "DIR"} and len(suite.tests) >= 15
    assert bh.load_suite().fingerprint == suite.fingerprint and re.fullmatch(r"[0-9a-f]{16}", suite.fingerprint)
    first, again = bh.expand_suite(suite, 30), bh.expand_suite(bh.load_suite(), 30)
    assert first == again and all(len(cases) == 30 for cases in first.values())
    assert not any("{" in case.text for cases in first.values() for case in cases)  # every slot filled
    swapped = first["swap the city"]
    assert all(case.perturbed != case.text for case in swapped)
    typos = first["one typo"]
    assert all(case.perturbed != case.text and len(case.perturbed) == len(case.text) for case in typos)
    assert all("@" + case.text.split("@")[1].split()[0] in case.perturbed for case in typos)  # mentions untouched


def test_a_small_template_is_expanded_whole_and_a_large_one_sampled(suite):
    praise = next(t for t in suite.tests if t.name == "clear praise")
    lexicon = {"airline": ("@a", "@b"), "pos_adj": ("good", "fine", "nice")}
    small = bh.Suite(1, 0, "x", lexicon, ())
    one = bh.BehaviourTest("t", "MFT", "c", "d", ("{airline} {pos_adj} {pos_adj2}",), expect="positive")
    assert sorted(c.text for c in bh.expand(one, small, 100)) == sorted(
        f"{a} {x} {y}" for a in lexicon["airline"] for x in lexicon["pos_adj"] for y in lexicon["pos_adj"]
    )
    combinations = sum(
        math.prod(len(suite.lexicon[s.rstrip("0123456789")]) for s in bh._slots(t)) for t in praise.templates
    )
    cases = bh.expand(praise, suite, 50)
    assert combinations > 50 and len(cases) == 50 == len({c.text for c in cases})


def test_failure_rates_are_counted_on_scored_cases_and_worst_examples_first():
    mft = bh.BehaviourTest("m", "MFT", "c", "d", ("x",), expect="positive")
    cases = [bh.Case(t) for t in ("a", "b", "c", "d", "e")]
    judged = bh.judge(mft, cases, {"a": 0.9, "b": 0.2, "c": 0.5, "d": float("nan"), "e": 0.45})
    assert (judged["cases"], judged["unscored"], judged["failures"]) == (4, 1, 2) and judged["failure_rate"] == 0.5
    assert [e["text"] for e in judged["examples"]] == ["b", "e"]
    inv = bh.BehaviourTest("i", "INV", "c", "d", ("x",), perturb={"transform": "upper"})
    pairs = [bh.Case("a", "A"), bh.Case("b", "B"), bh.Case("c", "C")]
    judged = bh.judge(inv, pairs, {"a": 0.9, "A": 0.6, "b": 0.55, "B": 0.45, "c": 0.1, "C": 0.3})
    assert judged["failures"] == 1 and judged["examples"][0]["perturbed"] == "B"
    down = bh.BehaviourTest("d", "DIR", "c", "d", ("x",), perturb={"append": "praise"}, direction="not_down")
    down = bh.BehaviourTest(**{**down.__dict__, "tolerance": 0.05})
    judged = bh.judge(down, pairs, {"a": 0.9, "A": 0.86, "b": 0.5, "B": 0.3, "c": 0.1, "C": 0.9})
    assert judged["failures"] == 1 and judged["examples"][0]["text"] == "b"


def test_a_negation_blind_model_fails_every_negated_case(suite):
    results = bh.run_suite(NegationBlindModel(suite.lexicon), suite, max_cases=40)
    assert rate(results, "negated praise") == 1.0 and rate(results, "negated complaint ('not bad')") == 1.0
    assert rate(results, "clear praise") == 0.0 and rate(results, "clear complaints") < 0.3
    constant = bh.run_suite(ConstantModel(0.9), suite, max_cases=40)
    assert all(t["failure_rate"] == 0.0 for t in constant["tests"] if t["type"] in ("INV", "DIR"))
    assert rate(constant, "sarcasm") == 1.0 and rate(constant, "clear praise") == 0.0
    table = bh.failure_rates({"blind": results, "constant": constant})
    assert list(table.columns) == ["test", "type", "capability", "blind", "constant"]
    assert table.set_index("test").loc["negated praise", "blind"] == 100.0


def test_the_command_writes_results_for_a_real_run(trained_logreg_run, tmp_path, capsys):
    run = tmp_path / "logreg"
    shutil.copytree(trained_logreg_run, run)
    cli.main(["--run", str(run), "--max-cases", "20"])
    results = json.loads((run / "behaviour" / "results.json").read_text())
    assert results["suite"]["fingerprint"] == bh.load_suite().fingerprint and results["max_cases"] == 20
    assert results["run"]["kind"] == "logreg" and all(0 < t["cases"] <= 20 for t in results["tests"])
    assert all(len(t["examples"]) == min(t["failures"], bh.MAX_EXAMPLES) for t in results["tests"])
    out = capsys.readouterr().out
    assert "negated praise" in out and f"written to {run / 'behaviour' / 'results.json'}" in out
    assert bh.read_results(run)["tests"] == results["tests"]


def cloud_run(trained_logreg_run, tmp_path):
    run = tmp_path / "azure-language-eval"
    shutil.copytree(trained_logreg_run, run)
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**meta, "kind": "azure-language", "approach": "Azure AI Language"}))
    return run


def test_a_cloud_run_is_refused_without_consent(trained_logreg_run, tmp_path, capsys, monkeypatch):
    run = cloud_run(trained_logreg_run, tmp_path)
    monkeypatch.setattr("core.azure.services.get_service", lambda *a, **k: pytest.fail("a client was built"))
    for extra in ([], ["--max-records", "10"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["--run", str(run), "--max-cases", "5", *extra])
        err = capsys.readouterr().err.strip()
        assert exit_.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("error: the suite sends")
        assert "to azure-language" in err and ("--yes" in err or "over --max-records 10" in err)
    assert not (run / "behaviour").exists()


def test_a_cloud_run_with_consent_goes_through_the_client_and_its_spend_guard(
    trained_logreg_run, tmp_path, monkeypatch, no_cloud, capsys
):
    run = cloud_run(trained_logreg_run, tmp_path)
    with LanguageServer() as server:
        monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", server.endpoint)
        monkeypatch.setenv("AZURE_LANGUAGE_KEY", server.key)
        cli.main(["--run", str(run), "--max-cases", "2", "--yes"])
        sent = sum(r.documents for r in server.requests)
    results = bh.read_results(run)
    assert sent == results["texts_scored"] > 0 and all(t["unscored"] == 0 for t in results["tests"])
    from core.azure.spend import SpendGuard

    assert SpendGuard().usage()["documents"] == sent  # billed through the spend guard
