"""Data sources: the one CSV reader, Sentiment140 loading and its report, the download, the split."""
