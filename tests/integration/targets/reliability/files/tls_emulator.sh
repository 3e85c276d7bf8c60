#!/usr/bin/env bash
# A second API emulator, over HTTPS with a throwaway self-signed certificate, for the TLS and secret checks.
#   tls_emulator.sh start DIR PYTHON EMULATOR_PY   prints the base URL once it listens; the account's token is
#                                                  read from $RELIABILITY_TOKEN so that it is on no command line
#                                                  Ansible shows
#   tls_emulator.sh stop DIR                       stops it by the pid it saved, waits until it is gone
# The certificate comes from the openssl CLI when there is one (RELIABILITY_CERT_TOOL=python forces the other
# way), else from make_cert.py with Python's cryptography package, which ansible-core depends on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
action=$1
dir=$2
case $action in
start)
  python=$3
  emulator=$4
  : "${RELIABILITY_TOKEN:?must hold the token of the emulator account}"
  mkdir -p "$dir"
  if [ "${RELIABILITY_CERT_TOOL:-auto}" != python ] && command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log"
    echo openssl >"$dir/cert-tool"
  else
    "$python" "$here/make_cert.py" "$dir/cert.pem" "$dir/key.pem"
    echo python-cryptography >"$dir/cert-tool"
  fi
  "$python" "$emulator" --port 0 --quiet --certfile "$dir/cert.pem" --keyfile "$dir/key.pem" --token "$RELIABILITY_TOKEN" \
    --servers 3 --snapshot-seconds 1 --restore-seconds 1 --page-size 2 </dev/null >"$dir/url" 2>"$dir/emulator.log" &
  echo $! >"$dir/pid"
  for _ in $(seq 200); do
    if [ -s "$dir/url" ]; then
      head -n 1 "$dir/url"
      exit 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/emulator.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "the HTTPS emulator did not start within 20 seconds" >&2
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
    echo "the HTTPS emulator (pid $pid) did not stop" >&2
    exit 1
  fi
  ;;
*)
  echo "usage: $0 start DIR PYTHON EMULATOR_PY | stop DIR" >&2
  exit 2
  ;;
esac
