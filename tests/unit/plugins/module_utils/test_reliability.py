# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reliability and secrecy of the client beyond test_api.py: TLS settings the environment must not override,
redirects and next links that must not carry the token elsewhere, an API that echoes the token back, and a
fleet under many seeds of injected faults. The end-to-end proofs are in tests/integration/targets/reliability.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import tempfile
import threading

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import read_all
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots
from ansible_collections.vpsorg.cloud.plugins.module_utils._writes import create_snapshot, settle_concurrent_duplicates
from ansible_collections.vpsorg.cloud.tests.emulator.emulator import Emulator
from ansible_collections.vpsorg.cloud.tests.emulator.harness import HarnessError, write_self_signed_certificate
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # pragma: no cover
    pass


def quick_client(url, retries=3, validate_certs=True, token=TOKEN):
    """A client that does not sleep between retries, so fault runs take milliseconds."""
    client = build_client(url, token, validate_certs, 5, retries)
    client._sleep = lambda seconds: None  # pylint: disable=protected-access
    return client


# TLS -------------------------------------------------------------------------------------------------


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


def test_self_signed_certificate_is_refused_by_default(https_emulator, monkeypatch):
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    with pytest.raises(VpsorgApiError) as failure:
        quick_client(https_emulator.base_url).get('servers/')
    assert failure.value.code == 'tls_error'
    assert 'TLS certificate verification failed for %s' % https_emulator.base_url in str(failure.value)
    assert 'validate_certs: false' in str(failure.value)


@pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')
@pytest.mark.parametrize('variable', [None, 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'])
def test_validate_certs_false_is_honoured_whatever_the_environment_names(https_emulator, unrelated_ca_bundle, monkeypatch, variable):
    # requests lets these variables override Session.verify unless verify is given with each request.
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    if variable:
        monkeypatch.setenv(variable, unrelated_ca_bundle)
    assert quick_client(https_emulator.base_url, validate_certs=False).get('servers/')['count'] == 1


# The token stays with the API ----------------------------------------------------------------------


class _Server(object):
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


def page(next_link, item_id):
    return {'count': 2, 'next': next_link, 'previous': None, 'results': [{'id': item_id}]}


@pytest.mark.parametrize('status', [301, 302, 307, 308])
def test_redirect_to_another_origin_never_carries_the_token(status):
    with _Server(json_answer({'count': 0, 'next': None, 'results': []})) as elsewhere:
        redirect = {'Location': elsewhere.url + '/snapshots/'}
        with _Server(lambda path, port: (status, redirect, b'')) as api:
            try:
                quick_client(api.url, retries=0).get('snapshots/')
            except VpsorgApiError:
                pass  # refusing the redirect altogether would be fine too; what matters is below
    assert api.seen[0][2] == 'Bearer %s' % TOKEN
    assert [authorization for dummy, dummy, authorization in elsewhere.seen if authorization] == []


@pytest.mark.parametrize('next_link', [
    'https://127.0.0.1:{port}/api/v1/snapshots/?page=2',      # same host and port, another scheme
    'http://127.0.0.1:1/api/v1/snapshots/?page=2',            # same host, another port
    'http://localhost:{port}/api/v1/snapshots/?page=2',       # another name for the machine is another origin
    'http://127.0.0.1:{port}@127.0.0.2:{port}/api/v1/snapshots/?page=2',  # userinfo dressed up as the API's origin
    '//127.0.0.2:{port}/api/v1/snapshots/?page=2',            # scheme-relative, to another host
])
def test_next_link_to_any_other_origin_is_refused(next_link):
    def respond(path, port):
        return json_answer(page(next_link.replace('{port}', str(port)), 1))(path, port)

    with _Server(respond) as api:
        with pytest.raises(VpsorgApiError) as failure:
            read_all(quick_client(api.url, retries=0), 'snapshots/')
    assert failure.value.code == 'unsafe_link'
    assert len(api.seen) == 1
    assert TOKEN not in str(failure.value)


def test_next_link_to_the_same_origin_spelled_differently_is_followed():
    def respond(path, port):
        if 'page=2' in path:
            return json_answer(page(None, 2))(path, port)
        return json_answer(page('HTTP://127.0.0.1:%d/api/v1/snapshots/?page=2' % port, 1))(path, port)

    with _Server(respond) as api:
        assert [item['id'] for item in read_all(quick_client(api.url, retries=0), 'snapshots/')] == [1, 2]
    assert [authorization for dummy, dummy, authorization in api.seen] == ['Bearer %s' % TOKEN] * 2


@pytest.mark.parametrize('status, content_type, body', [
    (401, 'application/json', '{"detail": "Invalid token %s."}'),
    (400, 'application/json', '{"api_token": ["%s is not allowed here"]}'),
    (502, 'text/html', '<html><head><title>Bad gateway for %s</title></head><body></body></html>'),
    (500, 'text/plain', 'upstream said: Authorization: Bearer %s'),
])
def test_a_token_the_api_echoes_back_is_redacted(status, content_type, body):
    answer = (status, {'Content-Type': content_type}, (body % TOKEN).encode())
    with _Server(lambda path, port: answer) as api:
        with pytest.raises(VpsorgApiError) as failure:
            quick_client(api.url, retries=1).post('snapshots/', {'server_id': 1, 'name': 'x'}, recheck=lambda: None)
    assert TOKEN not in str(failure.value) + json.dumps(failure.value.as_dict())
    assert '********' in str(failure.value)


# A fleet under faults, many times ----------------------------------------------------------------


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_fleet_under_faults_keeps_exactly_one_snapshot_per_server_and_deletes_only_what_it_made(emu, seed):
    servers = [12345, 12346, 12347] + [emu.call('POST', '/servers', {'name': 'soak-%d' % index})['id'] for index in range(7)]
    bystanders = [emu.add_snapshot(server_id=server_id, name='keep-me')['id'] for server_id in servers]
    emu.faults(rate=0.3, drop_rate=0.05, retry_after=0, when='random', seed=seed)
    client = quick_client(emu.base_url, retries=10)
    kept = Fleet(client, servers, 'soak')
    kept.ensure_present(timeout=60)
    temporary = Fleet(client, servers, 'soak-tmp')
    temporary.ensure_present(timeout=60)
    gone = Fleet(client, servers, 'soak-tmp')
    gone.ensure_absent(timeout=60)
    emu.call('DELETE', '/faults')
    assert kept.failures() == temporary.failures() == gone.failures() == []
    snapshots = list_snapshots(quick_client(emu.base_url))
    assert sorted(snap['server']['id'] for snap in snapshots if snap['name'] == 'soak') == sorted(servers)
    assert [snap for snap in snapshots if snap['name'] == 'soak-tmp'] == []
    assert set(bystanders) <= set(snap['id'] for snap in snapshots)
    log = emu.requests()
    assert sum(1 for entry in log if entry['fault']) >= 5
    deleted = set(int(entry['path'].split('/')[-2]) for entry in log if entry['method'] == 'DELETE')
    assert not deleted & set(snap['id'] for snap in snapshots)


def test_two_runs_racing_for_the_last_free_slot_both_end_with_the_one_snapshot(emu):
    """Four snapshots on the server, two runs ensure the same name at once: both pass the quota check, one create
    takes the fifth slot and the other is refused at the quota. The refused run must adopt the winner, not fail."""
    for index in range(4):
        emu.add_snapshot(server_id=12345, name='old-%d' % index)
    both_listed = threading.Barrier(2)
    outcomes = [None, None]

    def run(index):
        client = quick_client(emu.base_url)
        known_ids = [snap['id'] for snap in list_snapshots(client, 12345)]
        both_listed.wait(timeout=10)
        try:
            created = create_snapshot(client, 12345, 'last-slot', known_ids=known_ids)
            outcomes[index] = settle_concurrent_duplicates(client, created, known_ids)['id']
        except VpsorgApiError as exc:
            outcomes[index] = str(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    survivors = [snap['id'] for snap in list_snapshots(quick_client(emu.base_url), 12345) if snap['name'] == 'last-slot']
    assert len(survivors) == 1
    assert outcomes == survivors * 2
