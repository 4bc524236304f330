#!/usr/bin/env bash
# Install the Debian packages Bad Buzz uses, when they are missing and it can (idempotent).
#   bash scripts/debian_packages.sh PACKAGE...
# As root it runs apt-get; as another user it runs apt-get through sudo (asking for a password only when a
# terminal is there to type it). With no apt-get, or no way to become root, or when apt-get fails, it says what
# is missing and what works less well without it, and exits 0: none of these packages is needed to start the
# dashboard. It exits non-zero only on a usage error.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/debian_packages.sh PACKAGE..." >&2
  exit 2
fi

# What works less well without each package.
without() {
  case $1 in
    wordnet-base) echo "the offline WordNet stand-in is missing: NLTK downloads its own wordnet (needs internet)" ;;
    wamerican) echo "/usr/share/dict/words (the offline stand-in for NLTK's words corpus) is missing: NLTK downloads its own (needs internet)" ;;
    chromium) echo "the browser test (tests/browser/test_browser.py) cannot run and is skipped" ;;
    fonts-dejavu-core) echo "the browser test's screenshots use whatever fonts are there" ;;
    shellcheck) echo "the shell-script lint in tests/integration/test_setup_scripts.py cannot run (skipped locally, fails under CI=true)" ;;
    python3*-venv) echo "Python's venv module cannot create .venv (the set-up stops)" ;;
    python3) echo "there is no Python to create .venv with (the set-up stops)" ;;
    *) echo "some features may not work" ;;
  esac
}

# Say what is missing and what degrades, then give up on the Debian packages (not an error).
give_up() {
  echo "Bad Buzz set-up: $1; not installing the Debian packages: ${missing[*]}" >&2
  local p
  for p in "${missing[@]}"; do
    echo "  without $p: $(without "$p")" >&2
  done
  echo "  (to install them later: sudo apt-get install ${missing[*]})" >&2
  exit 0
}

# A package counts as installed only in the "install ok installed" state (dpkg -s also knows removed packages
# whose configuration files remain).
installed() {
  local status
  status=$(dpkg -s "$1" 2>/dev/null) || return 1
  [[ $status == *"ok installed"* ]]
}

missing=()
if command -v dpkg >/dev/null; then
  for p in "$@"; do
    installed "$p" || missing+=("$p")
  done
else
  missing=("$@")
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

command -v apt-get >/dev/null || give_up "apt-get is not available (not a Debian/Ubuntu system?)"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    give_up "not running as root and sudo is not installed"
  elif sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  elif [ -t 0 ]; then
    echo "Bad Buzz set-up: sudo may ask for your password to install: ${missing[*]}" >&2
    sudo=(sudo)
  else
    give_up "not running as root and sudo needs a password but there is no terminal to type it"
  fi
fi

apt_get() {
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

echo "Bad Buzz set-up: installing Debian packages: ${missing[*]}"
if ! apt_get update -qq; then
  echo "Bad Buzz set-up: apt-get update failed; trying to install from the package lists already there" >&2
fi
if ! apt_get install -y -qq "${missing[@]}"; then
  # One unknown package (chromium is only a snap on Ubuntu) makes apt-get install none: retry one by one.
  failed=("${missing[@]}")
  if [ "${#missing[@]}" -gt 1 ]; then
    echo "Bad Buzz set-up: apt-get install failed; trying one package at a time" >&2
    failed=()
    for p in "${missing[@]}"; do
      apt_get install -y -qq "$p" || failed+=("$p")
    done
  fi
  if [ "${#failed[@]}" -gt 0 ]; then
    missing=("${failed[@]}")
    give_up "apt-get install failed (see above)"
  fi
fi
