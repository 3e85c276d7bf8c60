#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

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
        O(server_id) and O(name); with O(server_ids) and O(name), each listed server from its own
        snapshot of that name. B(This overwrites all data on the server and cannot be undone).
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
      - IDs of many servers on which the same O(name) is ensured present or absent, or from whose own
        snapshot named O(name) each is restored (O(state=restored)), in one module run.
      - The account's snapshots are listed once, only the needed writes are sent (a few at a time,
        honouring C(Retry-After)), and the whole set is waited for with one list per poll.
      - Servers that fail are listed in RV(failed_servers) and the task fails; the others are done.
      - With O(state=restored), a preflight comes first, and any problem fails the task before ANY
        restore is sent. Every server must hold exactly one snapshot named O(name), completed (or
        in progress, and then it is waited for with O(wait)), and each must be C(active) or C(stopped) (not
        restoring already, nor in a status the API cannot restore).
        Then the restores go out, and the servers are waited for with one read of the servers per poll;
        a server that does not come back to the status it had before (or C(active)) is in RV(failed_servers).
      - Mutually exclusive with O(server_id) and O(snapshot_id).
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
  keep:
    description:
      - With O(state=present) and O(keep_prefix), retention in the same run and on the same read of the snapshots.
      - Only names of the form this retention makes count and are pruned, that is O(keep_prefix), then a suffix of the
        same form as the suffix of O(name) after it, where every digit stands for any digit and every other
        character for itself. With O(name=fleet-20261207) and O(keep_prefix=fleet-), V(fleet-20261101) is of
        that form, and V(fleet-manual-before-migration) is not.
      - Of the snapshot names of that form on the task's servers, the newest O(keep) are
        kept (names ordered by their newest snapshot; O(name) always counts as one of them). Every snapshot of
        the older names is deleted from each server once its snapshot O(name) is completed, so a server whose
        new snapshot failed or timed out keeps its old ones (with O(wait=false), only servers whose snapshot
        was already completed are pruned).
      - A server whose 5-snapshot quota is full and that lacks O(name) is pruned first instead, of the same
        names, so that it still gets the new snapshot.
      - Snapshots whose names are not of that form, and servers not in the task, are never touched; names that
        start with O(keep_prefix) but are not of that form are listed in RV(unmanaged_names) and in one warning.
      - At least 1. RV(pruned_names) lists the names deleted.
    type: int
  keep_prefix:
    description:
      - The prefix of the snapshot names that O(keep) counts and prunes, for example V(fleet-).
        O(name) must start with it. Required with O(keep).
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

- name: Snapshot a fleet and keep its newest 3 fleet- snapshot names (older ones are deleted first)
  vpsorg.cloud.vpsorg_snapshot:
    server_ids: "{{ groups['web'] | map('extract', hostvars, 'vpsorg_server_id') | list }}"
    name: fleet-20250115
    keep: 3
    keep_prefix: fleet-
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

- name: Roll the whole web tier back to last night's fleet snapshot, in one task
  vpsorg.cloud.vpsorg_snapshot:
    state: restored
    server_ids: "{{ groups['web'] | map('extract', hostvars, 'vpsorg_server_id') | list }}"
    name: fleet-20250115
    wait_timeout: 3600
  run_once: true
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
    - With O(server_ids), the snapshot of each server that succeeded (V(present)), each deleted snapshot (V(absent)),
      or the snapshot each server was (in check mode, would be) restored from (V(restored)).
    - With O(state=absent) and O(server_id), every deleted snapshot.
  returned: with O(server_ids), or O(state=absent)
  type: list
  elements: dict
  sample: [{"id": 802, "server": {"id": 12345, "name": "web-server-01"}, "name": "fleet-20250115", "status": "completed"}]
pruned_names:
  description:
    - With O(keep), the snapshot names that were deleted (in check mode, would be) from the task's servers,
      newest first.
  returned: with O(keep)
  type: list
  elements: str
  sample: ["fleet-20250112"]
unmanaged_names:
  description:
    - With O(keep), the snapshot names on the task's servers that start with O(keep_prefix) but are not of the
      form of O(name) that retention prunes (say, made by hand), newest first. They are kept, and named in one
      warning.
  returned: with O(keep)
  type: list
  elements: str
  sample: ["fleet-manual-before-migration"]
  version_added: 1.1.0
