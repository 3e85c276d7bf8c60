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
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import hostile_client, quick_client, restore_read_first, snap


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


def test_a_restore_of_a_restoring_server_is_refused_without_a_post(hostile):
    hostile.script([dict(method='GET', path='/api/v1/servers/12345/', json=dict(id=12345, name='web-01', status='restoring'))])
    with pytest.raises(VpsorgApiError) as failure:
        restore_read_first(hostile_client(hostile), snap(801))
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
        restore_read_first(hostile_client(hostile), snap(801))
    assert failure.value.code == 'server_busy'
    assert 'its status is stopping' in str(failure.value)
    assert 'not in a valid state' in str(failure.value)
    assert [entry['method'] for entry in hostile.log()].count('POST') == 1


def test_a_restore_whose_answer_was_lost_is_not_sent_again_once_the_server_stopped(hostile):
    """The API stops a server before restoring it: after a 502 that had applied the restore, the server reads
    stopped (it was active), which proves the restore was taken. A second POST would be refused, or worse."""
    hostile.script([
        dict(method='GET', path='/api/v1/servers/12345/',
             sequence=[dict(id=12345, name='web-01', status='active'), dict(id=12345, name='web-01', status='stopped')]),
        dict(method='POST', path='/api/v1/snapshots/801/restore/', status=502, body='<html><title>502 Bad Gateway</title></html>'),
    ])
    answer = restore_read_first(hostile_client(hostile, retries=3), snap(801))
    assert answer['server']['status'] == 'stopped'
    assert [entry['method'] for entry in hostile.log()] == ['GET', 'POST', 'GET']


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
