#!/usr/bin/env bash
# Start the same playbook twice at once and release both from a barrier at the same moment, round after round.
#   race.sh DIR ROUNDS RACERS ansible-playbook ARGS...
# Each run's output goes to DIR/run-1.log and DIR/run-2.log. In round R, each of the RACERS racers (hosts of
# both runs) touches DIR/ready-R-* and waits for DIR/go-R, which this script creates once all are ready.
# Exit 0 when both runs succeed.
set -uo pipefail
dir=$1
rounds=$2
racers=$3
shift 3
rm -f "$dir"/ready-* "$dir"/go-*
"$@" -e race_run=1 -e race_rounds="$rounds" >"$dir/run-1.log" 2>&1 &
first=$!
"$@" -e race_run=2 -e race_rounds="$rounds" >"$dir/run-2.log" 2>&1 &
second=$!
for round in $(seq "$rounds"); do
  for _ in $(seq 2400); do
    [ "$(find "$dir" -maxdepth 1 -name "ready-$round-*" | wc -l)" -ge "$racers" ] && break
    kill -0 $first 2>/dev/null || kill -0 $second 2>/dev/null || break
    sleep 0.05
  done
  touch "$dir/go-$round"
done
wait $first
rc1=$?
wait $second
rc2=$?
echo "rc=$rc1,$rc2"
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]
