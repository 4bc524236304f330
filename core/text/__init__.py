"""Text: the study's cleaning steps, the tweet normaliser and word embeddings (gensim)."""
