# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the Snapshots API means, on top of the HTTP client: finding, creating without duplicates,
waiting, deleting and restoring snapshots, for one server or a whole fleet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vpsorg.cloud.plugins.module_utils.api import VpsorgApiError, WaitTimeout, bad_response, is_id, shown_path, wait_until

SNAPSHOT_LIMIT = 5
# \Z, not $: a name with a trailing newline must not pass.
NAME_PATTERN = re.compile(r'[A-Za-z0-9_-]+\Z')
IN_PROGRESS = 'in_progress'
COMPLETED = 'completed'
RESTORING = 'restoring'
# Writes in flight at once for a fleet: enough to hide latency, few enough not to trip rate limits.
FLEET_WORKERS = 8


def check_name(name):
    """The API's name rule, checked before any request; returns an error line or None."""
    if not NAME_PATTERN.match(name or ''):
        shown = re.sub(r'[\x00-\x1f\x7f]', lambda char: '\\x%02x' % ord(char.group()), name or '')
        return "name '%s' is invalid: use only letters, digits, hyphens and underscores" % shown
    return None


def option_errors(params):
    """The checks every module makes on the options it has, before any request: a list of error lines."""
    problems = []
    if params.get('name') is not None:
        problems.append(check_name(params['name']))
    for option in ('server_id', 'snapshot_id'):
        if params.get(option) is not None and not is_id(params[option]):
            problems.append('%s must be a positive integer, got %s' % (option, shown_id(params[option])))
    for option in ('server_ids', 'snapshot_ids'):
        bad = [value for value in params.get(option) or [] if not is_id(value)]
        if bad:
            problems.append('%s must be positive integers, got %s' % (option, ', '.join(shown_id(value) for value in bad)))
    if params.get('wait_timeout') is not None and params['wait_timeout'] < 0:
        problems.append('wait_timeout must be zero or more seconds, got %s' % params['wait_timeout'])
    return [problem for problem in problems if problem]


def shown_id(value):
    """An id option's value as the user wrote it: booleans and ids too large for the API say so."""
    if isinstance(value, bool):
        return '%s (a boolean)' % str(value).lower()
    if isinstance(value, int) and value > 0:
        return '%d (more than 2^63 - 1)' % value
    return str(value)


def server_of(snapshot):
    server = snapshot.get('server')
    if isinstance(server, dict):
        return server.get('id')
    if isinstance(server, int):
        return server
    return snapshot.get('server_id')


def newest_first(snapshots):
    return sorted(snapshots, key=lambda snap: (snap.get('created_at') or '', snap.get('id') or 0), reverse=True)


def describe(snapshots):
    return ', '.join('%s (id %s, created %s)' % (snap.get('name'), snap.get('id'), snap.get('created_at')) for snap in newest_first(snapshots))


def list_snapshots(client, server_id=None):
    """All snapshots of the account, or of one server (filtered by the API and again here)."""
    listed = client.list_all('snapshots/', {'server_id': server_id} if server_id else None)
    snapshots = [check_snapshot(snap, ('GET', shown_path(client, 'snapshots/'))) for snap in listed]
    if server_id:
        snapshots = [snap for snap in snapshots if server_of(snap) == server_id]
    return snapshots


def list_servers(client, **filters):
    """The account's servers; filters (status, location) are sent to the API."""
    servers = client.list_all('servers/', dict((name, value) for name, value in filters.items() if value) or None)
    return [check_server(server, ('GET', shown_path(client, 'servers/'))) for server in servers]


def get_server(client, server_id):
    try:
        server = client.get('servers/%d/' % server_id)
    except VpsorgApiError as exc:
        if exc.status == 404:
            raise VpsorgApiError('server %d does not exist in this account' % server_id, status=404, method=exc.method, path=exc.path)
        raise
    return check_server(server, ('GET', shown_path(client, 'servers/%d/' % server_id)), server_id)


def quota_message(server_id, snapshots):
    return ('server %d already has %d snapshots, the limit is %d per server: delete one first (state: absent) '
            'or restore from one. Its snapshots: %s' % (server_id, len(snapshots), SNAPSHOT_LIMIT, describe(snapshots)))


def planned_snapshot(server_id, name, description):
    """What check mode reports for a snapshot it would create."""
    return dict(id=None, server=dict(id=server_id), name=name, description=description or '', status=IN_PROGRESS, size_mb=None, created_at=None)


