# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmarks of vpsorg.cloud against the local API emulator (`make bench`).

Every benchmark starts its own emulator, runs its alternatives back to back with ansible-playbook,
resets the emulator between alternatives and reads the API request counts from its counters.

    python bench/run.py              full run (15 to 20 minutes on 2 cores), rewrites docs/performance.md
    python bench/run.py --quick      smoke run: small N, T = 2 s; prints only
    python bench/run.py --only NAME  one benchmark (fleet, rerun, overhead, scaling, ratelimit); prints only

Wall time is the whole ansible-playbook process, start-up included; "floor" is the same inventory running
one ansible.builtin.debug task, i.e. what Ansible itself costs, so wall / (T + floor) is 1.0 for a run that
adds nothing to the snapshot time T and Ansible's own overhead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import atexit
import collections
import datetime
import http.client
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATOR_SCRIPT = os.path.join(REPO, 'tests', 'emulator', 'emulator.py')
STAGE_SCRIPT = os.path.join(REPO, 'tests', 'utils', 'stage.sh')
PERFORMANCE_DOC = os.path.join(REPO, 'docs', 'performance.md')
API_TOKEN = 'vps_bench_token'
FIRST_SERVER_ID = 12345
FORKS = 10
SNAPSHOT_NAME = 'fleet-bench'
# Collection playbook names must start with its prefix (fleet-), so one name serves every alternative.
BENCHMARKS = ('fleet', 'rerun', 'overhead', 'scaling', 'ratelimit')

# Sizes of a full run and of the --quick smoke run.
PROFILES = {
    'full': dict(snapshot_seconds=10, fleet_hosts=50, overhead_tasks=30, overhead_repeats=3, scaling_hosts=(10, 50, 200, 500),
                 ratelimit_hosts=200, rate_limit=20, timeout=300),
    'quick': dict(snapshot_seconds=2, fleet_hosts=5, overhead_tasks=5, overhead_repeats=1, scaling_hosts=(5, 20),
                  ratelimit_hosts=20, rate_limit=5, timeout=120),
}

# Targets to compare against: reported as pass/miss, never asserted.
TARGET_FLEET_WALL = 1.25
TARGET_FLEET_REQUESTS_PER_HOST = 1.2
TARGET_RERUN_REQUESTS_PER_HOST = 0.1
TARGET_SCALING_WALL = 1.5
TARGET_OVERHEAD_RATIO = 1.15
# The floor is measured this many times and the best run kept.
FLOOR_REPEATS = 3


class BenchError(Exception):
    pass


# Processes ---------------------------------------------------------------------------------------

# Every process group this script started and has not yet reaped: killed on any exit, so no emulator
# or ansible-playbook outlives an interrupted benchmark.
_LIVE_GROUPS = set()


