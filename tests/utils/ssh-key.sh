#!/usr/bin/env bash
# Give a staged collection its own ansible-test ssh key pair, at tests/output/.tmp/id_rsa{,.pub}: ansible-test
# looks there before ~/.ansible/test/, so integration runs in different staged copies never race to create the one
# key pair under the home directory (two at once on a machine without it: "id_rsa already exists. Overwrite (y/n)?").
# Usage: tests/utils/ssh-key.sh STAGED_COLLECTION_DIR
set -euo pipefail
dir=$1/tests/output/.tmp
[ -f "$dir/id_rsa" ] && [ -f "$dir/id_rsa.pub" ] && exit 0
mkdir -p "$dir"
# Made aside and moved into place, so that no run ever sees half a key pair.
new=$(mktemp -d "$dir/ssh-key.XXXXXX")
# -m PEM -t rsa: what ansible-test itself makes (paramiko and EC2 need it).
ssh-keygen -m PEM -q -t rsa -N '' -C ansible-test -f "$new/id_rsa"
mv -f "$new/id_rsa.pub" "$dir/id_rsa.pub"
mv -f "$new/id_rsa" "$dir/id_rsa"
rmdir "$new"
