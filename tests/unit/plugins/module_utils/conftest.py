# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the module_utils tests share: a deliberately hostile API (tests/hostile/hostile.py) and a throwaway HTTP
server, over real HTTP on 127.0.0.1, an HTTPS emulator, and clients that do not sleep between retries.

docs/reliability.md lists the attacks and their results; each test sits in the test file of the module_utils file
it proves (test__urls.py, test__transport.py, test__answers.py, test__pages.py, ...).
"""

import json
import os
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._api import get_server
from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._writes import restore_snapshot
from ansible_collections.vpsorg.cloud.tests.emulator.emulator import Emulator
from ansible_collections.vpsorg.cloud.tests.emulator.harness import HarnessError, write_self_signed_certificate
from ansible_collections.vpsorg.cloud.tests.hostile.hostile import HostileServer
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN

# What a Python exception says when an answer of the wrong shape reaches code that trusted it.
# What a Python exception says when an answer of the wrong shape reaches code that trusted it.
PYTHON_WORDS = ('object has no attribute', 'not supported between', 'not iterable', 'KeyError', 'Traceback',
                'unhashable', 'not subscriptable', 'NoneType', 'must be real number')


def snap(snap_id=801, server_id=12345, name='pre-patch', **fields):
    base = dict(id=snap_id, server=dict(id=server_id, name='web-01'), name=name, status='completed', size_mb=5120,
                created_at='2025-01-15T18:30:00Z', description='')
    base.update(fields)
    return base


def page(results, **fields):
    answer = dict(count=len(results) if isinstance(results, list) else 1, next=None, previous=None, results=results)
    answer.update(fields)
    return answer


@pytest.fixture(scope='module')
def hostile_instance():
    with HostileServer() as server:
        yield server


@pytest.fixture
def hostile(hostile_instance):
    hostile_instance.script([])
    return hostile_instance


def hostile_client(hostile, retries=0, timeout=5):
    client = build_client(hostile.base_url, TOKEN, True, timeout, retries)
    client._sleep = lambda seconds: None  # pylint: disable=protected-access
    return client


def assert_one_clean_line(message):
    assert '\n' not in message
    assert TOKEN not in message
    assert not [word for word in PYTHON_WORDS if word in message]


def restore_read_first(client, snapshot):
    """The restore as restore() sends it: the server read just before, then the POST."""
    return restore_snapshot(client, snapshot, get_server(client, 12345))


def quick_client(url, retries=3, validate_certs=True, token=TOKEN):
    """A client that does not sleep between retries, so fault runs take milliseconds."""
    client = build_client(url, token, validate_certs, 5, retries)
    client._sleep = lambda seconds: None  # pylint: disable=protected-access
    return client


def certificate_in(directory):
    """cert.pem and key.pem for 127.0.0.1 in directory; skips the test when no tool can make them."""
    cert, key = os.path.join(directory, 'cert.pem'), os.path.join(directory, 'key.pem')
    try:
        write_self_signed_certificate(cert, key)
    except HarnessError as error:
        pytest.skip(str(error))
    return cert, key


@pytest.fixture(scope='module')
def https_emulator():
    directory = tempfile.mkdtemp()
    cert, key = certificate_in(directory)
    emulator = Emulator(tokens=[TOKEN], servers=1, certfile=cert, keyfile=key)
    emulator.start_in_thread()
    yield emulator
    emulator.stop()
    shutil.rmtree(directory)


@pytest.fixture
def unrelated_ca_bundle():
    """A CA file that did not sign the emulator's certificate, as REQUESTS_CA_BUNDLE often names on real machines."""
    directory = tempfile.mkdtemp()
    yield certificate_in(directory)[0]
    shutil.rmtree(directory)


class TinyServer(object):
    """A throwaway HTTP server: respond(path, port) gives (status, headers, body); it records what it was sent."""

    def __init__(self, respond):
        self.seen = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def _reply(self):
                seen.append((self.command, self.path, self.headers.get('Authorization')))
                status, headers, body = respond(self.path, self.server.server_port)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _reply  # noqa: N815 pylint: disable=invalid-name

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.httpd = HTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.httpd.server_port
        self.url = 'http://127.0.0.1:%d/api/v1' % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.thread.join()
        self.httpd.server_close()


def json_answer(data, status=200):
    return lambda path, port: (status, {'Content-Type': 'application/json'}, json.dumps(data).encode())


def link_page(next_link, item_id):
    return {'count': 2, 'next': next_link, 'previous': None, 'results': [{'id': item_id}]}
