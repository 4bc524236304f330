"""The Résumé page's tables: the study's summary, measured, one row per run with quality, speed and cost, plus the
study's figures. What differs between run kinds (notes, serving backend, how inference is priced) is each kind's
RunKind (core.run_kinds).

Costs come from core.pricing (an editable JSON with sources and dates):
- training cost: training seconds x the hourly price of the machine that trained (the configurable local-instance
  price for runs trained here, the Azure ML instance price for runs trained on Azure ML; none for cloud services);
- inference cost per 1,000 tweets: Azure AI Language's price per 1,000 text records (a tweet is one record) for the
  Language service; for a model served from an instance, its hourly price divided by the batched throughput
  measured on the shared test split (full utilisation: an idle endpoint bills its hourly price all the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from core import run_kinds
from core.analysis.compare import GAUGE_COLUMN_PREFIX, SET_COLUMN_PREFIX, evaluation_sets, gauge_errors, set_column
from core.analysis.lineage import describe as describe_lineage
from core.data.loading import source_name
from core.evaluation import eval_sets
from core.evaluation.eval_sets import TEST_SPLIT
from core.models import serving
from core.pricing import load_pricing
from core.tracking.runs import RunInfo

CHARS_PER_TWEET_RECORD = 1000  # a tweet (<= 280 characters) is one Azure Language text record
STUDY_SOURCE = "study (not measured here)"
MEASURED = "measured"
# The original study's figures (its own notebooks, other data subsets): shown for reference, never mixed in.
STUDY_REFERENCES = [
    {"approach": "Keras LSTM (study)", "accuracy": 0.75, "notes": "study's LSTM with pretrained embeddings"},
    {"approach": "DistilBERT fine-tuned (study)", "accuracy": 0.81, "notes": "study's fine-tuned DistilBERT"},
    {
        "approach": "Azure AI Language (study)",
        "accuracy": 0.73,
        "notes": "study's Azure Cognitive Services sentiment, on 500 tweets",
    },
]
COLUMNS = [
    "approach",
    "run",
    "source",
    "accuracy (%)",
    "macro F1 (%)",
    "test split",
    "training time (s)",
    "device",
    "training throughput (tweets/s)",
    "single-tweet latency p50 (ms)",
    "batched throughput (tweets/s)",
    "serving backend",
    "training cost (USD)",
    "inference cost per 1,000 tweets (USD)",
    "cost basis",
    "notes",
    "lineage",
]


@dataclass
class CostSettings:
    """Where the costs come from; the page lets the user change the local-instance price."""

    local_usd_per_hour: float
    local_label: str
    endpoint_instance: str
    endpoint_usd_per_hour: float

    @classmethod
    def from_pricing(cls, pricing: dict | None = None, local_usd_per_hour: float | None = None) -> CostSettings:
        pricing = pricing or load_pricing()
        instances, defaults = pricing["azure_ml_instances"], pricing.get("defaults", {})
        local = defaults.get("local_machine_equivalent", next(iter(instances)))
        endpoint = defaults.get("endpoint_instance", local)
        return cls(
            local_usd_per_hour=float(
                local_usd_per_hour if local_usd_per_hour is not None else instances[local]["per_hour"]
            ),
            local_label=local if local_usd_per_hour is None else "custom price",
            endpoint_instance=endpoint,
            endpoint_usd_per_hour=float(instances[endpoint]["per_hour"]),
        )


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def describe_device(device) -> str:
    """run.json's device (a string, or a dict from the neural trainers) as one short label."""
    if not device:
        return ""
    if isinstance(device, str):
        return device
    if isinstance(device, dict):
        name = device.get("name") or device.get("type") or ""
        extras = [device.get("precision")] if device.get("precision") not in (None, "fp32") else []
        where = device.get("where")
        if where and where != "local":
            extras.append(where)
        return name + (f" ({', '.join(extras)})" if extras else "")
    return str(device)


def trained_on_azure_ml(meta: dict) -> str | None:
    """The Azure ML instance type a run was trained on, when run.json says so."""
    device = meta.get("device") if isinstance(meta.get("device"), dict) else {}
    azureml = meta.get("azureml") if isinstance(meta.get("azureml"), dict) else {}
    return (
        azureml.get("instance_type")
        or device.get("instance_type")
        or (device.get("name") if device.get("where") == "azureml" else None)
    )


