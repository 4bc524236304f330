import pytest

from core.text import preprocess
from core.text.preprocess import CorpusUnavailable, Preprocessor, normalize_tweet


@pytest.fixture
def tiny_nltk_data(tmp_path, monkeypatch):
    """A temporary NLTK_DATA with tiny stopwords and words corpora, in NLTK's own layout."""
    import nltk

    corpora = tmp_path / "corpora"
    (corpora / "stopwords").mkdir(parents=True)
    (corpora / "stopwords" / "english").write_text("the\na\nnot\nis\n")
    (corpora / "words").mkdir()
    (corpora / "words" / "en").write_text("flight\ngood\ncrew\nbag\n")
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    for cached in (preprocess.stopword_list, preprocess.english_vocabulary, preprocess.lemmatizer):
        cached.cache_clear()
    yield tmp_path
    for cached in (preprocess.stopword_list, preprocess.english_vocabulary, preprocess.lemmatizer):
        cached.cache_clear()


def test_tweet_normaliser_placeholders_repeats_and_negations():
    out = normalize_tweet("@united I don't like sooooo many delays &amp; http://t.co/xyz :( #fail")
    assert out == "@user i don't like soo many delays & http :( #fail"


def test_study_steps_are_composable():
    assert (
        Preprocessor(["brackets", "links", "newlines", "punctuation", "lowercase"])(
            "[RT] Great\nflight!! see www.x.com"
        )
        == "great flight see"
    )


def test_nltk_corpora_from_nltk_data(tiny_nltk_data):
    p = Preprocessor(["lowercase", "stopwords", "english_words"], keep_negations=True)
    assert p("The flight is NOT good xyz") == "flight good"  # 'not' kept, then not an English word
    assert Preprocessor(["lowercase", "stopwords"], keep_negations=False)("the flight is not good") == "flight good"
    assert p.resources == {"stopwords": "nltk:stopwords", "words": "nltk:words"}


def test_missing_corpus_names_the_corpus_and_the_command(tiny_nltk_data, monkeypatch):
    monkeypatch.setenv("BADBUZZ_NLTK_FALLBACK", "0")
    with pytest.raises(CorpusUnavailable, match=r"python -m nltk.downloader wordnet"):
        Preprocessor(["lemmatize"])


def test_offline_fallbacks_are_recorded(tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])
    for cached in (preprocess.stopword_list, preprocess.lemmatizer):
        cached.cache_clear()
    if not (preprocess.SYSTEM_WORDNET / "data.noun").exists():
        pytest.skip("Debian wordnet-base is not installed (.ci/run installs it)")
    p = Preprocessor(["lowercase", "stopwords", "lemmatize"])
    assert p("The cars were running") == "car running"
    assert "scikit-learn" in p.resources["stopwords"] and "WordNet 3.0" in p.resources["wordnet"]
    assert Preprocessor.from_config(p.to_config()).steps == p.steps
    for cached in (preprocess.stopword_list, preprocess.lemmatizer):
        cached.cache_clear()


def test_unknown_step_is_refused():
    with pytest.raises(ValueError, match="unknown preprocessing steps"):
        Preprocessor(["stem"])


def test_emoji_become_their_names_in_words():
    from core.text.preprocess import emoji_tweet_tokens, emoji_words

    assert emoji_words("on my way with @united 😞").split() == [
        "on",
        "my",
        "way",
        "with",
        "@united",
        "disappointed",
        "face",
    ]
    assert emoji_words("") == "" and emoji_words("no emoji here") == "no emoji here"
    assert emoji_tweet_tokens("❤️❤️ @crew") == ["red", "heart", "red", "heart", "@user"]
    assert Preprocessor(("emoji", "tweet")).tokens("so late 😡") == ["so", "late", "enraged", "face"]
    assert Preprocessor().tokens("so late 😡") == ["so", "late", "😡"]  # a run's recorded steps keep their behaviour
