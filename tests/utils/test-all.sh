#!/usr/bin/env bash
# `make test`: the whole suite. ansible-core 2.19 (Python 3.11) runs every check; the newest
# ansible-core (Python 3.13, where it exists) runs units and integration at the same time, since
# integration mostly waits on the emulator's snapshot clocks. Each phase prints how long it took.
set -euo pipefail
make_cmd=${MAKE:-make}
tmp=$1
py313=${2:-}
mkdir -p "$tmp"
newest_log=$tmp/test-newest.log
newest_pid=
started=$SECONDS

if [ -n "$py313" ]; then
  echo "== newest ansible-core (Python 3.13): units and integration in the background, log in $newest_log"
  "$make_cmd" --no-print-directory test-newest >"$newest_log" 2>&1 &
  newest_pid=$!
  trap '[ -n "$newest_pid" ] && kill "$newest_pid" 2>/dev/null || true' EXIT
else
  echo "== python3.13 not found: the newest ansible-core is skipped"
fi

for phase in emulator-tests sanity units integration integration-os live-selftest lint docs changelog build; do
  phase_started=$SECONDS
  echo "== $phase (ansible-core 2.19, Python 3.11)"
  "$make_cmd" --no-print-directory "$phase"
  echo "== $phase passed in $((SECONDS - phase_started)) s"
done

if [ -n "$newest_pid" ]; then
  echo "== waiting for the newest ansible-core"
  if wait "$newest_pid"; then
    newest_pid=
    grep -E 'passed in|^Running .* integration' "$newest_log" || true
    echo "== newest ansible-core passed"
  else
    newest_pid=
    cat "$newest_log"
    echo "== newest ansible-core FAILED (log above)"
    exit 1
  fi
fi
echo "make test: all passed in $((SECONDS - started)) s"
