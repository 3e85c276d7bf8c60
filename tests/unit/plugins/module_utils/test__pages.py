# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one page walker and read_all against the running emulator: every page, next links followed."""

import json

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils import _pages
from ansible_collections.vpsorg.cloud.plugins.module_utils._api import list_servers
from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import read_all
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import hostile_client, snap


def client_for(emu, token=TOKEN, retries=3, timeout=5, url=None):
    return build_client(url or emu.base_url, token, True, timeout, retries)


def test_list_all_follows_every_page(emu):
    for index in range(7):
        emu.add_snapshot(server_id=12345, name='snap-%d' % index, force=True)
    client = client_for(emu)
    snapshots = read_all(client, 'snapshots/')
    client_pages = [entry for entry in emu.requests() if entry['path'] == '/api/v1/snapshots/']
    assert sorted(snap['name'] for snap in snapshots) == sorted('snap-%d' % index for index in range(7))
    # The client asks for large pages; the emulator caps them, so this is what the server allowed.
    assert client_pages[0]['query'].get('page_size') == '100'


def test_list_all_with_small_pages_follows_next(emu):
    emu.config(max_page_size=2)
    for index in range(5):
        emu.add_snapshot(server_id=12346, name='paged-%d' % index)
    snapshots = read_all(client_for(emu), 'snapshots/', {'server_id': 12346})
    pages = [entry for entry in emu.requests() if entry['path'] == '/api/v1/snapshots/']
    assert len(snapshots) == 5
    assert len(pages) == 3
    assert all(entry['query'].get('server_id') == '12346' for entry in pages)


@pytest.mark.parametrize('shrink_on_page', [2, 3])
def test_a_list_that_shrinks_while_it_is_read_is_read_again(hostile, shrink_on_page):
    """Another run deletes the first snapshot while page 2 or 3 is asked for: items shift to earlier pages
    (one of them would be missed) or the last page vanishes (404 Invalid page)."""
    items = [snap(800 + index, name='s%d' % index) for index in range(5)]
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', pages=items, page_size=2, shrink_on_page=shrink_on_page)])
    found = [item['id'] for item in read_all(hostile_client(hostile), 'snapshots/')]
    # Every snapshot that existed during the whole read is there, each once; 800, deleted meanwhile, is not.
    assert sorted(found) == list(range(801, 805))
    assert len(found) == len(set(found))
    assert json.dumps(hostile.log()).count('"port": "elsewhere"') == 0


def endless_pages(count, pages, **fields):
    """A snapshot list whose every page links a fresh next page, up to pages (then the last answer repeats)."""
    return [dict(count=count, next='{api}/api/v1/snapshots/?page=%d' % (index + 2),
                 results=[snap(1000 + index, **fields)]) for index in range(pages)]


def test_a_list_whose_pages_go_on_past_its_count_stops(hostile):
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', sequence=endless_pages(2, 400))])
    with pytest.raises(VpsorgApiError) as failure:
        list_snapshots(hostile_client(hostile), 12345)
    assert failure.value.code == 'bad_response'
    assert str(failure.value) == ('GET /api/v1/snapshots/ failed: its pages went on past its count: 203 items read, '
                                  'where the first page counted 2')
    assert len(hostile.log()) == 203


def test_a_list_larger_than_its_byte_cap_stops(hostile, monkeypatch):
    monkeypatch.setattr(_pages, 'MAX_LIST_BYTES', 20000)
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', sequence=endless_pages(400, 400, description='x' * 5000))])
    with pytest.raises(VpsorgApiError) as failure:
        list_snapshots(hostile_client(hostile), 12345)
    assert failure.value.code == 'bad_response' and str(failure.value).endswith('its pages add up to more than 0 MB')
    assert len(hostile.log()) == 4


def test_a_list_read_past_its_deadline_stops(hostile):
    hostile.script([dict(method='GET', path='/api/v1/snapshots/', sequence=endless_pages(400, 400))])
    client = hostile_client(hostile)
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
        list_servers(hostile_client(hostile))
    assert failure.value.code == 'bad_response'
    assert str(failure.value) == ('GET /api/v1/servers/ failed: the list changed under each of 5 reads (or was not in order); '
                                  'try again later')
    assert len(hostile.log()) == 10