def create_snapshot(client, server_id, name, description=None, known_ids=()):
    """POST a snapshot without ever making two.

    When the POST may have reached the API but no answer came back (timeout, dropped connection,
    5xx), the server's snapshots are read again and a snapshot of that name that was not there
    before (known_ids) is adopted instead of sending the POST again.
    """
    body = dict(server_id=server_id, name=name)
    if description:
        body['description'] = description
    known_ids = set(known_ids)

    def adopt_if_created():
        for snap in newest_first(list_snapshots(client, server_id)):
            if snap.get('name') == name and snap.get('id') not in known_ids:
                return snap
        return None

    try:
        created = client.post('snapshots/', body, recheck=adopt_if_created)
    except VpsorgApiError as exc:
        if exc.status == 404:
            raise VpsorgApiError('server %d does not exist in this account (%s)' % (server_id, exc), status=404, method=exc.method, path=exc.path)
        # Another run creating the same name may have taken the server's last free slot: adopt its snapshot.
        adopted = adopt_if_created() if exc.status == 400 else None
        if adopted is None:
            raise
        created = adopted
    created = dict(check_snapshot(created, ('POST', shown_path(client, 'snapshots/')), server_id, name))
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
        snapshots = list_snapshots(client, server_id)
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
        wait_for_snapshots(client, [created['id']], timeout, server_id=server_id)
        delete_snapshot(client, created['id'])
    return winner


def delete_snapshot(client, snapshot_id):
    """DELETE a snapshot; one that is already gone (say, a retried DELETE that had worked) is fine."""
    try:
        client.delete('snapshots/%d/' % snapshot_id)
    except VpsorgApiError as exc:
        if exc.status != 404:
            raise


def watch_snapshots(client, snapshot_ids, timeout, server_id=None, until='completed', listing=None, stop_when_missing=False):
    """The one snapshot wait: one list request (plus pages) per poll, whatever the number of snapshots.

    Polls until none of snapshot_ids is in_progress (until='gone': none is listed any more); with
    stop_when_missing, also as soon as one of them has vanished. listing, a list just read, serves as
    the first poll. Returns the last listing by id. On timeout raises WaitTimeout naming what is still
    pending, with that listing as its `snapshots` attribute.
    """
    wanted = list(dict.fromkeys(snapshot_ids))
    last = {}
    fresh = [listing] if listing is not None else []

    def pending():
        if until == 'gone':
            return [last[snap_id] for snap_id in wanted if snap_id in last]
        return [last[snap_id] for snap_id in wanted if last.get(snap_id, {}).get('status') == IN_PROGRESS]

    def poll():
        last.clear()
        last.update((snap.get('id'), snap) for snap in (fresh.pop() if fresh else list_snapshots(client, server_id)))
        if stop_when_missing and until != 'gone' and any(snap_id not in last for snap_id in wanted):
            return True, None
        return not pending(), None

    def pending_text(dummy):
        return 'snapshot(s) %s: %s' % ('to be deleted' if until == 'gone' else 'still in progress', describe(pending()))

    try:
        wait_until(poll, timeout, pending_text)
    except WaitTimeout as exc:
        exc.snapshots = dict(last)
        raise
    return last


def wait_for_snapshots(client, snapshot_ids, timeout, server_id=None, until='completed', listing=None):
    """Wait for snapshots to complete (returns the last listing by id) or to be gone (returns None).

    A snapshot that vanishes while waiting for it to complete, or that ends in a status other than
    completed, raises, naming it.
    """
    current = watch_snapshots(client, snapshot_ids, timeout, server_id, until, listing, stop_when_missing=True)
    if until == 'gone':
        return None
    missing = [snap_id for snap_id in dict.fromkeys(snapshot_ids) if snap_id not in current]
    if missing:
        raise VpsorgApiError('snapshot(s) %s disappeared while waiting for them to complete' % ', '.join(str(i) for i in missing),
                             code='snapshot_gone')
    # The API documents only in_progress and completed; any other end state is a failed snapshot.
    unfinished = [current[snap_id] for snap_id in dict.fromkeys(snapshot_ids) if current[snap_id].get('status') != COMPLETED]
    if unfinished:
        raise VpsorgApiError('snapshot(s) ended without completing: %s' % ', '.join(
            '%s (id %s, status %s)' % (snap.get('name'), snap.get('id'), snap.get('status')) for snap in unfinished), code='snapshot_failed')
    return current


def restore_snapshot(client, snapshot):
    """POST the restore; after a failure that may have applied it, a server already restoring counts as done.

    A server that is already restoring (say, a run interrupted after its restore was sent) gets no second
    restore: that, and a 400 from the restore endpoint, fail with code server_busy naming the server's status.
    """
    server_id = server_of(snapshot)
    refuse_busy_server(get_server(client, server_id))

    def adopt_if_restoring():
        server = get_server(client, server_id) if server_id else None
        if server and server.get('status') == RESTORING:
            return dict(status='success', snapshot=snapshot, server=server_summary(server))
        return None

    try:
        answer = client.post('snapshots/%d/restore/' % snapshot['id'], recheck=adopt_if_restoring)
    except VpsorgApiError as exc:
        if exc.status != 400:
            raise
        refuse_busy_server(get_server(client, server_id), exc)
        raise
    return check_restore(answer, ('POST', shown_path(client, 'snapshots/%d/restore/' % snapshot['id'])))


