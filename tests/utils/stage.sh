#!/usr/bin/env bash
# Copy the collection (tracked and untracked-but-not-ignored files) to a directory whose
# real path ends in ansible_collections/vpsorg/cloud, where ansible-test and antsibull-docs need it.
# Usage: tests/utils/stage.sh DEST_COLLECTIONS_ROOT   (the collection lands in DEST/ansible_collections/vpsorg/cloud)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
dest="$1/ansible_collections/vpsorg/cloud"
rm -rf "$dest"
mkdir -p "$dest"
cd "$root"
git ls-files -z -co --exclude-standard | while IFS= read -r -d '' file; do
  [ -e "$file" ] && printf '%s\0' "$file"
done | tar --null -T - -cf - | tar -xf - -C "$dest"
# ansible-test asks git which files belong to the collection: give the copy a repository of its own whose
# index matches its tree (copying .git would not work from a linked worktree, where .git is a file).
git -C "$dest" init -q
git -C "$dest" add -A >/dev/null 2>&1 || true
echo "$dest"
