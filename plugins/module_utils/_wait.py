# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one waiter, bounded by time, and its two targets: snapshots done (completed or gone), servers restored.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports _errors.py, _api.py and _source.py only.
"""

import time

from ansible_collections.vpsorg.cloud.plugins.module_utils._api import COMPLETED, GONE, IN_PROGRESS, RESTORING, describe, read_servers, server_summary
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import SNAPSHOT_FAILED, SNAPSHOT_GONE, WAIT_TIMEOUT, VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots


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


class ServersRestoredTarget:
    """Wait target: every server of server_ids has left the restoring status; one read per poll (a GET for one server,
    the servers list for several). servers is the last read, {id: summary}."""

    def __init__(self, client, server_ids):
        self.client = client
        self.server_ids = list(server_ids)
        self.servers = {}
        self.timeout = None

    def poll(self):
        self.servers = dict((server_id, server_summary(server)) for server_id, server in read_servers(self.client, self.server_ids).items())
        return not self.restoring()

    def restoring(self):
        return [server_id for server_id in self.server_ids if self.servers.get(server_id, {}).get('status') == RESTORING]

    def wait(self, timeout, strict=True):
        """Poll until no server is restoring or timeout; returns the last read. strict raises the timeout of the set."""
        self.timeout = timeout
        if self.server_ids:
            wait_for(self, timeout)
        if strict and self.restoring():
            raise self.error(self.restoring()[0])
        return self.servers

    def error(self, server_id):
        """The timeout of one server still restoring."""
        return VpsorgApiError('timed out after %d seconds (wait_timeout) waiting for server %d to finish restoring (status %s)'
                              % (self.timeout, server_id, self.servers.get(server_id, {}).get('status')), code=WAIT_TIMEOUT)
