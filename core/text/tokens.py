"""Tweet tokens for many texts at once: the tokeniser spread over the machine's cores.

NLTK's TweetTokenizer costs ~100 µs a tweet, which is most of logistic regression's time on 1.6 M tweets. Each
text's tokens travel between processes as one string joined by TOKEN_SEP (the ASCII unit separator), far
lighter to pickle and hold than lists of strings; `split_tokens` turns one back into its list. A text that
itself contains TOKEN_SEP keeps its token list as is, so the round trip is exact for every text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.text.preprocess import tweet_tokens
from core.tracking.devices import usable_cores

TOKEN_SEP = "\x1f"
PARALLEL_MIN_TEXTS = 10_000  # one core.score chunk; below this, handing texts to workers costs more than it saves
CHUNK_TEXTS = 20_000


Tokenizer = Callable[[str], list[str]]


def joined_tokens(texts: Sequence[str], tokenizer: Tokenizer = tweet_tokens) -> list[str | list[str]]:
    return [_joined(tokenizer(text)) if TOKEN_SEP not in text else tokenizer(text) for text in texts]


def _joined(tokens: list[str]) -> str | list[str]:
    joined = TOKEN_SEP.join(tokens)
    return joined if joined or not tokens else tokens  # [""] would not survive the round trip


def split_tokens(joined: str | list[str]) -> list[str]:
    """The tokens of one `joined_tokens` item (a text without tokens has none)."""
    if isinstance(joined, list):
        return joined
    return joined.split(TOKEN_SEP) if joined else []


def tweet_token_strings(
    texts: Sequence[str],
    n_jobs: int | None = None,
    parallel_from: int = PARALLEL_MIN_TEXTS,
    tokenizer: Tokenizer = tweet_tokens,
) -> list[str | list[str]]:
    """`joined_tokens(texts, tokenizer)`, computed in worker processes when there are many texts and several cores
    (`tokenizer`: a module-level function, so workers can import it)."""
    texts = list(texts)
    jobs = n_jobs or usable_cores()
    if jobs < 2 or len(texts) < parallel_from:
        return joined_tokens(texts, tokenizer)
    from joblib import Parallel, delayed

    size = min(CHUNK_TEXTS, -(-len(texts) // jobs))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    parts = Parallel(n_jobs=jobs, backend="loky")(delayed(joined_tokens)(chunk, tokenizer) for chunk in chunks)
    return [joined for part in parts for joined in part]
