# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the Snapshots API means, on top of the HTTP client: checking options, reading, creating without
duplicates, deleting, restoring, and the one waiter. Each function is one step for one server;
_fleet.py decides which steps a task needs.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from ansible_collections.vpsorg.cloud.plugins.module_utils._client import PAGE_SIZE, adds_up, bad_response, is_id, shown_path
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import (
    HTTP_ERROR, IN_PROGRESS as IN_PROGRESS_ERROR, INVALID_INPUT, NOT_FOUND, SERVER_BUSY, SNAPSHOT_FAILED, SNAPSHOT_GONE,
    SNAPSHOT_LIMIT as SNAPSHOT_LIMIT_ERROR, WAIT_TIMEOUT, VpsorgApiError)

SNAPSHOT_LIMIT = 5
# \Z, not $: a name with a trailing newline must not pass.
NAME_PATTERN = re.compile(r'[A-Za-z0-9_-]+\Z')
# Snapshot and server statuses, and GONE: what a wait for deleted snapshots waits for.
IN_PROGRESS = 'in_progress'
COMPLETED = 'completed'
RESTORING = 'restoring'
ACTIVE = 'active'
STOPPED = 'stopped'
GONE = 'gone'


# Options --------------------------------------------------------------------------------------

def check_options(params, problems=()):
    """The checks argument_spec cannot declare (ranges, the name rule), before any request.

    problems are a module's own lines to report with them. Raises one invalid_input error, one line.
    """
    problems, own = [], list(problems)
    if params.get('name') is not None and not NAME_PATTERN.match(params['name']):
        shown = re.sub(r'[\x00-\x1f\x7f]', lambda char: '\\x%02x' % ord(char.group()), params['name'])
        problems.append("name '%s' is invalid: use only letters, digits, hyphens and underscores" % shown)
    for option in ('server_id', 'snapshot_id'):
        if params.get(option) is not None and not is_id(params[option]):
            problems.append('%s must be a positive integer, got %s' % (option, shown_id(params[option])))
    for option in ('server_ids', 'snapshot_ids'):
        bad = [value for value in params.get(option) or [] if not is_id(value)]
        if bad:
            problems.append('%s must be positive integers, got %s' % (option, ', '.join(shown_id(value) for value in bad)))
    if params.get('wait_timeout') is not None and params['wait_timeout'] < 0:
        problems.append('wait_timeout must be zero or more seconds, got %s' % params['wait_timeout'])
    if problems + own:
        raise VpsorgApiError('; '.join(problems + own), code=INVALID_INPUT)


def shown_id(value):
    """An id option's value as the user wrote it: booleans and ids too large for the API say so."""
    if isinstance(value, bool):
        return '%s (a boolean)' % str(value).lower()
    if isinstance(value, int) and value > 0:
        return '%d (more than 2^63 - 1)' % value
    return str(value)


# Reading --------------------------------------------------------------------------------------

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
    """All snapshots of the account (by SnapshotReader's rule), or of one server (filtered by the API and again here)."""
    if not server_id:
        return SnapshotReader(client).read()
    listed = client.list_all('snapshots/', {'server_id': server_id}, in_order=is_newest_first)
    snapshots = [check_snapshot(snap, ('GET', shown_path(client, 'snapshots/'))) for snap in listed]
    return [snap for snap in snapshots if server_of(snap) == server_id]


