"""Azure ML jobs and deployments, above the use cases: training jobs that run any trainer (jobs), parallel batch
scoring (batch_job, whose workers run batch_score_script), managed online endpoints (deploy) and the same scoring
script served locally (local_endpoint, score_script). The Azure ML server and parallel runner load score_script.py
and batch_score_script.py by path. Their commands are in core.commands (azure_*)."""
