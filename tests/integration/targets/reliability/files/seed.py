#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seed the emulator through its control endpoints in one process (one uri task per item is slow).

Usage: seed.py CONTROL_URL SPEC_JSON, where SPEC_JSON is
{"servers": [name, ...], "on_each_server": [snapshot name, ...], "snapshots": [snapshot, ...]}: servers to add,
snapshot names to put on each added server, and more snapshots, each a body for POST /_emulator/snapshots
("status" defaults to "completed"). Prints {"servers": [id, ...], "snapshots": [id, ...]}, snapshots in that order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys

from urllib.request import Request, urlopen


def post(control_url, path, body):
    request = Request(control_url + path, data=json.dumps(body).encode(), headers={'Content-Type': 'application/json'})
    return json.loads(urlopen(request, timeout=30).read().decode())


def main(control_url, spec):
    servers = [post(control_url, '/servers', {'name': name})['id'] for name in spec.get('servers', [])]
    wanted = [dict(server_id=server_id, name=name) for server_id in servers for name in spec.get('on_each_server', [])]
    snapshots = []
    for snapshot in wanted + spec.get('snapshots', []):
        body = dict(status='completed')
        body.update(snapshot)
        snapshots.append(post(control_url, '/snapshots', body)['id'])
    print(json.dumps(dict(servers=servers, snapshots=snapshots)))


if __name__ == '__main__':
    main(sys.argv[1], json.loads(sys.argv[2]))