class SnapshotReader:
    """The snapshots of a set of servers, read the cheaper way, and later reads of the newest ones only.

    The first read asks for the first page of the account-wide list: its count tells what the whole list
    costs (count / page size requests). When that is more than one request per server, each server's own
    list (?server_id=, one request each, a few at a time) is read instead; so is a pass over the account-wide
    list that the list changed under, since another run's deletes can shift a snapshot past its pages, and any
    list of several pages that is not newest first (there, new snapshots land among the pages, and a shifted
    snapshot can go unseen while the ids still add up to the count).
    servers_seen are the servers the API listed snapshots of (so they exist).

    Later reads that look for a few snapshots (the ones a run created and waits for) read the account-wide
    list from its first page and stop as soon as every wanted snapshot was seen and, when since is given,
    the pages reached a snapshot created before since. That is sound only if the list is ordered newest
    first, which is checked on the data of every page read, never assumed, and only if the list did not
    change meanwhile (its count); otherwise, or when a wanted snapshot was not found, the read falls back
    to the full read of the servers. mark is the created_at of the newest snapshot in the account at the
    first read (None when the first page was not newest first): whatever is created later is not older.
    """

    def __init__(self, client, server_ids=None, workers=8):
        self.client = client
        # None: the whole account, always read account-wide.
        self.server_ids = None if server_ids is None else list(dict.fromkeys(server_ids))
        self.workers = workers
        self.per_server = False
        self.decided = False
        self.mark = None
        self.started = time.monotonic()
        # Whether the last read was whole (every snapshot of its servers), not only the newest pages.
        self.whole = True
        self.servers_seen = set()
        self.missing_servers = set()

    def read(self, server_ids=None):
        """Every snapshot of server_ids (all of the set when None): the first call decides how to read.

        A pass over the account-wide list that the list changed under (its count moved, a page vanished, or
        the ids do not add up) is not used: the servers' own lists are read instead, one page each, which no
        other run's changes to other servers can shift. What retention deletes comes from this read, so it
        must hold every snapshot of the servers. Without servers (the whole account), the same holds for the
        account's servers, as the servers list names them.
        """
        server_ids = self.server_ids if server_ids is None else list(dict.fromkeys(server_ids))
        self.whole = True
        if self.per_server:
            return self._read_each(server_ids)
        request = ('GET', shown_path(self.client, 'snapshots/'))
        pages = self.client.pages('snapshots/', {'page_size': PAGE_SIZE})
        results, count, ordered, read_pages = [], None, True, 0
        try:
            for page in pages:
                if page is None or (count is not None and page['count'] != count):
                    break
                listed = [check_snapshot(snap, request) for snap in page['results']]
                read_pages += 1
                ordered = ordered and is_newest_first(results[-1:] + listed)
                if count is None:
                    count = page['count']
                    if not self.decided:
                        self.decided = True
                        self.mark = listed[0].get('created_at') if listed and ordered else None
                        whole_list = -(-(count or 0) // max(len(listed), 1))
                        if page['next'] and server_ids is not None and (whole_list > len(server_ids) or not ordered):
                            # The account-wide list costs more than one request per server, or it is not newest
                            # first: then what other runs create lands among the pages, and a pass can miss a
                            # snapshot that moved back onto a page already read, with the count still adding up.
                            self.per_server = True
                            break
                results.extend(listed)
            else:
                # One page is one answer; over several, only newest first moves nothing out of a pass's reach.
                if adds_up(results, count) and (ordered or read_pages == 1):
                    return self._keep(results, server_ids)
        finally:
            pages.close()
        if server_ids is None:
            return self._read_each([server['id'] for server in list_servers(self.client)])
        return self._read_each(server_ids)

    def created_since(self, created):
        """The time every snapshot created since the first read is at least: what a settling read must reach, or None.

        At least mark (the newest snapshot then). When the created snapshots' created_at are plain UTC seconds,
        also at least the oldest of them less the time this run took since its first read (and a second for
        the rounding), which keeps the read to the newest page even when many snapshots share the mark's second.
        """
        stamps = [snap.get('created_at') or '' for snap in created]
        if self.mark is None or not stamps or not all(UTC_SECONDS.match(stamp) for stamp in stamps):
            return self.mark
        oldest = datetime.strptime(min(stamps), '%Y-%m-%dT%H:%M:%SZ')
        bound = oldest - timedelta(seconds=int(time.monotonic() - self.started) + 2)
        return max(self.mark, bound.strftime('%Y-%m-%dT%H:%M:%SZ'))

    def _keep(self, snapshots, server_ids):
        wanted = set(server_ids if server_ids is not None else (server_of(snap) for snap in snapshots))
        # By id: a page that shifted under the reader may have shown a snapshot twice.
        kept = list(dict((snap['id'], snap) for snap in snapshots if server_of(snap) in wanted).values())
        self.servers_seen.update(server_of(snap) for snap in kept)
        return kept

    def _read_each(self, server_ids):
        def read_one(server_id):
            try:
                return list_snapshots(self.client, server_id)
            except VpsorgApiError as exc:
                if exc.status != 404:
                    raise
                self.missing_servers.add(server_id)  # an API that answers 404 for a server it does not know
                return []

        if len(server_ids) > 1:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(server_ids))) as pool:
                lists = list(pool.map(read_one, server_ids))
        else:
            lists = [read_one(server_id) for server_id in server_ids]
        snapshots = [snap for listed in lists for snap in listed]
        self.servers_seen.update(server_of(snap) for snap in snapshots)
        return snapshots

    def read_newest(self, snapshot_ids, server_ids, since=None, through_since=False):
        """A listing that holds snapshot_ids (and, with through_since, every snapshot created since since), reading as few pages as it can.

        since also ends the read early: once the pages are older than it, a wanted snapshot not seen yet is not further down.
        Reads the whole of server_ids instead when the account-wide list is cheap anyway, or when the pages
        cannot prove it (not newest first, changed while read, a wanted snapshot not found).
        """
        if through_since and since is None:
            return self.read(server_ids)
        wanted = set(snapshot_ids)
        found = {}
        first_count = None
        previous = None
        request = ('GET', shown_path(self.client, 'snapshots/'))
        pages = self.client.pages('snapshots/', {'page_size': PAGE_SIZE})
        ordered = True
        try:
            for index, page in enumerate(pages):
                if page is None or (index and page['count'] != first_count):
                    break
                first_count = page['count']
                results = [check_snapshot(snap, request) for snap in page['results']]
                ordered = ordered and is_newest_first(([previous] if previous else []) + results)
                if not ordered and self.per_server:
                    break  # not newest first: the servers' own lists cost less than the whole account-wide list
                previous = results[-1] if results else previous
                found.update((snap['id'], snap) for snap in results)
                passed = ordered and since is not None and previous is not None and (previous.get('created_at') or '') < since
                if wanted <= set(found) and (passed or not through_since):
                    self.whole = False
                    return list(found.values())
                if passed:
                    break  # newest first and older than since: a wanted snapshot that was not seen is not further down
            else:
                if ordered and adds_up(list(found.values()), first_count):
                    self.whole = True
                    return list(found.values())  # every page, newest first, and the list did not change: a whole read
        finally:
            pages.close()
        return self.read(server_ids)