def _kill_group(process, grace=10.0):
    """SIGTERM the process group this script started, then SIGKILL what lingers, leader or not."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    # A module or worker can outlive its ansible-playbook; the group id stays reserved while any member lives.
    _signal_group(process, signal.SIGKILL)
    process.wait()
    _LIVE_GROUPS.discard(process)


def _signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_all_started():
    for process in list(_LIVE_GROUPS):
        _kill_group(process, grace=3.0)


def _exit_on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


class Emulator(object):
    """tests/emulator/emulator.py in a subprocess, with its control endpoints."""

    def __init__(self, servers, snapshot_seconds, log_path, rate_limit=0):
        command = [sys.executable, EMULATOR_SCRIPT, '--port', '0', '--quiet', '--token', API_TOKEN, '--servers', str(servers),
                   '--snapshot-seconds', str(snapshot_seconds), '--rate-limit', str(rate_limit)]
        self._log = open(log_path, 'ab')  # closed in stop()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log,
                                        start_new_session=True)
        _LIVE_GROUPS.add(self.process)
        ready, dummy, dummy = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline().decode().strip() if ready else ''
        if not line.startswith('http'):
            self.stop()
            raise BenchError('the emulator did not print its URL within 30 s (see %s)' % log_path)
        self.url = line
        parts = urlsplit(line)
        self._address = (parts.hostname, parts.port)

    def stop(self):
        _kill_group(self.process)
        self.process.stdout.close()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def control(self, method, path, body=None):
        connection = http.client.HTTPConnection(self._address[0], self._address[1], timeout=60)
        try:
            payload = json.dumps(body) if body is not None else None
            connection.request(method, '/_emulator/' + path, body=payload, headers={'Content-Type': 'application/json'})
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status >= 400:
            raise BenchError('emulator %s /_emulator/%s answered %s: %s' % (method, path, response.status, data[:200]))
        return json.loads(data) if data else None

    def reset(self, servers):
        self.control('POST', 'reset', {'servers': servers})

    def counters(self):
        return self.control('GET', 'counters')

    def snapshots(self):
        return self.control('GET', 'state')['accounts'][0]['snapshots']

    def add_completed_snapshot(self, server_id, name):
        self.control('POST', 'snapshots', {'server_id': server_id, 'name': name, 'status': 'completed'})


class PeakMemorySampler(threading.Thread):
    """Peak resident memory of the ansible-playbook process and of each module process it starts.

    Reads VmHWM from /proc every 50 ms. VmHWM is the kernel's own high-water mark of a process's RSS,
    so a sample taken any time before the process exits holds its true peak; only growth in a module's
    last 50 ms could be missed. Module processes are the descendants whose command line names an
    AnsiballZ_<module>.py wrapper (ansible-core 2.19 runs the module inside that interpreter).
    """

    INTERVAL = 0.05

    def __init__(self, root_pid):
        super(PeakMemorySampler, self).__init__(name='peak-memory-sampler', daemon=True)
        self.root_pid = root_pid
        self.controller_kb = 0
        self.module_kb = collections.defaultdict(int)
        self._stop_event = threading.Event()

    def stop(self):
        self._stop_event.set()
        self.join()

    def run(self):
        while not self._stop_event.is_set():
            self._sample()
            self._stop_event.wait(self.INTERVAL)

    def _sample(self):
        self.controller_kb = max(self.controller_kb, _peak_rss_kb(self.root_pid))
        for pid in _descendants(self.root_pid):
            try:
                with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                    command = handle.read().decode(errors='replace')
            except OSError:
                continue
            module = re.search(r'AnsiballZ_(\w+)\.py', command)
            if module:
                self.module_kb[module.group(1)] = max(self.module_kb[module.group(1)], _peak_rss_kb(pid))


def _peak_rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as handle:
            for line in handle:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(root_pid):
    """Every live descendant of root_pid, walking /proc/<pid>/task/<tid>/children (no scan of all of /proc)."""
    found, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        try:
            threads = os.listdir('/proc/%d/task' % pid)
        except OSError:
            continue
        for thread in threads:
            try:
                with open('/proc/%d/task/%s/children' % (pid, thread)) as handle:
                    children = [int(child) for child in handle.read().split()]
            except (OSError, ValueError):
                continue
            found.extend(children)
            pending.extend(children)
    return found


# Running Ansible ----------------------------------------------------------------------------------

class PlaybookRun(object):
    """What one ansible-playbook run cost and how it ended."""

    def __init__(self, wall, cpu, returncode, timed_out, failed_hosts, log_path, counters=None, controller_kb=0, module_kb=None):
        self.wall = wall
        self.cpu = cpu
        self.returncode = returncode
        self.timed_out = timed_out
        self.failed_hosts = failed_hosts
        self.log_path = log_path
        self.counters = counters or {}
        self.controller_kb = controller_kb
        self.module_kb = module_kb or {}

    @property
    def succeeded(self):
        return self.returncode == 0 and not self.timed_out and not self.failed_hosts

    @property
    def requests(self):
        return self.counters.get('total', 0)

    @property
    def writes(self):
        return self.counters.get('writes', 0)

    @property
    def throttled(self):
        return self.counters.get('by_status', {}).get('429', 0)

    def outcome(self):
        if self.timed_out:
            return 'TIMEOUT (see %s)' % self.log_path
        if self.returncode != 0 or self.failed_hosts:
            return 'FAILED rc=%s, %d failed host(s) (see %s)' % (self.returncode, self.failed_hosts, self.log_path)
        return 'ok'


class Workspace(object):
    """A temporary directory with the generated inventories and playbooks, the run logs, and the Ansible settings."""

    def __init__(self, timeout, keep):
        base = os.path.join(REPO, '.tmp')
        os.makedirs(base, exist_ok=True)
        self.path = tempfile.mkdtemp(prefix='bench-', dir=base)
        self.timeout = timeout
        self.keep = keep
        self.ansible_playbook = _find_ansible_playbook()
        self.env = dict(os.environ)
        self.env.update({
            'ANSIBLE_FORKS': str(FORKS),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_HOST_KEY_CHECKING': '0',
            'VPSORG_API_TOKEN': API_TOKEN,
        })
        self.env.setdefault('ANSIBLE_LOCAL_TEMP', os.path.join(self.path, 'ansible-local'))
        self.env.setdefault('ANSIBLE_HOME', os.path.join(self.path, 'ansible-home'))
        self.env['ANSIBLE_COLLECTIONS_PATH'] = _staged_collections(self.env.get('ANSIBLE_COLLECTIONS_PATH'), self.path)
        self._runs = 0

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)

    def collection_has(self, relative_path):
        return any(os.path.exists(os.path.join(root, 'ansible_collections', 'vpsorg', 'cloud', relative_path))
                   for root in self.env['ANSIBLE_COLLECTIONS_PATH'].split(os.pathsep))

    def write(self, name, text):
        path = os.path.join(self.path, name)
        with open(path, 'w') as handle:
            handle.write(text)
        return path

    def inventory(self, hosts):
        """hosts local hosts, each with its own vpsorg_server_id (12345, 12346, ...)."""
        lines = ['all:', '  vars:', '    ansible_connection: local',
                 '    ansible_python_interpreter: "{{ ansible_playbook_python }}"', '  hosts:']
        lines.extend('    bench-%04d: {vpsorg_server_id: %d}' % (index, FIRST_SERVER_ID + index) for index in range(hosts))
        return self.write('inventory-%d.yml' % hosts, '\n'.join(lines) + '\n')

    def localhost_inventory(self):
        return self.write('inventory-localhost.yml', 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                          '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')

    def run(self, label, playbook, inventory, emulator, extra_vars=None, sample_memory=False):
        """Run one ansible-playbook with a hard timeout; the emulator's counters are read afterwards (reset them before)."""
        self._runs += 1
        log_path = os.path.join(self.path, '%02d-%s.log' % (self._runs, re.sub(r'[^A-Za-z0-9]+', '-', label).strip('-')))
        command = [self.ansible_playbook, '-i', inventory, '-f', str(FORKS), playbook]
        if extra_vars:
            command += ['-e', json.dumps(extra_vars)]
        env = dict(self.env, VPSORG_API_URL=emulator.url)
        with open(log_path, 'wb') as log:
            cpu_before = _children_cpu_seconds()
            started = time.monotonic()
            process = subprocess.Popen(command, cwd=self.path, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            _LIVE_GROUPS.add(process)
            sampler = PeakMemorySampler(process.pid) if sample_memory else None
            if sampler:
                sampler.start()
            timed_out = False
            try:
                process.wait(self.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            wall = time.monotonic() - started
            cpu = _children_cpu_seconds() - cpu_before
            if sampler:
                sampler.stop()
            _kill_group(process)
        with open(log_path, errors='replace') as log:
            failed_hosts = _failed_hosts(log.read())
        return PlaybookRun(wall, cpu, process.returncode, timed_out, failed_hosts, log_path, emulator.counters(),
                           sampler.controller_kb if sampler else 0, dict(sampler.module_kb) if sampler else {})


def _children_cpu_seconds():
    """User + system CPU time of every finished child and its waited-for descendants (workers, modules).

    Unlike wall time, this hardly moves when other work shares the CPUs, so it tells Ansible's and the
    modules' own cost apart from a busy machine. The emulator is never waited for until the end, so it is not counted.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _find_ansible_playbook():
    beside_python = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    found = beside_python if os.access(beside_python, os.X_OK) else shutil.which('ansible-playbook')
    if not found:
        raise BenchError('ansible-playbook not found beside %s nor on PATH: run `make bench`, or use .venv/bin/python' % sys.executable)
    return found


def _staged_collections(configured, workdir):
    """A private copy of the collection for this run, so that a restage by anyone else (make stage) cannot change it midway.

    Copied from the configured collections path when it holds vpsorg.cloud (make bench stages it there), else staged
    from the repository; ansible-playbook resolves vpsorg.cloud.* only under a path ending in ansible_collections/vpsorg/cloud.
    """
    private = os.path.join(workdir, 'collections')
    for root in (configured or '').split(os.pathsep):
        source = os.path.join(root, 'ansible_collections', 'vpsorg', 'cloud') if root else ''
        if source and os.path.exists(os.path.join(source, 'plugins', 'modules', 'vpsorg_snapshot.py')):
            shutil.copytree(source, os.path.join(private, 'ansible_collections', 'vpsorg', 'cloud'),
                            ignore=shutil.ignore_patterns('.git', 'output', '.tmp', '__pycache__'))
            return private
    subprocess.run([STAGE_SCRIPT, private], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return private


def _failed_hosts(output):
    """Hosts the PLAY RECAP counts as failed or unreachable."""
    failed = 0
    for match in re.finditer(r'^\S+\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)', output, re.MULTILINE):
        failed += int(int(match.group(1)) > 0 or int(match.group(2)) > 0)
    return failed


# Playbooks ---------------------------------------------------------------------------------------

PLAY_HEADER = """---
- name: "{title}"
  hosts: all
  gather_facts: false
  tasks:
"""

FLOOR_PLAYBOOK = PLAY_HEADER.format(title='Ansible alone: one debug task per host') + """\
    - name: Say which server this host is
      ansible.builtin.debug:
        msg: "{{ vpsorg_server_id | default(inventory_hostname) }}"
"""

# The same module call as the collection playbook's snapshot step, without its settings and retention tasks.
SERVER_IDS_PLAYBOOK = PLAY_HEADER.format(title='Snapshot the fleet in one task with server_ids') + """\
    - name: Snapshot every server of the play in one module run and wait for all of them
      vpsorg.cloud.vpsorg_snapshot:
        server_ids: "{{ ansible_play_hosts | map('extract', hostvars, 'vpsorg_server_id') | list }}"
        name: "{{ bench_snapshot_name }}"
        wait: true
      delegate_to: localhost
      run_once: true
"""

TWO_PHASE_PLAYBOOK = PLAY_HEADER.format(title='Start every snapshot per host, then wait for all in one task') + """\
    - name: Start this host's snapshot without waiting
      vpsorg.cloud.vpsorg_snapshot:
        server_id: "{{ vpsorg_server_id }}"
        name: "{{ bench_snapshot_name }}"
        wait: false
      delegate_to: localhost
      register: bench_started

    - name: Wait for every host's snapshot with one list per poll
      vpsorg.cloud.vpsorg_snapshot_info:
        snapshot_ids: "{{ ansible_play_hosts | map('extract', hostvars, ['bench_started', 'snapshot', 'id']) | list }}"
        wait: true
      delegate_to: localhost
      run_once: true
"""

PER_HOST_WAIT_PLAYBOOK = PLAY_HEADER.format(title='Snapshot each host and wait, the obvious way') + """\
    - name: Snapshot this host's server and wait until it is completed
      vpsorg.cloud.vpsorg_snapshot:
        server_id: "{{ vpsorg_server_id }}"
        name: "{{ bench_snapshot_name }}"
        wait: true
      delegate_to: localhost
"""

# What users write without the collection: the documented endpoints, a create, and a poll with a common delay.
URI_PLAYBOOK = PLAY_HEADER.format(title='Snapshot each host with hand-written uri calls') + """\
    - name: Create the snapshot
      ansible.builtin.uri:
        url: "{{ lookup('env', 'VPSORG_API_URL') }}/snapshots/"
        method: POST
        headers:
          Authorization: "Bearer {{ lookup('env', 'VPSORG_API_TOKEN') }}"
        body_format: json
        body:
          server_id: "{{ vpsorg_server_id }}"
          name: "{{ bench_snapshot_name }}"
        status_code: 201
      delegate_to: localhost
      register: bench_created

    - name: Wait until the snapshot is completed
      ansible.builtin.uri:
        url: "{{ lookup('env', 'VPSORG_API_URL') }}/snapshots/?server_id={{ vpsorg_server_id }}"
        headers:
          Authorization: "Bearer {{ lookup('env', 'VPSORG_API_TOKEN') }}"
      delegate_to: localhost
      register: bench_listed
      until: >-
        bench_listed.json.results | selectattr('id', 'equalto', bench_created.json.id)
        | selectattr('status', 'equalto', 'completed') | list | length == 1
      retries: 120
      delay: 5
"""


def overhead_playbook(module, tasks):
    """tasks copies of one GET of the snapshot list on localhost, as separate tasks (a loop would be one task)."""
    if module == 'info':
        task = ('    - name: List the snapshots with vpsorg_snapshot_info ({index})\n'
                '      vpsorg.cloud.vpsorg_snapshot_info: {{}}\n')
    else:
        task = ('    - name: List the snapshots with uri ({index})\n'
                '      ansible.builtin.uri:\n'
                "        url: \"{{{{ lookup('env', 'VPSORG_API_URL') }}}}/snapshots/?page_size=100\"\n"
                '        headers:\n'
                "          Authorization: \"Bearer {{{{ lookup('env', 'VPSORG_API_TOKEN') }}}}\"\n")
    header = PLAY_HEADER.format(title='%d snapshot list tasks with %s' % (tasks, module)).replace('hosts: all', 'hosts: localhost')
    return header + '\n'.join(task.format(index=index + 1) for index in range(tasks))


# Results -----------------------------------------------------------------------------------------

class Section(object):
    """One benchmark's table, notes and target checks, printed and written to docs/performance.md."""

    def __init__(self, key, title, intro, columns):
        self.key = key
        self.title = title
        self.intro = intro
        self.columns = columns
        self.rows = []
        self.notes = []
        self.targets = []

    def add_row(self, *cells):
        self.rows.append([str(cell) for cell in cells])

    def add_target(self, name, measured, limit, passed):
        self.targets.append((name, measured, limit, 'pass' if passed else 'MISS'))

    def as_text(self):
        lines = ['', '== %s ==' % self.title, render_text_table(self.columns, self.rows)]
        lines.extend('  * ' + note for note in self.notes)
        lines.extend('  target %s: %s (limit %s) -> %s' % target for target in self.targets)
        return '\n'.join(lines)

    def as_markdown(self):
        lines = ['## %s' % self.title, '', self.intro, '', render_markdown_table(self.columns, self.rows), '']
        lines.extend('- ' + note for note in self.notes)
        return '\n'.join(lines).rstrip() + '\n'


def render_text_table(columns, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows)]
    lines = ['  '.join(cell.ljust(width) for cell, width in zip(columns, widths)),
             '  '.join('-' * width for width in widths)]
    lines.extend('  '.join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows)
    return '\n'.join(lines)


def render_markdown_table(columns, rows):
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '|'.join('---' for dummy in columns) + '|']
    lines.extend('| ' + ' | '.join(cell.replace('|', '\\|') for cell in row) + ' |' for row in rows)
    return '\n'.join(lines)


