"""Client for a Bad Buzz model served as an Azure ML online endpoint (or locally by azmlinfsrv).

POSTs `{"texts": [...]}` to the scoring URI with `Authorization: Bearer <key>`, in batches, with timeouts and
retries on 429/5xx that honour Retry-After. A local server (http://127.0.0.1 or localhost) needs no key.
An endpoint is billed per instance hour, not per call, so `cost_usd` is 0 here; see core.azure_ml.deploy.
"""

from __future__ import annotations

from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.azure.credentials import (
    ML_ENDPOINT_KEY,
    ML_ENDPOINT_URL,
    CredentialError,
    Credentials,
)
from core.azure.errors import ServiceError
from core.azure.protocol import ENDPOINT_MAX_CHARS, ENDPOINT_MAX_TEXTS, ServiceResult
from core.data.labels import BINARY_CLASSES, classes_for

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_local(url: str) -> bool:
    return urlparse(url).hostname in LOCAL_HOSTS


class EndpointClient:
    """The `azure-endpoint` cloud service (see core.azure.services.CloudService)."""

    key = "azure-endpoint"
    name = "Azure ML endpoint"
    classes = BINARY_CLASSES  # the served run's, once an answer said (a three-way run answers with its classes)

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        credentials: Credentials | None = None,
        deployment: str | None = None,
        batch_size: int = 100,
        connect_timeout: float = 3.0,
        read_timeout: float = 60.0,
        max_retries: int = 3,
        backoff_factor: float = 0.5,
    ):
        self.credentials = credentials or Credentials()
        self._url, self._api_key = url, api_key
        self.deployment = deployment
        self.batch_size = min(batch_size, ENDPOINT_MAX_TEXTS)
        self.timeout = (connect_timeout, read_timeout)
        # Connection errors are retried once only: a stopped server must fail fast, not stall the live page.
        self.retry = Retry(
            total=max_retries,
            connect=1,
            read=0,
            status=max_retries,
            backoff_factor=backoff_factor,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,
            respect_retry_after_header=True,
            raise_on_status=False,
        )

    def _url_value(self) -> str:
        return self._url or self.credentials.get(ML_ENDPOINT_URL)

    def status(self) -> tuple[bool, str]:
        try:
            url = self._url or self.credentials.local(ML_ENDPOINT_URL.name)[0]
            if not url and not self.credentials.where(ML_ENDPOINT_URL):
                return False, (
                    f"{ML_ENDPOINT_URL.name} not set (the scoring URI printed by core.azure_ml.deploy, or "
                    "http://127.0.0.1:5001/score for `python -m core.commands.azure_local_endpoint`)"
                )
            if url and not is_local(url) and not self._api_key and not self.credentials.where(ML_ENDPOINT_KEY):
                return False, f"{ML_ENDPOINT_KEY.name} not set for {url}"
        except CredentialError as exc:
            return False, str(exc)
        return True, ""

    def _headers(self, url: str) -> dict:
        headers = {"Content-Type": "application/json"}
        key = self._api_key or self.credentials.get(ML_ENDPOINT_KEY, required=not is_local(url))
        if key:
            headers["Authorization"] = f"Bearer {key if isinstance(key, str) else key.reveal()}"
        if self.deployment:
            headers["azureml-model-deployment"] = self.deployment
        return headers

    def score(self, texts: list[str]) -> ServiceResult:
        texts = ["" if not isinstance(t, str) else t for t in texts]
        n = len(texts)
        result = ServiceResult(p_pos=[None] * n, labels=[None] * n, errors=[None] * n, details=[None] * n)
        send = []
        for i, text in enumerate(texts):
            if not text.strip():
                result.errors[i] = "empty text"  # the same reason as core.inference.batch
            elif len(text) > ENDPOINT_MAX_CHARS:
                result.errors[i] = (
                    f"{len(text):,} characters: longer than the endpoint's {ENDPOINT_MAX_CHARS:,}, not sent"
                )
            else:
                send.append(i)
        if not send:
            return result
        url = self._url_value()
        headers = self._headers(url)
        with requests.Session() as session:
            session.mount("http://", HTTPAdapter(max_retries=self.retry))
            session.mount("https://", HTTPAdapter(max_retries=self.retry))
            for start in range(0, len(send), self.batch_size):
                rows = send[start : start + self.batch_size]
                body = self._post(session, url, headers, [texts[i] for i in rows], result)
                for i, p, label in zip(rows, body["p_pos"], body["labels"]):
                    result.p_pos[i], result.labels[i] = (None if p is None else float(p)), label
                if "classes" in body:  # a three-way run: its class probabilities too
                    self._keep_proba(body, rows, result)
        self.classes = result.classes
        return result

    @staticmethod
    def _keep_proba(body: dict, rows: list[int], result: ServiceResult) -> None:
        result.classes = classes_for(body["classes"])
        if not result.proba:
            result.proba = [None] * len(result.p_pos)
        for i, row in zip(rows, body["proba"]):
            result.proba[i] = None if row is None else [float(v) for v in row]

    def _post(self, session, url: str, headers: dict, texts: list[str], result: ServiceResult) -> dict:
        try:
            response = session.post(url, json={"texts": texts}, headers=headers, timeout=self.timeout)
        except requests.exceptions.ConnectionError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else type(exc).__name__
            hint = (
                " Start it with `python -m core.commands.azure_local_endpoint --run RUN_DIR`."
                if is_local(url)
                else " Check that the endpoint is deployed and the URL is right."
            )
            raise ServiceError(f"Azure ML endpoint {url} is not reachable ({reason}).{hint}") from None
        except requests.exceptions.Timeout:
            raise ServiceError(f"Azure ML endpoint {url} did not answer within {self.timeout[1]:.0f} s") from None
        retries = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        result.requests += 1 + len(retries)
        if response.status_code in (401, 403):
            raise ServiceError(
                f"Azure ML endpoint {url} rejected the key (HTTP {response.status_code}): check {ML_ENDPOINT_KEY.name}."
            )
        if response.status_code == 404:
            raise ServiceError(
                f"Azure ML endpoint {url} has no scoring route there (404): check "
                f"{ML_ENDPOINT_URL.name}, it usually ends in /score."
            )
        if response.status_code >= 400:
            raise ServiceError(f"Azure ML endpoint {url} answered HTTP {response.status_code}: {_error_text(response)}")
        try:
            body = response.json()
            if len(body["p_pos"]) != len(texts) or len(body["labels"]) != len(texts):
                raise ValueError("one answer per text expected")
            if "classes" in body and (len(body["proba"]) != len(texts) or not classes_for(body["classes"])):
                raise ValueError("one class-probability row per text expected")
        except (ValueError, KeyError, TypeError) as exc:
            raise ServiceError(
                f"Azure ML endpoint {url} answered something that is not a Bad Buzz scoring reply "
                f"({exc}); is core/azure_ml/score_script.py its scoring script?"
            ) from None
        return body


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and "error" in body:
            return str(body["error"])[:300]
        return str(body)[:300]
    except ValueError:
        return response.text[:300]
