"""Azure AI Language sentiment ("Cognitive Services") through azure-ai-textanalytics, API 2023-04-01.

At most 10 documents per request; a document over 5,120 characters is truncated to 5,120 and flagged
(`details[i]["truncated"]`); empty texts are never sent. 429 and 5xx are retried with backoff, honouring
Retry-After; a 403 "out of call volume quota" or a bad key stops the batch with a clear message. Every answer is
cached (same text, same API version: never billed twice) and every batch goes through the spend guard first.

The service answers three ways: `ServiceResult.proba` holds its negative / neutral / positive confidence scores
(`classes` = core.data.labels.THREE_CLASSES), which every scoring path uses, so its neutral stays neutral.
`p_pos` is the folded P(positive) = positive / (positive + negative) confidence, which thresholded at 0.5 folds
neutral and mixed answers into whichever polar side the service leaned to (the evaluation's "neutral folded"
figure); the service's own 4-way label is kept as well.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from core.azure.cache import AnswerCache
from core.azure.credentials import (
    LANGUAGE_ENDPOINT,
    LANGUAGE_KEY,
    CredentialError,
    Credentials,
)
from core.azure.errors import ServiceError
from core.azure.protocol import ServiceResult
from core.azure.spend import Reservation, SpendGuard
from core.data.labels import THREE_CLASSES
from core.pricing import text_records
from core.text.language import UNDETERMINED, detect_language

API_VERSION = "2023-04-01"
MAX_DOCUMENTS_PER_REQUEST = 10
# Each document's `language`: the tweet's own, detected here (a French tweet read as English scores worse);
# DEFAULT_LANGUAGE when no language can be told. A language the service does not support comes back as that
# document's error, in its own row.
AUTO_LANGUAGE = "auto"
DEFAULT_LANGUAGE = "en"
MAX_DOCUMENT_CHARS = 5120
LABELS = ("positive", "neutral", "negative", "mixed")
QUOTA_MARKER = "out of call volume quota"


def p_positive(scores: dict) -> float:
    polar = scores["positive"] + scores["negative"]
    return scores["positive"] / polar if polar > 0 else 0.5


def class_scores(scores: dict) -> list[float]:
    """The negative / neutral / positive confidence scores (THREE_CLASSES order), normalised to sum to 1."""
    row = [float(scores[name]) for name in THREE_CLASSES]
    total = sum(row)
    return [v / total for v in row] if total > 0 else [1 / 3] * 3


def _retry_policy(max_retries: int, backoff_factor: float, backoff_max: float):
    from azure.core.pipeline.policies import RetryPolicy

    class LanguageRetryPolicy(RetryPolicy):
        """azure-core resends a POST on 429 only when Retry-After is present (and on 500/503/504). Sentiment
        analysis has no side effect and a refused request is not billed, so resend on every 429 and 5xx; without
        Retry-After, back off exponentially from the first retry on."""

        def is_retry(self, settings, response):
            status = response.http_response.status_code
            if status == 429 or 500 <= status <= 599:
                return bool(settings["total"])
            return super().is_retry(settings, response)

        def get_backoff_time(self, settings):
            errors = len(settings["history"])
            return min(settings["max_backoff"], settings["backoff"] * 2 ** (errors - 1)) if errors else 0.0

    return LanguageRetryPolicy(
        retry_total=max_retries,
        retry_status=max_retries,
        retry_connect=2,
        retry_backoff_factor=backoff_factor,
        retry_backoff_max=backoff_max,
    )


def _counting_key_policy(api_key: str):
    from azure.core.credentials import AzureKeyCredential
    from azure.core.pipeline.policies import AzureKeyCredentialPolicy

    class CountingKeyPolicy(AzureKeyCredentialPolicy):
        """Runs after the retry policy, so it sees every attempt: counts HTTP requests, retries included."""

        def __init__(self):
            super().__init__(AzureKeyCredential(api_key), "Ocp-Apim-Subscription-Key")
            self.count = 0

        def on_request(self, request):
            self.count += 1
            super().on_request(request)

    return CountingKeyPolicy()


class LanguageClient:
    """The `azure-language` cloud service (see core.azure.services.CloudService)."""

    key = "azure-language"
    name = "Azure AI Language"
    classes = THREE_CLASSES

    def __init__(
        self,
        endpoint: str | None = None,
        api_key: str | None = None,
        credentials: Credentials | None = None,
        client_options: dict | None = None,
        cache: AnswerCache | None = None,
        spend: SpendGuard | None = None,
        language: str = AUTO_LANGUAGE,
        max_retries: int = 6,
        backoff_factor: float = 1.0,
        backoff_max: float = 60.0,
    ):
        self.credentials = credentials or Credentials()
        self._endpoint, self._api_key = endpoint, api_key
        # azure-core waits up to 300 s for a response by default: too long for a live page or a batch
        self.client_options = {"connection_timeout": 10, "read_timeout": 60, **(client_options or {})}
        self._cache, self._spend = cache, spend
        self._held = threading.local()  # the reservation `reserve()` holds for this thread's score() calls
        self.language = language  # AUTO_LANGUAGE: each text's own (doc_language)
        self.retry = (max_retries, backoff_factor, backoff_max)

    def doc_language(self, text: str) -> str:
        """The language the service is told a text is in: the client's fixed one, or (AUTO_LANGUAGE) the one
        core.text.language detects, the service's default ("en") when it cannot tell."""
        if self.language != AUTO_LANGUAGE:
            return self.language
        code = detect_language(text)
        return DEFAULT_LANGUAGE if code == UNDETERMINED else code

    # lazily built: constructing the service for the dashboard's status line must not touch disk or network
    @property
    def cache(self) -> AnswerCache:
        if self._cache is None:
            self._cache = AnswerCache()
        return self._cache

    @property
    def spend(self) -> SpendGuard:
        if self._spend is None:
            self._spend = SpendGuard()
        return self._spend

    def status(self) -> tuple[bool, str]:
        try:
            missing = [
                s.name
                for s, given in ((LANGUAGE_ENDPOINT, self._endpoint), (LANGUAGE_KEY, self._api_key))
                if not given and not self.credentials.where(s)
            ]
        except CredentialError as exc:
            return False, str(exc)
        if missing:
            return False, (
                f"{' and '.join(missing)} not set (environment, .streamlit/secrets.toml, or Key Vault "
                "via AZURE_KEYVAULT_URL)"
            )
        return True, ""

    # ---------------------------------------------------------------------------------------- scoring
    def prepare(self, texts: list[str]) -> list[tuple[str | None, bool]]:
        """(text to send or None when empty, truncated?) per input row."""
        prepared = []
        for text in texts:
            text = "" if text is None or not isinstance(text, str) else text
            if not text.strip():
                prepared.append((None, False))
            else:
                prepared.append((text[:MAX_DOCUMENT_CHARS], len(text) > MAX_DOCUMENT_CHARS))
        return prepared

    def estimate(self, texts: list[str]):
        """The spend estimate for the texts that are not cached yet (no network call)."""
        pending = self._pending(self.prepare(texts))[1]
        return self.spend.estimate(_records(pending.values()), len(pending))

    @contextmanager
    def reserve(self, texts: list[str]):
        """Hold the budget for every text not cached yet before the first request (BudgetExceeded if it does
        not fit); `score()` calls of this thread inside the block draw on it, and what they did not bill is
        released at the end. For a file scored chunk by chunk (core.inference.batch)."""
        pending = self._pending(self.prepare(list(texts)))[1]
        with self.spend.reserve(_records(pending.values()), len(pending)) as reservation:
            self._held.reservation = reservation
            try:
                yield reservation
            finally:
                self._held.reservation = None

    @contextmanager
    def _reservation_for(self, pending: dict[str, str]):
        """The reservation that pays for `pending`: the one `reserve()` holds (topped up when this call needs
        more), else one of its own, released when the call ends."""
        outer: Reservation | None = getattr(self._held, "reservation", None)
        if outer is not None:
            outer.ensure(_records(pending.values()))
            yield outer
            return
        with self.spend.reserve(_records(pending.values()), len(pending)) as reservation:
            yield reservation

    def _pending(self, prepared):
        keys = [AnswerCache.key(API_VERSION, self.doc_language(t), t) if t is not None else None for t, _ in prepared]
        cached = self.cache.get_many([k for k in keys if k])
        pending = {k: t for k, (t, _) in zip(keys, prepared) if k and k not in cached}
        return keys, pending, cached

    def score(self, texts: list[str], on_progress=None) -> ServiceResult:
        texts = list(texts)
        prepared = self.prepare(texts)
        keys, pending, answers = self._pending(prepared)
        cached_rows = sum(1 for k in keys if k in answers)
        doc_errors: dict[str, str] = {}
        requests, cost = 0, 0.0
        if pending:
            with self._reservation_for(pending) as reservation:
                requests, cost = self._score_pending(pending, reservation, answers, doc_errors, on_progress)
        return self._result(prepared, keys, answers, doc_errors, cost, requests, cached_rows)

    def _score_pending(
        self, pending: dict[str, str], reservation: Reservation, answers: dict, doc_errors: dict, on_progress
    ) -> tuple[int, float]:
        """Send the pending texts 10 at a time, billing each request to `reservation`; (requests, cost)."""
        requests, cost = 0, 0.0
        items = list(pending.items())
        for start in range(0, len(items), MAX_DOCUMENTS_PER_REQUEST):
            batch = self._not_answered_meanwhile(items[start : start + MAX_DOCUMENTS_PER_REQUEST], answers)
            if batch:
                try:
                    results, attempts = self._analyze([t for _, t in batch])
                except ServiceError as exc:
                    if not start:
                        raise
                    raise ServiceError(
                        f"{exc} ({start:,} of {len(items):,} new texts were scored before this and "
                        "are cached, so running again resumes there)"
                    ) from None
                requests += attempts
                self._keep_answers(batch, results, answers, doc_errors)
                # Conservative: every document of an accepted request counts, even one the service refused.
                cost += reservation.bill(_records(t for _, t in batch), len(batch), attempts)
            if on_progress:
                on_progress(min(start + MAX_DOCUMENTS_PER_REQUEST, len(items)), len(items))
        return requests, cost

    def _not_answered_meanwhile(self, batch: list[tuple[str, str]], answers: dict) -> list[tuple[str, str]]:
        """Drop the texts another process (sharing the cache) has had answered since this call began."""
        meanwhile = self.cache.get_many([k for k, _ in batch])
        answers.update(meanwhile)
        return [(k, t) for k, t in batch if k not in meanwhile]

    def _keep_answers(self, batch, results, answers: dict, doc_errors: dict) -> None:
        fresh = {}
        for (k, _), doc in zip(batch, results):
            if doc.is_error:
                doc_errors[k] = _document_error(doc.error)
            else:
                scores = doc.confidence_scores
                fresh[k] = {
                    "label": doc.sentiment,
                    "positive": scores.positive,
                    "neutral": scores.neutral,
                    "negative": scores.negative,
                }
        self.cache.put_many(fresh)
        answers.update(fresh)

    def _result(self, prepared, keys, answers, doc_errors, cost, requests, cached_rows) -> ServiceResult:
        p_pos, labels, errors, details, proba = [], [], [], [], []
        for (text, truncated), k in zip(prepared, keys):
            answer = answers.get(k) if k else None
            if answer:
                p_pos.append(p_positive(answer))
                labels.append(answer["label"])
                errors.append(None)
                details.append({**{s: answer[s] for s in ("positive", "neutral", "negative")}, "truncated": truncated})
                proba.append(class_scores(answer))
            else:
                p_pos.append(None)
                labels.append(None)
                errors.append("empty text" if text is None else doc_errors.get(k, "no answer"))
                details.append(None)
                proba.append(None)
        return ServiceResult(
            classes=THREE_CLASSES,
            proba=proba,
            p_pos=p_pos,
            labels=labels,
            errors=errors,
            cost_usd=round(cost, 6),
            requests=requests,
            cached=cached_rows,
            details=details,
        )

    def _analyze(self, texts: list[str]):
        """One request (plus its retries) for at most 10 texts; returns (results, HTTP attempts)."""
        from azure.ai.textanalytics import TextAnalyticsClient
        from azure.core.credentials import AzureKeyCredential
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
        )

        endpoint = self._endpoint or self.credentials.get(LANGUAGE_ENDPOINT)
        api_key = self._api_key or self.credentials.get(LANGUAGE_KEY).reveal()
        counter = _counting_key_policy(api_key)
        client = TextAnalyticsClient(
            endpoint,
            AzureKeyCredential(api_key),
            api_version=API_VERSION,
            authentication_policy=counter,
            retry_policy=_retry_policy(*self.retry),
            **self.client_options,
        )
        docs = [{"id": str(i), "text": t, "language": self.doc_language(t)} for i, t in enumerate(texts)]
        try:
            with client:
                return client.analyze_sentiment(docs, show_opinion_mining=False), counter.count
        except ClientAuthenticationError:
            raise ServiceError(
                f"Azure AI Language rejected the key (401) for {endpoint}: check AZURE_LANGUAGE_KEY "
                "and that it belongs to this endpoint's resource."
            ) from None
        except HttpResponseError as exc:
            raise ServiceError(_http_error_message(exc, endpoint)) from None
        except ServiceRequestError as exc:
            raise ServiceError(
                f"Azure AI Language endpoint {endpoint} is not reachable "
                f"({type(exc).__name__}); check AZURE_LANGUAGE_ENDPOINT and the network."
            ) from None
        except ValueError as exc:  # the SDK's checks on the endpoint or the documents
            raise ServiceError(f"Azure AI Language client error: {exc}") from None


