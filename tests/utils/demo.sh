#!/usr/bin/env bash
# `make demo`: the collection's story against the local VPS.org API emulator, on this machine only.
#   1. snapshot the whole fleet in one task (ansible-playbook vpsorg.cloud.fleet_snapshot), twice: the
#      same-day re-run changes nothing;
#   2. list the snapshots, then a rolling safe upgrade (vpsorg.cloud.safe_upgrade): web-01 upgrades fine,
#      web-02's new release does not start, so its server is restored from the snapshot taken just before
#      and web-02 fails naming it, and the rollout stops before web-03;
#   3. a summary in plain words, read back from the emulator.
# Expects ansible-playbook on PATH and the collection on ANSIBLE_COLLECTIONS_PATH (the Makefile does both).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
demo=$root/tests/demo
inventory=$demo/inventory.yml
work=$(mktemp -d)
harness=$root/tests/emulator/harness.py

stop_emulator() {
  python3 "$harness" stop "$work/emulator"
  rm -rf "$work"
}
trap stop_emulator EXIT

say() {
  printf '\n\033[1m==> %s\033[0m\n' "$*"
}

say "Starting the local VPS.org API emulator (snapshots take 2 s, restores 2 s)"
url=$(python3 "$harness" start "$work/emulator" --port 0 --quiet --snapshot-seconds 2 --restore-seconds 2)
echo "API: $url"

export VPSORG_API_URL=$url
export VPSORG_API_TOKEN=vps_emulator_token
export DEMO_WORKDIR=$work
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_PIPELINING=true
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false

say "1. Snapshot every server of the inventory in one task: ansible-playbook vpsorg.cloud.fleet_snapshot"
ansible-playbook vpsorg.cloud.fleet_snapshot -i "$inventory"

say "   Again, the same day: the snapshots exist already, so nothing changes"
ansible-playbook vpsorg.cloud.fleet_snapshot -i "$inventory" | sed -n '/PLAY RECAP/,$p'

say "2. List the snapshots, then upgrade web-01, web-02 and web-03 one at a time with the safe_upgrade role"
echo "   web-02's new release is broken on purpose: expect it to be rolled back and reported as failed."
status=0
ansible-playbook "$demo/story.yml" -i "$inventory" | tee "$work/story.log" || status=$?
# ansible-playbook exits 2 when a host failed: that is web-02, rolled back, and it must be the only one.
if [ "$status" -ne 2 ] || ! grep -Eq 'web-02 +: .*failed=1' "$work/story.log" \
  || ! grep -Eq 'web-01 +: .*failed=0' "$work/story.log" || ! grep -Eq 'web-03 +: .*failed=0' "$work/story.log" \
  || ! grep -q 'web-02 failed and was rolled back: server 12346 was restored from snapshot pre-upgrade-' "$work/story.log"; then
  echo "The story did not go as expected (ansible-playbook exit code $status)." >&2
  exit 1
fi

say "3. What happened, as the API emulator saw it"
python3 "$harness" control "$url" GET state >"$work/state.json"
python3 "$harness" control "$url" GET 'requests?since=0' >"$work/requests.json"
python3 - "$work" "$inventory" <<'PYTHON'
import json
import subprocess
import sys

work, inventory = sys.argv[1], sys.argv[2]
with open(work + '/state.json') as handle:
    state = json.load(handle)['accounts'][0]
with open(work + '/requests.json') as handle:
    requests = json.load(handle)['requests']
hostvars = json.loads(subprocess.check_output(['ansible-inventory', '-i', inventory, '--list']))['_meta']['hostvars']
host_of = {hv['vpsorg_server_id']: host for host, hv in hostvars.items() if 'vpsorg_server_id' in hv}
snapshot_by_id = {snap['id']: snap for snap in state['snapshots']}

print('Snapshots per server, newest first:')
for server in state['servers']:
    snaps = sorted((s for s in state['snapshots'] if s['server']['id'] == server['id']),
                   key=lambda s: (s['created_at'], s['id']), reverse=True)
    listed = ', '.join('%s (id %s, %s)' % (s['name'], s['id'], s['status']) for s in snaps) or 'none'
    print('  %-7s server %s %s, %s: %s' % (host_of.get(server['id'], '-'), server['id'], server['name'], server['status'], listed))

restored = set()
print('Rollbacks:')
for req in requests:
    if req['method'] == 'POST' and req['path'].endswith('/restore/') and req['status'] == 200:
        snap_id = int(req['path'].split('/')[-3])
        snap = snapshot_by_id.get(snap_id, {'name': '?', 'server': {'id': None}})
        restored.add(snap['server']['id'])
        print('  %s was rolled back: its server %s was restored from snapshot %s (id %s), taken just before its upgrade.'
              % (host_of.get(snap['server']['id'], '?'), snap['server']['id'], snap['name'], snap_id))
if not restored:
    print('  none')

upgraded = [host_of[s['server']['id']] for s in state['snapshots']
            if s['name'].startswith('pre-upgrade-') and s['server']['id'] not in restored]
untouched = [host for server_id, host in sorted(host_of.items()) if not any(
    s['server']['id'] == server_id and s['name'].startswith('pre-upgrade-') for s in state['snapshots'])]
print('Upgraded and kept: %s. Not upgraded, because the rollout stops at the first failure: %s.'
      % (', '.join(sorted(upgraded)) or 'none', ', '.join(untouched) or 'none'))
writes = [req for req in requests if req['applied']]
print('The API saw %d requests, %d of them changes (%d snapshots created, %d restore, %d deleted).' % (
    len(requests), len(writes),
    sum(1 for r in writes if r['method'] == 'POST' and r['path'] == '/api/v1/snapshots/'),
    sum(1 for r in writes if r['path'].endswith('/restore/')),
    sum(1 for r in writes if r['method'] == 'DELETE')))
PYTHON

say "Done in ${SECONDS} s: the demo ran as expected (web-02's failure above was part of the story)."