def implementation_notes(run: RunInfo) -> str:
    """What the run is, in a few words (its kind's notes), and how many tweets it trained on."""
    kind = run_kinds.run_kind(run.kind)
    notes = kind.notes(run) if kind and kind.notes else []
    if kind and kind.combines_members:
        return ", ".join(notes)  # the members' training is theirs
    sizes = (run.meta.get("data") or {}).get("sizes") or {}
    if sizes.get("train"):
        notes.append(f"{sizes['train']:,} training tweets")
    return ", ".join(notes)


def ensemble_backend(run: RunInfo) -> str:
    """What serves each member of an ensemble, in order ("scikit-learn + ONNX int8")."""
    from core.models.ensemble import recorded_member_path
    from core.tracking.runs import read_run

    members = [read_run(recorded_member_path(m, run.path)) for m in (run.meta.get("ensemble") or {}).get("members", [])]
    return " + ".join(dict.fromkeys(serving_backend(m) if m else "member missing" for m in members))


def serving_backend(run: RunInfo) -> str:
    """What serves the run's model: a backend chosen per run (a transformer: the rule's choice or an operator's
    override, as the loader will pick it), an ensemble's members', else the library or service of its kind."""
    kind = run_kinds.run_kind(run.kind)
    if kind is None:
        return ""
    if kind.combines_members:
        return ensemble_backend(run)
    if not kind.backend_per_run:
        return kind.backend
    backend, how = serving.served_backend(run.path, run.meta)
    return serving.backend_label(backend) + ("" if how == serving.RULE else f" ({how})")


def serving_speed(run: RunInfo, latency: dict) -> tuple[float | None, float | None, str]:
    """(batched tweets/s, single-tweet p50 ms, note) of what serves the run now. The evaluation measured the
    backend served at training time; after an override to another one, that backend's figures from the export's
    check stand in (measured on the validation tweets), and the note says so."""
    measured = _num(latency.get("batch_tweets_per_s")), _num(latency.get("single_p50_ms")), ""
    kind = run_kinds.run_kind(run.kind)
    if not (kind and kind.backend_per_run):
        return measured
    served, _ = serving.served_backend(run.path, run.meta)
    measured_backend = (run.metrics.get("transformer") or {}).get("serving_backend") or serving.rule_choice(
        run.path, run.meta
    )  # older runs do not say: the evaluation loaded the rule's choice
    onnx = run.meta.get("onnx") if isinstance(run.meta.get("onnx"), dict) else {}
    figures = (onnx.get("variants") or {}).get(served) or {}
    if served == measured_backend or not figures.get("tweets_per_s"):
        return measured
    label = serving.backend_label(served)
    return _num(figures["tweets_per_s"]), _num(figures.get("single_p50_ms")), f"{label} speed from the export check"


def serving_figures(run: RunInfo) -> pd.DataFrame:
    """A transformer run's serving decision, one row per backend: the figures the rule judged on (validation
    tweets), its verdict, and which one serves now."""
    onnx = run.meta.get("onnx") if isinstance(run.meta.get("onnx"), dict) else {}
    served, _ = serving.served_backend(run.path, run.meta)
    rows = []
    for name, figures in (onnx.get("variants") or {}).items():
        rows.append(
            {
                "backend": serving.backend_label(name),
                "serves now": name == served,
                "accuracy (%)": _percent(figures.get("accuracy")),
                "label agreement with PyTorch (%)": 100.0
                if name == "torch"
                else _percent(figures.get("label_agreement")),
                "max |ΔP|": _num(figures.get("max_abs_delta")),
                "mean |ΔP|": _num(figures.get("mean_abs_delta")),
                "batched throughput (tweets/s)": _num(figures.get("tweets_per_s")),
                "single-tweet latency p50 (ms)": _num(figures.get("single_p50_ms")),
                "rule": "reference" if name == "torch" else figures.get("reason", ""),
            }
        )
    return pd.DataFrame(rows)


def _percent(value) -> float | None:
    value = _num(value)
    return value * 100 if value is not None else None


