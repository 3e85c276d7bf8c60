# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""state=restored for one snapshot: by its id, or by a server and a name. A set of servers, each restored from its own
snapshot of one name, is Fleet.ensure_restored (_fleet.py).

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports _errors.py, _answers.py, _api.py, _fleet.py, _wait.py and _writes.py.
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import server_of
from ansible_collections.vpsorg.cloud.plugins.module_utils._api import COMPLETED, IN_PROGRESS, get_server, in_progress_error, not_back, server_summary
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import AMBIGUOUS, NOT_FOUND, VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._wait import ServersRestoredTarget, SnapshotsTarget
from ansible_collections.vpsorg.cloud.plugins.module_utils._writes import restore_snapshot


def restore(client, server_id=None, name=None, snapshot_id=None, check_mode=False, wait=True, timeout=1800):
    """Restore one server from the one snapshot selected by snapshot_id, or by server_id and name.

    Returns (snapshot, server before, server after). With wait, a server that leaves restoring in a status other
    than the one it had before (or active) fails with restore_failed: only then is it known to be back.
    """
    fleet = Fleet.of_one(client, server_id, name, snapshot_id)
    targets = [snap for owner in fleet.server_ids for snap in fleet.selected(owner)]
    if not targets:
        if snapshot_id is not None:
            where = 'on server %d' % server_id if server_id else 'in this account'
            raise VpsorgApiError('snapshot %d does not exist %s' % (snapshot_id, where), code=NOT_FOUND)
        raise VpsorgApiError("server %d has no snapshot named '%s'" % (server_id, name), code=NOT_FOUND)
    if len(targets) > 1:
        raise VpsorgApiError("server %d has %d snapshots named '%s' (ids %s): choose one with snapshot_id"
                             % (server_id, len(targets), name, ', '.join(str(snap['id']) for snap in targets)),
                             code=AMBIGUOUS, results=dict(snapshots=targets))
    snapshot = targets[0]
    owner = server_of(snapshot)
    if snapshot.get('status') == IN_PROGRESS:
        if not wait:
            raise in_progress_error([snapshot], 'restoring')
        if not check_mode:
            target = SnapshotsTarget(client, [snapshot['id']], listing=fleet.listing, read=lambda pending: fleet.reader.poll(pending, COMPLETED))
            snapshot = target.wait(timeout)[snapshot['id']]
    server = get_server(client, owner)
    before = server_summary(server)
    if check_mode:
        return snapshot, before, before
    answer = restore_snapshot(client, snapshot, server)
    after = server_summary(answer.get('server') or {})
    if wait:
        after = ServersRestoredTarget(client, [owner]).wait(timeout)[owner]
        problem = not_back(snapshot, before, after)
        if problem:
            problem.results.update(snapshot=snapshot, server=after, server_before=before)
            raise problem
    return snapshot, before, after
