"""core.text.tokens in worker processes (loky): the same tokens, in the same order, as the tokeniser in this process."""

from core.text.preprocess import tweet_tokens
from core.text.tokens import joined_tokens, split_tokens, tweet_token_strings
from tests.unit.test_tokens import HOSTILE


def test_worker_processes_give_the_same_tokens_in_the_same_order():
    texts = [f"tweet {i} is {'great' if i % 2 else 'awful'} @fan{i} #{i}" for i in range(300)] + HOSTILE
    parallel = tweet_token_strings(texts, n_jobs=2, parallel_from=1)
    assert [split_tokens(x) for x in parallel] == [tweet_tokens(t) for t in texts]
    assert tweet_token_strings(texts[:3], n_jobs=2) == joined_tokens(texts[:3])  # few texts: no workers
