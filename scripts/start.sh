#!/usr/bin/env bash
# Install everything and start the dashboard on http://localhost:8501 (extra arguments go to streamlit).
set -euo pipefail
cd "$(dirname "$0")/.."
BADBUZZ_APT_PACKAGES="wordnet-base wamerican" bash scripts/setup.sh
exec .venv/bin/python -m streamlit run app.py "$@"
