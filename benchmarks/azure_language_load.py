"""Acceptance scenario for the Azure AI Language client, against the local Language-compatible server.

    python -m benchmarks.azure_language_load [--data CSV] [--n 1000] [--throttle-every 3] [--retry-after SECONDS]

Scores N real tweets through the real SDK while the server answers 429 to every third request, then scores the
same tweets again, then tries a budget smaller than the estimate. Prints requests made, the largest batch, rows
lost, second-run requests and the refused run's requests. Cache and usage files live in a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from core.azure.cache import AnswerCache
from core.azure.language import LanguageClient
from core.azure.spend import BudgetExceeded, SpendGuard
from core.config import SHARED_SAMPLE
from tests.support.azure_language_server import LanguageServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED_SAMPLE)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--throttle-every", type=int, default=3)
    parser.add_argument("--retry-after", default=None, help="Retry-After value on 429s (default: none sent)")
    return parser.parse_args(argv)


def first_run(client, server, texts: list[str], args: argparse.Namespace):
    """Score the tweets while the server throttles; print requests, largest batch and rows lost."""
    start = time.perf_counter()
    first = client().score(texts)
    seconds = time.perf_counter() - start
    statuses = [r.status for r in server.requests]
    answered = sum(p is not None for p in first.p_pos)
    lost = len(texts) - answered - sum(1 for e in first.errors if e == "empty text: not sent")
    print(
        f"tweets: {len(texts):,} from {args.data.name}; server: 429 every {args.throttle_every} requests "
        f"(Retry-After: {args.retry_after or 'none'})"
    )
    print(
        f"first run:  {len(server.requests)} requests ({statuses.count(200)} answered, {statuses.count(429)} "
        f"x 429), max {server.max_documents_seen} documents per request, {answered:,} rows answered, "
        f"{lost} rows lost, {seconds:.2f} s, estimated cost ${first.cost_usd:.4f}"
    )
    return first


def second_run(client, server, texts: list[str], first) -> None:
    """Score the same tweets again: they should come from the cache."""
    before = len(server.requests)
    start = time.perf_counter()
    second = client().score(texts)
    print(
        f"second run: {len(server.requests) - before} requests, {second.cached:,} rows from the cache, "
        f"{time.perf_counter() - start:.2f} s, identical answers: {second.p_pos == first.p_pos}"
    )


def budget_run(client, server, spend: SpendGuard, texts: list[str]) -> None:
    """New tweets under a budget smaller than their estimate: the run should be refused."""
    new_texts = [f"{t} (again)" for t in texts]
    spend.set_budget(spend.usage()["text_records"] + 10)
    before = len(server.requests)
    try:
        client().score(new_texts)
        print("budget run: NOT refused")
    except BudgetExceeded as exc:
        print(f"budget run: refused, {len(server.requests) - before} requests made: {exc}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    frame = pd.read_csv(args.data, encoding="latin-1").sample(args.n, random_state=0)
    texts = frame["text"].astype(str).tolist()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LanguageServer(throttle_every=args.throttle_every, retry_after=args.retry_after) as server,
    ):
        spend = SpendGuard(Path(tmp) / "usage.json")
        spend.set_budget(1_000_000)

        def client():
            return LanguageClient(
                endpoint=server.endpoint,
                api_key=server.key,
                spend=spend,
                cache=AnswerCache(Path(tmp) / "cache.sqlite"),
                backoff_factor=0.05,
            )

        first = first_run(client, server, texts, args)
        second_run(client, server, texts, first)
        budget_run(client, server, spend, texts)


if __name__ == "__main__":
    main()
