# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client against a deliberately hostile API (tests/hostile/hostile.py), over real HTTP on 127.0.0.1.

Issue 13: the token goes only to the configured API, no redirect is followed, every answer is checked,
api_timeout is a real deadline, the settings are checked before any request, a restore is never sent to a
busy server; and (issue 14) a list that other runs change while it is read is still read completely.
docs/reliability.md lists these attacks and their results.
"""

import json
from urllib.parse import urlsplit

import pytest
from requests.models import PreparedRequest
from urllib3.util import parse_url

from ansible_collections.vpsorg.cloud.plugins.module_utils import _client
from ansible_collections.vpsorg.cloud.plugins.module_utils._client import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._snapshots import (
    check_options, create_snapshot, get_server, list_servers, list_snapshots, restore_snapshot)
from ansible_collections.vpsorg.cloud.tests.hostile.hostile import HostileServer
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN

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


def client_for(hostile, retries=0, timeout=5):
    client = build_client(hostile.base_url, TOKEN, True, timeout, retries)
    client._sleep = lambda seconds: None  # pylint: disable=protected-access
    return client


def assert_one_clean_line(message):
    assert '\n' not in message
    assert TOKEN not in message
    assert not [word for word in PYTHON_WORDS if word in message]


# 1. The token goes only to the configured API origin -------------------------------------------------

LEAK = 'http://127.0.0.1:{elsewhere_port}\\@127.0.0.1:{api_port}/api/v1/snapshots/?page=2'

CRAFTED_LINKS = [
    # (next link, followed?) -- {api}/{elsewhere} are the two ports of the hostile server.
    (LEAK, False),                                                                       # urlsplit: the API; urllib3: elsewhere
    ('http://127.0.0.1:{api_port}\\@127.0.0.1:{elsewhere_port}/api/v1/snapshots/?page=2', False),
    ('http://x\\@127.0.0.1:{api_port}/api/v1/snapshots/?page=2', False),
    ('http://127.0.0.1:{elsewhere_port}@127.0.0.1:{api_port}/api/v1/snapshots/?page=2', False),  # userinfo
    ('http://127.0.0.1:{api_port}\t@127.0.0.1:{elsewhere_port}/api/v1/snapshots/?page=2', False),  # a tab before @
    ('http://127.0.0.1:{api_port}%09@127.0.0.1:{elsewhere_port}/api/v1/snapshots/?page=2', False),
    ('http://127.0.0.1:{api_port}#@127.0.0.1:{elsewhere_port}/api/v1/snapshots/?page=2', False),
    ('http:\\\\127.0.0.1:{elsewhere_port}/api/v1/snapshots/?page=2', False),
    ('{elsewhere}/api/v1/snapshots/?page=2', False),
    ('//127.0.0.1:{elsewhere_port}/api/v1/snapshots/?page=2', False),
    ('http://[::ffff:127.0.0.1]:{elsewhere_port}/api/v1/snapshots/?page=2', False),
    ('http://127.0.0.1:{api_port}:{elsewhere_port}/api/v1/snapshots/?page=2', False),  # an odd second port
    ('{api}/elsewhere/snapshots/?page=2', False),                                         # outside the base path
    ('{api}/api/v1/../../elsewhere/?page=2', False),
    ('/api/v1/%2e%2e/%2E%2E/elsewhere/?page=2', False),
    ('{api}/api/v1/snapshots/?page=2\r\nX-Injected: 1', False),
    ('{api}/api/v1/snapshots/?page=2', True),
    ('HTTP://127.0.0.1:{api_port}/api/v1/snapshots/?page=2', True),
    ('/api/v1/snapshots/?page=2', True),
]


def test_the_parsers_really_disagree_on_the_leaking_link():
    """The premise of the attack: urlsplit reads the API's port, requests and urllib3 read the other one."""
    link = LEAK.replace('{elsewhere_port}', '2').replace('{api_port}', '1')
    prepared = PreparedRequest()
    prepared.prepare_url(link, None)
    assert urlsplit(link).port == 1
    assert parse_url(link).port == 2
    assert parse_url(prepared.url).port == 2


