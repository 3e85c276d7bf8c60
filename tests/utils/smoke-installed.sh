#!/usr/bin/env bash
# Read the docs of every module, plugin and role from an installed copy of the built tarball:
# proves the tarball carries what the collection needs and that ansible-doc renders it.
set -euo pipefail
bin=$1
installed=$2
export ANSIBLE_COLLECTIONS_PATH=$installed
collection=$installed/ansible_collections/vpsorg/cloud
count=0
for module in "$collection"/plugins/modules/*.py; do
  "$bin/ansible-doc" "vpsorg.cloud.$(basename "$module" .py)" >/dev/null
  count=$((count + 1))
done
for plugin in "$collection"/plugins/inventory/*.py; do
  [ -e "$plugin" ] || continue
  "$bin/ansible-doc" -t inventory "vpsorg.cloud.$(basename "$plugin" .py)" >/dev/null
  count=$((count + 1))
done
for role in "$collection"/roles/*/; do
  [ -d "$role" ] || continue
  "$bin/ansible-doc" -t role "vpsorg.cloud.$(basename "$role")" >/dev/null
  count=$((count + 1))
done
# The emulator ships with the collection so that users can try playbooks offline.
[ -f "$collection/tests/emulator/emulator.py" ] || { echo "the tarball lacks tests/emulator/emulator.py" >&2; exit 1; }
echo "build smoke test: ansible-doc read $count plugins and roles from the installed tarball"
