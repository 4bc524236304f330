"""core.text.language: the cleaning, 'und' for what has no language, and real detections by the bundled model."""

from __future__ import annotations

import pytest

from core.text.language import UNDETERMINED, cleaned_for_detection, detect_language, detect_languages, is_other_language


def test_cleaning_drops_links_handles_hashes_and_emoji():
    text = "@united vol annulé 😡 #fail https://t.co/abc123 www.x.com"
    assert cleaned_for_detection(text) == "vol annulé fail"


@pytest.mark.parametrize("text", ["", "   ", None, float("nan"), "😞😡", "https://t.co/abc123", "@united", "12:45 !!"])
def test_a_text_without_letters_is_undetermined(text):
    assert detect_language(text) == UNDETERMINED


def test_the_bundled_model_tells_french_from_english_tweets():
    assert detect_languages(
        [
            "@AirParadis mon vol est encore annulé, personne au guichet, c'est honteux",
            "@united my flight got cancelled again and nobody at the desk, shameful",
            "Vuelo cancelado otra vez, nadie en el mostrador, qué vergüenza",
        ]
    ) == ["fr", "en", "es"]


def test_an_english_only_model_flags_other_languages_only():
    assert is_other_language("fr", "en") and is_other_language("fr", ["en"])
    assert not is_other_language("en", "en") and not is_other_language(UNDETERMINED, "en")
    assert not is_other_language("fr", "multilingual")


def test_a_run_records_the_languages_of_its_training_tweets_and_reads_those_above_five_percent():
    from core.text.language import language_shares, languages_read, other_language_note

    texts = ["my flight was cancelled again, nobody at the desk"] * 90 + ["mon vol est encore annulé, honteux"] * 10
    shares = language_shares(texts, sample=50)
    assert sum(shares.values()) == pytest.approx(1) and set(shares) == {"en", "fr"}
    assert languages_read({"en": 0.9, "fr": 0.06, "de": 0.04}) == ("en", "fr") and languages_read(None) is None
    assert other_language_note("fr", ("en",)) == "language fr: the model was trained on en tweets only"
    assert other_language_note("fr", "multilingual") == other_language_note("fr", None) == ""
    assert other_language_note("de", ("en",), "worst crew") == ""  # too few words to trust the language
