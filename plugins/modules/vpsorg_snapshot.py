#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vpsorg_snapshot
short_description: Create, delete and restore VPS.org server snapshots
version_added: 1.0.0
description:
  - Ensures a named snapshot of a VPS.org server exists (O(state=present)), is deleted
    (O(state=absent)), or restores a server from a snapshot (O(state=restored)).
  - Snapshot names are not unique in the VPS.org API; this module keeps them unique in practice by
    finding a snapshot by O(server_id) and O(name) before creating one, and by never sending a create
    twice when an answer is lost.
  - With O(server_ids), one task ensures the same O(name) on many servers in a single module run,
    which is much faster for a fleet than one task per host.
  - A server can hold at most 5 snapshots. The module fails before creating a sixth, naming the limit
    and listing the server's snapshots; it never deletes a snapshot to make room.
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.vpsorg
attributes:
  check_mode:
    support: full
    description: No write request is sent in check mode; C(changed) tells what would happen.
  diff_mode:
    support: full
    description: Shows the snapshot before and after the task.
  action_group:
    description: Use C(group/vpsorg.cloud.vpsorg) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - vpsorg.cloud.vpsorg
options:
  state:
    description:
      - V(present) creates the snapshot unless one with that O(name) exists on the server.
      - V(absent) deletes the snapshot selected by O(snapshot_id), or every snapshot named O(name) on
        O(server_id) (or on each of O(server_ids)).
      - V(restored) restores the server from the one snapshot selected by O(snapshot_id) or by
        O(server_id) and O(name). B(This overwrites all data on the server and cannot be undone).
        It is always reported as changed.
    type: str
    choices: [present, absent, restored]
    default: present
  server_id:
    description:
      - ID of the server. Required with O(name) for O(state=present).
      - With O(name), identifies a snapshot for O(state=absent) and O(state=restored).
      - With O(snapshot_id), the snapshot must belong to this server.
    type: int
  server_ids:
    description:
      - IDs of many servers on which the same O(name) is ensured present or absent, in one module run.
      - The account's snapshots are listed once, only the needed writes are sent (a few at a time,
        honouring C(Retry-After)), and the whole set is waited for with one list per poll.
      - Servers that fail are listed in RV(failed_servers) and the task fails; the others are done.
      - Mutually exclusive with O(server_id) and O(snapshot_id). Not for O(state=restored).
    type: list
    elements: int
  name:
    description:
      - Name of the snapshot; letters, digits, hyphens and underscores only. Checked before any request.
    type: str
  snapshot_id:
    description:
      - ID of the snapshot, for O(state=absent) and O(state=restored). Use it when several snapshots
        share a name.
    type: int
  description:
    description:
      - Free text stored with the snapshot. Used only when the snapshot is created; the API cannot
        change it later.
    type: str
  wait:
    description:
      - V(present) waits until the snapshot is C(completed).
      - V(restored) waits for an in-progress snapshot to complete before restoring, then until the
        server leaves the C(restoring) status.
      - V(absent) waits for an in-progress snapshot to complete before deleting it, then until it is gone.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait in total before failing. Snapshots of large disks can take 20 minutes
        or more, restores up to an hour.
    type: int
    default: 1800
