"""Models: the SentimentModel interface, a loader per run kind, ONNX export, cloud adapters."""
