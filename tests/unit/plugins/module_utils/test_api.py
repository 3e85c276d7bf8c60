# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API client against the running emulator: pagination, retries, errors, and the token kept secret."""

import json
import os
import re
import threading
import time

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._client import COLLECTION_VERSION, build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._snapshots import wait_for
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN

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


def test_list_all_follows_every_page(emu):
    for index in range(7):
        emu.add_snapshot(server_id=12345, name='snap-%d' % index, force=True)
    client = client_for(emu)
    snapshots = client.list_all('snapshots/')
    client_pages = [entry for entry in emu.requests() if entry['path'] == '/api/v1/snapshots/']
    assert sorted(snap['name'] for snap in snapshots) == sorted('snap-%d' % index for index in range(7))
    # The client asks for large pages; the emulator caps them, so this is what the server allowed.
    assert client_pages[0]['query'].get('page_size') == '100'


def test_list_all_with_small_pages_follows_next(emu):
    emu.config(max_page_size=2)
    for index in range(5):
        emu.add_snapshot(server_id=12346, name='paged-%d' % index)
    snapshots = client_for(emu).list_all('snapshots/', {'server_id': 12346})
    pages = [entry for entry in emu.requests() if entry['path'] == '/api/v1/snapshots/']
    assert len(snapshots) == 5
    assert len(pages) == 3
    assert all(entry['query'].get('server_id') == '12346' for entry in pages)


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
        client.list_all('snapshots/')
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
            client.list_all('snapshots/')
    finally:
        server.shutdown()
        thread.join()
    assert failure.value.code == 'unsafe_link'
    assert 'refusing to send the API token there' in str(failure.value)
    assert len(_ForeignNextHandler.seen_authorization) == 1


@pytest.mark.parametrize('url, token, timeout, retries, says', [
    ('https://admin.vps.org/api/v1', '', 30, 5, 'no API token'),
    ('https://admin.vps.org/api/v1', None, 30, 5, 'no API token'),
    ('https://admin.vps.org/api/v1', 'two words', 30, 5, 'one word of printable ASCII'),
    ('admin.vps.org/api/v1', 'vps_x', 30, 5, 'must be an http:// or https:// URL'),
    ('ftp://admin.vps.org/api/v1', 'vps_x', 30, 5, 'must be an http:// or https:// URL'),
    ('https://admin.vps.org:99999/api/v1', 'vps_x', 30, 5, 'invalid port'),
    ('https://admin.vps.org/api/v1', 'vps_x', 0, 5, 'api_timeout must be a positive'),
    ('https://admin.vps.org/api/v1', 'vps_x', 30, -1, 'api_retries must be zero or more'),
])
def test_settings_are_checked_before_any_request(url, token, timeout, retries, says):
    with pytest.raises(VpsorgApiError) as failure:
        build_client(url, token, True, timeout, retries)
    assert says in str(failure.value)
    assert failure.value.code == 'config_error'


def test_url_with_the_token_in_it_is_redacted():
    with pytest.raises(VpsorgApiError) as failure:
        build_client('vps_leaky/api', 'vps_leaky', True, 30, 5)
    assert 'vps_leaky' not in str(failure.value)


class _Target:
    """A wait target that is reached after a given number of polls."""

    def __init__(self, polls_needed):
        self.polls = 0
        self.polls_needed = polls_needed

    def poll(self):
        self.polls += 1
        return self.polls >= self.polls_needed


def test_the_waiter_gives_up_at_the_deadline_with_a_backing_off_schedule():
    clock = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    target = _Target(polls_needed=1000)
    assert wait_for(target, 30, sleep=sleep, clock=lambda: clock[0]) is False
    # Polls back off: two seconds at first, a fifth of the time waited later, never past the deadline.
    assert sleeps[0] == 2.0
    assert max(sleeps) <= 15.0
    assert abs(sum(sleeps) - 30.0) < 1e-9
    assert len(sleeps) < 20
    assert target.polls == len(sleeps) + 1


def test_the_waiter_returns_as_soon_as_the_target_is_reached():
    target = _Target(polls_needed=2)
    assert wait_for(target, 10, sleep=lambda seconds: None) is True
    assert target.polls == 2


def test_the_user_agent_version_is_the_collection_version():
    """Modules cannot read galaxy.yml at run time (AnsiballZ ships only module_utils): the constant must follow it."""
    galaxy = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'galaxy.yml')
    with open(galaxy) as handle:
        version = re.search(r'^version:\s*(\S+)\s*$', handle.read(), re.MULTILINE).group(1).strip('\'"')
    assert COLLECTION_VERSION == version