notes:
  - Snapshotting a running server may leave filesystem inconsistencies; run C(sync) on the host first
    (the P(vpsorg.cloud.safe_upgrade#role) role does).
seealso:
  - module: vpsorg.cloud.vpsorg_snapshot_info
  - name: VPS.org Snapshots API reference
    description: The REST API this module wraps (list, create, restore and delete snapshots; 5 per server).
    link: https://vps.org
"""

EXAMPLES = r"""
- name: Take a pre-patch snapshot (nothing happens if it already exists)
  vpsorg.cloud.vpsorg_snapshot:
    server_id: "{{ vpsorg_server_id }}"
    name: pre-patch-{{ ansible_date_time.date }}
    description: Before the monthly patch run
  delegate_to: localhost

- name: Set the connection once for every module of the collection
  module_defaults:
    group/vpsorg.cloud.vpsorg:
      api_token: "{{ vault_vpsorg_api_token }}"
  block:
    - name: Snapshot the same name on a whole fleet in one task
      vpsorg.cloud.vpsorg_snapshot:
        server_ids: "{{ groups['web'] | map('extract', hostvars, 'vpsorg_server_id') | list }}"
        name: fleet-20250115
      run_once: true
      delegate_to: localhost

- name: Patch, and roll back to the snapshot if anything fails
  block:
    - name: Snapshot before patching
      vpsorg.cloud.vpsorg_snapshot:
        server_id: "{{ vpsorg_server_id }}"
        name: before-patch
      delegate_to: localhost
      register: pre_patch

    - name: Upgrade every package
      ansible.builtin.apt:
        upgrade: dist
        update_cache: true
  rescue:
    - name: Restore the server from the snapshot taken before patching
      vpsorg.cloud.vpsorg_snapshot:
        state: restored
        snapshot_id: "{{ pre_patch.snapshot.id }}"
        wait_timeout: 3600
      delegate_to: localhost

- name: Delete the snapshot once the patch is known good
  vpsorg.cloud.vpsorg_snapshot:
    state: absent
    server_id: "{{ vpsorg_server_id }}"
    name: before-patch
  delegate_to: localhost

- name: Delete one snapshot by id (names are not unique)
  vpsorg.cloud.vpsorg_snapshot:
    state: absent
    snapshot_id: 801
  delegate_to: localhost
"""

RETURN = r"""
snapshot:
  description:
    - The snapshot, as the API describes it.
    - For V(present), the existing or new snapshot (C(completed) when O(wait) is set). In check mode,
      the snapshot that would be created, with a null C(id).
    - For V(absent), the deleted snapshot (the newest when several shared the name); empty when there was none.
    - For V(restored), the snapshot the server was restored from.
    - Not returned with O(server_ids).
  returned: success, except with O(server_ids)
  type: dict
  contains:
    id:
      description: Unique snapshot id.
      type: int
      sample: 801
    server:
      description: The server the snapshot belongs to.
      type: dict
      sample: {"id": 12345, "name": "web-server-01"}
    name:
      description: Name of the snapshot.
      type: str
      sample: pre-patch-2025-01-15
    status:
      description: C(in_progress) while being taken, C(completed) when done.
      type: str
      sample: completed
    size_mb:
      description: Size in megabytes; null while in progress.
      type: int
      sample: 5120
    created_at:
      description: Creation time, ISO 8601 UTC.
      type: str
      sample: "2025-01-15T18:30:00Z"
    description:
      description: Free text given at creation.
      type: str
      sample: Before the monthly patch run
snapshots:
  description:
    - With O(server_ids), the snapshot of each server that succeeded (V(present)) or each deleted snapshot (V(absent)).
    - With O(state=absent) and O(server_id), every deleted snapshot.
  returned: with O(server_ids), or O(state=absent)
  type: list
  elements: dict
  sample: [{"id": 802, "server": {"id": 12345, "name": "web-server-01"}, "name": "fleet-20250115", "status": "completed"}]
failed_servers:
  description: With O(server_ids), the servers that failed and why. The task fails when this is not empty.
  returned: with O(server_ids)
  type: list
  elements: dict
  sample: [{"server_id": 12399, "reason": "server 12399 does not exist in this account"}]
server:
  description: For V(restored), the restored server; its C(status) is C(restoring) without O(wait).
  returned: O(state=restored)
  type: dict
  sample: {"id": 12345, "name": "web-server-01", "status": "active"}
error:
  description: On failure, the kind of error, so a playbook can branch on it.
  returned: failure
  type: dict
  sample: {"code": "http_error", "status": 404, "method": "POST", "path": "/api/v1/snapshots/"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vpsorg.cloud.plugins.module_utils.api import VpsorgApiError, client_from_module, vpsorg_argument_spec
from ansible_collections.vpsorg.cloud.plugins.module_utils.snapshots import (
    IN_PROGRESS, SNAPSHOT_LIMIT, Fleet, create_snapshot, delete_snapshot, describe, get_server,
    list_snapshots, newest_first, option_errors, planned_snapshot, quota_message, restore_snapshot, server_of, server_summary, settle_concurrent_duplicates,
    wait_for_server_restored, wait_for_snapshots)


def input_errors(params):
    """Everything that can be checked before a request, as one line."""
    state = params['state']
    name = params['name']
    problems = option_errors(params)
    if params['server_ids'] is not None:
        if not name:
            problems.append('server_ids needs name')
        if state == 'restored':
            problems.append('state=restored restores one server: use snapshot_id or server_id with name, not server_ids')
    elif state == 'present' and (params['server_id'] is None or not name):
        problems.append('state=present needs server_id (or server_ids) and name; snapshot_id only selects an existing snapshot')
    elif state != 'present' and params['snapshot_id'] is None and (params['server_id'] is None or not name):
        problems.append('state=%s needs snapshot_id, or server_id and name' % state)
    return '; '.join(problems)


class SnapshotModule(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = client_from_module(module)

    def exit(self, changed, before=None, after=None, **result):
        if self.module._diff:
            result['diff'] = dict(before=before or {}, after=after or {})
        self.module.exit_json(changed=changed, **result)

    def wait_completed(self, snapshot, listing=None):
        completed = wait_for_snapshots(self.client, [snapshot['id']], self.params['wait_timeout'], server_id=self.params['server_id'], listing=listing)
        return completed[snapshot['id']]

    def selected(self):
        """The snapshots chosen by snapshot_id, or by server_id and name, newest first."""
        server_id, snapshot_id = self.params['server_id'], self.params['snapshot_id']
        snapshots = list_snapshots(self.client, server_id)
        if snapshot_id is not None:
            return [snap for snap in snapshots if snap.get('id') == snapshot_id]
        return newest_first([snap for snap in snapshots if snap.get('name') == self.params['name']])

    def present(self):
        server_id, name = self.params['server_id'], self.params['name']
        on_server = list_snapshots(self.client, server_id)
        existing = newest_first([snap for snap in on_server if snap.get('name') == name])
        if existing:
            snapshot = existing[0]
            if snapshot.get('status') == IN_PROGRESS and self.params['wait'] and not self.module.check_mode:
                snapshot = self.wait_completed(snapshot)
            self.exit(False, snapshot, snapshot, snapshot=snapshot)
        if len(on_server) >= SNAPSHOT_LIMIT:
            self.module.fail_json(msg=quota_message(server_id, on_server), error=dict(code='snapshot_limit', limit=SNAPSHOT_LIMIT),
                                  snapshots=newest_first(on_server))
        if self.module.check_mode:
            get_server(self.client, server_id)  # a read, so check mode can tell an unknown server
            planned = planned_snapshot(server_id, name, self.params['description'])
            self.exit(True, None, planned, snapshot=planned)
        known_ids = [snap.get('id') for snap in on_server]
        snapshot = create_snapshot(self.client, server_id, name, self.params['description'], known_ids)
        # One list settles a race with another run creating the same name, and is the wait's first poll.
        listing = list_snapshots(self.client, server_id)
        snapshot = settle_concurrent_duplicates(self.client, snapshot, known_ids, listing, self.params['wait_timeout'])
        if self.params['wait']:
            snapshot = self.wait_completed(snapshot, listing)
        self.exit(True, None, snapshot, snapshot=snapshot)

    def absent(self):
        targets = self.selected()
        if not targets:
            self.exit(False, snapshot={}, snapshots=[])
        in_progress = [snap for snap in targets if snap.get('status') == IN_PROGRESS]
        if in_progress and not self.module.check_mode:
            if not self.params['wait']:
                self.module.fail_json(msg='cannot delete while in progress (set wait: true to wait for it): %s' % describe(in_progress),
                                      error=dict(code='in_progress'))
            current = wait_for_snapshots(self.client, [snap['id'] for snap in in_progress], self.params['wait_timeout'], self.params['server_id'])
            targets = [current.get(snap['id'], snap) for snap in targets]
        if not self.module.check_mode:
            for snap in targets:
                delete_snapshot(self.client, snap['id'])
            if self.params['wait']:
                wait_for_snapshots(self.client, [snap['id'] for snap in targets], self.params['wait_timeout'], self.params['server_id'], until='gone')
        self.exit(True, targets[0], None, snapshot=targets[0], snapshots=targets)

    def restored(self):
        targets = self.selected()
        server_id, snapshot_id, name = self.params['server_id'], self.params['snapshot_id'], self.params['name']
        if not targets:
            if snapshot_id is not None:
                where = ' on server %d' % server_id if server_id else ' in this account'
                self.module.fail_json(msg='snapshot %d does not exist%s' % (snapshot_id, where), error=dict(code='not_found'))
            self.module.fail_json(msg="server %d has no snapshot named '%s'" % (server_id, name), error=dict(code='not_found'))
        if len(targets) > 1:
            self.module.fail_json(msg="server %d has %d snapshots named '%s' (ids %s): choose one with snapshot_id"
                                  % (server_id, len(targets), name, ', '.join(str(snap['id']) for snap in targets)),
                                  error=dict(code='ambiguous'), snapshots=targets)
        snapshot = targets[0]
        if snapshot.get('status') == IN_PROGRESS:
            if not self.params['wait']:
                self.module.fail_json(msg='snapshot %s is still in progress; a restore needs a completed snapshot (set wait: true to wait for it)'
                                      % snapshot['id'], error=dict(code='in_progress'))
            if not self.module.check_mode:
                snapshot = self.wait_completed(snapshot)
        if self.module.check_mode:
            server = server_summary(get_server(self.client, snapshot['server']['id']))
            self.exit(True, snapshot, snapshot, snapshot=snapshot, server=server)
        answer = restore_snapshot(self.client, snapshot)
        server = server_summary(answer.get('server') or {})
        if self.params['wait']:
            server = wait_for_server_restored(self.client, snapshot['server']['id'], self.params['wait_timeout'])
        self.exit(True, snapshot, snapshot, snapshot=snapshot, server=server)

    def fleet(self):
        fleet = Fleet(self.client, self.params['server_ids'], self.params['name'], check_mode=self.module.check_mode)
        if self.params['state'] == 'present':
            snapshots = fleet.ensure_present(self.params['description'], self.params['wait'], self.params['wait_timeout'])
            before, after = [snap for snap in snapshots if server_of(snap) not in fleet.created], snapshots
        else:
            snapshots = fleet.ensure_absent(self.params['wait'], self.params['wait_timeout'])
            before, after = snapshots, []
        result = dict(changed=fleet.changed, snapshots=snapshots, failed_servers=fleet.failures())
        if self.module._diff:
            result['diff'] = dict(before=dict(snapshots=before), after=dict(snapshots=after))
        if result['failed_servers']:
            reasons = '; '.join('%s: %s' % (failure['server_id'], failure['reason']) for failure in result['failed_servers'])
            self.module.fail_json(msg='%d of %d servers failed: %s' % (len(result['failed_servers']), len(fleet.server_ids), reasons), **result)
        self.module.exit_json(**result)


def main():
    argument_spec = vpsorg_argument_spec()
    argument_spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent', 'restored']),
        server_id=dict(type='int'),
        server_ids=dict(type='list', elements='int'),
        name=dict(type='str'),
        snapshot_id=dict(type='int'),
        description=dict(type='str'),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=1800),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('server_ids', 'server_id'), ('server_ids', 'snapshot_id')],
        supports_check_mode=True,
    )
    problem = input_errors(module.params)
    if problem:
        module.fail_json(msg=problem, error=dict(code='invalid_input'))
    snapshots = SnapshotModule(module)
    try:
        if module.params['server_ids'] is not None:
            snapshots.fleet()
        else:
            getattr(snapshots, module.params['state'])()
    except VpsorgApiError as exc:
        module.fail_json(msg=str(exc), error=exc.as_dict())


if __name__ == '__main__':
    main()
