#!/usr/bin/env bash
# ansible-test would resolve this target's name to the collection's own role vpsorg.cloud.safe_upgrade (the
# collection is the playbook's default collection), so run the target as a role by its path instead.
set -eux
export ANSIBLE_ROLES_PATH=..
ansible-playbook runme.yml -i "$INVENTORY_PATH" "$@"