UTC_SECONDS = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z')


def is_newest_first(snapshots):
    """Whether the snapshots, as listed, go from newest to oldest (created_at never increases; every one has it)."""
    stamps = [snap.get('created_at') for snap in snapshots]
    return all(stamps) and all(newer >= older for newer, older in zip(stamps, stamps[1:]))


def list_servers(client, **filters):
    """The account's servers; filters (status, location) are sent to the API."""
    servers = client.list_all('servers/', dict((name, value) for name, value in filters.items() if value) or None)
    return [check_server(server, ('GET', shown_path(client, 'servers/'))) for server in servers]


def server_missing(server_id, exc=None, quote=False):
    """The one wording for a server that is not in this account (another account's server looks the same).

    exc is the API's 404 (http_error, status 404), quoted when quote; without it the servers list told (not_found).
    """
    message = 'server %d does not exist in this account' % server_id
    if exc is None:
        return VpsorgApiError(message, code=NOT_FOUND)
    return VpsorgApiError(message + (' (%s)' % exc if quote else ''), code=HTTP_ERROR, status=404, method=exc.method, path=exc.path)


def get_server(client, server_id):
    try:
        server = client.get('servers/%d/' % server_id)
    except VpsorgApiError as exc:
        if exc.status == 404:
            raise server_missing(server_id, exc)
        raise
    return check_server(server, ('GET', shown_path(client, 'servers/%d/' % server_id)), server_id)


def server_summary(server):
    return dict(id=server.get('id'), name=server.get('name'), status=server.get('status'))


# Writing --------------------------------------------------------------------------------------

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
        for snap in newest_first(list_snapshots(client, server_id)):
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
    return check_restore(answer, ('POST', shown_path(client, 'snapshots/%d/restore/' % snapshot['id'])))


def refuse_busy_server(server, refusal=None):
    """Raise server_busy when the server is restoring already, or when the API refused the restore (refusal)."""
    if server.get('status') == RESTORING or refusal is not None:
        why = ' and the API refused the restore (%s)' % refusal if refusal is not None else ' (a restore is under way)'
        raise VpsorgApiError(
            'server %s cannot be restored now: its status is %s%s; wait until it is active or stopped, then run the restore again'
            % (server.get('id'), server.get('status'), why),
            code=SERVER_BUSY, status=getattr(refusal, 'status', None), method='POST', path=getattr(refusal, 'path', None))


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
        # The answered name is not quoted: a hostile API could echo the token there.
        problem = "is a snapshot with another name than '%s'" % name
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


# Waiting --------------------------------------------------------------------------------------

def wait_for(target, timeout, sleep=time.sleep, clock=time.monotonic):
    """The one waiter: poll target until target.poll() is true or timeout seconds have passed.

    Polls at once, then every 2 seconds at first and every fifth of the time waited so far (at most
    15 seconds), so a wait overshoots by at most ~20% (or 2 s) and costs a few dozen polls even for
    an hour-long restore. Returns True when the target was reached, False on timeout.
    """
    start = clock()
    deadline = start + timeout
    while True:
        if target.poll():
            return True
        now = clock()
        if now >= deadline:
            return False
        sleep(min(max((now - start) * 0.2, 2.0), 15.0, deadline - now))


