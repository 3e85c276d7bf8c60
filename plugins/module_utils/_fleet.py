# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of vpsorg_snapshot's states, on top of a snapshot source (_source.py) and the writes (_writes.py).

state=present and state=absent run one flow over a set of servers: one server is a set of one, read through
ServerSnapshots instead of SnapshotSource, and nothing else differs. Read once, decide per server, send only the
needed writes (a few at a time), settle concurrent duplicates, wait for the whole set with one list per poll, and
keep each server's failure as an error of its own. state=restored over a set (ensure_restored) restores each server
from its own snapshot of one name, after a preflight of the whole set; one snapshot by id is _restore.py.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports _errors.py, _answers.py, _api.py, _each.py, _source.py, _wait.py and _writes.py.
"""

import re

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import server_of
from ansible_collections.vpsorg.cloud.plugins.module_utils._api import (
    ACTIVE, COMPLETED, GONE, IN_PROGRESS, SNAPSHOT_LIMIT, STOPPED, describe, in_progress_error, newest_first, not_back, planned_snapshot,
    quota_error, read_servers, server_summary)
from ansible_collections.vpsorg.cloud.plugins.module_utils._each import each
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import (
    AMBIGUOUS, NOT_FOUND, SERVERS_FAILED, SNAPSHOT_FAILED, VpsorgApiError)
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import ServerSnapshots, SnapshotSource
from ansible_collections.vpsorg.cloud.plugins.module_utils._wait import ServersRestoredTarget, SnapshotsTarget
from ansible_collections.vpsorg.cloud.plugins.module_utils._writes import (
    busy_server_error, create_snapshot, delete_snapshot, restore_snapshot, settle_concurrent_duplicates)


class Fleet:
    """One snapshot name (or, for one server, one snapshot id) on a set of servers, in one module run.

    Every read goes through the set's snapshot source (reader): SnapshotSource for server_ids, ServerSnapshots for
    one server (of_one). The source says which servers are unknown, builds each wait's polls and the read that
    settles concurrent duplicates; the fleet only decides. Without server_id, snapshot_id selects a snapshot
    anywhere in the account, and its server is the set.
    """

    def __init__(self, client, server_ids, name=None, snapshot_id=None, check_mode=False, source=None):
        self.client = client
        self.check_mode = check_mode
        # What selects the snapshots on each server: a name, or (one server) a snapshot id.
        self.name, self.snapshot_id = name, snapshot_id
        self.errors = {}
        self.changed = False
        self.created = set()
        # The snapshot source: every read of this run goes through it.
        self.reader = source or SnapshotSource(client, [sid for sid in server_ids if sid is not None])
        server_ids = list(self.reader.server_ids)
        # An empty set has nothing to read: it sends no request.
        self.listing = self.reader.read() if server_ids or snapshot_id is not None else []
        if not server_ids and snapshot_id is not None:
            server_ids = [server_of(snap) for snap in self.listing if snap.get('id') == snapshot_id][:1]
        self.server_ids = server_ids
        self.by_server = dict((server_id, []) for server_id in server_ids)
        for snap in self.listing:
            if server_of(snap) in self.by_server:
                self.by_server[server_of(snap)].append(snap)
        self.errors.update(self.reader.unknown_servers())

    @classmethod
    def of_one(cls, client, server_id, name=None, snapshot_id=None, check_mode=False):
        """One server (or, without it, the server of snapshot_id): its own list, read whole."""
        return cls(client, [server_id], name, snapshot_id, check_mode, source=ServerSnapshots(client, server_id))

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
        results = []
        for (server_id, payload), result, error in each(lambda item: function(*item), items):
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
        target = SnapshotsTarget(self.client, snapshot_ids, until, listing=self.reader.first_poll(listing, snapshot_ids),
                                 read=lambda pending: self.reader.poll(pending, until))
        target.wait(timeout, strict=False)
        for server_id in dict.fromkeys(snapshot_ids.values()):
            problem = target.error([snap_id for snap_id, owner in snapshot_ids.items() if owner == server_id])
            if problem:
                self.errors[server_id] = problem
        return target.current

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
            # A read, so check mode can tell an unknown server that it would otherwise learn from the create.
            self._run_each(lambda server_id, dummy: self.reader.vouch(server_id), to_create)
            planned = [(server_id, planned_snapshot(server_id, self.name, description)) for server_id, dummy in to_create
                       if server_id not in self.errors]
        else:
            known = dict(to_create)
            planned = self._run_each(lambda server_id, known_ids: create_snapshot(
                self.client, server_id, self.name, description, known_ids, made_elsewhere), to_create)
            if planned:
                # One list settles races with other runs creating the same names, and is the wait's first poll.
                self.listing = self.reader.read_created([snap for dummy, snap in planned], self._active())
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

    def ensure_restored(self, wait=True, timeout=1800):
        """Restore every server from its own one snapshot named name; returns (snapshots, servers before, servers after).

        Preflight first: a server without exactly one such snapshot, completed (one in progress is waited for with wait),
        or that is restoring already, fails the whole set before any restore (restore_preflight_error). Then the
        restores go out a few at a time, and one wait polls the whole set; a server that does not come back as it was
        (or active) gets its own restore_failed error.
        """
        chosen = self._restore_sources(wait, timeout)
        # Read also when another server failed already: the preflight names every problem at once.
        servers = read_servers(self.client, list(chosen)) if chosen else {}
        for server_id, server in servers.items():
            # Only an active or stopped server can be restored: any other would fail alone after the others were restored.
            if server.get('status') not in (ACTIVE, STOPPED):
                self.errors[server_id] = busy_server_error(server)
        if self.errors:
            raise self.restore_preflight_error(chosen)
        before = dict((server_id, server_summary(servers[server_id])) for server_id in chosen)
        self.changed = bool(chosen)
        if self.check_mode:
            return self._ordered(chosen), self._ordered(before), self._ordered(before)
        answers = dict(self._run_each(lambda server_id, snap: restore_snapshot(self.client, snap, servers[server_id]), list(chosen.items())))
        after = dict((server_id, server_summary(answer.get('server') or {})) for server_id, answer in answers.items())
        if wait and answers:
            target = ServersRestoredTarget(self.client, list(answers))
            unread = None
            try:
                target.wait(timeout, strict=False)
            except VpsorgApiError as exc:
                # The restores went out: a read that fails while waiting must not lose what was sent, and to which servers.
                unread = exc
            after.update(target.servers)
            for server_id in answers:
                if unread is not None and (server_id not in target.servers or server_id in target.restoring()):
                    problem = unread
                elif server_id in target.restoring():
                    problem = target.error(server_id)
                else:
                    problem = not_back(chosen[server_id], before[server_id], after[server_id])
                if problem:
                    self.errors[server_id] = problem
        return self._ordered(chosen), self._ordered(before), self._ordered(after)

    def _restore_sources(self, wait, timeout):
        """{server id: the one snapshot named name to restore it from}; each server without one gets its error."""
        chosen = {}
        for server_id in self._active():
            found = self.selected(server_id)
            if not found:
                self.errors[server_id] = VpsorgApiError("server %d has no snapshot named '%s'" % (server_id, self.name), code=NOT_FOUND)
            elif len(found) > 1:
                self.errors[server_id] = VpsorgApiError("server %d has %d snapshots named '%s': %s"
                                                        % (server_id, len(found), self.name, describe(found)), code=AMBIGUOUS)
            elif found[0].get('status') == IN_PROGRESS and not wait:
                self.errors[server_id] = in_progress_error(found, 'restoring')
            elif found[0].get('status') not in (IN_PROGRESS, COMPLETED):
                self.errors[server_id] = VpsorgApiError('snapshot %s (id %s) is %s, not completed: it cannot be restored'
                                                        % (self.name, found[0].get('id'), found[0].get('status')), code=SNAPSHOT_FAILED)
            else:
                chosen[server_id] = found[0]
        in_progress = dict((snap.get('id'), server_id) for server_id, snap in chosen.items() if snap.get('status') == IN_PROGRESS)
        if in_progress and not self.errors and not self.check_mode:
            current = self._wait(in_progress, timeout, COMPLETED, self.listing)
            chosen = dict((server_id, current.get(snap.get('id'), snap)) for server_id, snap in chosen.items() if server_id not in self.errors)
        return chosen

    def restore_preflight_error(self, chosen):
        """The task's failure when a server of the set cannot be restored: no restore was sent to any of them."""
        failed = self.failures()
        reasons = '; '.join('%s: %s' % (failure['server_id'], failure['reason']) for failure in failed)
        return VpsorgApiError("no restore was sent: %d of %d servers cannot be restored from '%s': %s"
                              % (len(failed), len(self.server_ids), self.name, reasons), code=SERVERS_FAILED,
                              results=dict(changed=False, snapshots=self._ordered(chosen), servers=[], failed_servers=failed))

    def _ordered(self, by_server):
        return [by_server[server_id] for server_id in self.server_ids if server_id in by_server]

    def failure(self):
        """servers_failed when some servers of the set failed, naming each with its one line; else None."""
        failed = self.failures()
        if not failed:
            return None
        reasons = '; '.join('%s: %s' % (failure['server_id'], failure['reason']) for failure in failed)
        return VpsorgApiError('%d of %d servers failed: %s' % (len(failed), len(self.server_ids), reasons), code=SERVERS_FAILED)

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