failed_servers:
  description: With O(server_ids), the servers that failed and why. The task fails when this is not empty.
  returned: with O(server_ids)
  type: list
  elements: dict
  sample: [{"server_id": 12399, "reason": "server 12399 does not exist in this account"}]
server:
  description:
    - For V(restored), the restored server; its C(status) is C(restoring) without O(wait).
    - With O(wait), the restore succeeded only if this status is the one in RV(server_before) or V(active);
      otherwise the task fails with RV(error.code) V(restore_failed).
  returned: O(state=restored) with O(server_id) or O(snapshot_id)
  type: dict
  sample: {"id": 12345, "name": "web-server-01", "status": "active"}
server_before:
  description: For V(restored), the server as it was just before the restore was sent.
  returned: O(state=restored) with O(server_id) or O(snapshot_id)
  type: dict
  sample: {"id": 12345, "name": "web-server-01", "status": "active"}
  version_added: 1.1.0
servers:
  description:
    - For V(restored) with O(server_ids), each server a restore was sent to, after it (with O(wait), as the wait
      last read it; in check mode, as it is now). Empty when the preflight failed, which sends no restore.
  returned: O(state=restored) with O(server_ids)
  type: list
  elements: dict
  sample: [{"id": 12345, "name": "web-server-01", "status": "active"}]
  version_added: 1.1.0
error:
  description:
    - On failure, why, in a form a playbook can branch on. Every failure has the same keys.
    - The codes are stable; the table with what each means is in the collection's C(docs/errors.md).
  returned: failure
  type: dict
  contains:
    code:
      description:
        - A stable word for the cause.
        - V(http_error) (see RV(error.status)), V(connection_error), V(timeout), V(tls_error), V(bad_response),
          V(unsafe_link) and V(redirect) are about the API call.
        - V(config_error) is a wrong connection option, V(invalid_input) a wrong module option.
        - V(not_found), V(ambiguous), V(snapshot_limit) (see RV(error.limit)), V(in_progress) and V(server_busy) are
          about the snapshot or server selected.
        - V(wait_timeout), V(snapshot_gone) and V(snapshot_failed) end a wait.
        - V(restore_failed) means the server did not come back from the restore to the status it had before it (or
          to C(active)); RV(server) and RV(server_before) show both.
        - V(servers_failed) means that some of O(server_ids) failed; RV(failed_servers) says which and why.
      type: str
      sample: http_error
    status:
      description: The HTTP status the API answered, or null when no answer says it.
      type: int
      sample: 404
    method:
      description: The method of the request that failed, or null when no request failed.
      type: str
      sample: POST
    path:
      description: The path of the request that failed, or null when no request failed.
      type: str
      sample: /api/v1/snapshots/
    limit:
      description: With V(snapshot_limit), how many snapshots a server may hold.
      type: int
      returned: when RV(error.code) is V(snapshot_limit)
      sample: 5
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import server_of
from ansible_collections.vpsorg.cloud.plugins.module_utils._api import RESTORING
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._restore import restore
from ansible_collections.vpsorg.cloud.plugins.module_utils._module import VpsorgModule

OPTIONS = dict(
    state=dict(type='str', default='present', choices=['present', 'absent', 'restored']),
    server_id=dict(type='int'),
    server_ids=dict(type='list', elements='int'),
    name=dict(type='str'),
    snapshot_id=dict(type='int'),
    description=dict(type='str'),
    keep=dict(type='int'),
    keep_prefix=dict(type='str', no_log=False),
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=1800),
)
RULES = dict(
    mutually_exclusive=[('server_ids', 'server_id'), ('server_ids', 'snapshot_id')],
    required_if=[('state', 'present', ('server_id', 'server_ids'), True), ('state', 'present', ('name',))],
    required_by={'server_ids': 'name', 'keep': 'keep_prefix', 'keep_prefix': 'keep'},
)


