# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What each benchmark runs, what it compares, and the targets it reports (never asserts).

Wall time is the whole ansible-playbook process, start-up included; "floor" is the same inventory running one
ansible.builtin.debug task, i.e. what Ansible itself costs, so wall / (T + floor) is 1.0 for a run that adds nothing
to the snapshot time T and Ansible's own overhead.
"""

import collections
import os
import statistics
from concurrent.futures import ThreadPoolExecutor

from . import emulator_pages
from .harness import FIRST_SERVER_ID, FORKS, BenchError, Emulator
from .report import Section, megabytes, ratio, requests_by_endpoint, seconds

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks')
# Collection playbook names must start with its prefix (fleet-), so one name serves every alternative.
SNAPSHOT_NAME = 'fleet-bench'
BENCHMARKS = ('fleet', 'rerun', 'overhead', 'scaling', 'ratelimit', 'slices', 'restore', 'role')

# Sizes of a full run and of the --quick smoke run.
PROFILES = {
    'full': dict(snapshot_seconds=10, fleet_hosts=50, overhead_tasks=30, overhead_repeats=3, scaling_hosts=(10, 50, 200, 500),
                 ratelimit_hosts=200, rate_limit=20, timeout=300, account_servers=2000, account_snapshots_per_server=3,
                 slice_fleet_hosts=50, sliced_fleet_hosts=200, slices=4, restore_hosts=50, restore_seconds=10, role_hosts=50),
    'quick': dict(snapshot_seconds=2, fleet_hosts=5, overhead_tasks=5, overhead_repeats=1, scaling_hosts=(5, 20),
                  ratelimit_hosts=20, rate_limit=5, timeout=120, account_servers=200, account_snapshots_per_server=3,
                  slice_fleet_hosts=10, sliced_fleet_hosts=20, slices=4, restore_hosts=5, restore_seconds=2, role_hosts=10),
}

# Targets to compare against: reported as pass/miss, never asserted.
TARGET_FLEET_WALL = 1.25
TARGET_FLEET_REQUESTS_PER_HOST = 1.2
TARGET_RERUN_REQUESTS_PER_HOST = 0.1
TARGET_SCALING_WALL = 1.5
TARGET_OVERHEAD_RATIO = 1.15
# Issue 18: a fleet that is a slice of a large account.
TARGET_SLICE_WALL = 1.25
TARGET_SLICE_REQUESTS_PER_HOST = 3.0
# Issue 27: a fleet restored in one task.
TARGET_RESTORE_WALL = 1.25
TARGET_RESTORE_REQUESTS_PER_HOST = 2.0
RESTORE_ENDPOINT = 'POST /api/v1/snapshots/{id}/restore/'
# Issue 28: the safe_upgrade role against the essentials written by hand.
TARGET_ROLE_OWN_COST = 1.5
TARGET_ROLE_WAIT = 1.5
TARGET_ROLE_REQUESTS_PER_HOST = 3.0
# The floor is measured this many times and the best run kept.
FLOOR_REPEATS = 3


def overhead_playbook(module, tasks):
    """A play of tasks copies of playbooks/tasks/list_with_MODULE.yml (one GET of the snapshot list), imported statically so
    that they are separate tasks at run time (a loop would be one task)."""
    task_file = os.path.join(PLAYBOOKS, 'tasks', 'list_with_%s.yml' % module)
    lines = ['---', '- name: %d snapshot list tasks with %s' % (tasks, module), '  hosts: localhost', '  gather_facts: false',
             '  tasks:']
    for index in range(tasks):
        lines.extend(['    - name: List the snapshots (%d)' % (index + 1), '      ansible.builtin.import_tasks: %s' % task_file])
    return '\n'.join(lines) + '\n'


def one_snapshot_each(emulator, hosts):
    """'ok', or how many of the hosts' servers lack exactly one completed snapshot."""
    per_server = collections.Counter(snap['server']['id'] for snap in emulator.snapshots() if snap.get('status') == 'completed')
    wrong = [sid for sid in range(FIRST_SERVER_ID, FIRST_SERVER_ID + hosts) if per_server[sid] != 1]
    return '%d servers without exactly one completed snapshot' % len(wrong) if wrong else 'ok'


