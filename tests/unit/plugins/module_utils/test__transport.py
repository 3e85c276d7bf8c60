# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client against the running emulator: retries, errors, timeouts, links, and the token kept secret."""

import json
import os
import re
import threading
import time

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._api import get_server, list_servers
from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import read_all
from ansible_collections.vpsorg.cloud.plugins.module_utils._transport import COLLECTION_VERSION
from ansible_collections.vpsorg.cloud.plugins.module_utils._writes import create_snapshot
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import (
    PYTHON_WORDS, assert_one_clean_line, hostile_client, json_answer, page, quick_client, snap, TinyServer)


try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # pragma: no cover
    pass


def client_for(emu, token=TOKEN, retries=3, timeout=5, url=None):
    return build_client(url or emu.base_url, token, True, timeout, retries)


def faults_cleared_after(emu, seconds):
    """Turn the emulator's faults off after a while, from another thread, so a retry finds a healthy API."""
    def heal():
        time.sleep(seconds)
        emu.call('DELETE', '/faults')

    healer = threading.Thread(target=heal)
    healer.start()
    return healer


def test_429_is_retried_after_retry_after(emu):
    emu.faults(rate=1.0, statuses=[429], retry_after=1, methods=['GET'])
    client = client_for(emu, retries=1)
    healer = faults_cleared_after(emu, 0.5)
    started = time.time()
    assert client.get('servers/')['count'] == 3
    elapsed = time.time() - started
    healer.join()
    log = emu.requests()
    assert [entry['status'] for entry in log] == [429, 200]
    # Retry-After: 1 was honoured: the retry came a second or more after the 429.
    assert log[1]['time'] - log[0]['time'] >= 1.0
    assert elapsed >= 1.0


def test_503_with_html_body_is_retried_then_reported(emu):
    emu.faults(rate=1.0, statuses=[503])
    client = client_for(emu, retries=2)
    with pytest.raises(VpsorgApiError) as failure:
        client.get('servers/')
    message = str(failure.value)
    assert message.startswith('GET /api/v1/servers/ failed: HTTP 503: non-JSON answer: ')
    assert '<html' not in message
    assert 'gave up after 3 attempts' in message
    assert failure.value.status == 503
    assert len(emu.requests()) == 3


def test_post_after_5xx_is_not_repeated_blindly(emu):
    emu.faults(rate=1.0, statuses=[502], when='after', methods=['POST'])
    client = client_for(emu)
    with pytest.raises(VpsorgApiError) as failure:
        client.post('snapshots/', {'server_id': 12345, 'name': 'once'})
    assert failure.value.maybe_applied
    assert 'may have been applied' in str(failure.value)
    posts = [entry for entry in emu.requests() if entry['method'] == 'POST']
    assert len(posts) == 1


def test_post_recheck_adopts_instead_of_posting_again(emu):
    emu.faults(rate=1.0, statuses=[500], when='after', methods=['POST'])
    client = client_for(emu)
    adopted = client.post('snapshots/', {'server_id': 12345, 'name': 'adopt-me'},
                          recheck=lambda: {'adopted': True})
    assert adopted == {'adopted': True}
    assert len([entry for entry in emu.requests() if entry['method'] == 'POST']) == 1


def test_client_errors_are_one_readable_line(emu):
    client = client_for(emu)
    with pytest.raises(VpsorgApiError) as not_found:
        client.get('servers/99999/')
    assert str(not_found.value) == 'GET /api/v1/servers/99999/ failed: HTTP 404: Not found.'
    with pytest.raises(VpsorgApiError) as bad_name:
        client.post('snapshots/', {'server_id': 12345, 'name': 'bad name'})
    assert str(bad_name.value).startswith('POST /api/v1/snapshots/ failed: HTTP 400: name: ')
    # 4xx other than 429 are final: one request each.
    assert len(emu.requests()) == 2


def test_bad_token_message_never_contains_the_token(emu):
    secret = 'vps_secret_that_must_not_leak_123'
    client = client_for(emu, token=secret)
    with pytest.raises(VpsorgApiError) as failure:
        read_all(client, 'snapshots/')
    assert str(failure.value) == 'GET /api/v1/snapshots/ failed: HTTP 401: Invalid token.'
    assert secret not in json.dumps(failure.value.as_dict()) + str(failure.value)


