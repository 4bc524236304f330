"""A real, tiny transformer run folder made without the trainer: a 2-layer DistilBERT (dim 32, 40-word
vocabulary) fitted for a few dozen steps on templated tweets, saved like the trainer saves it, exported to ONNX
with the serving rule's decision recorded, and finished with test metrics (so every page lists it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.evaluation.metrics import classification_report
from core.tracking.runs import start_run
from tests.support.data import make_tweets

MAX_LENGTH = 24
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_tokenizer(folder: Path, texts: list[str]):
    """A fast word-level WordPiece tokenizer (tokenizer.json, which scoring reads) over the texts' words."""
    from transformers import DistilBertTokenizer, DistilBertTokenizerFast

    words = sorted({w for t in texts for w in t.lower().split() if w.isalpha()})
    vocab = SPECIAL + words + list("!?.,#@:/0123456789")
    DistilBertTokenizer(vocab={w: i for i, w in enumerate(dict.fromkeys(vocab))}).save_pretrained(folder)
    return DistilBertTokenizerFast.from_pretrained(folder)


def fitted_tiny_model(tokenizer, texts: list[str], labels: np.ndarray, steps: int = 60):
    """A random-initialised tiny DistilBERT trained for `steps` AdamW steps (seconds on a CPU)."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=64
    )
    model = DistilBertForSequenceClassification(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small only waits for its threads, the more so on a busy CPU
    try:
        for _ in range(steps):
            rows = rng.choice(len(texts), size=32, replace=False)
            batch = tokenizer(
                [texts[i] for i in rows], truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt"
            )
            loss = torch.nn.functional.cross_entropy(model(**batch).logits, torch.tensor(labels[rows]))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def make_transformer_run(runs_root: Path, name: str = "transformer-tiny") -> Path:
    """A succeeded `transformer` run under `runs_root`, with model/, onnx/ (fp32 + int8) and the decision."""
    from core.models.onnx_export import export_run, record
    from core.models.transformer import load_run

    rows = make_tweets(900, seed=3)
    texts, labels = [text for _, text in rows], np.array([int(target == 4) for target, _ in rows])
    train, val, test = slice(0, 600), slice(600, 750), slice(750, 900)
    with start_run(runs_root / name, kind="transformer", approach="Fine-tuned tiny DistilBERT", params={}) as run:
        model_dir = run.path / "model"
        tokenizer = tiny_tokenizer(model_dir, texts)
        model = fitted_tiny_model(tokenizer, texts[train], labels[train])
        model.save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
        run.update(transformer={"base_model": "tiny", "max_length": MAX_LENGTH})
        manifest = export_run(run.path, texts[val], MAX_LENGTH, check_labels=labels[val], speed_texts=64)
        run.update(**record(manifest, run.meta))
        served = load_run(run.path)
        p_pos = served.predict_proba(texts[test])
        run.finish({"test": classification_report(labels[test], p_pos), "latency": {"batch_tweets_per_s": 1000.0}})
    return runs_root / name


_BUILT: dict[str, Path] = {}


def shared_transformer_run(tmp_path_factory) -> Path:
    """One tiny transformer run per test session, built on first use (copy it before changing it)."""
    if "run" not in _BUILT:
        _BUILT["run"] = make_transformer_run(tmp_path_factory.mktemp("shared-transformer"))
    return _BUILT["run"]
