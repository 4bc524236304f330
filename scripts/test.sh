#!/usr/bin/env bash
# Install what the tests need (Python packages, Chromium for the browser test, offline NLTK stand-ins)
# and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BADBUZZ_REQUIREMENTS=requirements-dev.txt \
BADBUZZ_APT_PACKAGES="wordnet-base wamerican chromium fonts-dejavu-core" bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
