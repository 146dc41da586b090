#!/usr/bin/env bash
# The suite under load, as on a shared CI machine: runs the README's test command RUNS times in a
# row (default 5) in a fresh clone while a second fresh clone runs it over and over beside it.
# Exits 0 only if every measured run passed; a failing run's log is kept and its path printed.
# Usage (as root, like CI, so the netlab tests run):  bash test/under-load.sh [RUNS]
set -euo pipefail
runs=${1:-5}
top=$(git rev-parse --show-toplevel)
parent=$(dirname "$top")
# The clones sit beside this one, so that ../shared (the Noise vectors) is found as it is here.
measured=$(mktemp -d "$parent/.p2p-chat-measured.XXXXXX")
load=$(mktemp -d "$parent/.p2p-chat-load.XXXXXX")
logs=$(mktemp -d)
loader=''
cleanup() {
  local status=$?
  if [ -n "$loader" ]; then
    kill -- "-$loader" 2>/dev/null || true
    wait "$loader" 2>/dev/null || true
  fi
  rm -rf "$measured" "$load"
  exit "$status"
}
trap cleanup EXIT
git clone -q "$top" "$measured"
git clone -q "$top" "$load"
(cd "$load" && npm ci --silent >/dev/null)
(cd "$measured" && npm ci --silent >/dev/null)

# The load: the whole suite, again and again, in a process group of its own.
setsid bash -c 'cd "$1" && while true; do CI=true npm test >/dev/null 2>&1 || true; done' _ "$load" &
loader=$!

for i in $(seq 1 "$runs"); do
  log="$logs/run-$i.log"
  if (cd "$measured" && CI=true npm test >"$log" 2>&1); then
    echo "run $i of $runs: passed ($(grep -E '^# tests' "$log" | cut -d' ' -f3) tests)"
  else
    echo "run $i of $runs: FAILED; log in $log"
    grep -E '^ *not ok' "$log" | head -20
    exit 1
  fi
done
echo "all $runs runs passed beside a second copy of the suite"
rm -rf "$logs"