@pytest.mark.parametrize('link, followed', CRAFTED_LINKS)
def test_next_links_never_take_the_token_elsewhere(hostile, link, followed):
    hostile.script([
        dict(method='GET', path='/api/v1/snapshots/', query='page=2', json=page([snap(802)], count=2)),
        dict(method='GET', path='/api/v1/snapshots/', json=page([snap(801)], count=2, next=link)),
    ])
    client = client_for(hostile)
    if followed:
        assert [item['id'] for item in client.list_all('snapshots/')] == [801, 802]
    else:
        with pytest.raises(VpsorgApiError) as failure:
            client.list_all('snapshots/')
        assert failure.value.code == 'unsafe_link'
        assert_one_clean_line(str(failure.value))
    log = hostile.log()
    assert [entry for entry in log if entry['port'] == 'elsewhere'] == []
    assert len(log) == (2 if followed else 1)


@pytest.mark.parametrize('path', ['snapshots/', 'servers/'])
def test_fleet_and_inventory_lists_refuse_the_leaking_link(hostile, path):
    """server_ids runs (Fleet) list snapshots and servers, the inventory lists servers: the same list_all."""
    hostile.script([
        dict(method='GET', path='/api/v1/' + path, json=page([snap(801) if path == 'snapshots/' else dict(id=12345)], count=2, next=LEAK)),
    ])
    with pytest.raises(VpsorgApiError) as failure:
        if path == 'snapshots/':
            Fleet(client_for(hostile), [12345], 'x')
        else:
            list_servers(client_for(hostile))
    assert failure.value.code == 'unsafe_link'
    assert [entry for entry in hostile.log() if entry['port'] == 'elsewhere'] == []


# 2. No redirect is followed -------------------------------------------------------------------------

@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_a_redirected_create_is_an_error_and_is_not_followed(hostile, status):
    hostile.script([
        dict(method='POST', path='/api/v1/snapshots/', status=status, headers={'Location': '{api}/api/v1/snapshots/'}, body=''),
        dict(method='GET', path='/api/v1/snapshots/', json=page([snap(801), snap(802)])),
    ])
    with pytest.raises(VpsorgApiError) as failure:
        create_snapshot(client_for(hostile), 12345, 'new-one')
    assert failure.value.code == 'redirect'
    assert failure.value.status == status
    assert 'HTTP %d redirect to %s/api/v1/snapshots/' % (status, hostile.api_origin) in str(failure.value)
    assert_one_clean_line(str(failure.value))
    assert [(entry['method'], entry['path']) for entry in hostile.log()] == [('POST', '/api/v1/snapshots/')]


def test_a_redirect_elsewhere_is_not_followed_and_http_to_https_gets_a_hint(hostile):
    hostile.script([dict(method='GET', path='/api/v1/servers/', status=301,
                         headers={'Location': 'https://127.0.0.1:{elsewhere_port}/api/v1/servers/'}, body='moved')])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(client_for(hostile))
    assert failure.value.code == 'redirect'
    assert 'set api_url to https://' in str(failure.value)
    assert [entry['port'] for entry in hostile.log()] == ['api']


# 3. Every answer is checked -------------------------------------------------------------------------

def listing(answer):
    return [dict(method='GET', path='/api/v1/snapshots/', json=answer)]


