# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""URL safety: the token goes only to the configured API, however a next link is spelled."""

from urllib.parse import urlsplit

import pytest
from requests.models import PreparedRequest
from urllib3.util import parse_url

from ansible_collections.vpsorg.cloud.plugins.module_utils._api import list_servers
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import read_all
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import (
    assert_one_clean_line, hostile_client, json_answer, link_page, page, quick_client, snap, TinyServer)


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
    client = hostile_client(hostile)
    if followed:
        assert [item['id'] for item in read_all(client, 'snapshots/')] == [801, 802]
    else:
        with pytest.raises(VpsorgApiError) as failure:
            read_all(client, 'snapshots/')
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
            Fleet(hostile_client(hostile), [12345], 'x')
        else:
            list_servers(hostile_client(hostile))
    assert failure.value.code == 'unsafe_link'
    assert [entry for entry in hostile.log() if entry['port'] == 'elsewhere'] == []


@pytest.mark.parametrize('next_link', [
    'https://127.0.0.1:{port}/api/v1/snapshots/?page=2',      # same host and port, another scheme
    'http://127.0.0.1:1/api/v1/snapshots/?page=2',            # same host, another port
    'http://localhost:{port}/api/v1/snapshots/?page=2',       # another name for the machine is another origin
    'http://127.0.0.1:{port}@127.0.0.2:{port}/api/v1/snapshots/?page=2',  # userinfo dressed up as the API's origin
    '//127.0.0.2:{port}/api/v1/snapshots/?page=2',            # scheme-relative, to another host
])
def test_next_link_to_any_other_origin_is_refused(next_link):
    def respond(path, port):
        return json_answer(link_page(next_link.replace('{port}', str(port)), 1))(path, port)

    with TinyServer(respond) as api:
        with pytest.raises(VpsorgApiError) as failure:
            read_all(quick_client(api.url, retries=0), 'snapshots/')
    assert failure.value.code == 'unsafe_link'
    assert len(api.seen) == 1
    assert TOKEN not in str(failure.value)


def test_next_link_to_the_same_origin_spelled_differently_is_followed():
    def respond(path, port):
        if 'page=2' in path:
            return json_answer(link_page(None, 2))(path, port)
        return json_answer(link_page('HTTP://127.0.0.1:%d/api/v1/snapshots/?page=2' % port, 1))(path, port)

    with TinyServer(respond) as api:
        assert [item['id'] for item in read_all(quick_client(api.url, retries=0), 'snapshots/')] == [1, 2]
    assert [authorization for dummy, dummy, authorization in api.seen] == ['Bearer %s' % TOKEN] * 2
