#!/usr/bin/env bash
# Run the integration targets of the staged collection.
# Usage: run-integration.sh STAGED_COLLECTION_DIR PYTHON_VERSION [TARGET ...]
#   - by default against a fresh local API emulator (`make integration`);
#   - with INTEGRATION_LIVE_CONFIG=FILE against the API that FILE names (`make integration-live`, see
#     tests/integration/README.md): the emulator-only steps are skipped, and every snapshot the run makes is
#     named with a prefix unique to the run and deleted again, also when a target fails.
set -euo pipefail
stage=$1
python_version=$2
shift 2
root=$(git rev-parse --show-toplevel)
config=$stage/tests/integration/integration_config.yml
# Unique to this run, so that cleanup can never touch a snapshot the run did not make.
prefix="it$(date -u +%m%d%H%M%S)$(printf '%04x' $((RANDOM % 65536)))-"
# The staged copy's own ssh key pair: ansible-test then never creates ~/.ansible/test/id_rsa, which runs in parallel
# would race to create (tests/utils/ssh-key.sh).
"$root/tests/utils/ssh-key.sh" "$stage"

if [ -n "${INTEGRATION_LIVE_CONFIG:-}" ]; then
  [ -f "$INTEGRATION_LIVE_CONFIG" ] || {
    echo "integration-live: $INTEGRATION_LIVE_CONFIG not found; copy tests/integration/integration_config.yml.template there and fill it in" >&2
    exit 1
  }
  python3 - "$INTEGRATION_LIVE_CONFIG" <<'PYTHON'
import sys
import yaml

path = sys.argv[1]
config = yaml.safe_load(open(path, encoding="utf-8")) or {}
problems = []
if not str(config.get("vpsorg_api_url", "")).startswith(("http://", "https://")):
    problems.append("vpsorg_api_url must be the API's base URL, e.g. https://admin.vps.org/api/v1")
if not config.get("vpsorg_api_token") or str(config.get("vpsorg_api_token")) == "vps_...":
    problems.append("vpsorg_api_token is missing")
ids = config.get("vpsorg_test_server_ids")
if not isinstance(ids, list) or len(set(ids)) < 2 or not all(isinstance(i, int) and i > 0 for i in ids):
    problems.append("vpsorg_test_server_ids must list at least two server ids")
restore = config.get("vpsorg_test_restore_server_id")
if restore is not None and not (isinstance(restore, int) and restore > 0):
    problems.append("vpsorg_test_restore_server_id must be a server id, or left out")
for key in ("vpsorg_emulator_url", "vpsorg_other_api_token"):
    if key in config:
        problems.append("%s is for the emulator run only; remove it" % key)
if problems:
    sys.exit("integration-live: %s: %s" % (path, "; ".join(problems)))
PYTHON
  { cat "$INTEGRATION_LIVE_CONFIG"; echo; echo "vpsorg_test_prefix: $prefix"; } >"$config"
  echo "== integration-live: snapshots named ${prefix}* on the configured servers, deleted again by each target"
  echo "== on the real API every snapshot takes minutes: expect hours, mostly waiting (see tests/integration/README.md)"
  cd "$stage"
  # shellcheck disable=SC2086 # the flags are several words on purpose
  ansible-test integration ${ANSIBLE_TEST_FLAGS:---local --color no} --python "$python_version" "$@"
  exit
fi

emulator_dir=$(mktemp -d)
trap 'python3 "$root/tests/emulator/harness.py" stop "$emulator_dir"; rm -rf "$emulator_dir"' EXIT
url=$(python3 "$root/tests/emulator/harness.py" start "$emulator_dir" --port 0 --quiet \
  --token vps_integration_token --token vps_other_account_token \
  --servers 3 --snapshot-seconds 1 --restore-seconds 1 --page-size 2)
cat >"$config" <<CONFIG
---
vpsorg_api_url: $url
vpsorg_api_token: vps_integration_token
vpsorg_test_server_ids: [12345, 12346, 12347]
vpsorg_test_restore_server_id: 12346
vpsorg_test_prefix: $prefix
vpsorg_test_wait_timeout: 60
# Emulator mode: the control endpoints, and a second account whose server 12348 this account cannot see.
vpsorg_emulator_url: ${url%/api/v1}/_emulator
vpsorg_other_api_token: vps_other_account_token
vpsorg_other_server_id: 12348
CONFIG
cd "$stage"
# --local: the targets run under the Python that runs ansible-test (the make venv: it has requests and werkzeug),
# instead of a virtualenv that --venv would build and fill for every run.
# shellcheck disable=SC2086 # the flags are several words on purpose
ansible-test integration ${ANSIBLE_TEST_FLAGS:---local --color no} --python "$python_version" "$@"