def training_cost(run: RunInfo, train_s: float | None, costs: CostSettings, pricing: dict) -> tuple[float | None, str]:
    """(USD, basis) of training: the Azure ML instance it ran on, else this machine's price; none for services."""
    if run_kinds.is_cloud(run.kind) or train_s is None:
        return None, ""
    instance = trained_on_azure_ml(run.meta)
    hourly = pricing["azure_ml_instances"].get(instance, {}).get("per_hour") if instance else None
    if hourly is not None:
        return train_s / 3600 * hourly, f"training on {instance} at {hourly} USD/h"
    return (
        train_s / 3600 * costs.local_usd_per_hour,
        f"training here priced as {costs.local_label} at {costs.local_usd_per_hour:g} USD/h",
    )


def inference_cost(
    run: RunInfo, throughput: float | None, costs: CostSettings, pricing: dict
) -> tuple[float | None, str]:
    """(USD per 1,000 tweets, basis), by the kind's `inference_price`: the Language service's price per record,
    else an instance's hourly price (the endpoint's, or this machine's) over the measured batched throughput."""
    kind = run_kinds.run_kind(run.kind)
    price_by = kind.inference_price if kind else run_kinds.ON_AN_INSTANCE
    if price_by == run_kinds.PER_TEXT_RECORD:
        lang = pricing["azure_language"]
        price = lang["per_1000_text_records"]
        return price, (
            f"{price:g} USD per 1,000 text records after {lang['free_text_records_per_month']:,} free per month"
        )
    if not throughput:
        return None, ""
    if price_by == run_kinds.ON_THE_ENDPOINT:
        hourly, where = costs.endpoint_usd_per_hour, costs.endpoint_instance
    else:
        hourly, where = costs.local_usd_per_hour, costs.local_label
    return (
        hourly / (throughput * 3600) * 1000,
        f"serving on {where} at {hourly:g} USD/h, fully used at the measured throughput",
    )


def run_row(run: RunInfo, costs: CostSettings, pricing: dict) -> dict:
    metrics, meta = run.metrics, run.meta
    test, latency, training = metrics.get("test") or {}, metrics.get("latency") or {}, metrics.get("training") or {}
    train_s = _num(training.get("seconds")) or _num((meta.get("timings") or {}).get("train_seconds"))
    throughput, single_p50, speed_note = serving_speed(run, latency)
    train_cost, train_basis = training_cost(run, train_s, costs, pricing)
    inference, inference_basis = inference_cost(run, throughput, costs, pricing)
    basis = [b for b in (train_basis, inference_basis, speed_note) if b]
    accuracy, f1 = _num(test.get("accuracy")), _num(test.get("f1_macro"))
    return {
        "approach": run.approach,
        "run": run.id,
        "source": MEASURED,
        "accuracy (%)": accuracy * 100 if accuracy is not None else None,
        "macro F1 (%)": f1 * 100 if f1 is not None else None,
        "test split": test_split_label(run),
        **set_accuracies(run),
        **gauge_errors(run),
        "training time (s)": train_s,
        "device": describe_device(meta.get("device")),
        "training throughput (tweets/s)": _num(training.get("tweets_per_s")),
        "single-tweet latency p50 (ms)": single_p50,
        "batched throughput (tweets/s)": throughput,
        "serving backend": serving_backend(run),
        "training cost (USD)": train_cost,
        "inference cost per 1,000 tweets (USD)": inference,
        "cost basis": "; ".join(basis),
        "notes": implementation_notes(run),
        "lineage": describe_lineage(run.meta),
    }


def test_split_label(run: RunInfo) -> str:
    """Which test split "accuracy (%)" was measured on: the data file's name and the split id (no server path)."""
    data = run.meta.get("data") or {}
    if not data.get("split_id"):
        return ""
    name = source_name(data.get("source") or "")
    three_way = " · negative/neutral/positive" if data.get("classes") == 3 else ""  # neutral is a class there
    return (f"{name} · {data['split_id']}" if name else data["split_id"]) + three_way


def test_splits(table: pd.DataFrame) -> pd.Series:
    """Measured runs per test split, largest first (more than one: "accuracy (%)" compares within a split only)."""
    measured = table[(table["source"] == MEASURED) & (table["test split"] != "")]
    return measured["test split"].value_counts()


def set_accuracies(run: RunInfo) -> dict:
    """{"accuracy on <set> (%)": value} for each evaluation set the run was measured on."""
    return {
        set_column(name): _percent(eval_sets.accuracy_on(evaluation))
        for name, evaluation in eval_sets.list_evaluations(run.path).items()
    }


