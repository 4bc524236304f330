"""What a cloud sentiment service answers, and the small interface every client keeps."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ServiceResult:
    p_pos: list[float | None]      # P(positive) per input text, None where there is no answer
    labels: list[str | None]       # the service's own label ('positive'/'neutral'/'negative'/'mixed' for Language)
    errors: list[str | None]       # per-row reason when p_pos is None
    cost_usd: float = 0.0          # estimated cost of the requests actually made (0.0 when served from cache)
    requests: int = 0              # HTTP requests made
    cached: int = 0                # rows answered from the cache
    details: list[dict | None] = field(default_factory=list)  # per-row extras (confidence scores, truncated flag)


class CloudService(Protocol):
    key: str
    name: str

    def status(self) -> tuple[bool, str]: ...

    def score(self, texts: list[str]) -> ServiceResult: ...
