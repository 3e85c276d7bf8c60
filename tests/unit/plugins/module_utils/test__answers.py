# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Answers are checked where they enter: every malformed answer of a hostile API fails with one clean line."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._api import get_server, list_servers
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots
from ansible_collections.vpsorg.cloud.plugins.module_utils._writes import create_snapshot
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import assert_one_clean_line, hostile_client, page, restore_read_first, snap


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
    client = hostile_client(hostile)
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


@pytest.mark.parametrize('pages', [1, 2])
def test_a_servers_own_list_with_a_created_at_of_the_wrong_type_fails_with_one_line(hostile, pages):
    """The own list's order is asked of each page before its snapshots are checked: a number there is no order, not a
    Python comparison error (issue 25: the hostile_api target's one-server case)."""
    items = [snap(801, created_at=5), snap(802)]
    if pages == 1:
        hostile.script(listing(page(items)))
    else:
        hostile.script([dict(method='GET', path='/api/v1/snapshots/', pages=items, page_size=1)])
    with pytest.raises(VpsorgApiError) as failure:
        list_snapshots(hostile_client(hostile), 12345)
    assert failure.value.code == 'bad_response'
    assert_one_clean_line(str(failure.value))
