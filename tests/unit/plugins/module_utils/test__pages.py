# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one page walker and read_all against the running emulator: every page, next links followed."""

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import read_all
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN


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
