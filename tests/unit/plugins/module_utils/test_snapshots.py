# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot decisions against the running emulator: duplicate-safe creates, the fleet, waits."""

import threading

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots
from ansible_collections.vpsorg.cloud.plugins.module_utils._wait import SnapshotsTarget
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


def test_fleet_present_creates_only_what_is_missing_and_reports_failures(emu):
    emu.add_snapshot(server_id=12345, name='fleet-x')
    for index in range(5):
        emu.add_snapshot(server_id=12347, name='full-%d' % index)
    fleet = Fleet(client_for(emu), [12345, 12346, 12347, 99999, 12348], 'fleet-x')
    snapshots = fleet.ensure_present(wait=True, timeout=30)
    assert [snap['server']['id'] for snap in snapshots] == [12345, 12346]
    assert all(snap['status'] == 'completed' for snap in snapshots)
    failures = dict((failure['server_id'], failure['reason']) for failure in fleet.failures())
    assert sorted(failures) == [12347, 12348, 99999]
    assert 'limit is 5 per server' in failures[12347]
    # Another account's server looks exactly like one that does not exist.
    assert failures[12348] == 'server 12348 does not exist in this account'
    assert fleet.changed
    posts = [entry for entry in emu.requests() if entry['method'] == 'POST']
    assert [entry['body']['server_id'] for entry in posts] == [12346]


def test_fleet_check_mode_sends_no_write(emu):
    fleet = Fleet(client_for(emu), [12345, 12346], 'planned', check_mode=True)
    snapshots = fleet.ensure_present()
    assert fleet.changed
    assert [snap['id'] for snap in snapshots] == [None, None]
    assert all(entry['method'] == 'GET' for entry in emu.requests())


def test_fleet_absent_deletes_only_that_name(emu):
    keep = emu.add_snapshot(server_id=12345, name='keep-me')
    for server_id in (12345, 12346):
        emu.add_snapshot(server_id=server_id, name='drop-me')
    fleet = Fleet(client_for(emu), [12345, 12346, 12347], 'drop-me')
    deleted = fleet.ensure_absent(wait=True, timeout=30)
    assert sorted(snap['server']['id'] for snap in deleted) == [12345, 12346]
    left = emu.call('GET', '/state')['accounts'][0]['snapshots']
    assert [snap['id'] for snap in left] == [keep['id']]


def test_fleet_under_rate_limit_completes_without_duplicates(emu):
    servers = [emu.call('POST', '/servers', {'name': 'rl-%d' % index})['id'] for index in range(12)]
    emu.config(rate_limit=5)
    fleet = Fleet(client_for(emu, retries=10), servers, 'throttled')
    snapshots = fleet.ensure_present(wait=True, timeout=60)
    emu.config(rate_limit=0)
    assert fleet.failures() == []
    assert sorted(snap['server']['id'] for snap in snapshots) == sorted(servers)
    assert sorted(snap['server']['id'] for snap in snapshots_named(emu, 'throttled')) == sorted(servers)
    assert any(entry['status'] == 429 for entry in emu.requests())


def test_wait_reports_a_snapshot_that_disappears(emu):
    snap = emu.add_snapshot(server_id=12345, name='vanishing', status='in_progress', complete_after=None)
    emu.call('DELETE', '/faults')
    client = client_for(emu)
    client.delete('snapshots/%d/' % snap['id'])
    with pytest.raises(VpsorgApiError) as failure:
        SnapshotsTarget(client, [snap['id']]).wait(5)
    assert 'disappeared while waiting' in str(failure.value)


def test_wait_times_out_listing_what_is_in_progress(emu):
    snap = emu.add_snapshot(server_id=12345, name='endless', status='in_progress', complete_after=None)
    with pytest.raises(VpsorgApiError) as failure:
        SnapshotsTarget(client_for(emu), [snap['id']]).wait(1)
    assert failure.value.code == 'wait_timeout'
    assert 'still in progress: endless (id %d' % snap['id'] in str(failure.value)


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
