# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of vpsorg_snapshot's states, on top of the snapshot operations (_snapshots.py).

state=present and state=absent run one flow for one server (server_id) and for many (server_ids):
a single server is a fleet of one. Read once, decide per server, send only the needed writes (a few
at a time), settle concurrent duplicates, wait for the whole set with one list per poll, and keep
each server's failure as an error of its own. state=restored acts on one snapshot of one server.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
"""

import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import AMBIGUOUS, NOT_FOUND, RESTORE_FAILED, VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._snapshots import (
    ACTIVE, COMPLETED, GONE, IN_PROGRESS, SNAPSHOT_LIMIT, ServerRestoredTarget, SnapshotsTarget, create_snapshot, delete_snapshot, get_server,
    SnapshotReader, in_progress_error, list_servers, list_snapshots, newest_first, planned_snapshot, quota_error, restore_snapshot,
    server_missing, server_of, server_summary, settle_concurrent_duplicates)

# Writes in flight at once for a fleet: enough to hide latency, few enough not to trip rate limits.
FLEET_WORKERS = 8


class Fleet:
    """One snapshot name (or, for one server, one snapshot id) on a set of servers, in one module run.

    Many servers (server_ids) read through a SnapshotReader: the account-wide list when it costs no more
    than one request per server, else each server's own list; then the servers list tells unknown servers
    (or, after per-server reads, GET servers/{id}/ of the servers that listed no snapshot). While waiting,
    per-server runs read only the newest pages of the account-wide list when the data shows it is newest
    first. One server (server_id) reads only its own list, and learns that it does not exist from the
    create's 404 (or, in check mode, from GET servers/{id}/). Without server_id, snapshot_id selects
    a snapshot anywhere in the account, and its server is the fleet.
    """

    def __init__(self, client, server_ids, name=None, snapshot_id=None, check_mode=False, many=True, workers=FLEET_WORKERS):
        self.client = client
        self.check_mode, self.many, self.workers = check_mode, many, workers
        # What selects the snapshots on each server: a name, or (one server) a snapshot id.
        self.name, self.snapshot_id = name, snapshot_id
        self.errors = {}
        self.changed = False
        self.created = set()
        server_ids = list(dict.fromkeys(sid for sid in server_ids if sid is not None))
        # The scope of every list this run reads: the one server, or the whole account.
        self.scope = server_ids[0] if not many and server_ids else None
        self.reader = SnapshotReader(client, server_ids, workers) if many and server_ids else None
        # An empty server_ids has nothing to read: it sends no request.
        if self.reader:
            self.listing = self.reader.read()
        else:
            self.listing = list_snapshots(client, self.scope) if server_ids or snapshot_id is not None else []
        if not server_ids and snapshot_id is not None:
            server_ids = [server_of(snap) for snap in self.listing if snap.get('id') == snapshot_id][:1]
        self.server_ids = server_ids
        self.by_server = dict((server_id, []) for server_id in server_ids)
        for snap in self.listing:
            if server_of(snap) in self.by_server:
                self.by_server[server_of(snap)].append(snap)
        if many and server_ids:
            self._fail_unknown_servers()

    @classmethod
    def of_one(cls, client, server_id, name=None, snapshot_id=None, check_mode=False):
        return cls(client, [server_id], name, snapshot_id, check_mode, many=False)

    def _fail_unknown_servers(self):
        # A server the API listed snapshots of exists: only the others need a check.
        unlisted = [(server_id, None) for server_id in self.server_ids if server_id not in self.reader.servers_seen]
        if not unlisted:
            return
        if self.reader.per_server:
            # Only the fleet's servers that listed no snapshot, one GET each, instead of the account's whole servers list.
            for server_id, dummy in self._run_each(lambda server_id, dummy: get_server(self.client, server_id), unlisted):
                self.reader.servers_seen.add(server_id)
            for server_id in list(self.errors):
                if self.errors[server_id].status == 404:
                    self.errors[server_id] = server_missing(server_id)
            return
        try:
            known_servers = set(server.get('id') for server in list_servers(self.client))
        except VpsorgApiError as exc:
            if exc.status != 404:
                raise
            return  # an API without the servers list: a create's 404 will tell instead
        for server_id in self.server_ids:
            if server_id not in known_servers:
                self.errors[server_id] = server_missing(server_id)

    def _active(self):
        return [server_id for server_id in self.server_ids if server_id not in self.errors]

    def selected(self, server_id, names=None):
        """The server's snapshots chosen by snapshot_id, or by name (or any of names), newest first."""
        if self.snapshot_id is not None and names is None:
            return [snap for snap in self.by_server[server_id] if snap.get('id') == self.snapshot_id]
        names = [self.name] if names is None else names
        return newest_first([snap for snap in self.by_server[server_id] if snap.get('name') in names])

    def names_beyond(self, prefix, keep):
        """The names of the form retention prunes (retention_form) on the set's servers beyond the newest keep, newest first.

        name counts as one of the keep. Names go newest first by their newest snapshot, as the fleet playbook's
        retention always did.
        """
        form = retention_form(prefix, self.name)
        return [name for name in self._names_with(prefix) if form.match(name)][max(keep - 1, 0):]

    def unmanaged_names(self, prefix):
        """The names on the set's servers that start with prefix but are not of the form retention prunes, newest first."""
        form = retention_form(prefix, self.name)
        return [name for name in self._names_with(prefix) if not form.match(name)]

    def _names_with(self, prefix):
        """The names other than name that start with prefix on the set's servers, newest first by their newest snapshot."""
        snapshots = newest_first([snap for server_id in self._active() for snap in self.by_server[server_id]
                                  if (snap.get('name') or '').startswith(prefix)])
        return [name for name in dict.fromkeys(snap.get('name') for snap in snapshots) if name != self.name]

    def full_servers(self):
        """The servers whose quota is full and that lack the snapshot named name: a create there needs room first."""
        return [server_id for server_id in self._active()
                if len(self.by_server[server_id]) >= SNAPSHOT_LIMIT and not self.selected(server_id)]

    def servers_done(self, snapshots):
        """The servers whose snapshot of snapshots (what ensure_present returned) is completed (in check mode: would
        be), and that did not fail."""
        return [server_of(snap) for snap in snapshots
                if server_of(snap) not in self.errors and (self.check_mode or snap.get('status') == COMPLETED)]

    def prune(self, names, servers, wait=True, timeout=1800):
        """Delete every snapshot named any of names on servers (in check mode: tell them); returns the names that had one.

        Shares this run's one read: what is deleted leaves the servers' lists here, so a later prune skips it.
        """
        if not names or not servers:
            return []
        deleted = self.ensure_absent(wait, timeout, names, servers)
        gone = set(snap.get('id') for snap in deleted)
        for server_id in self.by_server:
            self.by_server[server_id] = [snap for snap in self.by_server[server_id] if snap.get('id') not in gone]
        return [name for name in names if name in set(snap.get('name') for snap in deleted)]

    def ensure_present_keeping(self, prefix, keep, description=None, wait=True, timeout=1800):
        """ensure_present with retention (keep / keep_prefix).

        Returns (snapshots, the names pruned, the names kept as not of name's form), names newest first.
        The names beyond the newest keep go first from full servers that lack name (or their create would fail at
        the quota), then from each server once its snapshot name is completed: a failed one keeps its old names.
        """
        beyond, unmanaged = self.names_beyond(prefix, keep), self.unmanaged_names(prefix)
        pruned = self.prune(beyond, self.full_servers(), wait, timeout)
        snapshots = self.ensure_present(description, wait, timeout)
        pruned += self.prune(beyond, self.servers_done(snapshots), wait, timeout)
        return snapshots, [name for name in beyond if name in pruned], unmanaged

    def _run_each(self, function, items):
        """Call function(server_id, payload) for every item, a few at a time; failures are kept per server."""
        def guarded(item):
            server_id, payload = item
            try:
                return server_id, function(server_id, payload), None
            except VpsorgApiError as exc:
                return server_id, None, exc

        if len(items) > 1:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
                outcomes = list(pool.map(guarded, items))
        else:
            outcomes = [guarded(item) for item in items]
        results = []
        for server_id, result, error in outcomes:
            if error:
                self.errors[server_id] = error
            else:
                results.append((server_id, result))
        return results

    def _wait(self, snapshot_ids, timeout, until, listing=None):
        """Wait for the whole set ({snapshot id: server id}) with one list per poll; listing, just read, is the first poll.

        Returns the last listing by id; each server whose snapshots did not end as wanted gets its own error.
        """
        if not snapshot_ids:
            return {}
        read = None
        if self.reader:
            if listing is not None and not set(snapshot_ids) <= set(snap.get('id') for snap in listing):
                listing = None  # a partial read that does not hold every snapshot waited for is no first poll

            def read(pending):
                return self._read_for(pending, snapshot_ids, until)
        target = SnapshotsTarget(self.client, snapshot_ids, until, server_id=self.scope, listing=listing, read=read)
        target.wait(timeout, strict=False)
        for server_id in dict.fromkeys(snapshot_ids.values()):
            problem = target.error([snap_id for snap_id, owner in snapshot_ids.items() if owner == server_id])
            if problem:
                self.errors[server_id] = problem
        return target.current

    def _read_for(self, pending, snapshot_ids, until):
        """A poll's listing: only the newest pages while waiting for snapshots to complete, the servers' lists otherwise."""
        servers = list(dict.fromkeys(snapshot_ids[snap_id] for snap_id in pending))
        if until == GONE:
            return self.reader.read(servers)
        stamps = [snap.get('created_at') for snap in self.listing if snap.get('id') in set(pending)]
        since = min(stamps) if stamps and all(stamps) else None
        return self.reader.read_newest(pending, servers, since)

    def ensure_present(self, description=None, wait=True, timeout=1800):
        """The snapshot named name on every server: found, or created (never twice); returns them in server order."""
        result = {}
        to_create = []
        for server_id in self._active():
            existing = newest_first([snap for snap in self.by_server[server_id] if snap.get('name') == self.name])
            if existing:
                result[server_id] = existing[0]
            elif len(self.by_server[server_id]) >= SNAPSHOT_LIMIT:
                self.errors[server_id] = quota_error(server_id, self.by_server[server_id])
            else:
                to_create.append((server_id, [snap.get('id') for snap in self.by_server[server_id]]))
        made_elsewhere = set()
        if self.check_mode:
            if not self.many:
                # A read, so check mode can tell an unknown server that it would otherwise learn from the create.
                self._run_each(lambda server_id, dummy: get_server(self.client, server_id), to_create)
            planned = [(server_id, planned_snapshot(server_id, self.name, description)) for server_id, dummy in to_create
                       if server_id not in self.errors]
        else:
            known = dict(to_create)
            planned = self._run_each(lambda server_id, known_ids: create_snapshot(
                self.client, server_id, self.name, description, known_ids, made_elsewhere), to_create)
            if planned:
                # One list settles races with other runs creating the same names, and is the wait's first poll.
                if self.reader:
                    # Every snapshot created since the first read is on the newest pages, when they are newest first.
                    created_ids = [snap.get('id') for dummy, snap in planned]
                    since = self.reader.created_since([snap for dummy, snap in planned])
                    self.listing = self.reader.read_newest(created_ids, self._active(), since, through_since=True)
                else:
                    self.listing = list_snapshots(self.client, self.scope)
                planned = self._run_each(lambda server_id, snap: settle_concurrent_duplicates(
                    self.client, snap, known[server_id], self.listing, timeout), planned)
        result.update(planned)
        self.created = set(server_id for server_id, dummy in planned) - made_elsewhere
        self.changed = self.changed or bool(self.created)
        if wait and not self.check_mode:
            waiting = dict((snap.get('id'), server_id) for server_id, snap in result.items() if snap.get('status') == IN_PROGRESS)
            current = self._wait(waiting, timeout, COMPLETED, self.listing)
            result = dict((server_id, current.get(snap.get('id'), snap)) for server_id, snap in result.items())
        return self._ordered(result)

    def ensure_absent(self, wait=True, timeout=1800, names=None, servers=None):
        """Delete the selected snapshots (or those named any of names) of every server (or of servers); returns them
        (newest first per server)."""
        servers = self._active() if servers is None else [server_id for server_id in servers if server_id not in self.errors]
        targets = [(server_id, snap) for server_id in servers for snap in self.selected(server_id, names)]
        if self.check_mode or not targets:
            self.changed = self.changed or bool(targets)
            return [snap for dummy, snap in targets]
        in_progress = dict((snap.get('id'), server_id) for server_id, snap in targets if snap.get('status') == IN_PROGRESS)
        if in_progress and not wait:
            for server_id in dict.fromkeys(in_progress.values()):
                self.errors[server_id] = in_progress_error([snap for sid, snap in targets if sid == server_id and snap.get('id') in in_progress],
                                                           'deleting')
        elif in_progress:
            current = self._wait(in_progress, timeout, COMPLETED, self.listing)
            targets = [(server_id, current.get(snap.get('id'), snap)) for server_id, snap in targets]
        targets = [(server_id, snap) for server_id, snap in targets if server_id not in self.errors]
        deleted = self._run_each(lambda server_id, snap: delete_snapshot(self.client, snap['id']) or snap, targets)
        if wait and deleted:
            self._wait(dict((snap['id'], server_id) for server_id, snap in deleted), timeout, GONE)
        self.changed = self.changed or bool(deleted)
        return [snap for server_id, snap in deleted if server_id not in self.errors]

    def _ordered(self, by_server):
        return [by_server[server_id] for server_id in self.server_ids if server_id in by_server]

    def failures(self):
        """failed_servers: each failed server and the one line that says why."""
        return [dict(server_id=server_id, reason=str(self.errors[server_id])) for server_id in self.server_ids if server_id in self.errors]


