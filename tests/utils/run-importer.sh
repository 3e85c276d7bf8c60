#!/usr/bin/env bash
# Run galaxy-importer on the tarball that `make build` made, as Automation Hub does: ansible-doc and ansible-lint
# on, required tags checked, and (from 1.0.0 on) a version of 1.0.0 or greater required. Any WARNING or ERROR line
# fails, so the import is clean, not merely successful. The importer's ansible-test step needs a container engine
# and stays off (ansible-test sanity runs in `make sanity`).
set -euo pipefail
venv=$1
tmp=$2
shopt -s nullglob
tarballs=("$tmp"/dist/vpsorg-cloud-*.tar.gz)
[ "${#tarballs[@]}" -eq 1 ] || { echo "run-importer: expected one tarball in $tmp/dist (run make build first)" >&2; exit 1; }
tarball=$(cd "$(dirname "${tarballs[0]}")" && pwd)/$(basename "${tarballs[0]}")
version=$(basename "$tarball" .tar.gz)
version=${version#vpsorg-cloud-}
require_v1=true
if [ "${version%%.*}" -lt 1 ]; then
  require_v1=false
  echo "galaxy-importer: version $version is before 1.0.0, so Automation Hub's require-1.0.0 check is off until the release cut"
fi
work=$tmp/importer
# As on Galaxy: no other copy of the collection (the Makefile exports the staged one) for ansible-lint to find.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
# The importer writes importer_result.json into its working directory: run it in $work.
rm -rf "$work" && mkdir -p "$work/tmp"
log=$work/importer.log
status=0
(cd "$work" && PATH=$venv/bin:$PATH \
  GALAXY_IMPORTER_REQUIRE_V1_OR_GREATER=$require_v1 \
  GALAXY_IMPORTER_CHECK_REQUIRED_TAGS=true \
  GALAXY_IMPORTER_RUN_ANSIBLE_DOC=true \
  GALAXY_IMPORTER_RUN_ANSIBLE_LINT=true \
  GALAXY_IMPORTER_RUN_ANSIBLE_TEST=false \
  GALAXY_IMPORTER_TMP_ROOT_DIR=$work/tmp \
  GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=$work/tmp/ansible \
  ANSIBLE_HOME=$work/ansible-home \
  timeout 600 "$venv/bin/python" -m galaxy_importer.main "$tarball") >"$log" 2>&1 || status=$?
problems=$(grep -E '^(WARNING|ERROR)' "$log" || true)
if [ "$status" -ne 0 ] || [ -n "$problems" ]; then
  cat "$log"
  echo "galaxy-importer: $(basename "$tarball") FAILED (exit $status, $(grep -cE '^(WARNING|ERROR)' "$log" || true) warnings/errors; log above)"
  exit 1
fi
# The importer's own closing lines, then ours.
grep -E 'ansible-lint run complete|Collection loading complete|Importer processing completed' "$log"
echo "galaxy-importer: $(basename "$tarball") imported with 0 warnings and 0 errors (require 1.0.0: $require_v1, ansible-lint and ansible-doc on)"
