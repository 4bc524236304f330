"""Text cleaning: the study's steps as composable options, and a tweet-aware normaliser.

A `Preprocessor` is a list of named steps plus options; its config is JSON and is saved with every model
so that scoring applies exactly the cleaning the model was trained with.

NLTK corpora (stopwords, wordnet, words) are found in NLTK's data path or downloaded on first use. Where
that fails (offline) and fallbacks are allowed, an equivalent local resource is used and `resources` says
so, so run.json records it; with fallbacks off (BADBUZZ_NLTK_FALLBACK=0), the error names the corpus and
the command that fetches it.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import shutil
import string
from functools import cache, lru_cache
from pathlib import Path

from nltk.tokenize import TweetTokenizer
from nltk.tokenize.casual import EMOTICON_RE

from core import config

STRING_STEPS = ("html", "brackets", "links", "newlines", "punctuation", "lowercase", "emoji")
TOKEN_STEPS = ("stopwords", "lemmatize", "english_words")
ALL_STEPS = ("tweet", *STRING_STEPS, *TOKEN_STEPS)
STUDY_STEPS = ["brackets", "links", "newlines", "punctuation", "lowercase", "stopwords", "lemmatize", "english_words"]
NEGATIONS = frozenset(
    {
        "no",
        "not",
        "nor",
        "never",
        "none",
        "nothing",
        "nobody",
        "nowhere",
        "neither",
        "cannot",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "won't",
        "wouldn't",
        "can't",
        "couldn't",
        "shouldn't",
        "haven't",
        "hasn't",
        "hadn't",
        "mustn't",
        "ain't",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "wouldnt",
        "cant",
        "couldnt",
        "shouldnt",
        "havent",
        "hasnt",
        "hadnt",
        "aint",
        "n't",
    }
)

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_BRACKETS = re.compile(r"\[[^\]]*\]|<[^>]*>")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")
_REPEATS = re.compile(r"(\w)\1{2,}")
# Case is kept by the tokeniser and lowered here through a cache: the same result as preserve_case=False (which
# runs an emoticon regex on every token of every tweet), a quarter faster on 1.6 M tweets.
_TWEET_TOKENIZER = TweetTokenizer(preserve_case=True, reduce_len=False, strip_handles=False)

# ------------------------------------------------------------------ the tweet-aware normaliser


def tweet_tokens(text: str) -> list[str]:
    """Tokens of a tweet: entities unescaped, URLs -> 'http', mentions -> '@user', 'soooo' -> 'soo',
    lowercased, negations such as "don't" kept whole."""
    text = html.unescape(text)
    text = _URL.sub(" http ", text)
    text = _MENTION.sub(" @user ", text)
    text = _REPEATS.sub(r"\1\1", text)
    return [_lowered(token) for token in _TWEET_TOKENIZER.tokenize(text)]


@lru_cache(maxsize=1 << 20)
def _lowered(token: str) -> str:
    """NLTK's own rule: emoticons such as ':D' keep their case, every other token is lowercased."""
    return token if EMOTICON_RE.search(token) else token.lower()


def normalize_tweet(text: str) -> str:
    return " ".join(tweet_tokens(text))


def emoji_words(text: str) -> str:
    """Each emoji as its English name in words (the `emoji` package's names): '😞' -> ' disappointed face ',
    so a word model reads a sad face as it reads "disappointed". Sentiment140 (2009) holds no emoji at all, so
    this is how a model trained on it can read them. Measured with TF-IDF logistic regression: the shared test split
    unchanged (-0.01 point), airline tweets with emoji +1.6 points, the emoji probes 3 -> 1 failures of 9."""
    import emoji

    return emoji.replace_emoji(text, replace=_emoji_name) if text else text


def _emoji_name(_chars: str, data: dict) -> str:
    return " " + data["en"].strip(":").replace("_", " ") + " "


