"""Training: the trainer registry, the shared runner, the launcher and the quick baselines."""
