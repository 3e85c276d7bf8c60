#!/usr/bin/env bash
# A second API emulator, over HTTPS with a throwaway self-signed certificate, for the TLS and secret checks.
#   tls_emulator.sh start DIR PYTHON EMULATOR_PY   prints the base URL once it listens; the account's token is
#                                                  read from $RELIABILITY_TOKEN so that it is on no command line
#                                                  Ansible shows
#   tls_emulator.sh stop DIR PYTHON EMULATOR_PY    stops it, waits until it is gone
# Both go through the emulator's harness (harness.py beside EMULATOR_PY). The certificate comes from the openssl
# CLI when there is one (RELIABILITY_CERT_TOOL=cryptography forces the other way), else from Python's cryptography
# package, which ansible-core depends on; DIR/cert-tool says which.
set -euo pipefail
action=$1
dir=$2
python=$3
harness=$(dirname "$4")/harness.py
case $action in
start)
  : "${RELIABILITY_TOKEN:?must hold the token of the emulator account}"
  mkdir -p "$dir"
  "$python" "$harness" cert "$dir/cert.pem" "$dir/key.pem" --tool "${RELIABILITY_CERT_TOOL:-auto}" >"$dir/cert-tool"
  "$python" "$harness" start "$dir" --port 0 --quiet --certfile "$dir/cert.pem" --keyfile "$dir/key.pem" \
    --token "$RELIABILITY_TOKEN" --servers 3 --snapshot-seconds 1 --restore-seconds 1 --page-size 2
  ;;
stop)
  "$python" "$harness" stop "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR PYTHON EMULATOR_PY" >&2
  exit 2
  ;;
esac
