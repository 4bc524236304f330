"""A tiny random-initialised BERT with the bundled MiniLM tokenizer, saved like a hub model (no download)."""

from __future__ import annotations

from pathlib import Path

from core.models.transformer import MINILM_ALIAS, resolve_base_model


def save_tiny_bert(folder: Path) -> Path:
    """2 layers of width 32 (about 1 M weights, mostly the MiniLM vocabulary's embeddings) into `folder`."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(MINILM_ALIAS))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
