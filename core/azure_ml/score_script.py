"""Azure ML online endpoint scoring script: `init()` loads a Bad Buzz run, `run(raw)` scores `{"texts": [...]}`.

The same file serves on a managed online endpoint (see core.azure_ml.deploy) and locally under the real
azureml-inference-server-http (see core.azure_ml.local_endpoint). `AZUREML_MODEL_DIR` is the run folder itself or
a folder holding it (Azure mounts a registered folder model one level down). Any local run kind works: the
model is loaded through `core.models.base.load`.

Request:  {"texts": ["tweet", ...]}                       (1 to MAX_TEXTS strings)
Answer:   {"p_pos": [0.93, ...], "labels": ["positive", ...], "reasons": ["", ...], "model": "<approach>",
           "run": "<run id>"}
          a three-way run adds "classes": ["negative", "neutral", "positive"] and "proba": [[0.02, 0.05, 0.93], ...]
          (each text's class probabilities in that order, null where there is no score); its labels read
          negative / neutral / positive. A binary run's answer is unchanged.
Each text gets the answer `python -m core.score` gives it (core.data.csv_reader.prepare_texts): an empty or blank
text gets no score (`null`) and the reason "empty text"; a text longer than MAX_TEXT_CHARS is scored on its
first MAX_TEXT_CHARS characters and its reason says so.
Bad input gets HTTP 400 (or 413 when too large) with {"error": "<what is wrong>"}.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the code folder that holds `core/`
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# after ROOT is on sys.path (E402 is waived for this file in pyproject.toml)
from core.azure.protocol import ENDPOINT_MAX_CHARS, ENDPOINT_MAX_TEXTS
from core.data.csv_reader import prepare_texts
from core.models.base import labels_from_proba

MAX_TEXTS = ENDPOINT_MAX_TEXTS  # texts a request (400 above)
MAX_CHARS = ENDPOINT_MAX_CHARS  # characters a text (413 above); the model sees its first MAX_TEXT_CHARS

logger = logging.getLogger("badbuzz.score_script")
model = None
run_meta: dict = {}


def find_run_dir(model_dir: Path) -> Path:
    for candidate in [model_dir, *sorted(model_dir.glob("*")), *sorted(model_dir.glob("*/*"))]:
        if (candidate / "run.json").is_file():
            return candidate
    raise FileNotFoundError(f"no run.json in {model_dir} or the two levels below it")


def init() -> None:
    global model, run_meta
    from core.models.base import load
    from core.tracking.runs import read_json

    model_dir = os.environ.get("AZUREML_MODEL_DIR")
    if not model_dir:
        raise RuntimeError("AZUREML_MODEL_DIR is not set: start the server with --model_dir RUN_DIR")
    run_dir = find_run_dir(Path(model_dir))
    run_meta = read_json(run_dir / "run.json", {}) or {}
    if run_meta.get("kind", "").startswith("azure-"):
        raise RuntimeError(f"{run_dir} is an {run_meta['kind']} evaluation run; deploy a locally trained run")
    model = load(run_dir)
    model.predict_proba(["warm up"])  # lazy imports and graph building happen before the first request
    logger.info("loaded %s run %s from %s", run_meta.get("kind"), run_meta.get("id"), run_dir)


def _bad_request(message: str, status: int = 400):
    from azureml_inference_server_http.api.aml_response import AMLResponse

    return AMLResponse({"error": message}, status, json_str=True)


def parse_texts(raw) -> list[str]:
    """The texts of a request body, or ValueError saying what is wrong with it."""
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode("utf-8")
    try:
        body = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise ValueError(f'the body is not JSON ({exc.msg} at position {exc.pos}); send {{"texts": [...]}}') from exc
    if not isinstance(body, dict) or "texts" not in body:
        raise ValueError('send a JSON object {"texts": ["tweet", ...]}')
    texts = body["texts"]
    if not isinstance(texts, list) or not texts:
        raise ValueError('"texts" must be a non-empty list of strings')
    if len(texts) > MAX_TEXTS:
        raise OverflowError(f"{len(texts)} texts in one request; send at most {MAX_TEXTS}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f'"texts"[{i}] is {type(text).__name__}, not a string')
        if len(text) > MAX_CHARS:
            raise OverflowError(f'"texts"[{i}] has {len(text)} characters; the limit is {MAX_CHARS}')
    return texts


def run(raw_data):
    try:
        texts = parse_texts(raw_data)
    except OverflowError as exc:
        return _bad_request(str(exc), 413)
    except (ValueError, UnicodeDecodeError) as exc:
        return _bad_request(str(exc))
    p_pos, labels, reasons, proba = score_texts(texts)
    answer = {
        "p_pos": p_pos,
        "labels": labels,
        "reasons": reasons,
        "model": run_meta.get("approach", run_meta.get("kind")),
        "run": run_meta.get("id"),
    }
    if model.three_way:
        answer |= {"classes": list(model.classes), "proba": proba}
    return answer


def score_texts(texts: list[str]) -> tuple[list[float | None], list[str | None], list[str], list]:
    """(P(positive) or None, label or None, reason, class probabilities or None) per text, by the rules
    core.inference.batch applies."""
    model_texts, reasons, usable = prepare_texts(texts)
    raw: list[list[float] | None] = [None] * len(texts)
    ready = [i for i, ok in enumerate(usable) if ok]
    if ready:
        for i, row in zip(ready, model.predict_class_proba([model_texts[i] for i in ready])):
            raw[i] = [float(p) for p in row]
    # labelled before rounding, as core.inference.batch does: 0.4999999 is negative on both paths
    labels = [None if row is None else str(labels_from_proba([row], model.classes)[0]) for row in raw]
    p_pos = [None if row is None else round(row[-1], 6) for row in raw]
    proba = [None if row is None else [round(p, 6) for p in row] for row in raw]
    return p_pos, labels, [str(r) for r in reasons], proba