def seconds(value):
    return '%.1f' % value


def ratio(value):
    return '%.2f' % value


def megabytes(kilobytes):
    return '%.0f' % (kilobytes / 1024.0) if kilobytes else 'n/a'


def requests_by_endpoint(run):
    """The counters' endpoints, shortest form first: 'GET snapshots/ 12, POST snapshots/ 50'."""
    counts = sorted(run.counters.get('by_endpoint', {}).items(), key=lambda item: -item[1])
    return ', '.join('%s %d' % (endpoint.replace('/api/v1/', ''), count) for endpoint, count in counts) or 'none'


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


# Benchmarks --------------------------------------------------------------------------------------

class Bench(object):
    def __init__(self, profile, workspace):
        self.profile = profile
        self.workspace = workspace
        self.snapshot_seconds = profile['snapshot_seconds']
        self.has_fleet_playbook = workspace.collection_has(os.path.join('playbooks', 'fleet_snapshot.yml'))
        self.playbooks = dict(
            floor=workspace.write('floor.yml', FLOOR_PLAYBOOK),
            server_ids=workspace.write('server_ids.yml', SERVER_IDS_PLAYBOOK),
            two_phase=workspace.write('two_phase.yml', TWO_PHASE_PLAYBOOK),
            per_host_wait=workspace.write('per_host_wait.yml', PER_HOST_WAIT_PLAYBOOK),
            uri=workspace.write('uri.yml', URI_PLAYBOOK),
        )

    def emulator(self, label, servers, rate_limit=0):
        return Emulator(servers, self.snapshot_seconds, os.path.join(self.workspace.path, 'emulator-%s.log' % label), rate_limit)

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
                    'fresh account its retention step costs one `vpsorg_snapshot_info` task (one list request) and deletes nothing; its '
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
                endpoints.append((label, requests_by_endpoint(run)))
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
        section.notes.append('Peak memory: a thread of bench/run.py reads VmHWM (the kernel\'s high-water mark of resident memory) '
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
                requests_by_endpoint(run), ', '.join('%s %d' % item for item in sorted(run.counters.get('by_status', {}).items()))))
        section.add_target('rate-limited N=%d %s: completes, one snapshot per server, no failed host' % (hosts, label),
                           check, 'ok', check == 'ok')
        return section