def emoji_tweet_tokens(text: str) -> list[str]:
    """`tweet_tokens` of the text with its emoji as words: the TF-IDF tokeniser of runs made since emoji are read
    (a run pickles its tokeniser by name, so older runs keep `tweet_tokens` and their behaviour)."""
    return tweet_tokens(emoji_words(text))


TWEET_TOKENIZERS = (tweet_tokens, emoji_tweet_tokens)  # the tokenisers a logistic-regression run may pickle


# ------------------------------------------------------------------ NLTK resources


class CorpusUnavailable(Exception):
    """An NLTK corpus that is neither installed nor downloadable (and no fallback allowed)."""


def _fallbacks_allowed() -> bool:
    return os.environ.get("BADBUZZ_NLTK_FALLBACK", "1") != "0"


def _nltk_corpus(name: str) -> bool:
    """True when NLTK has the corpus (after a download attempt)."""
    import nltk

    try:
        nltk.data.find(f"corpora/{name}")
        return True
    except LookupError:
        pass
    if os.environ.get("BADBUZZ_NO_DOWNLOAD") != "1":
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                downloaded = nltk.download(name, quiet=True, raise_on_error=True)
            if downloaded:
                nltk.data.find(f"corpora/{name}")
                return True
        except (ValueError, LookupError, OSError):
            pass
    return False


def _unavailable(name: str, fallback_problem: str) -> CorpusUnavailable:
    return CorpusUnavailable(
        f"NLTK corpus '{name}' is not installed and could not be downloaded. Fetch it with "
        f"`python -m nltk.downloader {name}` (or set NLTK_DATA to a folder that holds corpora/{name}). "
        f"{fallback_problem}"
    )


@cache
def stopword_list(keep_negations: bool) -> tuple[frozenset, str]:
    if _nltk_corpus("stopwords"):
        from nltk.corpus import stopwords

        words, source = frozenset(stopwords.words("english")), "nltk:stopwords"
    elif _fallbacks_allowed():
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        words, source = frozenset(ENGLISH_STOP_WORDS), "scikit-learn ENGLISH_STOP_WORDS (NLTK stopwords unavailable)"
    else:
        raise _unavailable("stopwords", "Offline fallbacks are disabled (BADBUZZ_NLTK_FALLBACK=0).")
    return (words - NEGATIONS if keep_negations else words), source


@cache
def english_vocabulary() -> tuple[frozenset, str]:
    if _nltk_corpus("words"):
        from nltk.corpus import words

        return frozenset(w.lower() for w in words.words()), "nltk:words"
    system_words = Path("/usr/share/dict/words")
    if _fallbacks_allowed() and system_words.exists():
        vocab = frozenset(w.strip().lower() for w in system_words.read_text(errors="ignore").split())
        return vocab, f"{system_words.resolve()} (NLTK words unavailable)"
    raise _unavailable("words", "No offline fallback either: install Debian's `wamerican` for /usr/share/dict/words.")


# WordNet 3.0 lexicographer files (the `lexnames` file NLTK needs and Debian's wordnet-base lacks).
_LEXNAMES = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
]
_LEX_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
SYSTEM_WORDNET = Path("/usr/share/wordnet")


