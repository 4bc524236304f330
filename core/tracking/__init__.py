"""Run folders (run.json, progress, heartbeat, the writer's lock) and the machine's devices."""
