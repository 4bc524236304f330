"""Complaint reasons (core.reasons): the taxonomy file, zero-shot and learned tagging, the switch rule, and the
clusters of a window with known topics (a stand-in encoder: tests/support/reasons.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.reasons import clusters
from core.reasons.tagger import build_tagger
from core.reasons.taxonomy import DEFAULT, Reason, Taxonomy, TaxonomyError, load_taxonomy, parse_taxonomy
from core.reasons.text import clean
from tests.support.reasons import BACKGROUND, TOPICS, UNRELATED, StandInEncoder, topic_feed

TINY = Taxonomy((
    Reason("Tarmac", "stuck on the tarmac, the plane waits for a gate", ("stuck on the tarmac", "no gate for us")),
    Reason("Bags", "a bag lost at baggage claim", ("my bag is lost", "baggage claim lost my bag")),
    Reason("Wifi", "the wifi on board is not working", ("wifi not working", "no wifi on board")),
))  # fmt: skip
KEY = {"tarmac": "Tarmac", "denver": "Bags", "wifi": "Wifi"}


@pytest.fixture(autouse=True)
def no_umap(monkeypatch):
    """UMAP's numba compilation takes minutes here (benchmarks.reasons times it); the stand-in encoder's vectors
    separate the topics without it, so these windows go straight to HDBSCAN."""
    monkeypatch.setattr(clusters, "UMAP_FROM", 10**9)


@pytest.fixture(scope="module")
def encoder() -> StandInEncoder:
    window, _, previous = topic_feed(0)
    texts = [t for r in TINY.reasons for t in r.texts()]
    return StandInEncoder(window + previous + texts + BACKGROUND + UNRELATED)


def test_the_default_taxonomy_is_the_airline_reasons_and_round_trips_through_its_file(tmp_path):
    assert DEFAULT.names[:2] == ["Late Flight", "Cancelled Flight"] and len(DEFAULT.names) == 9
    assert all(r.description and len(r.examples) == 6 for r in DEFAULT.reasons)
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(DEFAULT.to_json()), encoding="utf-8")
    assert load_taxonomy(path) == DEFAULT


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ([], "expected {"),
        ({"reasons": [{"name": "A", "description": "a"}]}, "1 reasons; give 2 to 50"),
        (
            {"reasons": [{"name": "A", "description": "a"}, {"name": " ", "description": "b"}]},
            "reason 2: name is empty",
        ),
        ({"reasons": [{"name": "A", "description": "a"}, {"name": "a", "examples": ["x"]}]}, "same name as reason 1"),
        ({"reasons": [{"name": "A", "description": "a"}, {"name": "B"}]}, "reason 2 needs a description or"),
        ({"reasons": [{"name": "A", "description": "a"}, {"name": "B", "examples": "x"}]}, "examples must be a list"),
        ({"reasons": [{"name": "A", "description": "a"}, {"name": "B", "colour": 1, "description": "b"}]}, "unknown"),
        ({"reasons": [{"name": "A", "description": 3}, {"name": "B", "description": "b"}]}, "description must be a"),
    ],
)
def test_a_bad_taxonomy_is_refused_in_one_line_naming_the_reason(data, said):
    with pytest.raises(TaxonomyError, match="^taxonomy") as info:
        parse_taxonomy(data)
    assert said in str(info.value) and "\n" not in str(info.value)


def test_a_taxonomy_file_that_is_not_json_says_where(tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_text('{"reasons": [\n  {"name": "secret"', encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"taxonomy file taxonomy.json: not JSON \(line 2") as info:
        load_taxonomy(path)
    assert "secret" not in str(info.value)


def test_clean_strips_mentions_links_and_agents_signatures():
    assert clean("@united my bag ^JP https://t.co/x  lost") == "my bag lost"
    assert clean("@united https://t.co/x") == "(empty)"


def test_zero_shot_tags_tweets_by_their_closest_reason(encoder):
    window, truth, _ = topic_feed(1)
    tagger = build_tagger(encoder, TINY)
    tags = np.array(tagger.tag_texts(window))
    on_topic = truth != "unrelated"
    accuracy = (tags[on_topic] == np.array([KEY[t] for t in truth[on_topic]])).mean()
    assert accuracy >= 0.9 and tagger.head is None and tagger.method.startswith("zero-shot (0 reason tags")


def tags_frame(seed: int, n_per_topic: int) -> pd.DataFrame:
    window, truth, _ = topic_feed(seed, per_topic=n_per_topic)
    keep = truth != "unrelated"
    return pd.DataFrame({"text": np.array(window)[keep], "reason": [KEY[t] for t in truth[keep]]})


def test_the_learned_head_replaces_zero_shot_only_with_enough_tags_that_beat_it(encoder):
    tags = tags_frame(2, 10)
    few = build_tagger(encoder, TINY, tags, min_tags=31)
    assert few.head is None and few.decision.learned_accuracy is None and "tried from 31" in few.method
    enough = build_tagger(encoder, TINY, tags, min_tags=30)
    d = enough.decision
    assert d.tags == 30 and d.learned_accuracy is not None and d.zero_shot_accuracy is not None
    assert d.use_learned == (d.learned_accuracy > d.zero_shot_accuracy)
    assert enough.method.startswith("learned from 30") == d.use_learned


def test_with_prototypes_that_say_nothing_the_head_learns_from_the_tags_and_the_switch_fires(encoder):
    """Descriptions in words the encoder does not know: zero-shot is a guess, the tags teach the head."""
    blind = Taxonomy(tuple(Reason(name, f"kind {i} of complaint") for i, name in enumerate(TINY.names)))
    tagger = build_tagger(encoder, blind, tags_frame(3, 12), min_tags=30)
    d = tagger.decision
    assert d.use_learned and d.learned_accuracy >= 0.9 and d.zero_shot_accuracy <= 0.4 and tagger.head is not None
    window, truth, _ = topic_feed(4)
    on_topic = truth != "unrelated"
    tags = np.array(tagger.tag_texts(window))
    assert (tags[on_topic] == np.array([KEY[t] for t in truth[on_topic]])).mean() >= 0.9
    assert tagger.method.startswith("learned from 36 reason tags (cross-validated")


def test_tags_of_reasons_outside_the_taxonomy_are_left_out(encoder):
    tags = pd.DataFrame({"text": ["a", "b"], "reason": ["Parking", "Food"]})
    assert build_tagger(encoder, TINY, tags, min_tags=1).decision.tags == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_window_with_three_topics_gives_three_clusters_named_by_their_phrases(seed):
    window, truth, previous = topic_feed(seed)
    x = StandInEncoder(window).embed(window)
    labels = clusters.cluster_labels(x)
    names = clusters.name_clusters([clean(t) for t in window], labels, [clean(t) for t in previous])
    for topic in TOPICS:
        values, counts = np.unique(labels[truth == topic], return_counts=True)
        main = values[counts.argmax()]
        assert main != -1 and counts.max() >= 0.8 * (truth == topic).sum()
        assert (truth[labels == main] == topic).mean() >= 0.8
        assert any(topic in phrase.lower() for phrase in names[main]), names[main]
    mains = {np.unique(labels[truth == t], return_counts=True)[0][0] for t in TOPICS}
    assert len(mains) == 3


def test_explain_window_says_mostly_and_what_is_new_with_representatives(encoder):
    window, truth, previous = topic_feed(0)
    reasons = [KEY.get(t, "Bags") for t in truth]
    explanation = clusters.explain_window(encoder.embed(window), window, reasons, previous, method="zero-shot")
    assert [c.size for c in explanation.clusters] == sorted((c.size for c in explanation.clusters), reverse=True)
    assert sum(c.size for c in explanation.clusters) + explanation.unclustered == len(window)
    assert all(len(c.representatives) == 3 and c.reason_share >= 0.8 for c in explanation.clusters)
    summary = explanation.summary()
    assert summary.startswith("mostly: Bags (38 %), Tarmac (31 %); new: '")
    assert any(word in explanation.new.lower() for word in ("tarmac", "denver", "wifi", "baggage claim"))
    assert clusters.Explanation.from_json(json.loads(json.dumps(explanation.to_json()))) == explanation


def test_what_was_said_before_is_not_new(encoder):
    window, _, previous = topic_feed(0)
    x = encoder.embed(window)
    explanation = clusters.explain_window(x, window, ["Bags"] * len(window), previous + window)
    assert explanation.new == "" and explanation.summary().endswith("nothing new against the previous windows")


def test_one_author_tweeting_again_and_again_is_not_new(encoder):
    window, _, previous = topic_feed(0)
    explanation = clusters.explain_window(encoder.embed(window), window, ["Bags"] * len(window), previous,
                                          authors=["same person"] * len(window))  # fmt: skip
    assert explanation.new == ""


def test_a_tiny_window_is_all_unclustered():
    x = np.eye(4, dtype=np.float32)
    explanation = clusters.explain_window(x, ["a b", "c d", "e f", "g h"], ["R"] * 4, [])
    assert (
        explanation.clusters == []
        and explanation.unclustered == 4
        and explanation.summary().startswith("mostly: R (100 %)")
    )
