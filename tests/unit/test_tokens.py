"""Tokens computed in bulk (core.text.tokens) are exactly the tokeniser's, for any text (in worker processes:
tests/integration/test_token_workers.py)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from core.text.preprocess import tweet_tokens
from core.text.tokens import TOKEN_SEP, joined_tokens, split_tokens

HOSTILE = [
    "",
    "   ",
    f"a{TOKEN_SEP}b",
    TOKEN_SEP,
    "555 123 4567 call me",
    ". . .\n.",
    "@user :-) 🙂 http://x.y",
    "\x00",
]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(HOSTILE))
def test_the_joined_form_round_trips_to_the_tokenisers_tokens(text):
    assert split_tokens(joined_tokens([text])[0]) == tweet_tokens(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.sampled_from([":D XD :P =D ;-P", "LOL :-D GREAT", "O:-) >:D", "Ünïcode ŒUVRE"]))
def test_lowering_after_the_tokeniser_is_nltks_own_lowering(text):
    from nltk.tokenize import TweetTokenizer

    from core.text import preprocess

    nltk_lowered = TweetTokenizer(preserve_case=False, reduce_len=False, strip_handles=False)
    assert [preprocess._lowered(t) for t in preprocess._TWEET_TOKENIZER.tokenize(text)] == nltk_lowered.tokenize(text)