def refuse_busy_server(server, refusal=None):
    """Raise server_busy when the server is restoring already, or when the API refused the restore (refusal)."""
    if server.get('status') == RESTORING or refusal is not None:
        why = ' and the API refused the restore (%s)' % refusal if refusal is not None else ' (a restore is under way)'
        raise VpsorgApiError(
            'server %s cannot be restored now: its status is %s%s; wait until it is active or stopped, then run the restore again'
            % (server.get('id'), server.get('status'), why),
            code='server_busy', status=getattr(refusal, 'status', None), method='POST', path=getattr(refusal, 'path', None))


# Answers are checked where they enter: anything else fails with one line and code bad_response.

def snapshot_problem(snap):
    """What makes an answer unusable as a snapshot object, or None."""
    if not isinstance(snap, dict):
        return 'is not a snapshot object'
    if not is_id(snap.get('id')):
        return 'has a snapshot without an integer id'
    if not is_id(server_of(snap)):
        return 'has snapshot %s without the integer id of its server' % snap['id']
    wrong = [field for field, kinds in (('name', (str,)), ('status', (str,)), ('created_at', (str, type(None))), ('description', (str, type(None))))
             if not isinstance(snap.get(field), kinds)]
    if snap.get('size_mb') is not None and not is_id(snap['size_mb'], 0):
        wrong.append('size_mb')
    if wrong:
        return 'has snapshot %s with a wrong type for %s' % (snap['id'], ', '.join(wrong))
    return None


def check_snapshot(answer, request, server_id=None, name=None):
    """answer if it is a snapshot (of server_id, named name, when given), else VpsorgApiError(bad_response)."""
    problem = snapshot_problem(answer)
    if not problem and server_id is not None and server_of(answer) != server_id:
        problem = 'is a snapshot of server %s, not of server %s' % (server_of(answer), server_id)
    if not problem and name is not None and answer.get('name') != name:
        problem = "is a snapshot named '%s', not '%s'" % (answer.get('name'), name)
    if problem:
        written = ' (the snapshot may have been created: list the server\'s snapshots before trying again)' if name is not None else ''
        raise bad_response(request, 'the answer %s%s' % (problem[:300], written))
    return answer


def check_server(server, request, server_id=None):
    """server if it is a server object (with that id, when given), else VpsorgApiError(bad_response)."""
    problem = None
    if not isinstance(server, dict) or not is_id(server.get('id')):
        problem = 'is not a server object with an integer id'
    elif server_id is not None and server['id'] != server_id:
        problem = 'is server %s, not server %s' % (server['id'], server_id)
    if problem:
        raise bad_response(request, 'the answer %s' % problem)
    return server


def check_restore(answer, request):
    """The restore endpoint's answer if it is an object (whose server, if any, is an object), else bad_response."""
    if not isinstance(answer, dict) or not isinstance(answer.get('server', {}), dict):
        raise bad_response(request, 'the answer is not a restore object (the restore may have started: check the server)')
    return answer


def server_summary(server):
    return dict(id=server.get('id'), name=server.get('name'), status=server.get('status'))


def wait_for_server_restored(client, server_id, timeout):
    def poll():
        server = get_server(client, server_id)
        return server.get('status') != RESTORING, server

    return server_summary(wait_until(poll, timeout, lambda server: 'server %d to finish restoring (status %s)' % (server_id, server.get('status'))))


