"""What a cloud sentiment service answers, and the small interface every client keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from core.data.csv_reader import MAX_FIELD_CHARS

# The Bad Buzz endpoint's request limits, kept by its client (core.azure.endpoint) and its scoring script
# (core.azure_ml.score_script): at most ENDPOINT_MAX_TEXTS texts a request (400 above), and per text what the CSV
# reader reads as one field (413 above), so that any text core.inference.batch answers gets the same answer there.
ENDPOINT_MAX_TEXTS = 1000
ENDPOINT_MAX_CHARS = MAX_FIELD_CHARS


@dataclass
class ServiceResult:
    p_pos: list[float | None]  # P(positive) per input text, None where there is no answer
    labels: list[str | None]  # the service's own label ('positive'/'neutral'/'negative'/'mixed' for Language)
    errors: list[str | None]  # per-row reason when p_pos is None
    cost_usd: float = 0.0  # estimated cost of the requests actually made (0.0 when served from cache)
    requests: int = 0  # HTTP requests made
    cached: int = 0  # rows answered from the cache
    details: list[dict | None] = field(default_factory=list)  # per-row extras (confidence scores, truncated flag)


class CloudService(Protocol):
    key: str
    name: str

    def status(self) -> tuple[bool, str]: ...

    def score(self, texts: list[str]) -> ServiceResult: ...
