# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the benchmarks run on: the emulator and ansible-playbook as child processes, peak memory and CPU meters.

Every process started here is killed on any exit, so no emulator or ansible-playbook outlives an interrupted run.
"""

import collections
import contextlib
import dataclasses
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from ansible_collections.vpsorg.cloud.tests.emulator.harness import serve

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGE_SCRIPT = os.path.join(REPO, 'tests', 'utils', 'stage.sh')
API_TOKEN = 'vps_bench_token'
FIRST_SERVER_ID = 12345
FORKS = 10


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


def kill_all_started():
    for process in list(_LIVE_GROUPS):
        _kill_group(process, grace=3.0)


def exit_on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


class Emulator(object):
    """tests/emulator/emulator.py in a child process (started by the emulator's harness); .control is its control client."""

    def __init__(self, servers, snapshot_seconds, directory, rate_limit=0, restore_seconds=None):
        args = ['--port', '0', '--quiet', '--token', API_TOKEN, '--servers', str(servers), '--snapshot-seconds', str(snapshot_seconds),
                '--restore-seconds', str(snapshot_seconds if restore_seconds is None else restore_seconds), '--rate-limit', str(rate_limit)]
        self._started = contextlib.ExitStack()
        self._emulator = self._started.enter_context(serve(args, directory))
        _LIVE_GROUPS.add(self._emulator.process)
        self.url = self._emulator.url
        self.control = self._emulator.control

    def stop(self):
        _kill_group(self._emulator.process)
        self._started.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def cpu_seconds(self):
        """User + system CPU time the emulator has used so far: it serves one request at a time, so this is its busy time."""
        try:
            with open('/proc/%d/stat' % self._emulator.pid) as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
        except (OSError, ValueError, IndexError):
            return 0.0

    def reset(self, servers):
        self.control.reset(servers)

    def counters(self):
        return self.control.counters()

    def snapshots(self):
        return self.control.snapshots()

    def add_completed_snapshot(self, server_id, name):
        self.control.add_snapshot(server_id=server_id, name=name, status='completed')


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

@dataclasses.dataclass
class PlaybookRun:
    """What one ansible-playbook run cost and how it ended."""

    wall: float
    cpu: float
    returncode: int
    timed_out: bool
    failed_hosts: int
    log_path: str
    counters: dict = dataclasses.field(default_factory=dict)
    controller_kb: int = 0
    module_kb: dict = dataclasses.field(default_factory=dict)

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
        self.ansible_playbook = find_ansible_playbook()
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
        self._lock = threading.Lock()

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

    def inventory(self, hosts, slices=0):
        """hosts local hosts, each with its own vpsorg_server_id (12345, 12346, ...); with slices, also groups slice_1 ... in order."""
        lines = ['all:', '  vars:', '    ansible_connection: local',
                 '    ansible_python_interpreter: "{{ ansible_playbook_python }}"', '  hosts:']
        lines.extend('    bench-%04d: {vpsorg_server_id: %d}' % (index, FIRST_SERVER_ID + index) for index in range(hosts))
        if slices:
            lines.append('  children:')
            for number in range(slices):
                lines.extend(['    slice_%d:' % (number + 1), '      hosts:'])
                lines.extend('        bench-%04d:' % index for index in range(hosts) if index * slices // hosts == number)
        return self.write('inventory-%d%s.yml' % (hosts, '-%d-slices' % slices if slices else ''), '\n'.join(lines) + '\n')

    def localhost_inventory(self):
        return self.write('inventory-localhost.yml', 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                          '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')

    def run(self, label, playbook, inventory, emulator, extra_vars=None, sample_memory=False, limit=None, read_counters=True):
        """Run one ansible-playbook with a hard timeout; the emulator's counters are read afterwards (reset them before).

        Runs may overlap (threads): read_counters=False leaves the counters to the caller, who reads them once all are done.
        """
        with self._lock:
            self._runs += 1
            log_path = os.path.join(self.path, '%02d-%s.log' % (self._runs, re.sub(r'[^A-Za-z0-9]+', '-', label).strip('-')))
        command = [self.ansible_playbook, '-i', inventory, '-f', str(FORKS), playbook] + (['--limit', limit] if limit else [])
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
        return PlaybookRun(wall, cpu, process.returncode, timed_out, failed_hosts, log_path, emulator.counters() if read_counters else {},
                           sampler.controller_kb if sampler else 0, dict(sampler.module_kb) if sampler else {})


def _children_cpu_seconds():
    """User + system CPU time of every finished child and its waited-for descendants (workers, modules).

    Unlike wall time, this hardly moves when other work shares the CPUs, so it tells Ansible's and the
    modules' own cost apart from a busy machine. The emulator is never waited for until the end, so it is not counted.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def find_ansible_playbook():
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