# Report ------------------------------------------------------------------------------------------

def machine_description():
    model = 'unknown'
    try:
        with open('/proc/cpuinfo') as handle:
            model = next((line.split(':', 1)[1].strip() for line in handle if line.startswith('model name')), model)
    except OSError:
        pass
    nproc = subprocess.run(['nproc'], stdout=subprocess.PIPE, check=False).stdout.decode().strip() or str(os.cpu_count())
    memory = subprocess.run(['free', '-g'], stdout=subprocess.PIPE, check=False).stdout.decode().rstrip()
    ansible_version = subprocess.run([_find_ansible_playbook(), '--version'], stdout=subprocess.PIPE, check=False).stdout.decode()
    core = re.search(r'\[core ([^\]]+)\]', ansible_version)
    commit = subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            check=False).stdout.decode().strip() or 'unknown'
    return dict(nproc=nproc, model=model, memory=memory, python=platform.python_version(), commit=commit,
                ansible_core=core.group(1) if core else 'unknown', date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))


def write_performance_doc(sections, profile, machine, elapsed):
    targets = [target for section in sections for target in section.targets]
    lines = [
        '# Performance',
        '',
        'Written by `make bench` (`bench/run.py`) on %s; the whole run took %.0f s. Run it again to refresh this page '
        '(it is generated: edit `bench/run.py`, not this file).' % (machine['date'], elapsed),
        '',
        'Every benchmark starts its own API emulator (`tests/emulator/emulator.py`, default page size 20, maximum 100) and runs '
        'its alternatives back to back with `ansible-playbook`, resetting the emulator in between and reading the API request '
        'counts from `/_emulator/counters`. Inventories are N local hosts (`ansible_connection: local`, each with its own '
        '`vpsorg_server_id`), forks %d, `gather_facts: false`; API tasks run with `delegate_to: localhost` as they would against '
        'real servers. A snapshot takes T = %g s. Wall time is the whole `ansible-playbook` process; "floor" is the same inventory '
        'running one `ansible.builtin.debug` task (Ansible\'s own cost; the best of %d runs), so ratio = wall / (T + floor) is 1.0 '
        'for a run that adds nothing to the snapshot time and Ansible\'s own overhead. The machine is shared: each benchmark says '
        'how much CPU other processes took while it ran, and wall times (unlike the request counts) move with it.'
        % (FORKS, profile['snapshot_seconds'], FLOOR_REPEATS),
        '',
        'Run it in a checkout of the repository (the benchmarks are not in the collection tarball): '
        '`make bench` (full run, rewrites this page), `.venv/bin/python bench/run.py --quick` (small N, T = 2 s, prints only), '
        '`--only NAME` (one of %s), `--wait-for-idle MINUTES` (wait for a quiet machine before each benchmark), `--keep` (keep the '
        'generated playbooks, inventories and logs under `.tmp/`). Each ansible-playbook run has a hard timeout of %d s.'
        % (', '.join(BENCHMARKS), profile['timeout']),
        '',
        '## Machine',
        '',
        '- CPUs: %s (`nproc`), %s' % (machine['nproc'], machine['model']),
        '- Python %s' % machine['python'],
        '- ansible-core %s' % machine['ansible_core'],
        '- The collection as staged by `make bench` from commit %s (`-dirty`: with the working tree\'s uncommitted changes)'
        % machine['commit'],
        '- Memory (`free -g`):',
        '',
        '```',
        machine['memory'],
        '```',
        '',
        '## Targets',
        '',
        'Compared, not asserted: a miss is reported here and investigated, it does not fail anything.',
        '',
        render_markdown_table(['target', 'measured', 'limit', 'result'], [[str(cell) for cell in target] for target in targets]),
        '',
    ]
    for section in sections:
        lines.append(section.as_markdown())
    with open(PERFORMANCE_DOC, 'w') as handle:
        handle.write('\n'.join(lines).rstrip() + '\n')


