#!/usr/bin/env bash
# Install what Bad Buzz needs into .venv (idempotent). Sourced by start.sh and test.sh.
#   BADBUZZ_REQUIREMENTS  which requirements file (default requirements.txt)
#   BADBUZZ_APT_PACKAGES  Debian packages to install when running as root with apt-get available
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ -n "${BADBUZZ_APT_PACKAGES:-}" ] && command -v apt-get >/dev/null; then
  missing=$(for p in $BADBUZZ_APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing Debian packages: $missing"
    $SUDO apt-get update -q && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
  fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
req=${BADBUZZ_REQUIREMENTS:-requirements.txt}
stamp=.venv/.installed-$(sha256sum "$req" requirements.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$req"
  rm -f .venv/.installed-* && touch "$stamp"
fi
