#!/usr/bin/env bash
# Start or stop the hostile API (tests/hostile/hostile.py) for this target.
#   hostile.sh start DIR PYTHON HOSTILE_PY   prints the API's base URL and the other port's origin, one per line
#   hostile.sh stop DIR                      stops it by the pid it saved and waits until it is gone
# The server stops by itself after 600 seconds whatever happens to the target.
set -euo pipefail
action=$1
dir=$2
case $action in
start)
  mkdir -p "$dir"
  "$3" "$4" --lifetime 600 </dev/null >"$dir/urls" 2>"$dir/hostile.log" &
  echo $! >"$dir/pid"
  for _ in $(seq 100); do
    if [ "$(wc -l <"$dir/urls")" -ge 2 ]; then
      cat "$dir/urls"
      exit 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/hostile.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "the hostile API did not start within 10 seconds" >&2
  exit 1
  ;;
stop)
  if [ -s "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || exit 0
      sleep 0.1
    done
    echo "the hostile API (pid $pid) did not stop" >&2
    exit 1
  fi
  ;;
*)
  echo "usage: $0 start DIR PYTHON HOSTILE_PY | stop DIR" >&2
  exit 2
  ;;
esac