def machine_busy_seconds():
    """CPU seconds the whole machine has spent busy since boot (all CPUs, every process), from /proc/stat."""
    with open('/proc/stat') as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait is busy.
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf('SC_CLK_TCK')


def own_cpu_seconds():
    """CPU seconds of this script and of every child it has reaped (ansible-playbook runs and stopped emulators)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class OtherWorkMeter(object):
    """How much CPU other processes took while a benchmark ran: machine busy time minus this script's own processes.

    These machines are shared, and a busy neighbour inflates every wall time; this says by how much the CPUs were taken.
    """

    def __init__(self):
        self.started = time.monotonic()
        self.busy = machine_busy_seconds()
        self.own = own_cpu_seconds()

    def describe(self):
        elapsed = time.monotonic() - self.started
        others = max(machine_busy_seconds() - self.busy - (own_cpu_seconds() - self.own), 0.0)
        return ('Other processes on the machine used %.0f CPU-seconds while this benchmark ran (%.0f s): %.0f%% of its %d CPUs.'
                % (others, elapsed, 100.0 * others / (elapsed * (os.cpu_count() or 1)), os.cpu_count() or 1))


def wait_for_idle(max_busy, patience):
    """Wait up to patience seconds until other work keeps the CPUs busy at most max_busy (a share, 0-1), measured over 5 s.

    Nothing of this script runs between benchmarks, so whatever keeps the CPUs busy then belongs to someone else.
    """
    started = time.monotonic()
    announced = False
    while True:
        before = machine_busy_seconds()
        time.sleep(5)
        busy = (machine_busy_seconds() - before) / (5.0 * (os.cpu_count() or 1))
        if busy <= max_busy or time.monotonic() - started >= patience:
            return time.monotonic() - started
        if not announced:
            print('waiting up to %.0f s for the machine to settle: CPUs %.0f%% busy with other work' % (patience, 100 * busy), flush=True)
            announced = True


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Benchmarks of vpsorg.cloud against the local API emulator.')
    parser.add_argument('--quick', action='store_true', help='small N and T = 2 s: a smoke run of every benchmark in a couple of minutes')
    parser.add_argument('--only', action='append', choices=BENCHMARKS, metavar='NAME',
                        help='run only this benchmark (repeatable): %s' % ', '.join(BENCHMARKS))
    parser.add_argument('--write-doc', action='store_true',
                        help='write docs/performance.md even with --quick or --only (a full run always writes it)')
    parser.add_argument('--wait-for-idle', type=float, default=0, metavar='MINUTES',
                        help='before each benchmark, wait up to MINUTES until other work keeps the CPUs at most --max-busy busy')
    parser.add_argument('--max-busy', type=float, default=0.25, help='share of the CPUs (0-1) counted as idle by --wait-for-idle (default: 0.25)')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (playbooks, inventories, logs) under .tmp/')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    profile = PROFILES['quick' if args.quick else 'full']
    selected = args.only or list(BENCHMARKS)
    atexit.register(_kill_all_started)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = time.monotonic()
    workspace = Workspace(profile['timeout'], args.keep)
    sections = []
    waited = 0.0
    try:
        bench = Bench(profile, workspace)
        print('vpsorg.cloud benchmarks (%s run, T = %g s, forks %d); work directory %s' % (
            'quick' if args.quick else 'full', profile['snapshot_seconds'], FORKS, workspace.path), flush=True)
        for name in BENCHMARKS:
            if name in selected:
                if args.wait_for_idle:
                    waited += wait_for_idle(args.max_busy, args.wait_for_idle * 60)
                other_work = OtherWorkMeter()
                section = getattr(bench, name)()
                section.notes.append(other_work.describe())
                sections.append(section)
                print(section.as_text(), flush=True)
    finally:
        _kill_all_started()
        if args.keep:
            print('work directory kept: %s' % workspace.path)
        workspace.cleanup()
    elapsed = time.monotonic() - started - waited
    targets = [target for section in sections for target in section.targets]
    print('\n== Targets ==\n' + render_text_table(['target', 'measured', 'limit', 'result'], [[str(cell) for cell in t] for t in targets]))
    print('\nfinished in %.0f s (plus %.0f s waiting for the machine to settle)' % (elapsed, waited))
    if args.write_doc or (not args.quick and not args.only):
        write_performance_doc(sections, profile, machine_description(), elapsed)
        print('wrote %s' % os.path.relpath(PERFORMANCE_DOC, os.getcwd()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