def fleet_problems(emulator, hosts, name, want_completed=True):
    """'ok', or what is wrong with the fleet's snapshots named name: missing, duplicated, unfinished."""
    per_server = collections.defaultdict(list)
    for snap in emulator.snapshots():
        if snap.get('name') == name:
            per_server[snap['server']['id']].append(snap)
    server_ids = [FIRST_SERVER_ID + index for index in range(hosts)]
    missing = [sid for sid in server_ids if not per_server[sid]]
    duplicated = [sid for sid in server_ids if len(per_server[sid]) > 1]
    unfinished = [sid for sid in server_ids if any(snap['status'] != 'completed' for snap in per_server[sid])]
    problems = []
    for label, found in (('missing', missing), ('duplicated', duplicated), ('unfinished', unfinished if want_completed else [])):
        if found:
            problems.append('%d %s' % (len(found), label))
    return ', '.join(problems) or 'ok'


class Bench(object):
    def __init__(self, profile, workspace):
        self.profile = profile
        self.workspace = workspace
        self.snapshot_seconds = profile['snapshot_seconds']
        self.has_fleet_playbook = workspace.collection_has(os.path.join('playbooks', 'fleet_snapshot.yml'))
        self.playbooks = {name: os.path.join(PLAYBOOKS, name + '.yml')
                          for name in ('floor', 'server_ids', 'two_phase', 'per_host_wait', 'uri', 'restore_server_ids', 'restore_per_host',
                                       'role', 'role_essentials')}

    def emulator(self, label, servers, rate_limit=0, restore_seconds=None, snapshot_seconds=None):
        period = self.snapshot_seconds if snapshot_seconds is None else snapshot_seconds
        return Emulator(servers, period, os.path.join(self.workspace.path, 'emulator-%s' % label), rate_limit, restore_seconds)

    def server_ids_alternatives(self):
        """(label, playbook, extra vars) of the fleet snapshot with server_ids: the collection playbook (when staged) and the bare task."""
        alternatives = []
        if self.has_fleet_playbook:
            alternatives.append(('fleet_snapshot playbook', 'vpsorg.cloud.fleet_snapshot', dict(fleet_snapshot_name=SNAPSHOT_NAME)))
        alternatives.append(('server_ids, one task', self.playbooks['server_ids'], dict(bench_snapshot_name=SNAPSHOT_NAME)))
        return alternatives

    def fleet_alternatives(self):
        """Every way to snapshot a fleet that benchmarks 1 and 2 compare."""
        names = dict(bench_snapshot_name=SNAPSHOT_NAME)
        return self.server_ids_alternatives() + [
            ('per host wait: false + one info wait: true', self.playbooks['two_phase'], names),
            ('per host wait: true', self.playbooks['per_host_wait'], names),
            ('uri POST + uri GET until (delay 5)', self.playbooks['uri'], names),
        ]

    def floor(self, hosts, inventory, emulator, sample_memory=False):
        """The best of a few floor runs: it is the denominator of every ratio, and other work on the machine only adds time."""
        runs = [self.workspace.run('floor %d' % hosts, self.playbooks['floor'], inventory, emulator, sample_memory=sample_memory)
                for dummy in range(FLOOR_REPEATS)]
        return min(runs, key=lambda run: run.wall)

    def run_fleet(self, label, playbook, extra_vars, hosts, inventory, emulator, sample_memory=False):
        """Run one fleet alternative on a fresh emulator state; returns the run and 'ok' or what went wrong."""
        emulator.reset(hosts)
        run = self.workspace.run('%s %d' % (label, hosts), playbook, inventory, emulator, extra_vars, sample_memory)
        return run, run.outcome() if not run.succeeded else fleet_problems(emulator, hosts, SNAPSHOT_NAME)

    def fleet_playbook_note(self):
        if self.has_fleet_playbook:
            return ('"fleet_snapshot playbook" is `ansible-playbook vpsorg.cloud.fleet_snapshot` as shipped, retention included: on this '
                    'fresh account its retention runs in the snapshot task on the same read (keep / keep_prefix) and deletes nothing; its '
                    'settings tasks run once. "server_ids, one task" is the same snapshot step alone, so the gap between the two rows '
                    'is what retention and the settings tasks cost.')
        return ('The collection playbook vpsorg.cloud.fleet_snapshot was not in the staged collection, so the fleet snapshot with '
                'server_ids is measured with the equivalent one-task playbook.')

    # 1. Fleet snapshot -------------------------------------------------------------------------

    def fleet(self):
        hosts, period = self.profile['fleet_hosts'], self.snapshot_seconds
        section = Section('fleet', '1. Fleet snapshot, N = %d hosts, T = %g s' % (hosts, period),
                          'Each alternative snapshots every host of the same inventory (a fresh emulator state each time) and waits '
                          'until every snapshot is completed. ratio = wall / (T + floor). CPU s is the user + system time of '
                          'ansible-playbook and everything it ran (not the emulator).',
                          ['alternative', 'wall s', 'ratio', 'CPU s', 'API requests', 'requests/host', 'writes', 'check'])
        inventory = self.workspace.inventory(hosts)
        server_ids_labels = [label for label, dummy, dummy in self.server_ids_alternatives()]
        endpoints = []
        with self.emulator('fleet', hosts) as emulator:
            emulator.reset(hosts)
            floor = self.floor(hosts, inventory, emulator)
            section.add_row('floor (one debug task, best of %d)' % FLOOR_REPEATS, seconds(floor.wall), '-', seconds(floor.cpu),
                            floor.requests, '-', floor.writes, floor.outcome())
            for label, playbook, extra_vars in self.fleet_alternatives():
                run, check = self.run_fleet(label, playbook, extra_vars, hosts, inventory, emulator)
                wall_ratio, per_host = run.wall / (period + floor.wall), run.requests / hosts
                section.add_row(label, seconds(run.wall), ratio(wall_ratio), seconds(run.cpu), run.requests, ratio(per_host), run.writes,
                                check)
                endpoints.append((label, requests_by_endpoint(run.counters)))
                if label in server_ids_labels:
                    section.add_target('N=%d %s: wall' % (hosts, label), '%s x (T + floor)' % ratio(wall_ratio),
                                       '%.2f x' % TARGET_FLEET_WALL, wall_ratio <= TARGET_FLEET_WALL and check == 'ok')
                    section.add_target('N=%d %s: requests/host' % (hosts, label), ratio(per_host),
                                       '%.1f' % TARGET_FLEET_REQUESTS_PER_HOST, per_host <= TARGET_FLEET_REQUESTS_PER_HOST)
        section.notes.append(self.fleet_playbook_note())
        section.notes.extend('Requests of "%s": %s.' % pair for pair in endpoints)
        section.notes.append('The uri alternative polls each server with its own list request every 5 s, and is not idempotent: '
                             'run again, it creates a second snapshot of the same name on every server (see the re-run below).')
        return section

    # 2. Idempotent re-run ----------------------------------------------------------------------

    def rerun(self):
        hosts = self.profile['fleet_hosts']
        section = Section('rerun', '2. Idempotent re-run, N = %d hosts' % hosts,
                          'The same fleet snapshot again, with the same name, when every server already has it completed (seeded '
                          'through the emulator\'s control endpoint: the state a first run leaves). Nothing should be written.',
                          ['alternative', 'wall s', 'CPU s', 'API requests', 'requests/host', 'writes', 'check'])
        inventory = self.workspace.inventory(hosts)
        server_ids_labels = [label for label, dummy, dummy in self.server_ids_alternatives()]
        with self.emulator('rerun', hosts) as emulator:
            for label, playbook, extra_vars in self.fleet_alternatives():
                emulator.reset(hosts)
                for index in range(hosts):
                    emulator.add_completed_snapshot(FIRST_SERVER_ID + index, SNAPSHOT_NAME)
                run = self.workspace.run('rerun %s' % label, playbook, inventory, emulator, extra_vars)
                check = run.outcome() if not run.succeeded else fleet_problems(emulator, hosts, SNAPSHOT_NAME)
                per_host = run.requests / hosts
                section.add_row(label, seconds(run.wall), seconds(run.cpu), run.requests, ratio(per_host), run.writes, check)
                if label in server_ids_labels:
                    section.add_target('re-run %s: writes' % label, run.writes, '0', run.writes == 0 and run.succeeded)
                    section.add_target('re-run %s: requests/host' % label, ratio(per_host), '%.1f' % TARGET_RERUN_REQUESTS_PER_HOST,
                                       per_host <= TARGET_RERUN_REQUESTS_PER_HOST)
        section.notes.append('"duplicated" in the uri row is the point: without a lookup before the POST every re-run adds a snapshot '
                             'of the same name on every server (and a server is full after five runs).')
        return section

    # 3. Per-task overhead ----------------------------------------------------------------------

    def overhead(self):
        tasks, repeats = self.profile['overhead_tasks'], self.profile['overhead_repeats']
        section = Section('overhead', '3. Per-task overhead: %d x vpsorg_snapshot_info vs %d x ansible.builtin.uri' % (tasks, tasks),
                          'One host (localhost). Each playbook is %d separate tasks that each GET the same snapshot list '
                          '(`GET /api/v1/snapshots/?page_size=100`, 10 snapshots in it). Runs are interleaved (floor, info, uri) %d '
                          'time(s) and the best (lowest) of each is used, as other work on the machine only ever adds time. per task = '
                          '(best - best of the floor) / %d, for the wall time and for the CPU time (user + system of ansible-playbook and '
                          'everything it ran).' % (tasks, repeats, tasks),
                          ['playbook', 'best wall s', 'each run s', 'wall per task s', 'best CPU s', 'CPU per task s', 'API requests'])
        inventory = self.workspace.localhost_inventory()
        playbooks = [('floor (one debug task)', self.playbooks['floor']),
                     ('%d x vpsorg_snapshot_info' % tasks, self.workspace.write('overhead_info.yml', overhead_playbook('info', tasks))),
                     ('%d x uri' % tasks, self.workspace.write('overhead_uri.yml', overhead_playbook('uri', tasks)))]
        walls, cpus = collections.defaultdict(list), collections.defaultdict(list)
        requests = {}
        with self.emulator('overhead', 2) as emulator:
            emulator.reset(2)
            for index in range(10):  # 5 per server, the quota
                emulator.add_completed_snapshot(FIRST_SERVER_ID + index % 2, 'listed-%d' % index)
            for dummy in range(repeats):
                for label, playbook in playbooks:
                    base = emulator.counters()['total']
                    run = self.workspace.run(label, playbook, inventory, emulator)
                    if not run.succeeded:
                        raise BenchError('%s: %s' % (label, run.outcome()))
                    walls[label].append(run.wall)
                    cpus[label].append(run.cpu)
                    requests[label] = run.requests - base
        floor_label, info_label, uri_label = [label for label, dummy in playbooks]
        per_task, cpu_per_task = {}, {}
        for label, dummy in playbooks:
            per_task[label] = (min(walls[label]) - min(walls[floor_label])) / tasks
            cpu_per_task[label] = (min(cpus[label]) - min(cpus[floor_label])) / tasks
            is_floor = label == floor_label
            section.add_row(label, seconds(min(walls[label])), ', '.join(seconds(wall) for wall in walls[label]),
                            '-' if is_floor else '%.3f' % per_task[label], seconds(min(cpus[label])),
                            '-' if is_floor else '%.3f' % cpu_per_task[label], requests[label])
        overhead_ratio = per_task[info_label] / per_task[uri_label] if per_task[uri_label] > 0 else float('inf')
        cpu_ratio = cpu_per_task[info_label] / cpu_per_task[uri_label] if cpu_per_task[uri_label] > 0 else float('inf')
        median_ratio = statistics.median(walls[info_label]) / statistics.median(walls[uri_label])
        section.notes.append('info / uri: wall per task %s, CPU per task %s; whole playbook, median of the runs: %s.'
                             % (ratio(overhead_ratio), ratio(cpu_ratio), ratio(median_ratio)))
        section.add_target('info per-task overhead / uri', ratio(overhead_ratio), '%.2f' % TARGET_OVERHEAD_RATIO,
                           overhead_ratio <= TARGET_OVERHEAD_RATIO)
        return section

    # 4. Scaling --------------------------------------------------------------------------------

    def scaling(self):
        sizes, period = self.profile['scaling_hosts'], self.snapshot_seconds
        section = Section('scaling', '4. Scaling with server_ids, forks %d, T = %g s' % (FORKS, period),
                          'For each N: the floor, then each way of running the fleet snapshot with server_ids, each on a fresh '
                          'emulator state. Peak memory is sampled from /proc (see the notes).',
                          ['N', 'alternative', 'wall s', 'ratio', 'CPU s', 'API requests', 'requests/host', 'writes',
                           'module peak MB', 'ansible-playbook peak MB', 'check'])
        with self.emulator('scaling', max(sizes)) as emulator:
            for hosts in sizes:
                inventory = self.workspace.inventory(hosts)
                emulator.reset(hosts)
                floor = self.floor(hosts, inventory, emulator, sample_memory=True)
                section.add_row(hosts, 'floor (one debug task, best of %d)' % FLOOR_REPEATS, seconds(floor.wall), '-', seconds(floor.cpu),
                                floor.requests, '-',
                                floor.writes, '-', megabytes(floor.controller_kb), floor.outcome())
                for label, playbook, extra_vars in self.server_ids_alternatives():
                    run, check = self.run_fleet(label, playbook, extra_vars, hosts, inventory, emulator, sample_memory=True)
                    wall_ratio = run.wall / (period + floor.wall)
                    section.add_row(hosts, label, seconds(run.wall), ratio(wall_ratio), seconds(run.cpu), run.requests,
                                    ratio(run.requests / hosts), run.writes, megabytes(run.module_kb.get('vpsorg_snapshot', 0)),
                                    megabytes(run.controller_kb), check)
                    if hosts == max(sizes):
                        section.add_target('N=%d %s: wall' % (hosts, label), '%s x (T + floor)' % ratio(wall_ratio),
                                           '%.2f x' % TARGET_SCALING_WALL, wall_ratio <= TARGET_SCALING_WALL and check == 'ok')
        section.notes.append(self.fleet_playbook_note())
        section.notes.append('Peak memory: a thread of bench/harness.py reads VmHWM (the kernel\'s high-water mark of resident memory) '
                             'from /proc every 50 ms for the ansible-playbook process and for every descendant running an '
                             'AnsiballZ_vpsorg_snapshot.py wrapper (ansible-core runs the module inside that interpreter). '
                             'As the kernel keeps the peak, sampling can only miss the growth of a module\'s last 50 ms. '
                             '"module peak MB" is the vpsorg_snapshot run. The sampler walks only the run\'s own process tree '
                             'and costs 1-2% of one CPU.')
        return section

    # 5. Rate limited ---------------------------------------------------------------------------

    def ratelimit(self):
        hosts, limit = self.profile['ratelimit_hosts'], self.profile['rate_limit']
        section = Section('ratelimit', '5. Rate-limited API: %d requests/s, N = %d, server_ids' % (limit, hosts),
                          'The emulator answers 429 with `Retry-After: 1` to more than %d API requests per second. The fleet '
                          'snapshot must still finish with exactly one completed snapshot per server and no failed host.' % limit,
                          ['alternative', 'wall s', 'API requests', '429 answers', 'writes', 'failed hosts', 'check'])
        inventory = self.workspace.inventory(hosts)
        label, playbook, extra_vars = self.server_ids_alternatives()[0]
        with self.emulator('ratelimit', hosts, rate_limit=limit) as emulator:
            run, check = self.run_fleet(label, playbook, extra_vars, hosts, inventory, emulator)
            section.add_row(label, seconds(run.wall), run.requests, run.throttled, run.writes, run.failed_hosts, check)
            section.notes.append('Requests by endpoint: %s; by status: %s.' % (
                requests_by_endpoint(run.counters), ', '.join('%s %d' % item for item in sorted(run.counters.get('by_status', {}).items()))))
        section.add_target('rate-limited N=%d %s: completes, one snapshot per server, no failed host' % (hosts, label),
                           check, 'ok', check == 'ok')
        return section

    # 6. A fleet that is a slice of a large account (issue 18) -----------------------------------

    def slices(self):
        account, per_server = self.profile['account_servers'], self.profile['account_snapshots_per_server']
        hosts, sliced_hosts, slices, period = (self.profile['slice_fleet_hosts'], self.profile['sliced_fleet_hosts'],
                                               self.profile['slices'], self.snapshot_seconds)
        section = Section('slices', '6. A fleet that is a slice of a large account: %d servers, %d snapshots each, T = %g s'
                          % (account, per_server, period),
                          'The account holds %d servers with %d completed snapshots each (%d snapshots, named `nightly-N`, which '
                          'the playbook\'s retention does not touch); the API caps pages at 100. The fleet is the first servers '
                          'of the account, snapshotted with `ansible-playbook vpsorg.cloud.fleet_snapshot` (forks %d): %d servers '
                          'in one run; %d servers in one run; the same %d servers as %d concurrent runs, each `--limit slice_K` '
                          'of a quarter. Each row starts from the same seeded account. requests/host divides by the fleet '
                          'servers of the row (all slices together for the concurrent runs, whose wall time is the slowest run). '
                          'emulator CPU s is the emulator process\'s user + system time during the row: it serves one request '
                          'at a time, so emulator share = emulator CPU / wall is the part of the wall time it was busy.'
                          % (account, per_server, account * per_server, FORKS, hosts, sliced_hosts, sliced_hosts, slices),
                          ['fleet', 'wall s', 'ratio', 'API requests', 'requests/host', 'snapshot list GETs', 'writes', 'emulator CPU s',
                           'emulator share', 'check'])
        if not self.has_fleet_playbook:
            section.notes.append('Skipped: the collection playbook vpsorg.cloud.fleet_snapshot is not in the staged collection.')
            return section
        playbook, extra_vars = 'vpsorg.cloud.fleet_snapshot', dict(fleet_snapshot_name=SNAPSHOT_NAME)
        inventory, sliced_inventory = self.workspace.inventory(hosts), self.workspace.inventory(sliced_hosts, slices)
        with self.emulator('slices', account) as emulator:
            floors = {}
            for size, path in ((hosts, inventory), (sliced_hosts, sliced_inventory)):
                floors[size] = self.floor(size, path, emulator)
                section.add_row('floor, %d hosts (one debug task, best of %d)' % (size, FLOOR_REPEATS), seconds(floors[size].wall),
                                '-', '-', '-', '-', '-', '-', '-', floors[size].outcome())
            runs = [('%d servers, one run' % hosts, hosts, inventory, [None]),
                    ('%d servers, one run' % sliced_hosts, sliced_hosts, sliced_inventory, [None]),
                    ('%d servers, %d concurrent slices' % (sliced_hosts, slices), sliced_hosts, sliced_inventory,
                     ['slice_%d' % (number + 1) for number in range(slices)])]
            for label, size, path, limits in runs:
                self.seed_account(emulator, account, per_server)
                cpu_before = emulator.cpu_seconds()
                with ThreadPoolExecutor(len(limits)) as pool:
                    done = list(pool.map(lambda limit: self.workspace.run(
                        '%s %s' % (label, limit or ''), playbook, path, emulator, extra_vars, limit=limit, read_counters=False), limits))
                emulator_cpu = emulator.cpu_seconds() - cpu_before
                counters = emulator.counters()
                wall = max(run.wall for run in done)
                failed = [run for run in done if not run.succeeded]
                check = failed[0].outcome() if failed else fleet_problems(emulator, size, SNAPSHOT_NAME)
                wall_ratio, per_host = wall / (period + floors[size].wall), counters['total'] / size
                section.add_row(label, seconds(wall), ratio(wall_ratio), counters['total'], ratio(per_host),
                                counters['by_endpoint'].get('GET /api/v1/snapshots/', 0), counters['writes'], seconds(emulator_cpu),
                                '%.0f%%' % (100.0 * emulator_cpu / wall), check)
                section.notes.append('Requests of "%s": %s.' % (label, requests_by_endpoint(counters)))
                if size == hosts:
                    section.add_target('issue 18, %d of %d servers: wall' % (hosts, account), '%s x (T + floor)' % ratio(wall_ratio),
                                       '%.2f x' % TARGET_SLICE_WALL, wall_ratio <= TARGET_SLICE_WALL and check == 'ok')
                    section.add_target('issue 18, %d of %d servers: requests/host' % (hosts, account), ratio(per_host),
                                       '%.1f' % TARGET_SLICE_REQUESTS_PER_HOST, per_host <= TARGET_SLICE_REQUESTS_PER_HOST)
        costs = emulator_pages.measure(emulator_pages.emulator_module.Emulator, account, per_server)
        section.notes.append('The emulator\'s own cost in this account, median of 20, in-process without sockets (`python -m '
                             'bench.emulator_pages`): %s.' % '; '.join('%s: %.2f' % (label, value) for label, value in costs.items()))
        section.notes.append('Before issue 18 the fleet playbook read the account-wide snapshot list (%d pages of 100 here) for '
                             'retention, again in the module, and once per poll, plus the servers list; measured at commit 2f6bdc4: '
                             '50 servers 495 requests (9.90 per server, 1.87 x), 200 servers 650 (3.25), 4 concurrent slices 1877 '
                             '(9.38). Now the first page\'s count picks the account-wide list or each server\'s own list, '
                             'retention shares the create\'s read (keep / keep_prefix), and polls read only the newest pages while '
                             'the data shows the list is newest first. Issue 18 asks for at most %.1f requests per fleet server '
                             'and %.2f x (T + floor).'
                             % (-(-account * per_server // 100), TARGET_SLICE_REQUESTS_PER_HOST, TARGET_SLICE_WALL))
        return section

    # 7. Fleet restore (issue 27) ----------------------------------------------------------------

    def restore(self):
        hosts, period = self.profile['restore_hosts'], self.profile['restore_seconds']
        section = Section('restore', '7. Fleet restore, N = %d hosts, R = %g s' % (hosts, period),
                          'Each alternative restores every host of the same inventory from its own completed snapshot named `%s` '
                          '(seeded on a fresh emulator state each time) and waits until every server is back. ratio = wall / (R + '
                          'floor). restores counts the restore POSTs the emulator answered: one per server, never two.' % SNAPSHOT_NAME,
                          ['alternative', 'wall s', 'ratio', 'CPU s', 'API requests', 'requests/host', 'restores', 'check'])
        inventory = self.workspace.inventory(hosts)
        alternatives = [('server_ids, one task', self.playbooks['restore_server_ids'], dict(bench_snapshot_name=SNAPSHOT_NAME)),
                        ('per host, one task each (forks %d)' % FORKS, self.playbooks['restore_per_host'], dict(bench_snapshot_name=SNAPSHOT_NAME))]
        if self.workspace.collection_has(os.path.join('playbooks', 'fleet_restore.yml')):
            alternatives.insert(0, ('fleet_restore playbook', 'vpsorg.cloud.fleet_restore',
                                    dict(fleet_restore_name=SNAPSHOT_NAME, fleet_restore_confirm=True)))
        endpoints = []
        with self.emulator('restore', hosts, restore_seconds=period) as emulator:
            emulator.reset(hosts)
            floor = self.floor(hosts, inventory, emulator)
            section.add_row('floor (one debug task, best of %d)' % FLOOR_REPEATS, seconds(floor.wall), '-', seconds(floor.cpu),
                            floor.requests, '-', '-', floor.outcome())
            for label, playbook, extra_vars in alternatives:
                emulator.reset(hosts)
                for index in range(hosts):
                    emulator.add_completed_snapshot(FIRST_SERVER_ID + index, SNAPSHOT_NAME)
                base = emulator.counters()['total']
                run = self.workspace.run('restore %s' % label, playbook, inventory, emulator, extra_vars)
                restores = run.counters.get('by_endpoint', {}).get(RESTORE_ENDPOINT, 0)
                check = run.outcome() if not run.succeeded else ('ok' if restores == hosts else '%d restores for %d servers' % (restores, hosts))
                requests = run.requests - base
                wall_ratio, per_host = run.wall / (period + floor.wall), requests / hosts
                section.add_row(label, seconds(run.wall), ratio(wall_ratio), seconds(run.cpu), requests, ratio(per_host), restores, check)
                endpoints.append((label, requests_by_endpoint(run.counters)))
                if label != alternatives[-1][0]:
                    section.add_target('N=%d %s: wall' % (hosts, label), '%s x (R + floor)' % ratio(wall_ratio),
                                       '%.2f x' % TARGET_RESTORE_WALL, wall_ratio <= TARGET_RESTORE_WALL and check == 'ok')
                    section.add_target('N=%d %s: requests/host' % (hosts, label), ratio(per_host),
                                       '%.1f' % TARGET_RESTORE_REQUESTS_PER_HOST, per_host <= TARGET_RESTORE_REQUESTS_PER_HOST)
        section.notes.extend('Requests of "%s": %s.' % pair
                             for pair in endpoints)
        return section

    def seed_account(self, emulator, servers, per_server):
        """Reset to servers servers, each with per_server completed snapshots named nightly-1 ... (older than any new one)."""
        emulator.reset(servers)
        bodies = [dict(server_id=FIRST_SERVER_ID + index, name='nightly-%d' % (number + 1), status='completed',
                       created_at='2025-01-%02dT03:00:00Z' % (number + 1))
                  for index in range(servers) for number in range(per_server)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda body: emulator.control.add_snapshot(**body), bodies))

    # 8. The safe_upgrade role (issue 28) ---------------------------------------------------------

    def role(self):
        hosts, period = self.profile['role_hosts'], self.snapshot_seconds
        section = Section('role', '8. The safe_upgrade role, N = %d hosts, forks %d, a change that does nothing' % (hosts, FORKS),
                          'The role as shipped (`bench/playbooks/role.yml`) beside the essentials written by hand (`sync`, one '
                          '`vpsorg_snapshot` task per host with `wait: true`, the change: `bench/playbooks/role_essentials.yml`) and '
                          'the fleet snapshot playbook, each on a fresh emulator state, with snapshots that take 0 s (the role\'s own '
                          'cost) and T = %g s. own cost = role wall / essentials wall at T = 0; snapshot wait = role wall at T minus '
                          'role wall at T = 0, in units of T.' % period,
                          ['T s', 'alternative', 'wall s', 'CPU s', 'API requests', 'requests/host', 'writes', 'check'])
        inventory = self.workspace.inventory(hosts)
        alternatives = [('the essentials by hand', self.playbooks['role_essentials'], dict(bench_snapshot_name='pre-upgrade-bench')),
                        ('the safe_upgrade role', self.playbooks['role'], None)]
        if self.has_fleet_playbook:
            alternatives.append(('fleet_snapshot playbook', 'vpsorg.cloud.fleet_snapshot', dict(fleet_snapshot_name=SNAPSHOT_NAME)))
        walls, requests = {}, {}
        for snapshot_seconds in (0, period):
            with self.emulator('role-%g' % snapshot_seconds, hosts, snapshot_seconds=snapshot_seconds) as emulator:
                emulator.reset(hosts)
                floor = self.floor(hosts, inventory, emulator)
                section.add_row(snapshot_seconds, 'floor (one debug task, best of %d)' % FLOOR_REPEATS, seconds(floor.wall),
                                seconds(floor.cpu), floor.requests, '-', floor.writes, floor.outcome())
                for label, playbook, extra_vars in alternatives:
                    emulator.reset(hosts)
                    run = self.workspace.run('%s T=%g' % (label, snapshot_seconds), playbook, inventory, emulator, extra_vars)
                    check = run.outcome() if not run.succeeded else one_snapshot_each(emulator, hosts)
                    walls[label, snapshot_seconds], requests[label, snapshot_seconds] = run.wall, run.requests / hosts
                    section.add_row(snapshot_seconds, label, seconds(run.wall), seconds(run.cpu), run.requests,
                                    ratio(run.requests / hosts), run.writes, check)
                    if label == 'the safe_upgrade role':
                        section.notes.append('Requests of the role at T = %g s: %s.' % (snapshot_seconds, requests_by_endpoint(run.counters)))
        role, essentials = 'the safe_upgrade role', 'the essentials by hand'
        own_cost = walls[role, 0] / walls[essentials, 0]
        wait = (walls[role, period] - walls[role, 0]) / period if period else 0.0
        section.notes.append('Own cost: %s x the essentials at T = 0; the snapshot wait: %s x T (the essentials: %s x T).'
                             % (ratio(own_cost), ratio(wait), ratio((walls[essentials, period] - walls[essentials, 0]) / period)))
        section.add_target('N=%d role: own cost (T = 0) / essentials' % hosts, ratio(own_cost), '%.1f x' % TARGET_ROLE_OWN_COST,
                           own_cost <= TARGET_ROLE_OWN_COST)
        section.add_target('N=%d role: snapshot wait' % hosts, '%s x T' % ratio(wait), '%.1f x T' % TARGET_ROLE_WAIT, wait <= TARGET_ROLE_WAIT)
        section.add_target('N=%d role: requests/host (T = %g s)' % (hosts, period), ratio(requests[role, period]),
                           '%.1f' % TARGET_ROLE_REQUESTS_PER_HOST, requests[role, period] <= TARGET_ROLE_REQUESTS_PER_HOST)
        return section