def _http_error_message(exc, endpoint: str) -> str:
    status = exc.status_code
    text = str(exc.message or exc)
    if status == 403 and QUOTA_MARKER in text.lower():
        return (
            "Azure AI Language: out of call volume quota for the free (F0) tier; the batch was stopped. "
            "Wait for the quota to reset or switch the resource to a paid tier."
        )
    if status == 429:
        return "Azure AI Language is still rate limiting (429) after every retry; try again later."
    if status == 403:
        return f"Azure AI Language refused the call (403) at {endpoint}: {text.splitlines()[0]}"
    if status == 404:
        return f"Azure AI Language endpoint {endpoint} does not serve this API (404): check AZURE_LANGUAGE_ENDPOINT."
    if status and status >= 500:
        return f"Azure AI Language kept failing ({status}) after every retry; try again later."
    return f"Azure AI Language answered HTTP {status}: {text.splitlines()[0] if text else ''}"


def _records(texts) -> int:
    return sum(text_records(t) for t in texts)


def _document_error(error) -> str:
    code, message = getattr(error, "code", "error"), getattr(error, "message", "")
    return f"{code}: {message}"


def evaluate_three_class(y_true: list[int], labels: list[str]) -> dict:
    """The study's two evaluations of the service's own labels against 0/1 truth.

    neutral_as_class: 'neutral' and 'mixed' are answers of their own, hence always wrong on polar tweets.
    neutral_folded:   every answer is folded to its polar side by P(positive) >= 0.5 (reported by the caller
                      as the binary metrics); here the 4-way counts per true class.
    """
    counts = {truth: {label: 0 for label in LABELS} for truth in ("negative", "positive")}
    correct = 0
    for y, label in zip(y_true, labels):
        truth = "positive" if int(y) == 1 else "negative"
        counts[truth][label] = counts[truth].get(label, 0) + 1
        correct += label == truth
    n = len(labels)
    return {
        "n": n,
        "accuracy": correct / n if n else None,
        "labels": list(LABELS),
        "confusion": counts,
        "predicted": {label: sum(counts[t][label] for t in counts) for label in LABELS},
    }
