#!/usr/bin/env bash
# `make integration-os`: the role's built-in upgrade, run for real on a minimal Debian root of this machine's release.
# Usage: run.sh WORK_DIR CACHE_DIR (as root, on Debian; python, pip, pytest and ansible-playbook on PATH).
# 1. the root: built once per machine into CACHE_DIR (build-root.sh), every run works on a fresh copy under WORK_DIR;
# 2. community.general, for its chroot connection, from the pinned and hashed wheel of tests/os/requirements.txt;
# 3. the upgrade's decisions over a table of cases (apt and dnf), on localhost;
# 4. the role against the root (test_builtin_upgrade.py).
set -euo pipefail
work=$1
cache=$2
here=$(cd "$(dirname "$0")" && pwd)
started=$SECONDS
mkdir -p "$work"
[ "$(id -u)" = 0 ] || { echo "integration-os needs root (debootstrap and chroot)" >&2; exit 1; }

"$here/build-root.sh" "$cache"
echo "== Debian root: $(tr '\n' ' ' <"$cache/STAMP")(ready in $((SECONDS - started)) s)"

collections=$work/collections
manifest=$collections/ansible_collections/community/general/MANIFEST.json
if [ ! -f "$manifest" ] || [ "$here/requirements.txt" -nt "$manifest" ]; then
  rm -rf "$collections" "$work/wheel"
  python -m pip download -q --no-deps --require-hashes -r "$here/requirements.txt" -d "$work/wheel"
  python - "$work"/wheel/ansible-*.whl "$collections" <<'PY'
import sys
import zipfile

wheel, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(target, [n for n in archive.namelist() if n.startswith("ansible_collections/community/general/")])
PY
  rm -rf "$work/wheel"
fi
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:+$ANSIBLE_COLLECTIONS_PATH:}$collections

phase=$SECONDS
ansible-playbook -i localhost, -c local "$here/decisions.yml" >"$work/decisions.log" 2>&1 \
  || { cat "$work/decisions.log"; echo "== decision table FAILED" >&2; exit 1; }
grep -E '^localhost +:' "$work/decisions.log"
echo "== decision table passed in $((SECONDS - phase)) s"

phase=$SECONDS
OS_TEST_ROOT=$cache/root OS_TEST_WORK=$work python -m pytest -q -p no:cacheprovider "$here"
echo "== Debian root upgrade passed in $((SECONDS - phase)) s (playbook logs in $work)"
echo "== integration-os passed in $((SECONDS - started)) s"