def provision_system_wordnet(target_root: Path | None = None, source: Path = SYSTEM_WORDNET) -> Path:
    """Build an NLTK-readable wordnet corpus from the WordNet 3.0 database files (Debian's wordnet-base).

    Files are copied, not linked: NLTK refuses corpus paths reached through symlinks."""
    target_root = Path(target_root or config.artifacts_dir() / "nltk_data")
    corpus = target_root / "corpora" / "wordnet"
    if (corpus / "lexnames").exists():
        return target_root
    tmp = corpus.with_name(".wordnet.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for pos in ("noun", "verb", "adj", "adv"):
        for name in (f"data.{pos}", f"index.{pos}", f"{pos}.exc"):
            shutil.copyfile((source / name).resolve(), tmp / name)
    lexnames = "".join(f"{i:02d}\t{n}\t{_LEX_CATEGORY[n.split('.')[0]]}\n" for i, n in enumerate(_LEXNAMES))
    (tmp / "lexnames").write_text(lexnames)
    # index.sense only maps sense keys between WordNet versions (for OMW); lemmatisation never reads it,
    # but NLTK's reader opens it, so an empty one stands in for the file the Debian package lacks.
    (tmp / "index.sense").write_text("")
    os.replace(tmp, corpus)
    return target_root


@cache
def lemmatizer():
    """(lemmatize function, source)."""
    import nltk
    from nltk.stem import WordNetLemmatizer

    if _nltk_corpus("wordnet"):
        source = "nltk:wordnet"
    elif _fallbacks_allowed() and (SYSTEM_WORDNET / "data.noun").exists():
        root = provision_system_wordnet()
        if str(root) not in nltk.data.path:
            nltk.data.path.insert(0, str(root))
        source = f"WordNet 3.0 from {SYSTEM_WORDNET} (NLTK wordnet unavailable)"
    else:
        raise _unavailable("wordnet", "No offline fallback either: install Debian's `wordnet-base`.")
    lemma = WordNetLemmatizer().lemmatize
    return lru_cache(maxsize=200_000)(lemma), source


# ------------------------------------------------------------------ the composable preprocessor


class Preprocessor:
    """Apply named cleaning steps in order; `tweet` tokenises with the tweet-aware normaliser."""

    def __init__(self, steps: list[str] | tuple[str, ...] = ("tweet",), keep_negations: bool = True):
        unknown = [s for s in steps if s not in ALL_STEPS]
        if unknown:
            raise ValueError(f"unknown preprocessing steps {unknown}; known: {list(ALL_STEPS)}")
        self.steps = list(steps)
        self.keep_negations = keep_negations
        self.resources: dict[str, str] = {}
        self._stop = self._vocab = self._lemma = None
        if "stopwords" in self.steps:
            self._stop, self.resources["stopwords"] = stopword_list(keep_negations)
        if "english_words" in self.steps:
            self._vocab, self.resources["words"] = english_vocabulary()
        if "lemmatize" in self.steps:
            self._lemma, self.resources["wordnet"] = lemmatizer()

    @classmethod
    def study(cls) -> Preprocessor:
        """The study's cleaning chain (stopwords removed, negations included)."""
        return cls(STUDY_STEPS, keep_negations=False)

    def to_config(self) -> dict:
        return {"steps": self.steps, "keep_negations": self.keep_negations, "resources": self.resources}

    @classmethod
    def from_config(cls, cfg: dict) -> Preprocessor:
        return cls(cfg["steps"], keep_negations=cfg.get("keep_negations", True))

    def tokens(self, text: str) -> list[str]:
        text = text if isinstance(text, str) else ""
        tokens: list[str] | None = None
        for step in self.steps:
            if step == "tweet":
                tokens = tweet_tokens(" ".join(tokens) if tokens is not None else text)
            elif step in STRING_STEPS:
                joined = " ".join(tokens) if tokens is not None else text
                text, tokens = _STRING_FUNCS[step](joined), None
            else:
                tokens = self._token_step(step, tokens if tokens is not None else text.split())
        return tokens if tokens is not None else text.split()

    def _token_step(self, step: str, tokens: list[str]) -> list[str]:
        if step == "stopwords":
            return [t for t in tokens if t.lower() not in self._stop]
        if step == "lemmatize":
            return [self._lemma(t) for t in tokens]
        return [t for t in tokens if t.lower() in self._vocab]

    def __call__(self, text: str) -> str:
        return " ".join(self.tokens(text))

    def __repr__(self) -> str:
        return f"Preprocessor({self.steps}, keep_negations={self.keep_negations})"


_STRING_FUNCS = {
    "html": html.unescape,
    "emoji": emoji_words,
    "brackets": lambda t: _BRACKETS.sub(" ", t),
    "links": lambda t: _URL.sub(" ", t),
    "newlines": lambda t: _NEWLINES.sub(" ", t),
    "punctuation": lambda t: _PUNCT.sub(" ", t),
    "lowercase": str.lower,
}