def option_problems(params):
    """The rules on combined options that argument_spec cannot declare (the shared ones are _module.common_problems)."""
    if params['keep'] is not None and params['state'] != 'present':
        return ['keep prunes before a create: it needs state=present']
    if params['keep'] is not None and params['keep'] < 1:
        return ['keep must be at least 1 (the new snapshot itself), got %d' % params['keep']]
    if params['keep_prefix'] == '':
        return ['keep_prefix must not be empty: it decides which snapshots may be deleted']
    if params['keep_prefix'] is not None and not (params['name'] or '').startswith(params['keep_prefix']):
        return ["name '%s' must start with keep_prefix '%s'" % (params['name'], params['keep_prefix'])]
    if params['state'] != 'present' and params['server_ids'] is None and params['snapshot_id'] is None and (
            params['server_id'] is None or not params['name']):
        return ['state=%s needs snapshot_id, or server_id and name' % params['state']]
    return []


def fleet_of(module):
    """The servers of the task: server_ids, or a set of one (server_id, or the server of snapshot_id)."""
    params = module.params
    if params['server_ids'] is not None:
        return Fleet(module.client, params['server_ids'], params['name'], check_mode=module.check_mode)
    selector = params['snapshot_id'] if params['state'] == 'absent' else None
    return Fleet.of_one(module.client, params['server_id'], params['name'], selector, check_mode=module.check_mode)


def outcome(module, fleet, snapshots, before, after, extra):
    """server_ids: every server's snapshot and the servers that failed; one server: its snapshot, its failure the task's."""
    if module.params['server_ids'] is not None:
        result = dict(changed=fleet.changed, snapshots=snapshots, failed_servers=fleet.failures(), **extra)
        return result, dict(before=dict(snapshots=before), after=dict(snapshots=after)), fleet.failure()
    for error in fleet.errors.values():
        raise error
    result = dict(changed=fleet.changed, snapshot=snapshots[0] if snapshots else {}, **extra)
    if module.params['state'] == 'absent':
        result['snapshots'] = snapshots
    return result, dict(before=before[0] if before else {}, after=after[0] if after else {}), None


def present(module):
    params, fleet = module.params, fleet_of(module)
    wait, timeout, extra = params['wait'], params['wait_timeout'], {}
    if params['keep'] is None:
        snapshots = fleet.ensure_present(params['description'], wait, timeout)
    else:
        snapshots, pruned, unmanaged = fleet.ensure_present_keeping(params['keep_prefix'], params['keep'], params['description'], wait, timeout)
        extra = dict(pruned_names=pruned, unmanaged_names=unmanaged)
    answer = outcome(module, fleet, snapshots, [snap for snap in snapshots if server_of(snap) not in fleet.created], snapshots, extra)
    if extra.get('unmanaged_names'):
        module.warn("keep_prefix '%s': kept %s, not of the form of name '%s' that retention prunes"
                    % (params['keep_prefix'], ', '.join(extra['unmanaged_names']), params['name']))
    return answer


def absent(module):
    fleet = fleet_of(module)
    snapshots = fleet.ensure_absent(module.params['wait'], module.params['wait_timeout'])
    return outcome(module, fleet, snapshots, snapshots, [], {})


def restored(module):
    params = module.params
    if params['server_ids'] is not None:
        return restored_fleet(module)
    snapshot, before, after = restore(module.client, params['server_id'], params['name'], params['snapshot_id'],
                                      module.check_mode, params['wait'], params['wait_timeout'])
    if module.check_mode:
        # What the restore would do: the server restoring, or back from it after the wait.
        after = dict(before, status=before['status'] if params['wait'] else RESTORING)
    result = dict(changed=True, snapshot=snapshot, server=before if module.check_mode else after, server_before=before)
    return result, dict(before=before or {}, after=after), None


def restored_fleet(module):
    """Each server of server_ids from its own snapshot named name: a preflight failure is raised, sending nothing."""
    fleet = fleet_of(module)
    snapshots, before, after = fleet.ensure_restored(module.params['wait'], module.params['wait_timeout'])
    if module.check_mode and not module.params['wait']:
        after = [dict(server, status=RESTORING) for server in before]
    result = dict(changed=fleet.changed, snapshots=snapshots, servers=before if module.check_mode else after, failed_servers=fleet.failures())
    return result, dict(before=dict(servers=before), after=dict(servers=after)), fleet.failure()


STATES = dict(present=present, absent=absent, restored=restored)


def main():
    module = VpsorgModule(OPTIONS, option_problems, **RULES)
    module.run(STATES[module.params['state']])


if __name__ == '__main__':
    main()
