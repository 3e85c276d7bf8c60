# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the emulator itself costs per request in a large account, in this process and without sockets.

    PYTHONPATH=.tmp/collections .venv/bin/python -m bench.emulator_pages [--emulator FILE] [--servers 2000] [--per-server 3]

--emulator measures another copy of emulator.py (e.g. an older one from `git show`), to compare before and after.
The slices benchmark reports the same figures for the account it runs against.
"""

import argparse
import importlib.util
import statistics
import time

from werkzeug.test import Client

from ansible_collections.vpsorg.cloud.tests.emulator import emulator as emulator_module

TOKEN = 'vps_pages_token'
LOOPBACK = {'REMOTE_ADDR': '127.0.0.1'}


def measure(emulator_class, servers, per_server, repeats=20):
    """Median milliseconds of each kind of request (and the seconds seeding took) in an account of servers servers with
    per_server snapshots each."""
    emulator = emulator_class(tokens=[TOKEN], servers=servers, snapshot_seconds=3600)
    client = Client(emulator)
    started = time.perf_counter()
    for index in range(servers):
        for number in range(per_server):
            response = client.post('/_emulator/snapshots', json={'server_id': 12345 + index, 'name': 'nightly-%d' % number},
                                   environ_base=LOOPBACK)
            if response.status_code != 201:
                raise RuntimeError('seeding failed: %s' % response.get_data(as_text=True))
    results = {'seed %d snapshots through the control API (s)' % (servers * per_server): time.perf_counter() - started}
    headers = {'Authorization': 'Bearer %s' % TOKEN}
    pages = -(-servers * per_server // 100)
    gets = [('snapshots, page 1 of %d (page_size=100)' % pages, '/api/v1/snapshots/?page_size=100'),
            ('snapshots, page %d of %d' % (pages, pages), '/api/v1/snapshots/?page_size=100&page=%d' % pages),
            ('snapshots of one server (?server_id=)', '/api/v1/snapshots/?server_id=%d' % (12345 + servers - 1)),
            ('servers, page 1 (page_size=100)', '/api/v1/servers/?page_size=100')]
    for label, path in gets:
        timings = []
        for _repeat in range(repeats):
            before = time.perf_counter()
            response = client.get(path, headers=headers)
            timings.append(time.perf_counter() - before)
            if response.status_code != 200:
                raise RuntimeError('%s answered %s' % (path, response.status_code))
        results['GET ' + label + ' (ms)'] = 1000 * statistics.median(timings)
    timings = []
    for index in range(repeats):
        before = time.perf_counter()
        client.post('/api/v1/snapshots/', json={'server_id': 12345 + index, 'name': 'new'}, headers=headers)
        timings.append(time.perf_counter() - before)
    results['POST a snapshot (ms)'] = 1000 * statistics.median(timings)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench.emulator_pages', description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--emulator', help='path of an emulator.py to measure instead of the staged one')
    parser.add_argument('--servers', type=int, default=2000)
    parser.add_argument('--per-server', type=int, default=3)
    args = parser.parse_args(argv)
    module = emulator_module
    if args.emulator:
        spec = importlib.util.spec_from_file_location('measured_emulator', args.emulator)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    for label, value in measure(module.Emulator, args.servers, args.per_server).items():
        print('%-50s %8.2f' % (label, value))


if __name__ == '__main__':
    main()
