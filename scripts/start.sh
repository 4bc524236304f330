#!/usr/bin/env bash
# Install everything (scripts/setup.sh) and start the dashboard on http://localhost:8501.
#   bash scripts/start.sh [--network] [--demo] [STREAMLIT ARGUMENTS...]
#   --network  (or BADBUZZ_EXPOSE=1) listen on every interface (0.0.0.0) instead of 127.0.0.1 only; the
#              dashboard then refuses operator actions until authentication is configured
#   --demo     (or BADBUZZ_DEMO=1) when there is no run yet, train the quick baselines (TF-IDF and hashing
#              logistic regression) in the background; its log is artifacts/quickstart.log
# Other arguments go to `streamlit run serve.py` (app.py, warmed as the server starts); a --server.address or
# --server.port given there wins.
set -euo pipefail
cd "$(dirname "$0")/.."

expose=${BADBUZZ_EXPOSE:-0}
demo=${BADBUZZ_DEMO:-0}
address="" address_given=0 port_given=0
args=()
while [ "$#" -gt 0 ]; do
  case $1 in
    --network) expose=1 ;;
    --demo) demo=1 ;;
    -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --server.address) address=${2:-} address_given=1 ;;&
    --server.address=*) address=${1#*=} address_given=1 ;;&
    --server.port|--server.port=*) port_given=1 ;;&
    --server.address|--server.port) args+=("$1"); [ "$#" -gt 1 ] && { shift; args+=("$1"); } ;;
    *) args+=("$1") ;;
  esac
  shift
done
[ "$expose" = 1 ] || expose=0
if [ "$address_given" = 0 ]; then
  if [ "$expose" = 1 ]; then address=0.0.0.0; else address=127.0.0.1; fi
  args+=(--server.address "$address")
fi
[ "$port_given" = 1 ] || args+=(--server.port 8501)
# What the dashboard is told: whether it listens beyond this machine (whoever chose the address).
case $address in
  127.*|localhost|::1) expose=0 ;;
  *) expose=1 ;;
esac

BADBUZZ_APT_PACKAGES="wordnet-base wamerican" bash scripts/setup.sh

if [ "$demo" = 1 ]; then
  artifacts=${BADBUZZ_ARTIFACTS:-artifacts}
  mkdir -p "$artifacts"
  if [ -f core/commands/quickstart.py ]; then
    # In the background and at low priority, so that the dashboard answers as soon as it would without --demo.
    echo "Bad Buzz: --demo: training the quick baselines if there is no run yet (log: $artifacts/quickstart.log)" >&2
    nice -n 10 .venv/bin/python -m core.commands.quickstart --if-no-runs >>"$artifacts/quickstart.log" 2>&1 </dev/null &
  else
    echo "Bad Buzz: --demo: core/commands/quickstart.py is missing; no quick baselines trained" >&2
  fi
fi

if [ "$expose" = 1 ]; then
  echo "Bad Buzz: listening on ${address:-every interface}, not only this machine: operator actions" \
       "(training, cancelling, deleting, cloud calls) are refused until authentication is configured" >&2
fi
export BADBUZZ_EXPOSE=$expose
exec .venv/bin/python -m streamlit run serve.py "${args[@]}"
