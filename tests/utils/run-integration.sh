#!/usr/bin/env bash
# Run the integration targets of the staged collection against a fresh local API emulator.
# Usage: run-integration.sh STAGED_COLLECTION_DIR PYTHON_VERSION [TARGET ...]
# To run the same targets against the real API, write tests/integration/integration_config.yml
# by hand (see integration_config.yml.template) and run `ansible-test integration` yourself.
set -euo pipefail
stage=$1
python_version=$2
shift 2
root=$(git rev-parse --show-toplevel)
emulator_dir=$(mktemp -d)
trap 'python3 "$root/tests/emulator/harness.py" stop "$emulator_dir"; rm -rf "$emulator_dir"' EXIT
url=$(python3 "$root/tests/emulator/harness.py" start "$emulator_dir" --port 0 --quiet \
  --token vps_integration_token --token vps_other_account_token \
  --servers 3 --snapshot-seconds 1 --restore-seconds 1 --page-size 2)
cat >"$stage/tests/integration/integration_config.yml" <<CONFIG
---
vpsorg_api_url: $url
vpsorg_api_token: vps_integration_token
vpsorg_other_api_token: vps_other_account_token
vpsorg_emulator_url: ${url%/api/v1}/_emulator
CONFIG
cd "$stage"
# shellcheck disable=SC2086 # the flags are several words on purpose
ansible-test integration ${ANSIBLE_TEST_FLAGS:---venv --color no} --python "$python_version" "$@"