MALFORMED = [
    # (id, routes, call) -- every call must fail with bad_response (or unsafe_link for links), in one line.
    ('list is a string', listing('hello'), 'list'),
    ('list is a number', listing(42), 'list'),
    ('list is null', listing(None), 'list'),
    ('results is a string', listing(page('abc')), 'list'),
    ('results are numbers', listing(page([1, 2])), 'list'),
    ('result without id', listing(page([dict(name='x', server=dict(id=12345))])), 'list'),
    ('id is a string', listing(page([snap('801')])), 'list'),
    ('id is a boolean', listing(page([snap(True)])), 'list'),
    ('created_at is a number', listing(page([snap(801, created_at=5), snap(802)])), 'list'),
    ('server is a string', listing(page([snap(801, server='web-01')])), 'list'),
    ('name is a list', listing(page([snap(801, name=['a'])])), 'list'),
    ('size_mb is a string', listing(page([snap(801, size_mb='big')])), 'list'),
    ('count is a string', listing(page([snap(801)], count='many')), 'list'),
    ('next is a number', listing(page([snap(801)], next=5)), 'list'),
    ('bare list of strings', listing(['801', '802']), 'list'),
    ('empty 201', [dict(method='POST', path='/api/v1/snapshots/', status=201, body='')], 'create'),
    ('201 with a list', [dict(method='POST', path='/api/v1/snapshots/', status=201, json=[])], 'create'),
    ('201 with a string', [dict(method='POST', path='/api/v1/snapshots/', status=201, json='created')], 'create'),
    ('201 without id', [dict(method='POST', path='/api/v1/snapshots/', status=201, json=dict(name='new-one'))], 'create'),
    ('201 with a string id', [dict(method='POST', path='/api/v1/snapshots/', status=201, json=snap('9', name='new-one'))], 'create'),
    ('201 of another name', [dict(method='POST', path='/api/v1/snapshots/', status=201, json=snap(9, name='other'))], 'create'),
    ('201 of another server', [dict(method='POST', path='/api/v1/snapshots/', status=201, json=snap(9, server_id=999, name='new-one'))], 'create'),
    ('201 with a non-JSON page', [dict(method='POST', path='/api/v1/snapshots/', status=201, body='<html>ok</html>')], 'create'),
    ('server is a list', [dict(method='GET', path='/api/v1/servers/12345/', json=[12345])], 'server'),
    ('server of another id', [dict(method='GET', path='/api/v1/servers/12345/', json=dict(id=1, status='active'))], 'server'),
    ('servers list without ids', [dict(method='GET', path='/api/v1/servers/', json=page([dict(name='web-01')]))], 'servers'),
    ('restore answers a string', [dict(method='GET', path='/api/v1/servers/12345/', json=dict(id=12345, status='active')),
                                  dict(method='POST', path='/api/v1/snapshots/801/restore/', json='ok')], 'restore'),
    ('restore names a string server', [dict(method='GET', path='/api/v1/servers/12345/', json=dict(id=12345, status='active')),
                                       dict(method='POST', path='/api/v1/snapshots/801/restore/', json=dict(server='web-01'))], 'restore'),
]


