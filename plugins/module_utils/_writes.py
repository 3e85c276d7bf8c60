# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The safe writes, one step for one server each: create (never twice: re-read, then adopt, after a lost POST),
settle a concurrent duplicate, delete, restore (never twice). _fleet.py decides which steps a task needs.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports _errors.py, _answers.py, _api.py and _wait.py only.
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import check_restore, check_snapshot, server_of
from ansible_collections.vpsorg.cloud.plugins.module_utils._api import (
    RESTORING, STOPPED, get_server, newest_first, server_missing, server_snapshots, server_summary)
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import SERVER_BUSY, VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._wait import SnapshotsTarget


def create_snapshot(client, server_id, name, description=None, known_ids=(), made_elsewhere=None):
    """POST a snapshot without ever making two.

    When the POST may have reached the API but no answer came back (timeout, dropped connection,
    5xx), the server's snapshots are read again and a snapshot of that name that was not there
    before (known_ids) is adopted instead of sending the POST again. A 400 because another run took the
    server's last slot with the same name adopts that run's snapshot, and adds server_id to made_elsewhere.
    """
    body = dict(server_id=server_id, name=name)
    if description:
        body['description'] = description
    known_ids = set(known_ids)

    def adopt_if_created():
        for snap in newest_first(server_snapshots(client, server_id)):
            if snap.get('name') == name and snap.get('id') not in known_ids:
                return snap
        return None

    try:
        created = client.post('snapshots/', body, recheck=adopt_if_created)
    except VpsorgApiError as exc:
        if exc.status == 404:
            raise server_missing(server_id, exc, quote=True)
        # Another run creating the same name may have taken the server's last free slot: adopt its snapshot.
        adopted = adopt_if_created() if exc.status == 400 else None
        if adopted is None:
            raise
        created = adopted
        if made_elsewhere is not None:
            made_elsewhere.add(server_id)  # this run changed nothing on that server
    created = dict(check_snapshot(created, ('POST', client.shown_path('snapshots/')), server_id, name))
    created.pop('message', None)
    return created


def settle_concurrent_duplicates(client, created, known_ids=(), snapshots=None, timeout=1800):
    """Keep one snapshot when two runs created the same name on a server at the same time.

    Both runs saw no snapshot of that name and both created one. Each run then reads the list
    (snapshots, or a fresh one): the oldest same-name snapshot created since (created_at, then id)
    wins in both runs, and a run whose own snapshot lost deletes it, its own creation, and adopts
    the winner. Returns the snapshot to report.
    """
    server_id, name = server_of(created), created.get('name')
    if snapshots is None:
        snapshots = server_snapshots(client, server_id)
    rivals = dict((snap.get('id'), snap) for snap in snapshots
                  if server_of(snap) == server_id and snap.get('name') == name and snap.get('id') not in set(known_ids))
    rivals.setdefault(created.get('id'), created)
    winner = min(rivals.values(), key=lambda snap: (snap.get('created_at') or '', snap.get('id') or 0))
    if winner.get('id') == created.get('id'):
        return winner
    try:
        delete_snapshot(client, created['id'])
    except VpsorgApiError as exc:
        if exc.status != 400:
            raise
        # An API that refuses to delete a snapshot still being taken: wait for it, then delete it.
        SnapshotsTarget(client, [created['id']], server_id=server_id).wait(timeout)
        delete_snapshot(client, created['id'])
    return winner


def delete_snapshot(client, snapshot_id):
    """DELETE a snapshot; one that is already gone (say, a retried DELETE that had worked) is fine."""
    try:
        client.delete('snapshots/%d/' % snapshot_id)
    except VpsorgApiError as exc:
        if exc.status != 404:
            raise


def restore_snapshot(client, snapshot, before):
    """POST the restore; after a failure that may have applied it, a server already restoring counts as done.

    before is the snapshot's server as read just before. A server that is already restoring (say, a run
    interrupted after its restore was sent) gets no second restore: that, and a 400 from the restore endpoint,
    fail with code server_busy naming the server's status.
    """
    server_id = server_of(snapshot)
    refuse_busy_server(before)

    def adopt_if_restoring():
        # The API stops the server before it restores it: a server that was running and is now stopped (or
        # restoring) got the restore, and must not get a second one.
        server = get_server(client, server_id) if server_id else None
        if server and (server.get('status') == RESTORING or (server.get('status') == STOPPED and before.get('status') != STOPPED)):
            return dict(status='success', snapshot=snapshot, server=server_summary(server))
        return None

    try:
        answer = client.post('snapshots/%d/restore/' % snapshot['id'], recheck=adopt_if_restoring)
    except VpsorgApiError as exc:
        if exc.status != 400:
            raise
        refuse_busy_server(get_server(client, server_id), exc)
        raise
    return check_restore(answer, ('POST', client.shown_path('snapshots/%d/restore/' % snapshot['id'])))


def refuse_busy_server(server, refusal=None):
    """Raise server_busy when the server is restoring already, or when the API refused the restore (refusal)."""
    if server.get('status') == RESTORING or refusal is not None:
        raise busy_server_error(server, refusal)


def busy_server_error(server, refusal=None):
    """server_busy: the server is restoring already, or the API refused its restore (refusal)."""
    why = ' and the API refused the restore (%s)' % refusal if refusal is not None else ' (a restore is under way)' if (
        server.get('status') == RESTORING) else ''
    return VpsorgApiError(
        'server %s cannot be restored now: its status is %s%s; wait until it is active or stopped, then run the restore again'
        % (server.get('id'), server.get('status'), why),
        code=SERVER_BUSY, status=getattr(refusal, 'status', None), method='POST', path=getattr(refusal, 'path', None))
