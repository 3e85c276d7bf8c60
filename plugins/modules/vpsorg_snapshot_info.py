#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: vpsorg_snapshot_info
short_description: List VPS.org server snapshots, and wait for them to complete
version_added: 1.0.0
description:
  - Lists the snapshots of a VPS.org account, newest first, optionally filtered by server, name, ids and status.
  - Every page of the API's list is read, so the result is complete however many snapshots there are.
  - With O(wait=true), waits until none of the selected snapshots is C(in_progress). The whole selection
    costs one list request (plus its pages) per poll, however many snapshots and servers it spans, so one
    task can wait for the snapshots a whole fleet started with P(vpsorg.cloud.vpsorg_snapshot#module) and
    O(vpsorg.cloud.vpsorg_snapshot#module:wait=false).
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.vpsorg
attributes:
  check_mode:
    support: full
    description: The module only reads, so it runs the same in check mode, waiting included.
  diff_mode:
    support: N/A
    description: The module only reads and changes nothing, so there is nothing to diff.
  action_group:
    description: Use C(group/vpsorg.cloud.vpsorg) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - vpsorg.cloud.vpsorg
options:
  server_id:
    description:
      - Only the snapshots of this server. Sent to the API as its C(server_id) filter.
      - A server that does not exist in the account simply has no snapshots.
    type: int
  server_ids:
    description:
      - Only the snapshots of these servers, for example the servers of a fleet that is a part of a large account.
      - Read the cheaper way, chosen from the size of the account's list (its first page tells it), the
        account-wide list when it costs no more than one request per server, else each server's own list
        (one request each, a few at a time). Servers that do not exist in the account simply have no snapshots.
      - Mutually exclusive with O(server_id).
    type: list
    elements: int
  name:
    description:
      - Only the snapshots with this name (names are not unique, so several may match).
      - Letters, digits, hyphens and underscores only; checked before any request.
    type: str
  snapshot_ids:
    description:
      - Only the snapshots with these ids.
      - The task fails, naming them, if any of these ids does not exist (on O(server_id) or O(server_ids), when set),
        so a typo never looks like a snapshot with nothing to wait for.
    type: list
    elements: int
  status:
    description:
      - Only the snapshots in this status.
      - With O(wait=true), applied after the wait, so O(status=completed) returns the selected snapshots
        once they have completed.
    type: str
    choices: [in_progress, completed]
  wait:
    description:
      - Poll until none of the snapshots selected by O(server_id), O(name) and O(snapshot_ids) is C(in_progress).
      - An in-progress snapshot that disappears while it is waited for (deleted by someone else) fails the
        task, naming it, instead of being waited for until the timeout. A completed one deleted meanwhile is
        left out of RV(snapshots) when the last poll read the whole list; when it read only the newest pages
        (see the notes), the snapshots it did not read are returned as first listed.
      - Snapshots created after the task started are not waited for.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait in total before failing with the list of the snapshots still in progress.
      - Snapshots of large disks can take 20 minutes or more.
    type: int
    default: 1800
notes:
  - Polls are frequent at first, then every fifth of the time waited so far (at most every 15 seconds),
    so a long wait costs a few dozen list requests.
  - While waiting, a poll reads the account-wide list from its first page only until it has seen every snapshot
    still waited for, when the pages show that the API lists newest first (checked on every page, never assumed);
    otherwise, or when a snapshot was not found, the poll reads the whole selection again.
seealso:
  - module: vpsorg.cloud.vpsorg_snapshot
  - name: VPS.org Snapshots API reference
    description: The REST API this module reads (list snapshots, with pagination).
    link: https://vps.org
"""

EXAMPLES = r"""
- name: List every snapshot of the account
  vpsorg.cloud.vpsorg_snapshot_info:
  delegate_to: localhost
  register: all_snapshots

- name: Find the completed snapshots of one server with a given name
  vpsorg.cloud.vpsorg_snapshot_info:
    server_id: "{{ vpsorg_server_id }}"
    name: pre-patch
    status: completed
  delegate_to: localhost
  register: pre_patch

- name: Show the newest one
  ansible.builtin.debug:
    msg: "Newest pre-patch snapshot: {{ pre_patch.snapshots[0].id }} ({{ pre_patch.snapshots[0].created_at }})"
  when: pre_patch.snapshots | length > 0

# Snapshot a whole fleet: start every snapshot first, then wait for all of them
# in one task that costs one list request per poll.
- name: Start a snapshot of every host without waiting
  vpsorg.cloud.vpsorg_snapshot:
    server_id: "{{ vpsorg_server_id }}"
    name: fleet-20250115
    wait: false
  delegate_to: localhost
  register: snap

# In check mode a snapshot that would be created has no id yet: select drops those nulls.
- name: Wait for the snapshots of all hosts at once
  vpsorg.cloud.vpsorg_snapshot_info:
    snapshot_ids: "{{ ansible_play_hosts | map('extract', hostvars, ['snap', 'snapshot', 'id']) | select | list }}"
    wait: true
    wait_timeout: 3600
  delegate_to: localhost
  run_once: true
  register: fleet

- name: Report the fleet's snapshots
  ansible.builtin.debug:
    msg: "{{ fleet.snapshots | map(attribute='server.name') | join(', ') }} are snapshotted"
  run_once: true
"""

RETURN = r"""
snapshots:
  description:
    - The selected snapshots as the API describes them, newest first (by C(created_at), then by C(id)).
    - With O(wait=true), their state after the wait; none of them is C(in_progress) unless O(status) asks for it.
    - Empty when nothing matches.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Unique snapshot id.
      type: int
      sample: 801
    server:
      description: The server the snapshot belongs to.
      type: dict
      contains:
        id:
          description: Server id.
          type: int
          sample: 12345
        name:
          description: Server name.
          type: str
          sample: web-server-01
    name:
      description: Name of the snapshot.
      type: str
      sample: pre-patch
    status:
      description: V(in_progress) while being taken, V(completed) when done.
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
      description: Free text given at creation; empty when none was given.
      type: str
      sample: Before the monthly patch run
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
        - V(not_found) names O(snapshot_ids) that do not exist.
        - V(wait_timeout), V(snapshot_gone) and V(snapshot_failed) end a wait.
      type: str
      sample: http_error
    status:
      description: The HTTP status the API answered, or null when no answer says it.
      type: int
      sample: 401
    method:
      description: The method of the request that failed, or null when no request failed.
      type: str
      sample: GET
    path:
      description: The path of the request that failed, or null when no request failed.
      type: str
      sample: /api/v1/snapshots/
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils._api import COMPLETED, IN_PROGRESS, newest_first
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import NOT_FOUND, VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._module import VpsorgModule
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import ServerSnapshots, SnapshotSource
from ansible_collections.vpsorg.cloud.plugins.module_utils._wait import SnapshotsTarget

OPTIONS = dict(
    server_id=dict(type='int'),
    server_ids=dict(type='list', elements='int'),
    name=dict(type='str'),
    snapshot_ids=dict(type='list', elements='int'),
    status=dict(type='str', choices=['in_progress', 'completed']),
    wait=dict(type='bool', default=False),
    wait_timeout=dict(type='int', default=1800),
)
RULES = dict(mutually_exclusive=[('server_id', 'server_ids')])


def missing_ids_error(missing, server_id, server_ids=None):
    where = 'on server %d' % server_id if server_id else 'in this account'
    if server_ids is not None:
        where = 'on servers %s' % ', '.join(str(one) for one in server_ids)
    return VpsorgApiError('snapshot_ids %s %s not exist %s' % (', '.join(str(snap_id) for snap_id in missing), 'does' if len(missing) == 1 else 'do', where),
                          code=NOT_FOUND)


def selected_snapshots(listed, params):
    """The snapshots chosen by server_id, name and snapshot_ids; the status filter comes later, after any wait."""
    if params['snapshot_ids'] is not None:
        listed_ids = set(snap.get('id') for snap in listed)
        missing = [snap_id for snap_id in dict.fromkeys(params['snapshot_ids']) if snap_id not in listed_ids]
        if missing:
            raise missing_ids_error(missing, params['server_id'], params['server_ids'])
        listed = [snap for snap in listed if snap.get('id') in params['snapshot_ids']]
    if params['name'] is not None:
        listed = [snap for snap in listed if snap.get('name') == params['name']]
    return listed


def listed(module):
    """The selected snapshots, after the wait when asked: one list (plus its pages) per poll, the first read the first poll."""
    params = module.params
    if params['server_id']:
        source = ServerSnapshots(module.client, params['server_id'])
    else:
        source = SnapshotSource(module.client, params['server_ids'])  # no server (server_ids: []): no request
    first = source.read()
    snapshots = selected_snapshots(first, params)
    in_progress = [snap.get('id') for snap in snapshots if snap.get('status') == IN_PROGRESS]
    if params['wait'] and in_progress:
        target = SnapshotsTarget(module.client, in_progress, listing=first, read=lambda pending: source.poll(pending, COMPLETED))
        snapshots = source.after_wait(snapshots, target.wait(params['wait_timeout']))
    if params['status']:
        snapshots = [snap for snap in snapshots if snap.get('status') == params['status']]
    return dict(changed=False, snapshots=newest_first(snapshots)), None, None


def main():
    VpsorgModule(OPTIONS, **RULES).run(listed)


if __name__ == '__main__':
    main()
