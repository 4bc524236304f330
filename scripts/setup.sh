#!/usr/bin/env bash
# Install what Bad Buzz needs into .venv (idempotent: a second run installs nothing). Run by start.sh and test.sh.
#   BADBUZZ_REQUIREMENTS  which requirements file (default requirements.txt)
#   BADBUZZ_APT_PACKAGES  Debian packages wanted (space-separated); scripts/debian_packages.sh installs the missing
#                         ones as root or through sudo, and otherwise says what degrades without them
#   PYTHON                the interpreter that creates .venv (default python3.11, else python3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "Bad Buzz set-up: $*" >&2; }
pick_python() {
  PYTHON=${PYTHON:-python3.11}
  command -v "$PYTHON" >/dev/null || PYTHON=python3
}
pick_python

# Debian packages: the ones asked for, plus Python's venv module (a separate package on Debian/Ubuntu) or
# Python itself when .venv is still to be created and they are missing.
packages=${BADBUZZ_APT_PACKAGES:-}
if [ ! -x .venv/bin/python ]; then
  if ! command -v "$PYTHON" >/dev/null; then
    packages="$packages python3 python3-venv"
  elif ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    packages="$packages python$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
  fi
fi
if [ -n "${packages// /}" ]; then
  # shellcheck disable=SC2086  # a space-separated list of package names
  bash scripts/debian_packages.sh $packages
fi

# The virtual environment (made again when it has no working pip: a venv left half-made by a failed attempt).
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import pip' 2>/dev/null; then
  if ! command -v "$PYTHON" >/dev/null; then
    say "no Python found ($PYTHON). Bad Buzz needs Python 3.11: on Debian/Ubuntu, sudo apt-get install python3 python3-venv"
    exit 1
  fi
  version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ "$version" = 3.11 ] || say "warning: $PYTHON is Python $version; the pinned requirements are meant for Python 3.11"
  [ -e .venv ] && say "re-creating .venv (it has no working pip)"
  rm -rf .venv
  say "creating .venv with $PYTHON (Python $version)"
  if ! "$PYTHON" -m venv .venv; then
    rm -rf .venv
    if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
      say "'$PYTHON -m venv .venv' failed: Python's venv module has no ensurepip. On Debian/Ubuntu it is a" \
          "separate package: install it with 'sudo apt-get install python$version-venv', then run this again."
    else
      say "'$PYTHON -m venv .venv' failed (see its error above)"
    fi
    exit 1
  fi
fi

# The Python packages, once per content of the requirements files (the stamp records which).
stamp_for() { echo ".venv/.installed-$(sha256sum "$1" requirements.txt | sha256sum | cut -c1-16)"; }
req=${BADBUZZ_REQUIREMENTS:-requirements.txt}
stamp=$(stamp_for "$req")
if [ ! -f "$stamp" ]; then
  say "installing the Python packages of $req into .venv (minutes the first time; errors only are shown)"
  pip=(.venv/bin/python -m pip -qq --disable-pip-version-check --no-input)
  "${pip[@]}" install --upgrade pip || say "warning: could not upgrade pip; going on with the one in .venv"
  if ! "${pip[@]}" install -r "$req"; then
    say "pip could not install $req (see its error above); run this command again once it is fixed"
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
  # requirements-dev.txt includes requirements.txt: after test.sh, start.sh has nothing left to install.
  if [ "$req" != requirements.txt ] && grep -qE '^-r[[:space:]]*requirements\.txt' "$req"; then
    touch "$(stamp_for requirements.txt)"
  fi
fi