def test_connection_refused_gives_up_with_the_reason():
    client = build_client('http://127.0.0.1:9/api/v1', TOKEN, True, 2, 1)
    with pytest.raises(VpsorgApiError) as failure:
        client.get('snapshots/')
    message = str(failure.value)
    assert 'cannot reach the API at http://127.0.0.1:9/api/v1' in message
    assert 'Connection refused' in message
    assert 'gave up after 2 attempts' in message
    assert failure.value.code == 'connection_error'
    assert TOKEN not in message


def test_slow_api_times_out_clearly(emu):
    emu.faults(latency=2.0)
    client = client_for(emu, timeout=1, retries=0)
    with pytest.raises(VpsorgApiError) as failure:
        client.get('servers/')
    assert failure.value.code == 'timeout'
    assert 'no answer within 1 seconds (api_timeout)' in str(failure.value)
    # The emulator logs the request once its late answer is sent: wait for it, or it lands in the next test's log.
    deadline = time.time() + 5
    while not emu.requests() and time.time() < deadline:
        time.sleep(0.1)


def test_dropped_connection_on_get_is_retried(emu):
    emu.faults(drop_rate=1.0, methods=['GET'])
    client = client_for(emu, retries=1)
    healer = faults_cleared_after(emu, 0.2)
    assert client.get('servers/')['count'] == 3
    healer.join()


class _ForeignNextHandler(BaseHTTPRequestHandler):
    """An API whose answer points the next page at another origin."""

    seen_authorization = []

    def do_GET(self):  # pylint: disable=invalid-name
        self.seen_authorization.append(self.headers.get('Authorization'))
        body = json.dumps({'count': 2, 'next': 'http://127.0.0.1:1/api/v1/snapshots/?page=2', 'previous': None, 'results': [{'id': 1}]})
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def test_next_link_to_another_host_is_refused():
    server = HTTPServer(('127.0.0.1', 0), _ForeignNextHandler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        client = build_client('http://127.0.0.1:%d/api/v1' % server.server_port, TOKEN, True, 5, 0)
        with pytest.raises(VpsorgApiError) as failure:
            read_all(client, 'snapshots/')
    finally:
        server.shutdown()
        thread.join()
    assert failure.value.code == 'unsafe_link'
    assert 'refusing to send the API token there' in str(failure.value)
    assert len(_ForeignNextHandler.seen_authorization) == 1


def test_the_user_agent_version_is_the_collection_version():
    """Modules cannot read galaxy.yml at run time (AnsiballZ ships only module_utils): the constant must follow it."""
    galaxy = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'galaxy.yml')
    with open(galaxy) as handle:
        version = re.search(r'^version:\s*(\S+)\s*$', handle.read(), re.MULTILINE).group(1).strip('\'"')
    assert COLLECTION_VERSION == version


@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_a_redirected_create_is_an_error_and_is_not_followed(hostile, status):
    hostile.script([
        dict(method='POST', path='/api/v1/snapshots/', status=status, headers={'Location': '{api}/api/v1/snapshots/'}, body=''),
        dict(method='GET', path='/api/v1/snapshots/', json=page([snap(801), snap(802)])),
    ])
    with pytest.raises(VpsorgApiError) as failure:
        create_snapshot(hostile_client(hostile), 12345, 'new-one')
    assert failure.value.code == 'redirect'
    assert failure.value.status == status
    assert 'HTTP %d redirect to %s/api/v1/snapshots/' % (status, hostile.api_origin) in str(failure.value)
    assert_one_clean_line(str(failure.value))
    assert [(entry['method'], entry['path']) for entry in hostile.log()] == [('POST', '/api/v1/snapshots/')]


def test_a_redirect_elsewhere_is_not_followed_and_http_to_https_gets_a_hint(hostile):
    hostile.script([dict(method='GET', path='/api/v1/servers/', status=301,
                         headers={'Location': 'https://127.0.0.1:{elsewhere_port}/api/v1/servers/'}, body='moved')])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(hostile_client(hostile))
    assert failure.value.code == 'redirect'
    assert 'set api_url to https://' in str(failure.value)
    assert [entry['port'] for entry in hostile.log()] == ['api']


def test_an_oversized_answer_is_refused(hostile):
    hostile.script([dict(method='GET', path='/api/v1/servers/', body='[', repeat=11 * 1024 * 1024)])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(hostile_client(hostile))
    assert failure.value.code == 'bad_response'
    assert 'larger than 10 MB' in str(failure.value)