class Fleet(object):
    """One name on many servers in one module run: one list, only the needed writes, one list per poll."""

    def __init__(self, client, server_ids, name, check_mode=False, workers=FLEET_WORKERS):
        self.client = client
        self.server_ids = list(dict.fromkeys(server_ids))
        self.name = name
        self.check_mode = check_mode
        self.workers = workers
        self.failed = {}
        self.changed = False
        self.created = set()
        # No server, no request: server_ids: [] is ok and unchanged.
        snapshots = list_snapshots(client) if self.server_ids else []
        self.by_server = dict((server_id, []) for server_id in self.server_ids)
        for snap in snapshots:
            if server_of(snap) in self.by_server:
                self.by_server[server_of(snap)].append(snap)
        try:
            known_servers = set(server.get('id') for server in list_servers(client)) if self.server_ids else set()
        except VpsorgApiError as exc:
            if exc.status != 404:
                raise
            known_servers = None  # an API without the servers list: a create's 404 will tell instead
        for server_id in self.server_ids:
            if known_servers is not None and server_id not in known_servers:
                self.failed[server_id] = 'server %d does not exist in this account' % server_id

    def _active(self):
        return [server_id for server_id in self.server_ids if server_id not in self.failed]

    def named(self, server_id):
        return newest_first([snap for snap in self.by_server[server_id] if snap.get('name') == self.name])

    def _run_each(self, function, items):
        """Call function(item) for every item on a small pool; failures are recorded per server."""
        def guarded(item):
            server_id, payload = item
            try:
                return server_id, function(server_id, payload), None
            except VpsorgApiError as exc:
                return server_id, None, str(exc)

        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            outcomes = list(pool.map(guarded, items))
        results = []
        for server_id, result, error in outcomes:
            if error:
                self.failed[server_id] = error
            else:
                results.append((server_id, result))
        return results

    def _wait(self, snapshot_ids, timeout, until, listing=None):
        """Wait for the whole set ({snapshot id: server id}) with one account-wide list per poll.

        listing, a list just read, serves as the first poll. Returns the last listing by id; each
        server whose snapshot did not end as wanted is failed with its own reason, the others go on.
        """
        if not snapshot_ids:
            return {}
        try:
            last = watch_snapshots(self.client, snapshot_ids, timeout, until=until, listing=listing)
        except WaitTimeout as exc:
            last = exc.snapshots  # each server still waiting gets its own reason below
        for snap_id, server_id in snapshot_ids.items():
            snap = last.get(snap_id)
            if until == 'gone':
                reason = 'snapshot %s is still listed after %d seconds (wait_timeout)' % (snap_id, timeout) if snap else None
            elif snap is None:
                reason = 'snapshot %s disappeared while waiting for it to complete' % snap_id
            elif snap.get('status') == IN_PROGRESS:
                reason = 'snapshot %s is still in progress after %d seconds (wait_timeout)' % (snap_id, timeout)
            elif snap.get('status') != COMPLETED:
                reason = 'snapshot %s ended with status %s' % (snap_id, snap.get('status'))
            else:
                reason = None
            if reason:
                self.failed[server_id] = reason
        return last

    def ensure_present(self, description=None, wait=True, timeout=1800):
        result = {}
        to_create = []
        for server_id in self._active():
            existing = self.named(server_id)
            if existing:
                result[server_id] = existing[0]
            elif len(self.by_server[server_id]) >= SNAPSHOT_LIMIT:
                self.failed[server_id] = quota_message(server_id, self.by_server[server_id])
            else:
                to_create.append((server_id, [snap.get('id') for snap in self.by_server[server_id]]))
        self.changed = bool(to_create)
        self.created = set(server_id for server_id, dummy in to_create)
        if self.check_mode:
            for server_id, dummy in to_create:
                result[server_id] = planned_snapshot(server_id, self.name, description)
            return self._ordered(result)
        known = dict(to_create)
        created = self._run_each(lambda sid, known_ids: create_snapshot(self.client, sid, self.name, description, known_ids), to_create)
        listing = None
        if created:
            # One account-wide list settles races with other runs creating the same names at the same time,
            # and serves as the wait's first poll.
            listing = list_snapshots(self.client)
            created = self._run_each(lambda sid, snap: settle_concurrent_duplicates(self.client, snap, known[sid], listing, timeout), created)
        for server_id, snap in created:
            result[server_id] = snap
        if wait:
            waiting = dict((snap.get('id'), server_id) for server_id, snap in result.items() if snap.get('status') == IN_PROGRESS)
            current = self._wait(waiting, timeout, 'completed', listing)
            for server_id in list(result):
                if server_id in self.failed:
                    del result[server_id]
                elif result[server_id].get('id') in current:
                    result[server_id] = current[result[server_id].get('id')]
        return self._ordered(result)

    def ensure_absent(self, wait=True, timeout=1800):
        targets = []
        for server_id in self._active():
            for snap in self.named(server_id):
                targets.append((server_id, snap))
        self.changed = bool(targets)
        if self.check_mode or not targets:
            return [snap for dummy, snap in targets]
        in_progress = dict((snap.get('id'), server_id) for server_id, snap in targets if snap.get('status') == IN_PROGRESS)
        if in_progress and not wait:
            for snap_id, server_id in in_progress.items():
                self.failed[server_id] = 'snapshot %s is still in progress; set wait: true to wait for it before deleting' % snap_id
        elif in_progress:
            self._wait(in_progress, timeout, 'completed')
        targets = [(server_id, snap) for server_id, snap in targets if server_id not in self.failed]
        deleted = self._run_each(lambda sid, snap: delete_snapshot(self.client, snap['id']) or snap, targets)
        if wait and deleted:
            self._wait(dict((snap['id'], server_id) for server_id, snap in deleted), timeout, 'gone')
        self.changed = bool(deleted)
        return [snap for server_id, snap in deleted if server_id not in self.failed]

    def _ordered(self, by_server):
        return [by_server[server_id] for server_id in self.server_ids if server_id in by_server]

    def failures(self):
        return [dict(server_id=server_id, reason=self.failed[server_id]) for server_id in self.server_ids if server_id in self.failed]
