# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A snapshot source: "the snapshots of these servers", a first read and cheap later reads.

Private to vpsorg.cloud: may change without notice; other collections must not import it.

Two sources answer the same questions, so that a caller (_fleet.py, vpsorg_snapshot_info) never asks which one it
has: ServerSnapshots, one server's own list (or, without a server, the whole account's), read whole every time; and
SnapshotSource, a set of servers (or the whole account) read the cheaper way. Every list goes through _pages.walk.
Imports _errors.py, _answers.py, _pages.py, _api.py and _each.py.
"""

import re
import time
from datetime import datetime, timedelta

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import check_snapshot, server_of
from ansible_collections.vpsorg.cloud.plugins.module_utils._api import (
    GONE, get_server, is_newest_first, list_servers, server_missing, server_snapshots)
from ansible_collections.vpsorg.cloud.plugins.module_utils._each import WORKERS, each
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import walk

UTC_SECONDS = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z')


def list_snapshots(client, server_id=None):
    """All snapshots of the account (by SnapshotSource's rule), or of one server (filtered by the API and again here)."""
    return server_snapshots(client, server_id) if server_id else SnapshotSource(client).read()


def _by_id(snapshots):
    return list(dict((snap['id'], snap) for snap in snapshots).values())


class ServerSnapshots:
    """The snapshots of one server (or, without one, of the whole account), its own list read whole every time.

    It learns that its server does not exist from a write's 404, or from vouch() when no write is sent.
    """

    def __init__(self, client, server_id=None):
        self.client = client
        self.server_id = server_id
        self.server_ids = [server_id] if server_id is not None else []

    def read(self, server_ids=None):
        return list_snapshots(self.client, self.server_id)

    def read_created(self, created, server_ids):
        """A listing that holds the snapshots just created: one more read of the list."""
        return self.read()

    def poll(self, pending, until):
        """A wait's poll: one read of the list."""
        return self.read()

    def first_poll(self, listing, snapshot_ids):
        return listing  # a whole read: a snapshot waited for that it does not hold is gone

    def unknown_servers(self):
        return {}  # learnt from the create's 404

    def vouch(self, server_id):
        """Tell an unknown server where no write will: GET servers/{id}/ (its 404 fails)."""
        get_server(self.client, server_id)

    def after_wait(self, snapshots, current):
        """snapshots as the last poll left them (every read is whole: a snapshot no longer listed is dropped)."""
        return [current.get(snap.get('id'), snap) for snap in snapshots if snap.get('id') in current]


class SnapshotSource:
    """The snapshots of a set of servers (or, server_ids None, the whole account), read the cheaper way.

    The first read asks for the first page of the account-wide list: its count tells what the whole list costs
    (count / page size requests). When that is more than one request per server, each server's own list
    (?server_id=, one request each, a few at a time) is read instead; so is a pass over the account-wide list that
    the list changed under, since another run's deletes can shift a snapshot past its pages, and any list of several
    pages that is not newest first (there, new snapshots land among the pages, and a shifted snapshot can go unseen
    while the ids still add up to the count).

    Later reads that look for a few snapshots (the ones a run created and waits for) read the account-wide list from
    its first page and stop as soon as every wanted snapshot was seen and, when since is given, the pages reached a
    snapshot created before since. That is sound only if the list is ordered newest first, which is checked on the
    data of every page read, never assumed, and only if the list did not change meanwhile (its count); otherwise, or
    when a wanted snapshot was not found, the read falls back to the full read of the servers. mark is the
    created_at of the newest snapshot in the account at the first read (None when the first page was not newest
    first): whatever is created later is not older.
    """

    def __init__(self, client, server_ids=None, workers=WORKERS):
        self.client = client
        self.server_ids = None if server_ids is None else list(dict.fromkeys(server_ids))
        self.workers = workers
        self.per_server = False
        self.decided = False
        self.mark = None
        self.started = time.monotonic()
        # Whether the last read was whole (every snapshot of its servers), not only the newest pages.
        self.whole = True
        # The servers the API listed snapshots of (so they exist), and every snapshot read, by id.
        self.servers_seen = set()
        self.seen = {}

    def read(self, server_ids=None):
        """Every snapshot of server_ids (all of the set when None): the first call decides how to read.

        A pass over the account-wide list that the list changed under (its count moved, a page vanished, or the ids
        do not add up) is not used: the servers' own lists are read instead, one page each, which no other run's
        changes to other servers can shift. What retention deletes comes from this read, so it must hold every
        snapshot of the servers. Without servers (the whole account), the same holds for the account's servers, as
        the servers list names them.
        """
        if self.server_ids == []:
            return []  # an empty set has nothing to read: it sends no request
        server_ids = self.server_ids if server_ids is None else list(dict.fromkeys(server_ids))
        self.whole = True
        if self.per_server:
            return self._read_each(server_ids)
        walked = walk(self.client, 'snapshots/', check=check_snapshot, in_order=is_newest_first,
                      stop=lambda walked: self._decide(walked, server_ids))
        # One page is one answer; over several, only newest first moves nothing out of a pass's reach.
        if walked.settled and (walked.in_order or walked.pages == 1):
            wanted = set(server_ids if server_ids is not None else (server_of(snap) for snap in walked.items))
            # By id: a page that shifted under the reader may have shown a snapshot twice.
            return self._remember(_by_id(snap for snap in walked.items if server_of(snap) in wanted))
        if server_ids is None:
            return self._read_each([server['id'] for server in list_servers(self.client)])
        return self._read_each(server_ids)

    def _decide(self, walked, server_ids):
        """On the first page of the first read: whether each server's own list costs less than the account-wide list."""
        if self.decided:
            return None
        self.decided = True
        self.mark = walked.items[0].get('created_at') if walked.items and walked.in_order else None
        whole_list = -(-(walked.count or 0) // max(len(walked.items), 1))
        if walked.more and server_ids is not None and (whole_list > len(server_ids) or not walked.in_order):
            # The account-wide list costs more than one request per server, or it is not newest first: then what
            # other runs create lands among the pages, and a pass can miss a snapshot that moved back onto a page
            # already read, with the count still adding up.
            self.per_server = True
            return 'per server'
        return None

    def _read_each(self, server_ids):
        def read_one(server_id):
            try:
                return server_snapshots(self.client, server_id)
            except VpsorgApiError as exc:
                if exc.status != 404:
                    raise
                return []  # an API that answers 404 for a server it does not know

        outcomes = each(read_one, server_ids, self.workers)
        for dummy, dummy, error in outcomes:
            if error:
                raise error
        return self._remember([snap for dummy, listed, dummy in outcomes for snap in listed])

    def _remember(self, snapshots):
        self.servers_seen.update(server_of(snap) for snap in snapshots)
        self.seen.update((snap['id'], snap) for snap in snapshots)
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

        def stop(walked):
            if not walked.in_order and self.per_server:
                return 'not newest first'  # the servers' own lists cost less than the whole account-wide list
            last = walked.items[-1] if walked.items else None
            passed = walked.in_order and since is not None and last is not None and (last.get('created_at') or '') < since
            if wanted <= walked.ids() and (passed or not through_since):
                return 'found'
            # Newest first and older than since: a wanted snapshot that was not seen is not further down.
            return 'passed since' if passed else None

        walked = walk(self.client, 'snapshots/', check=check_snapshot, in_order=is_newest_first, stop=stop)
        if walked.stopped == 'found' or (walked.settled and walked.in_order):
            # Found on the newest pages, or every page, newest first, and the list did not change: a whole read.
            self.whole = walked.stopped != 'found'
            return self._remember(_by_id(walked.items))
        return self.read(server_ids)

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

    def read_created(self, created, server_ids):
        """A listing that holds the snapshots just created on server_ids: on the newest pages, when they are newest first."""
        return self.read_newest([snap.get('id') for snap in created], server_ids, self.created_since(created), through_since=True)

    def poll(self, pending, until):
        """A wait's poll: only the newest pages while waiting for snapshots to complete, the servers' lists otherwise."""
        known = [self.seen[snap_id] for snap_id in pending if snap_id in self.seen]
        servers = list(dict.fromkeys(server_of(snap) for snap in known))
        if until == GONE:
            return self.read(servers)
        stamps = [snap.get('created_at') for snap in known]
        return self.read_newest(pending, servers if self.server_ids is not None else None,
                                min(stamps) if stamps and all(stamps) else None)

    def first_poll(self, listing, snapshot_ids):
        """listing, when it holds every snapshot waited for; a partial read that does not is no first poll."""
        return listing if listing is not None and set(snapshot_ids) <= set(snap.get('id') for snap in listing) else None

    def unknown_servers(self):
        """{server id: error} for the servers of the set that are not in the account.

        A server the API listed snapshots of exists: only the others need a check. After per-server reads, one GET
        each; otherwise the account's servers list (an API without it: a create's 404 will tell instead).
        """
        unlisted = [server_id for server_id in self.server_ids or [] if server_id not in self.servers_seen]
        if not unlisted:
            return {}
        if self.per_server:
            errors = {}
            for server_id, dummy, error in each(lambda server_id: get_server(self.client, server_id), unlisted, self.workers):
                if error is None:
                    self.servers_seen.add(server_id)
                else:
                    errors[server_id] = server_missing(server_id) if error.status == 404 else error
            return errors
        try:
            known_servers = set(server.get('id') for server in list_servers(self.client))
        except VpsorgApiError as exc:
            if exc.status != 404:
                raise
            return {}
        return dict((server_id, server_missing(server_id)) for server_id in self.server_ids if server_id not in known_servers)

    def vouch(self, server_id):
        """Nothing to do: unknown_servers() checked the set after the first read."""

    def after_wait(self, snapshots, current):
        """snapshots as the last poll left them: one the last poll did not read (it read only the newest pages) stays as first listed."""
        return [current.get(snap.get('id'), snap) for snap in snapshots if snap.get('id') in current or not self.whole]
