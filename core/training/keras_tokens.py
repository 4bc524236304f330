"""Token lists of many texts, a chunk at a time, in worker processes when there are many texts and several cores.

Kept apart from core.training.keras_data so that a worker imports the preprocessor alone, never Keras or
TensorFlow. Each text's tokens travel back as one string joined by TOKEN_SEP (the ASCII unit separator), far
lighter to pickle than a list of strings; a text whose tokens could not be joined and split back exactly (it
a token holds TOKEN_SEP, or is empty) travels as its list.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache

from core.tracking.devices import usable_cores

CHUNK = 20_000  # tweets tokenised at a time
PARALLEL_FROM = 100_000  # fewer texts are tokenised in this process: starting workers costs seconds
MAX_WORKERS = 8
TOKEN_SEP = "\x1f"
_workers_started = threading.Event()  # release_workers() then has workers to stop


def text_chunks(texts: Sequence, chunk: int = CHUNK) -> Iterator[list]:
    """Consecutive slices of a text column as lists (a pandas Series, Arrow-backed or not, or a list)."""
    slicer = texts.iloc if hasattr(texts, "iloc") else texts
    for start in range(0, len(texts), chunk):
        part = slicer[start : start + chunk]
        yield part.tolist() if hasattr(part, "tolist") else list(part)


def token_lists(
    preprocessor, texts: Sequence, chunk: int = CHUNK, workers: int | None = None, parallel_from: int = PARALLEL_FROM
) -> Iterator[list]:
    """Each chunk's token lists, in order. With many texts and several cores, worker processes tokenise while
    this one numbers the tokens; at most a few chunks are in flight, so memory stays one chunk's per worker."""
    jobs = workers or min(MAX_WORKERS, usable_cores())
    if jobs < 2 or len(texts) < parallel_from:
        for part in text_chunks(texts, chunk):
            yield [preprocessor.tokens(text) for text in part]
        return
    from joblib import Parallel, delayed

    config = json.dumps(preprocessor.to_config())
    _workers_started.set()
    parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator", pre_dispatch="2*n_jobs")
    for joined in parallel(delayed(joined_tokens)(config, part) for part in text_chunks(texts, chunk)):
        yield [item if isinstance(item, list) else (item.split(TOKEN_SEP) if item else []) for item in joined]


def joined_tokens(config: str, texts: list) -> list:
    """A worker's chunk: each text's tokens as one TOKEN_SEP-joined string (lighter to send back than lists),
    or as the list itself where joining could not be undone (a token holds TOKEN_SEP, or is empty)."""
    preprocessor = _preprocessor(config)
    out = []
    for text in texts:
        tokens = preprocessor.tokens(text)
        joined = TOKEN_SEP.join(tokens)
        exact = joined.count(TOKEN_SEP) == max(len(tokens) - 1, 0) and "" not in tokens
        out.append(joined if exact else tokens)
    return out


@lru_cache(maxsize=4)
def _preprocessor(config: str):
    from core.text.preprocess import Preprocessor

    return Preprocessor.from_config(json.loads(config))


def release_workers() -> None:
    """Stop the idle tokenising workers now (joblib keeps them 5 minutes), before training needs the memory."""
    if not _workers_started.is_set():
        return
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    _workers_started.clear()