def retention_form(prefix, name):
    """The names retention may prune: prefix, then a suffix of the form of name's (a digit for each digit, the rest as is).

    So fleet-20261207 makes fleet-\\d{8} and pre-upgrade-20261207T101500Z makes pre-upgrade-\\d{8}T\\d{6}Z: a name that
    people gave by hand, such as fleet-manual-before-migration, is never of the form.
    """
    suffix = name[len(prefix):]
    return re.compile(re.escape(prefix) + ''.join('[0-9]' if char in '0123456789' else re.escape(char) for char in suffix) + r'\Z')


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
            snapshot = SnapshotsTarget(client, [snapshot['id']], server_id=fleet.scope, listing=fleet.listing).wait(timeout)[snapshot['id']]
    server = get_server(client, owner)
    before = server_summary(server)
    if check_mode:
        return snapshot, before, before
    answer = restore_snapshot(client, snapshot, server)
    after = server_summary(answer.get('server') or {})
    if wait:
        after = ServerRestoredTarget(client, owner).wait(timeout)
        if after.get('status') not in (before.get('status'), ACTIVE):
            raise VpsorgApiError('server %d ended the restore from snapshot %d %s, not %s as before it: it may not be back'
                                 % (owner, snapshot['id'], after.get('status'), before.get('status')),
                                 code=RESTORE_FAILED, results=dict(snapshot=snapshot, server=after, server_before=before))
    return snapshot, before, after