@pytest.mark.parametrize('routes, call', [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_answers_fail_with_one_line(hostile, routes, call):
    hostile.script(routes)
    client = client_for(hostile)
    with pytest.raises(VpsorgApiError) as failure:
        if call == 'list':
            list_snapshots(client)
        elif call == 'create':
            create_snapshot(client, 12345, 'new-one')
        elif call == 'server':
            get_server(client, 12345)
        elif call == 'servers':
            list_servers(client)
        else:
            restore_read_first(client, snap(801))
    assert failure.value.code == 'bad_response'
    assert_one_clean_line(str(failure.value))


# 4. api_timeout is a real deadline; answers and error details are bounded -----------------------------

@pytest.mark.parametrize('trickle_headers, close_delimited', [(False, False), (True, False), (False, True)])
def test_a_trickling_answer_times_out_within_api_timeout(hostile, trickle_headers, close_delimited):
    # 0.4 s per byte: every socket read gets data long before api_timeout, but the whole answer takes minutes.
    # A close-delimited answer (no Content-Length) is the case where http.client lets go of the socket early.
    hostile.script([dict(method='GET', path='/api/v1/servers/', json=page([dict(id=12345, name='x' * 200)]),
                         trickle=0.4, trickle_headers=trickle_headers, close_delimited=close_delimited)])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(client_for(hostile, timeout=2))
    assert failure.value.code == 'timeout'
    assert 'no answer within 2 seconds (api_timeout)' in str(failure.value)


def test_an_oversized_answer_is_refused(hostile):
    hostile.script([dict(method='GET', path='/api/v1/servers/', body='[', repeat=11 * 1024 * 1024)])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(client_for(hostile))
    assert failure.value.code == 'bad_response'
    assert 'larger than 10 MB' in str(failure.value)


def test_a_huge_error_detail_is_cut_to_one_short_line(hostile):
    detail = 'no\n' + 'x' * (5 * 1024 * 1024)
    hostile.script([dict(method='GET', path='/api/v1/servers/12345/', status=400, json=dict(detail=detail))])
    with pytest.raises(VpsorgApiError) as failure:
        get_server(client_for(hostile), 12345)
    assert len(str(failure.value)) < 500
    assert_one_clean_line(str(failure.value))


# 5. Settings and ids are checked completely before any request -----------------------------------------

@pytest.mark.parametrize('url, timeout, retries, says', [
    ('http://user:hunter2@{host}/api/v1', 30, 5, 'must not contain a user name or password'),
    ('http://{host}/api/v1?page=2', 30, 5, 'must not contain a query string'),
    ('http://{host}/api/v1?', 30, 5, 'must not contain a query string'),
    ('http://{host}/api/v1#top', 30, 5, 'must not contain a query string or a fragment'),
    ('http://{host}/api/v1/../v2', 30, 5, "must not contain '.', '..'"),
    ('http://{host}/api/./v1', 30, 5, "must not contain '.', '..'"),
    ('http://{host}\\@evil/api/v1', 30, 5, 'without spaces or backslashes'),
    ('http://{host}/api v1', 30, 5, 'without spaces or backslashes'),
    ('http://{host}/api/v1', 100000000000, 5, 'api_timeout must be at most 3600'),
    ('http://{host}/api/v1', True, 5, 'api_timeout must be a whole number'),
    ('http://{host}/api/v1', 30, True, 'api_retries must be a whole number'),
    ('http://{host}/api/v1', 30, 10 ** 9, 'api_retries must be at most 100'),
])
def test_bad_settings_are_refused_before_any_request(hostile, url, timeout, retries, says):
    url = url.replace('{host}', '127.0.0.1:%d' % hostile.api.server_port)
    with pytest.raises(VpsorgApiError) as failure:
        build_client(url, TOKEN, True, timeout, retries).list_all('snapshots/')
    assert failure.value.code == 'config_error'
    assert says in str(failure.value)
    assert 'hunter2' not in str(failure.value)
    assert hostile.log() == []


@pytest.mark.parametrize('params, says', [
    (dict(server_id=True), 'server_id must be a positive integer, got true (a boolean)'),
    (dict(snapshot_id=2 ** 63), 'snapshot_id must be a positive integer, got 9223372036854775808 (more than 2^63 - 1)'),
    (dict(server_ids=[12345, False]), 'server_ids must be positive integers, got false (a boolean)'),
])
def test_absurd_ids_are_refused(params, says):
    with pytest.raises(VpsorgApiError) as failure:
        check_options(params)
    assert failure.value.code == 'invalid_input'
    assert str(failure.value) == says


def test_an_empty_fleet_sends_no_request(hostile):
    fleet = Fleet(client_for(hostile), [], 'x')
    assert fleet.ensure_present() == []
    assert not fleet.changed
    assert hostile.log() == []


def restore_read_first(client, snapshot):
    """The restore as restore() sends it: the server read just before, then the POST."""
    return restore_snapshot(client, snapshot, get_server(client, 12345))


# 7. A restore is never sent to a server that is restoring already ----------------------------------------

def test_a_restore_of_a_restoring_server_is_refused_without_a_post(hostile):
    hostile.script([dict(method='GET', path='/api/v1/servers/12345/', json=dict(id=12345, name='web-01', status='restoring'))])
    with pytest.raises(VpsorgApiError) as failure:
        restore_read_first(client_for(hostile), snap(801))
    assert failure.value.code == 'server_busy'
    assert 'its status is restoring' in str(failure.value)
    assert [entry['method'] for entry in hostile.log()] == ['GET']


def test_a_restore_the_api_refuses_is_reported_as_busy_with_the_state(hostile):
    hostile.script([
        dict(method='GET', path='/api/v1/servers/12345/', json=dict(id=12345, name='web-01', status='stopping')),
        dict(method='POST', path='/api/v1/snapshots/801/restore/', status=400,
             json=dict(detail='Server is not in a valid state for restoration.')),
    ])
    with pytest.raises(VpsorgApiError) as failure:
        restore_read_first(client_for(hostile), snap(801))
    assert failure.value.code == 'server_busy'
    assert 'its status is stopping' in str(failure.value)
    assert 'not in a valid state' in str(failure.value)
    assert [entry['method'] for entry in hostile.log()].count('POST') == 1


# Issue 14: a list that changes while it is read ------------------------------------------------------------

@pytest.mark.parametrize('shrink_on_page', [2, 3])
def test_a_list_that_shrinks_while_it_is_read_is_read_again(hostile, shrink_on_page):
    """Another run deletes the first snapshot while page 2 or 3 is asked for: items shift to earlier pages
    (one of them would be missed) or the last page vanishes (404 Invalid page)."""
    items = [snap(800 + index, name='s%d' % index) for index in range(5)]
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', pages=items, page_size=2, shrink_on_page=shrink_on_page)])
    found = [item['id'] for item in client_for(hostile).list_all('snapshots/')]
    # Every snapshot that existed during the whole read is there, each once; 800, deleted meanwhile, is not.
    assert sorted(found) == list(range(801, 805))
    assert len(found) == len(set(found))
    assert json.dumps(hostile.log()).count('"port": "elsewhere"') == 0


def test_a_restore_whose_answer_was_lost_is_not_sent_again_once_the_server_stopped(hostile):
    """The API stops a server before restoring it: after a 502 that had applied the restore, the server reads
    stopped (it was active), which proves the restore was taken. A second POST would be refused, or worse."""
    hostile.script([
        dict(method='GET', path='/api/v1/servers/12345/',
             sequence=[dict(id=12345, name='web-01', status='active'), dict(id=12345, name='web-01', status='stopped')]),
        dict(method='POST', path='/api/v1/snapshots/801/restore/', status=502, body='<html><title>502 Bad Gateway</title></html>'),
    ])
    answer = restore_read_first(client_for(hostile, retries=3), snap(801))
    assert answer['server']['status'] == 'stopped'
    assert [entry['method'] for entry in hostile.log()] == ['GET', 'POST', 'GET']


@pytest.mark.parametrize('status', [200, 400])
def test_deeply_nested_json_is_one_line_not_a_traceback(hostile, status):
    hostile.script([dict(method='GET', path='/api/v1/servers/', status=status, body='[' * 200000)])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(client_for(hostile))
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
        list_servers(client_for(hostile))
    assert TOKEN[:8] not in str(failure.value)


def test_an_ipv6_api_url_is_accepted():
    """urllib3 keeps an IPv6 host in brackets and urlsplit drops them: that is not a disagreement."""
    assert build_client('http://[::1]:8080/api/v1', TOKEN).api_url == 'http://[::1]:8080/api/v1'


# Issue 24: a hostile controller environment, and list reads without end -------------------------------------

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
    assert list_servers(client_for(hostile)) == []  # the "elsewhere" port, as the proxy, answers an empty list
    [entry] = hostile.log()
    # A proxy is sent the whole URL, and (over http) the token: docs/reliability.md says so.
    assert entry['port'] == 'elsewhere' and entry['path'].startswith(hostile.base_url + '/servers/') and entry['authorization']


def endless_pages(count, pages, **fields):
    """A snapshot list whose every page links a fresh next page, up to pages (then the last answer repeats)."""
    return [dict(count=count, next='{api}/api/v1/snapshots/?page=%d' % (index + 2),
                 results=[snap(1000 + index, **fields)]) for index in range(pages)]


def test_a_list_whose_pages_go_on_past_its_count_stops(hostile):
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', sequence=endless_pages(2, 400))])
    with pytest.raises(VpsorgApiError) as failure:
        list_snapshots(client_for(hostile), 12345)
    assert failure.value.code == 'bad_response'
    assert str(failure.value) == ('GET /api/v1/snapshots/ failed: its pages went on past its count: 203 items read, '
                                  'where the first page counted 2')
    assert len(hostile.log()) == 203


def test_a_list_larger_than_its_byte_cap_stops(hostile, monkeypatch):
    monkeypatch.setattr(_client, 'MAX_LIST_BYTES', 20000)
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', sequence=endless_pages(400, 400, description='x' * 5000))])
    with pytest.raises(VpsorgApiError) as failure:
        list_snapshots(client_for(hostile), 12345)
    assert failure.value.code == 'bad_response' and str(failure.value).endswith('its pages add up to more than 0 MB')
    assert len(hostile.log()) == 4


def test_a_list_read_past_its_deadline_stops(hostile):
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', sequence=endless_pages(400, 400))])
    client = client_for(hostile)
    client.list_seconds = 0.3
    with pytest.raises(VpsorgApiError) as failure:
        list_snapshots(client, 12345)
    assert failure.value.code == 'bad_response' and str(failure.value).endswith('reading its pages took more than 0 seconds')
    assert 1 < len(hostile.log()) < 400


def test_a_list_that_changes_under_every_read_fails_instead_of_returning_a_pass(hostile):
    servers = [dict(id=12345 + index, name='web-%d' % index, status='active') for index in range(3)]
    hostile.script([
        dict(method='GET', path='/api/v1/servers/', query='page=2', json=dict(count=4, next=None, results=servers[2:])),
        dict(method='GET', path='/api/v1/servers/', json=dict(count=3, next='{api}/api/v1/servers/?page=2', results=servers[:2])),
    ])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(client_for(hostile))
    assert failure.value.code == 'bad_response'
    assert str(failure.value) == ('GET /api/v1/servers/ failed: the list changed under each of 5 reads (or was not in order); '
                                  'try again later')
    assert len(hostile.log()) == 10


def test_the_whole_account_list_over_pages_not_newest_first_is_read_server_by_server(hostile):
    """list_all (the info module without filters) trusted any settled pass; a list in another order is read per server."""
    oldest_first = [snap(900 + index, server_id=12345 + index % 2, name='s%d' % index,
                         created_at='2025-01-%02dT00:00:00Z' % (index + 1)) for index in range(5)]
    hostile.script([
        dict(method='GET', path='/api/v1/snapshots/', query='server_id=12345',
             json=dict(count=3, next=None, results=[item for item in oldest_first if item['server']['id'] == 12345])),
        dict(method='GET', path='/api/v1/snapshots/', query='server_id=12346',
             json=dict(count=2, next=None, results=[item for item in oldest_first if item['server']['id'] == 12346])),
        dict(method='GET', path='/api/v1/snapshots/', pages=oldest_first, page_size=2),
        dict(method='GET', path='/api/v1/servers/', json=dict(count=2, next=None, results=[
            dict(id=12345, name='web-01', status='active'), dict(id=12346, name='web-02', status='active')])),
    ])
    listed = list_snapshots(client_for(hostile))
    assert sorted(item['id'] for item in listed) == list(range(900, 905))
    paths = [entry['path'] for entry in hostile.log()]
    # The pass over the account-wide list (3 pages), then the servers list and each server's own list (read in parallel).
    assert len(paths) == 6 and paths[3] == '/api/v1/servers/?page_size=100'
    assert sorted(paths[4:]) == ['/api/v1/snapshots/?server_id=12345&page_size=100', '/api/v1/snapshots/?server_id=12346&page_size=100']
