#!/usr/bin/env bash
# `make test`: the whole suite, on a 2-core machine, in two kinds of lanes that run at the same time:
# - background lanes, each one or more make targets in its own staged copy: the phases that mostly wait
#   (integration waits on the emulator's snapshot and restore clocks), so they cost little CPU while they run; and,
#   after awx, the sanity run of the newest ansible-core, so that the foreground ends about when the lanes do;
# - one foreground lane, one phase after another: the phases that keep a core busy (sanity, units, lint, ...).
# make test is CPU-bound on 2 cores: its wall time is about its CPU time over two, as long as both cores stay busy
# to the end. More jobs at once do not help: each then needs more CPU for the same work.
# The version matrix: ansible-core 2.19 (Python 3.11) runs every check; the newest (2.21, Python 3.13) sanity, units
# and every integration target; 2.20, which they bracket, is `make test-2.20` (its units), outside make test's
# 15 minutes. Each phase prints how long it took.
# To add a phase: a make target that needs nothing from the others (and stages its own copy if it runs
# ansible-test), then its name in one of the two lists below. A new integration target goes into one of the groups.
set -euo pipefail
make_cmd=${MAKE:-make}
tmp=$1
py313=${2:-}
mkdir -p "$tmp"
started=$SECONDS

# Sets cpu_seconds to the CPU time (user + system) that this shell's finished children used so far. `times` must
# run in the shell itself (in a pipe or $(...) it would see a fresh subshell), so it writes to a file first.
children_cpu() {
  local file
  file=$(mktemp)
  times >"$file"
  cpu_seconds=$(awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$file")
  rm -f "$file"
}
export -f children_cpu

# Integration runs as two lanes per ansible-core version (2.19 and the newest), each with one of these groups of
# targets (about equal in length; every target runs on both versions), so that the waits of one lane (the emulator's
# snapshot and restore clocks) leave the CPU to the others. The fault matrices that test plain Python (retries, faults, hostile answers, option checks)
# run as unit tests (tests/unit/plugins/), on every version.
integration_groups=("reliability inventory_vpsorg hostile_api vpsorg_snapshot_info fleet_restore"
  "fleet_snapshot rollback_handlers safe_upgrade vpsorg_snapshot")
# Every target with an aliases file is in exactly one group: a new target must be added to one.
grouped=$(printf '%s\n' "${integration_groups[@]}" | tr ' ' '\n' | sort)
targets=$(cd tests/integration/targets && find . -mindepth 2 -maxdepth 2 -name aliases | cut -d/ -f2 | sort)
if [ "$grouped" != "$targets" ]; then
  echo "tests/utils/test-all.sh: integration_groups must list each target once; the targets are: ${targets//$'\n'/ }" >&2
  exit 2
fi
# The second-API self-test of `make integration-live` runs the targets that create, delete and restore there (the
# others are mostly emulator-only steps, which live mode skips); `make live-selftest` alone runs them all.
export LIVE_SELFTEST_TARGETS="vpsorg_snapshot"
# Job slicing repeats its race twice here (8 times in `make awx`); test__source.py replays the races it once lost exactly.
export AWX_SLICING_ROUNDS=2

# Mostly waiting: started first, each in the background, logs in $tmp/lane-<name>.log.
# Each lane is "name make-targets [integration targets...]"; make-targets joined by "+" run one after another.
# The OS test and the live self-test share a lane (about 240 s each), and so do awx (about 90 s) and sanity on the
# newest: one job fewer at once each, and every job needs less CPU. In the foreground, sanity on the newest came
# last and ran alone on one core after every lane had ended (clean run 11: the foreground ended at 899 s, the lanes
# by 790 s); as a lane of its own from the start, the extra job made every phase need 10 to 35% more CPU (clean
# run 12: 1,766 CPU-s against 1,577).
if [ -n "$py313" ]; then
  awx_lane="awx awx+sanity-newest"
else
  awx_lane="awx awx"
  echo "== python3.13 not found: the newest ansible-core is skipped"
fi
background_lanes=("$awx_lane" "os-live integration-os+live-selftest")
for index in "${!integration_groups[@]}"; do
  background_lanes+=("integration-2.19-$((index + 1)) integration ${integration_groups[$index]}")
done
# Keeps a core busy: run here one after another while the background lanes wait.
foreground_phases=(emulator-tests sanity units lint docs changelog build importer)

if [ -n "$py313" ]; then
  for index in "${!integration_groups[@]}"; do
    background_lanes+=("integration-2.21-$((index + 1)) integration-newest ${integration_groups[$index]}")
  done
  foreground_phases+=(units-newest)
fi

phase_started=$SECONDS
echo "== matrix-venvs (every virtualenv, before the lanes share them)"
"$make_cmd" --no-print-directory matrix-venvs
echo "== matrix-venvs passed in $((SECONDS - phase_started)) s"
# Before the lanes start, while a fresh machine still has no ~/.ansible/test: two integration runs at once must both
# pass without creating anything there (tests/utils/test_fresh_machine.py).
phase_started=$SECONDS
echo "== fresh-machine"
"$make_cmd" --no-print-directory fresh-machine
echo "== fresh-machine passed in $((SECONDS - phase_started)) s"

declare -A lane_pid=()
stop_lanes() {
  local pid
  for pid in "${lane_pid[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap stop_lanes EXIT

for lane in "${background_lanes[@]}"; do
  read -r name target integration_targets <<<"$lane"
  log=$tmp/lane-$name.log
  echo "== $name: in the background, log in $log"
  # Its own process group, so that stopping the lane stops everything it started, and its own STAGE_ROOT, so that
  # the foreground phases, which stage the collection anew, never pull the copy it runs from out from under it.
  # The single quotes are for the inner shell, which gets the make command, the targets, the stage and the
  # integration targets as $1 to $4.
  # shellcheck disable=SC2016
  setsid bash -c 'started=$SECONDS; IFS=+ read -ra goals <<<"$2"
    "$1" --no-print-directory "${goals[@]}" STAGE_ROOT="$3" ${4:+INTEGRATION_TARGETS="$4"} && children_cpu &&
    echo "== $2 $4 passed in $((SECONDS - started)) s, CPU $cpu_seconds s"' \
    _ "$make_cmd" "$target" "$tmp/stage-$name" "$integration_targets" >"$log" 2>&1 &
  lane_pid[$name]=$!
done

for phase in "${foreground_phases[@]}"; do
  echo "== $phase"
  # In a subshell, whose finished children are this phase alone: this shell also reaps the background lanes.
  (
    phase_started=$SECONDS
    "$make_cmd" --no-print-directory "$phase"
    children_cpu
    echo "== $phase passed in $((SECONDS - phase_started)) s, CPU $cpu_seconds s"
  )
done

failed=()
for lane in "${background_lanes[@]}"; do
  name=${lane%% *}
  log=$tmp/lane-$name.log
  echo "== waiting for $name"
  if wait "${lane_pid[$name]}"; then
    grep -E 'passed in|^Running .* integration' "$log" || true
  else
    cat "$log"
    echo "== $name FAILED (log above)"
    failed+=("$name")
  fi
  unset "lane_pid[$name]"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]}"
  exit 1
fi
children_cpu
echo "make test: all passed in $((SECONDS - started)) s, CPU $cpu_seconds s on $(nproc) cores"
