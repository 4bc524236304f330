#!/usr/bin/env bash
# Install what the tests need (Python packages, and the Debian packages: Chromium and fonts for the browser test,
# wordnet-base and wamerican for the offline NLTK stand-ins, shellcheck for the script lint, postgresql for the
# monitor's database-server test) and run the whole test suite. Extra arguments go to pytest; the exit code is
# pytest's (or the set-up's when that fails).
set -euo pipefail
cd "$(dirname "$0")/.."
BADBUZZ_REQUIREMENTS=requirements-dev.txt \
BADBUZZ_APT_PACKAGES="wordnet-base wamerican chromium fonts-dejavu-core shellcheck postgresql" bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
