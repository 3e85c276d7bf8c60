#!/usr/bin/env bash
# `make test`: the whole suite, on a 2-core machine, in two kinds of lanes that run at the same time:
# - background lanes, each its own make target in its own staged copy: the phases that mostly wait (integration
#   waits on the emulator's snapshot and restore clocks), so they cost little CPU while they run;
# - one foreground lane, one phase after another: the phases that keep a core busy (sanity, units, lint, ...).
# The version matrix: ansible-core 2.19 (Python 3.11) runs every check; 2.20 (Python 3.12) sanity and units;
# the newest (2.21, Python 3.13) sanity, units and integration. Each phase prints how long it took.
# To add a phase: a make target that needs nothing from the others (and stages its own copy if it runs
# ansible-test), then its name in one of the two lists below.
set -euo pipefail
make_cmd=${MAKE:-make}
tmp=$1
py313=${2:-}
py312=${3:-}
mkdir -p "$tmp"
started=$SECONDS

# Mostly waiting: started first, each in the background, logs in $tmp/lane-<name>.log.
background_phases=(integration-oldest awx integration-os live-selftest)
# Keeps a core busy: run here one after another while the background lanes wait.
foreground_phases=(emulator-tests sanity units lint docs changelog build importer)

if [ -n "$py313" ]; then
  background_phases+=(test-newest)
  foreground_phases+=(sanity-newest)
else
  echo "== python3.13 not found: the newest ansible-core is skipped"
fi
if [ -n "$py312" ]; then
  foreground_phases+=(test-2.20)
else
  echo "== python3.12 not found: ansible-core 2.20 is skipped"
fi

phase_started=$SECONDS
echo "== matrix-venvs (every virtualenv, before the lanes share them)"
"$make_cmd" --no-print-directory matrix-venvs
echo "== matrix-venvs passed in $((SECONDS - phase_started)) s"

declare -A lane_pid=()
stop_lanes() {
  local pid
  for pid in "${lane_pid[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap stop_lanes EXIT

for phase in "${background_phases[@]}"; do
  log=$tmp/lane-$phase.log
  echo "== $phase: in the background, log in $log"
  # Its own process group, so that stopping the lane stops everything it started, and its own STAGE_ROOT, so that
  # the foreground phases, which stage the collection anew, never pull the copy it runs from out from under it.
  # The single quotes are for the inner shell, which gets the make command, the phase and the stage as $1 to $3.
  # shellcheck disable=SC2016
  setsid bash -c 'started=$SECONDS; "$1" --no-print-directory "$2" STAGE_ROOT="$3" && echo "== $2 passed in $((SECONDS - started)) s"' \
    _ "$make_cmd" "$phase" "$tmp/stage-$phase" >"$log" 2>&1 &
  lane_pid[$phase]=$!
done

for phase in "${foreground_phases[@]}"; do
  phase_started=$SECONDS
  echo "== $phase"
  "$make_cmd" --no-print-directory "$phase"
  echo "== $phase passed in $((SECONDS - phase_started)) s"
done

failed=()
for phase in "${background_phases[@]}"; do
  log=$tmp/lane-$phase.log
  echo "== waiting for $phase"
  if wait "${lane_pid[$phase]}"; then
    grep -E 'passed in|^Running .* integration' "$log" || true
  else
    cat "$log"
    echo "== $phase FAILED (log above)"
    failed+=("$phase")
  fi
  unset "lane_pid[$phase]"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]}"
  exit 1
fi
echo "make test: all passed in $((SECONDS - started)) s"
