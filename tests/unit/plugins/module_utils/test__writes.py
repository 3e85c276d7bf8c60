# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safe writes against the running emulator: creates that never make two, settling concurrent duplicates."""

import threading

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots
from ansible_collections.vpsorg.cloud.plugins.module_utils._writes import create_snapshot, settle_concurrent_duplicates
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN


def client_for(emu, retries=6):
    return build_client(emu.base_url, TOKEN, True, 5, retries)


def snapshots_named(emu, name):
    snapshots = emu.call('GET', '/state')['accounts'][0]['snapshots']
    return [snap for snap in snapshots if snap['name'] == name]


@pytest.mark.parametrize('fault', [
    {'rate': 1.0, 'statuses': [502], 'when': 'after'},
    {'drop_rate': 1.0, 'when': 'after'},
])
def test_create_adopts_a_snapshot_whose_answer_was_lost(emu, fault):
    emu.faults(methods=['POST'], **fault)
    created = create_snapshot(client_for(emu), 12345, 'lost-answer')
    assert created['name'] == 'lost-answer'
    assert len(snapshots_named(emu, 'lost-answer')) == 1
    assert len([entry for entry in emu.requests() if entry['method'] == 'POST']) == 1


def test_create_retries_when_the_failure_happened_before_the_write(emu):
    emu.faults(rate=1.0, statuses=[503], when='before', methods=['POST'])
    client = client_for(emu, retries=2)
    with pytest.raises(VpsorgApiError) as failure:
        create_snapshot(client, 12345, 'never-applied')
    assert 'gave up after 3 attempts' in str(failure.value)
    assert snapshots_named(emu, 'never-applied') == []
    emu.call('DELETE', '/faults')
    create_snapshot(client, 12345, 'never-applied')
    assert len(snapshots_named(emu, 'never-applied')) == 1


def test_create_does_not_adopt_a_snapshot_that_was_there_before(emu):
    old = emu.add_snapshot(server_id=12345, name='same-name')
    emu.faults(rate=1.0, statuses=[500], when='before', methods=['POST'], seed=1)
    client = client_for(emu, retries=1)
    with pytest.raises(VpsorgApiError):
        create_snapshot(client, 12345, 'same-name', known_ids=[old['id']])
    assert [snap['id'] for snap in snapshots_named(emu, 'same-name')] == [old['id']]


def test_concurrent_creates_of_one_name_settle_on_one_snapshot(emu):
    """Two runs both see no snapshot named 'race', both create one; the oldest survives in both."""
    clients = [client_for(emu), client_for(emu)]
    both_listed = threading.Barrier(2)
    outcomes = [None, None]

    def run(index):
        client = clients[index]
        known_ids = [snap['id'] for snap in list_snapshots(client, 12345)]
        both_listed.wait(timeout=10)
        created = create_snapshot(client, 12345, 'race', known_ids=known_ids)
        outcomes[index] = settle_concurrent_duplicates(client, created, known_ids)

    threads = [threading.Thread(target=run, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    survivors = snapshots_named(emu, 'race')
    assert len(survivors) == 1
    assert outcomes[0]['id'] == outcomes[1]['id'] == survivors[0]['id']
    deletes = [entry for entry in emu.requests() if entry['method'] == 'DELETE']
    assert len(deletes) == 1


def test_settle_keeps_a_lone_snapshot_without_deleting(emu):
    client = client_for(emu)
    created = create_snapshot(client, 12346, 'alone')
    assert settle_concurrent_duplicates(client, created)['id'] == created['id']
    assert not [entry for entry in emu.requests() if entry['method'] == 'DELETE']
