# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmarks of vpsorg.cloud against the local API emulator (`make bench`).

Every benchmark starts its own emulator, runs its alternatives back to back with ansible-playbook, resets the emulator
between alternatives and reads the API request counts from its counters.

    make bench                             full run (about 20 minutes on 2 cores), rewrites docs/performance.md
    make bench BENCH_ARGS=--quick          smoke run: small N, T = 2 s; prints only
    make bench BENCH_ARGS="--only NAME"    one benchmark (fleet, rerun, overhead, scaling, ratelimit, slices, restore, role); prints only,
                                           or with --write-doc rewrites only its section of docs/performance.md

By hand: `PYTHONPATH=.tmp/collections .venv/bin/python -m bench ...` from the repository root after `make stage` (the
benchmarks use the emulator's harness, ansible_collections.vpsorg.cloud.tests.emulator, from the staged collection).
"""

import argparse
import atexit
import os
import signal
import sys
import time

from .benchmarks import BENCHMARKS, FLOOR_REPEATS, PROFILES, Bench
from .harness import FORKS, OtherWorkMeter, Workspace, exit_on_sigterm, kill_all_started, wait_for_idle
from .report import PERFORMANCE_DOC, machine_description, render_text_table, update_performance_doc, write_performance_doc


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='python -m bench', description='Benchmarks of vpsorg.cloud against the local API emulator.')
    parser.add_argument('--quick', action='store_true', help='small N and T = 2 s: a smoke run of every benchmark in a couple of minutes')
    parser.add_argument('--only', action='append', choices=BENCHMARKS, metavar='NAME',
                        help='run only this benchmark (repeatable): %s' % ', '.join(BENCHMARKS))
    parser.add_argument('--write-doc', action='store_true',
                        help='with --only: rewrite that benchmark\'s section and targets in docs/performance.md (a full run writes the whole page)')
    parser.add_argument('--wait-for-idle', type=float, default=0, metavar='MINUTES',
                        help='before each benchmark, wait up to MINUTES until other work keeps the CPUs at most --max-busy busy')
    parser.add_argument('--max-busy', type=float, default=0.25, help='share of the CPUs (0-1) counted as idle by --wait-for-idle (default: 0.25)')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (playbooks, inventories, logs) under .tmp/')
    args = parser.parse_args(argv)
    if args.write_doc and (args.quick or not args.only):
        parser.error('--write-doc goes with --only and a full-size run (a run of every benchmark writes the whole page)')
    return args


def main(argv=None):
    args = parse_args(argv)
    profile = PROFILES['quick' if args.quick else 'full']
    selected = args.only or list(BENCHMARKS)
    atexit.register(kill_all_started)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
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
        kill_all_started()
        if args.keep:
            print('work directory kept: %s' % workspace.path)
        workspace.cleanup()
    elapsed = time.monotonic() - started - waited
    targets = [target for section in sections for target in section.targets]
    print('\n== Targets ==\n' + render_text_table(['target', 'measured', 'limit', 'result'], [[str(cell) for cell in t] for t in targets]))
    print('\nfinished in %.0f s (plus %.0f s waiting for the machine to settle)' % (elapsed, waited))
    if not args.quick and not args.only:
        write_performance_doc(sections, profile, machine_description(), elapsed, BENCHMARKS, FLOOR_REPEATS)
        print('wrote %s' % os.path.relpath(PERFORMANCE_DOC, os.getcwd()))
    elif args.write_doc:
        update_performance_doc(sections, machine_description(), elapsed)
        print('updated %s' % os.path.relpath(PERFORMANCE_DOC, os.getcwd()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