class SnapshotsTarget:
    """Wait target: snapshot_ids all done (until=COMPLETED) or all gone (until=GONE), one list (plus pages) per poll.

    A snapshot no longer in progress (or no longer listed) is done with, whatever became of it;
    error() then says, in one wording per reason, which of them did not end as wanted. listing, a
    list just read, serves as the first poll. current is the last listing by id.
    """

    def __init__(self, client, snapshot_ids, until=COMPLETED, server_id=None, listing=None, read=None):
        self.client = client
        # read(pending ids) -> a listing that holds every pending snapshot that still exists; by default one list.
        self.read = read or (lambda pending: list_snapshots(self.client, self.server_id))
        self.snapshot_ids = list(dict.fromkeys(snapshot_ids))
        self.until = until
        self.server_id = server_id
        self._fresh = [listing] if listing is not None else []
        self.current = {}
        self.timeout = None

    def _pending(self, snapshot_ids):
        if self.until == GONE:
            return [self.current[snap_id] for snap_id in snapshot_ids if snap_id in self.current]
        return [self.current[snap_id] for snap_id in snapshot_ids if self.current.get(snap_id, {}).get('status') == IN_PROGRESS]

    def poll(self):
        if self._fresh:
            listing = self._fresh.pop()
        else:
            pending = [snap.get('id') for snap in self._pending(self.snapshot_ids)] if self.current else self.snapshot_ids
            listing = self.read(pending)
        previous, self.current = self.current, dict((snap.get('id'), snap) for snap in listing)
        if self.until != GONE:
            # A snapshot that already ended stays as it was last read: a poll that reads only the newest pages
            # looks for the pending ones alone.
            for snap_id in self.snapshot_ids:
                if snap_id not in self.current and previous.get(snap_id, {}).get('status') not in (None, IN_PROGRESS):
                    self.current[snap_id] = previous[snap_id]
        return not self._pending(self.snapshot_ids)

    def wait(self, timeout, strict=True):
        """Poll until done or timeout; returns the last listing by id.

        strict raises the error of the whole set; otherwise error() tells, for any part of it.
        """
        self.timeout = timeout
        if self.snapshot_ids:
            wait_for(self, timeout)
        problem = self.error(self.snapshot_ids) if strict else None
        if problem:
            raise problem
        return self.current

    def error(self, snapshot_ids):
        """Why some of snapshot_ids (all, or one server's) did not end as wanted, or None."""
        snapshot_ids = list(dict.fromkeys(snapshot_ids))
        pending = self._pending(snapshot_ids)
        if pending:
            waiting_for = 'to be deleted' if self.until == GONE else 'still in progress'
            return VpsorgApiError('timed out after %d seconds (wait_timeout) waiting for snapshot(s) %s: %s'
                                  % (self.timeout, waiting_for, describe(pending)), code=WAIT_TIMEOUT)
        if self.until == GONE:
            return None
        missing = [snap_id for snap_id in snapshot_ids if snap_id not in self.current]
        if missing:
            return VpsorgApiError('snapshot(s) %s disappeared while waiting for them to complete' % ', '.join(str(i) for i in missing),
                                  code=SNAPSHOT_GONE)
        # The API documents only in_progress and completed; any other end state is a failed snapshot.
        unfinished = [self.current[snap_id] for snap_id in snapshot_ids if self.current[snap_id].get('status') != COMPLETED]
        if unfinished:
            return VpsorgApiError('snapshot(s) ended without completing: %s' % ', '.join(
                '%s (id %s, status %s)' % (snap.get('name'), snap.get('id'), snap.get('status')) for snap in unfinished), code=SNAPSHOT_FAILED)
        return None


class ServerRestoredTarget:
    """Wait target: the server has left the restoring status; one GET of the server per poll."""

    def __init__(self, client, server_id):
        self.client = client
        self.server_id = server_id
        self.server = {}

    def poll(self):
        self.server = server_summary(get_server(self.client, self.server_id))
        return self.server.get('status') != RESTORING

    def wait(self, timeout):
        if not wait_for(self, timeout):
            raise VpsorgApiError('timed out after %d seconds (wait_timeout) waiting for server %d to finish restoring (status %s)'
                                 % (timeout, self.server_id, self.server.get('status')), code=WAIT_TIMEOUT)
        return self.server