def table_columns(rows: list[dict]) -> list[str]:
    """COLUMNS, with one accuracy column per evaluation set and one gauge error column per gauge file in the rows
    after the test split's figures."""
    prefixes = (SET_COLUMN_PREFIX, GAUGE_COLUMN_PREFIX)
    extra = sorted({key for row in rows for key in row if key.startswith(prefixes) and key not in COLUMNS})
    official = set_column(eval_sets.OFFICIAL_SET)
    extra.sort(key=lambda column: column != official)
    at = COLUMNS.index("test split") + 1
    return [*COLUMNS[:at], *extra, *COLUMNS[at:]]


def summary_table(
    runs: list[RunInfo],
    costs: CostSettings | None = None,
    pricing: dict | None = None,
    best_per_approach: bool = False,
    include_study: bool = True,
    set_name: str = TEST_SPLIT,
) -> pd.DataFrame:
    """Succeeded runs (best accuracy on `set_name` first), then the study's reference rows."""
    pricing = pricing or load_pricing()
    costs = costs or CostSettings.from_pricing(pricing)
    rows = [run_row(r, costs, pricing) for r in runs if r.status == "succeeded" and r.metrics.get("test")]
    columns = table_columns(rows)
    table = pd.DataFrame(rows, columns=columns)
    order = "accuracy (%)" if set_name == TEST_SPLIT else set_column(set_name)
    if len(table):
        table = table.sort_values(order if order in columns else "accuracy (%)", ascending=False, na_position="last")
        if best_per_approach:
            table = table.drop_duplicates("approach", keep="first")
    if include_study:
        study = pd.DataFrame(
            [
                {
                    "approach": r["approach"],
                    "run": "",
                    "source": STUDY_SOURCE,
                    "accuracy (%)": r["accuracy"] * 100,
                    "notes": r["notes"],
                }
                for r in STUDY_REFERENCES
            ],
            columns=columns,
        )
        table = pd.concat([table, study], ignore_index=True) if len(table) else study
    text_columns = ["approach", "run", "source", "test split", "device", "serving backend", "cost basis", "notes"]
    text_columns.append("lineage")
    table[text_columns] = table[text_columns].fillna("")
    numbers = [c for c in table.columns if c not in text_columns]
    table[numbers] = table[numbers].apply(pd.to_numeric, errors="coerce")  # a study row's blanks: NaN, never None
    return table.reset_index(drop=True)


def evaluation_set_names(runs: list[RunInfo]) -> list[str]:
    """TEST_SPLIT, then the sets the succeeded runs were evaluated on."""
    return evaluation_sets([r for r in runs if r.status == "succeeded"])


def on_set(table: pd.DataFrame, set_name: str) -> pd.DataFrame:
    """The measured rows with `accuracy (%)` read on another set (for the accuracy-cost chart); rows without
    that set are left out (the study's figures too: they are not on it)."""
    if set_name == TEST_SPLIT:
        return table
    column = set_column(set_name)
    measured = table[table["source"] == MEASURED]
    if column not in table.columns:
        return measured.iloc[0:0]
    return measured[measured[column].notna()].assign(**{"accuracy (%)": measured[column]})


def missing_set(table: pd.DataFrame, set_name: str) -> list[str]:
    """The measured runs of the table not evaluated on the set."""
    if set_name == TEST_SPLIT:
        return []
    measured = table[table["source"] == MEASURED]
    column = set_column(set_name)
    missing = measured if column not in table.columns else measured[measured[column].isna()]
    return missing["run"].tolist()


def pricing_sources(pricing: dict | None = None) -> list[dict]:
    """What each price is, where it was read and when: shown under the table."""
    pricing = pricing or load_pricing()
    lang = pricing["azure_language"]
    out = [
        {
            "price": f"Azure AI Language: {lang['per_1000_text_records']:g} {pricing.get('currency', 'USD')} per "
            f"1,000 text records, {lang['free_text_records_per_month']:,} free per month",
            "source": lang.get("source", ""),
            "as of": lang.get("as_of", ""),
        }
    ]
    for name, entry in pricing["azure_ml_instances"].items():
        gpu = f", {entry['gpu']}" if entry.get("gpu") else ""
        out.append(
            {
                "price": f"Azure ML {name}: {entry['per_hour']:g} USD/h ({entry.get('vcpus', '?')} vCPU{gpu})",
                "source": pricing.get("azure_ml_source", ""),
                "as of": pricing.get("azure_ml_as_of", ""),
            }
        )
    return out