def test_a_huge_error_detail_is_cut_to_one_short_line(hostile):
    detail = 'no\n' + 'x' * (5 * 1024 * 1024)
    hostile.script([dict(method='GET', path='/api/v1/servers/12345/', status=400, json=dict(detail=detail))])
    with pytest.raises(VpsorgApiError) as failure:
        get_server(hostile_client(hostile), 12345)
    assert len(str(failure.value)) < 500
    assert_one_clean_line(str(failure.value))


@pytest.mark.parametrize('status', [200, 400])
def test_deeply_nested_json_is_one_line_not_a_traceback(hostile, status):
    hostile.script([dict(method='GET', path='/api/v1/servers/', status=status, body='[' * 200000)])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(hostile_client(hostile))
    assert_one_clean_line(str(failure.value))
    assert not any(word in str(failure.value) for word in PYTHON_WORDS + ('RecursionError', 'recursion'))


@pytest.mark.parametrize('body', [
    json.dumps(dict(detail='A' * 270 + TOKEN + 'B' * 40)),
    '<html><head><title>' + 'A' * 190 + TOKEN + '</title></head></html>',
], ids=['json-detail', 'html-title'])
def test_no_part_of_an_echoed_token_survives_the_cut_to_one_line(hostile, body):
    """The API echoes the token where the message is cut short: it is redacted first, so no prefix of it is left."""
    hostile.script([dict(method='GET', path='/api/v1/servers/', status=400, body=body)])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(hostile_client(hostile))
    assert TOKEN[:8] not in str(failure.value)


def test_a_netrc_entry_never_replaces_the_bearer_token(emu, tmp_path, monkeypatch):
    """requests reads ~/.netrc (or $NETRC) for a session without auth: its login went as Basic auth instead of the token."""
    netrc = tmp_path / 'netrc'
    netrc.write_text('machine 127.0.0.1 login intruder password hunter2\ndefault login intruder password hunter2\n')
    netrc.chmod(0o600)
    monkeypatch.setenv('NETRC', str(netrc))
    # The emulator answers 401 to anything but its Bearer token.
    assert [server['id'] for server in list_servers(build_client(emu.base_url, TOKEN, True, 5, 0))] == [12345, 12346, 12347]


def test_a_proxy_from_the_environment_is_still_used(hostile, monkeypatch):
    for name in ('HTTP_PROXY', 'http_proxy'):
        monkeypatch.setenv(name, hostile.elsewhere_origin)
    for name in ('NO_PROXY', 'no_proxy'):
        monkeypatch.delenv(name, raising=False)
    assert list_servers(hostile_client(hostile)) == []  # the "elsewhere" port, as the proxy, answers an empty list
    [entry] = hostile.log()
    # A proxy is sent the whole URL, and (over http) the token: docs/reliability.md says so.
    assert entry['port'] == 'elsewhere' and entry['path'].startswith(hostile.base_url + '/servers/') and entry['authorization']


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


@pytest.mark.parametrize('status', [301, 302, 307, 308])
def test_redirect_to_another_origin_never_carries_the_token(status):
    with TinyServer(json_answer({'count': 0, 'next': None, 'results': []})) as elsewhere:
        redirect = {'Location': elsewhere.url + '/snapshots/'}
        with TinyServer(lambda path, port: (status, redirect, b'')) as api:
            try:
                quick_client(api.url, retries=0).get('snapshots/')
            except VpsorgApiError:
                pass  # refusing the redirect altogether would be fine too; what matters is below
    assert api.seen[0][2] == 'Bearer %s' % TOKEN
    assert [authorization for dummy, dummy, authorization in elsewhere.seen if authorization] == []


@pytest.mark.parametrize('status, content_type, body', [
    (401, 'application/json', '{"detail": "Invalid token %s."}'),
    (400, 'application/json', '{"api_token": ["%s is not allowed here"]}'),
    (502, 'text/html', '<html><head><title>Bad gateway for %s</title></head><body></body></html>'),
    (500, 'text/plain', 'upstream said: Authorization: Bearer %s'),
])
def test_a_token_the_api_echoes_back_is_redacted(status, content_type, body):
    answer = (status, {'Content-Type': content_type}, (body % TOKEN).encode())
    with TinyServer(lambda path, port: answer) as api:
        with pytest.raises(VpsorgApiError) as failure:
            quick_client(api.url, retries=1).post('snapshots/', {'server_id': 1, 'name': 'x'}, recheck=lambda: None)
    assert TOKEN not in str(failure.value) + json.dumps(failure.value.as_dict())
    assert '********' in str(failure.value)
