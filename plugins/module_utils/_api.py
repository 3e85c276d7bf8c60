# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the Snapshots API means, for reading: its statuses and limit, the endpoints that read one server or the
servers, and the wordings shared by every flow (a missing server, a full quota, a snapshot still being taken).

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports _errors.py, _answers.py and _pages.py only. The writes are in _writes.py, the whole account's snapshots in
_source.py.
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import check_server, check_snapshot, server_of
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import (
    HTTP_ERROR, IN_PROGRESS as IN_PROGRESS_ERROR, NOT_FOUND, RESTORE_FAILED, SNAPSHOT_LIMIT as SNAPSHOT_LIMIT_ERROR, VpsorgApiError)
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import read_all

SNAPSHOT_LIMIT = 5
# Snapshot and server statuses, and GONE: what a wait for deleted snapshots waits for.
IN_PROGRESS = 'in_progress'
COMPLETED = 'completed'
RESTORING = 'restoring'
ACTIVE = 'active'
STOPPED = 'stopped'
GONE = 'gone'


def newest_first(snapshots):
    return sorted(snapshots, key=lambda snap: (snap.get('created_at') or '', snap.get('id') or 0), reverse=True)


def is_newest_first(snapshots):
    """Whether the snapshots, as listed, go from newest to oldest (created_at never increases; every one has it).

    _pages.walk asks it of each page before the snapshots are checked: a created_at that is not a string is no order.
    """
    stamps = [snap.get('created_at') for snap in snapshots]
    return all(isinstance(stamp, str) and stamp for stamp in stamps) and all(newer >= older for newer, older in zip(stamps, stamps[1:]))


def describe(snapshots):
    return ', '.join('%s (id %s, created %s)' % (snap.get('name'), snap.get('id'), snap.get('created_at')) for snap in newest_first(snapshots))


def server_snapshots(client, server_id):
    """The snapshots of one server: its own list, filtered by the API and again here."""
    listed = read_all(client, 'snapshots/', {'server_id': server_id}, in_order=is_newest_first)
    snapshots = [check_snapshot(snap, ('GET', client.shown_path('snapshots/'))) for snap in listed]
    return [snap for snap in snapshots if server_of(snap) == server_id]


def list_servers(client, **filters):
    """The account's servers; filters (status, location) are sent to the API."""
    servers = read_all(client, 'servers/', dict((name, value) for name, value in filters.items() if value) or None)
    return [check_server(server, ('GET', client.shown_path('servers/'))) for server in servers]


def get_server(client, server_id):
    try:
        server = client.get('servers/%d/' % server_id)
    except VpsorgApiError as exc:
        if exc.status == 404:
            raise server_missing(server_id, exc)
        raise
    return check_server(server, ('GET', client.shown_path('servers/%d/' % server_id)), server_id)


def read_servers(client, server_ids):
    """{server id: server} of server_ids: one GET for one server, else the servers list (one read for the whole set),
    then a GET of any server it did not hold (whose 404 says the server is not in this account)."""
    if len(server_ids) == 1:
        return {server_ids[0]: get_server(client, server_ids[0])}
    wanted = set(server_ids)
    found = dict((server.get('id'), server) for server in list_servers(client) if server.get('id') in wanted)
    found.update((server_id, get_server(client, server_id)) for server_id in server_ids if server_id not in found)
    return found


def server_summary(server):
    return dict(id=server.get('id'), name=server.get('name'), status=server.get('status'))


def server_missing(server_id, exc=None, quote=False):
    """The one wording for a server that is not in this account (another account's server looks the same).

    exc is the API's 404 (http_error, status 404), quoted when quote; without it the servers list told (not_found).
    """
    message = 'server %d does not exist in this account' % server_id
    if exc is None:
        return VpsorgApiError(message, code=NOT_FOUND)
    return VpsorgApiError(message + (' (%s)' % exc if quote else ''), code=HTTP_ERROR, status=404, method=exc.method, path=exc.path)


def quota_error(server_id, snapshots):
    return VpsorgApiError(
        'server %d already has %d snapshots, the limit is %d per server: delete one first (state: absent) '
        'or restore from one. Its snapshots: %s' % (server_id, len(snapshots), SNAPSHOT_LIMIT, describe(snapshots)),
        code=SNAPSHOT_LIMIT_ERROR, details=dict(limit=SNAPSHOT_LIMIT), results=dict(snapshots=newest_first(snapshots)))


def in_progress_error(snapshots, before):
    """A snapshot still being taken, with wait false: it can be neither deleted nor restored yet."""
    return VpsorgApiError('snapshot(s) still in progress: %s; set wait: true to wait for them before %s' % (describe(snapshots), before),
                          code=IN_PROGRESS_ERROR)


def planned_snapshot(server_id, name, description):
    """What check mode reports for a snapshot it would create."""
    return dict(id=None, server=dict(id=server_id), name=name, description=description or '', status=IN_PROGRESS, size_mb=None, created_at=None)


def not_back(snapshot, before, after):
    """restore_failed when the server left restoring in a status other than the one it had before (or active), else None."""
    if after.get('status') in (before.get('status'), ACTIVE):
        return None
    return VpsorgApiError('server %d ended the restore from snapshot %d %s, not %s as before it: it may not be back'
                          % (before.get('id'), snapshot['id'], after.get('status'), before.get('status')), code=RESTORE_FAILED)
