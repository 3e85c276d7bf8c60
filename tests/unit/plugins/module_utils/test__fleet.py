# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One flow for one server and for a fleet: what each costs in requests, and that a fleet of one decides alike."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._restore import restore
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import hostile_client, quick_client


def client_for(emu, retries=3):
    return build_client(emu.base_url, TOKEN, True, 5, retries)


def calls(emu):
    """The requests sent so far, as 'METHOD path' with the server filter shown (pages left out)."""
    return ['%s %s%s' % (entry['method'], entry['path'], '?server_id' if 'server_id' in (entry.get('query') or {}) else '')
            for entry in emu.requests() if 'page' not in (entry.get('query') or {})]


def test_one_server_create_reads_only_its_own_list(emu):
    fleet = Fleet.of_one(client_for(emu), 12345, 'single', check_mode=False)
    snapshots = fleet.ensure_present(wait=False)
    assert fleet.changed and [snap['name'] for snap in snapshots] == ['single']
    # The list after the create settles concurrent duplicates (and would be the wait's first poll).
    assert calls(emu) == ['GET /api/v1/snapshots/?server_id', 'POST /api/v1/snapshots/', 'GET /api/v1/snapshots/?server_id']


def test_one_server_existing_snapshot_costs_one_list(emu):
    emu.add_snapshot(server_id=12345, name='there')
    fleet = Fleet.of_one(client_for(emu), 12345, 'there')
    assert [snap['name'] for snap in fleet.ensure_present(wait=True)] == ['there']
    assert not fleet.changed
    assert calls(emu) == ['GET /api/v1/snapshots/?server_id']


def test_one_server_check_mode_reads_the_server_to_tell_an_unknown_one(emu):
    fleet = Fleet.of_one(client_for(emu), 99999, 'planned', check_mode=True)
    assert fleet.ensure_present() == []
    assert str(fleet.errors[99999]) == 'server 99999 does not exist in this account'
    assert fleet.errors[99999].as_dict() == dict(code='http_error', status=404, method='GET', path='/api/v1/servers/99999/')
    assert calls(emu) == ['GET /api/v1/snapshots/?server_id', 'GET /api/v1/servers/99999/']


def test_one_server_create_on_an_unknown_server_fails_from_the_create(emu):
    fleet = Fleet.of_one(client_for(emu), 99999, 'nowhere')
    assert fleet.ensure_present(wait=False) == []
    assert str(fleet.errors[99999]).startswith('server 99999 does not exist in this account (POST /api/v1/snapshots/ failed: HTTP 404')
    assert calls(emu) == ['GET /api/v1/snapshots/?server_id', 'POST /api/v1/snapshots/']


def test_one_server_absent_deletes_and_waits_with_its_own_list(emu):
    snap = emu.add_snapshot(server_id=12345, name='drop')
    fleet = Fleet.of_one(client_for(emu), 12345, 'drop')
    assert [gone['id'] for gone in fleet.ensure_absent(wait=True, timeout=30)] == [snap['id']]
    assert calls(emu) == ['GET /api/v1/snapshots/?server_id', 'DELETE /api/v1/snapshots/%d/' % snap['id'], 'GET /api/v1/snapshots/?server_id']


def test_absent_by_snapshot_id_alone_finds_its_server_in_the_account(emu):
    snap = emu.add_snapshot(server_id=12346, name='by-id')
    fleet = Fleet.of_one(client_for(emu), None, snapshot_id=snap['id'])
    assert [gone['id'] for gone in fleet.ensure_absent(wait=False)] == [snap['id']]
    assert fleet.server_ids == [12346]
    assert calls(emu) == ['GET /api/v1/snapshots/', 'DELETE /api/v1/snapshots/%d/' % snap['id']]


def test_a_fleet_reads_the_account_and_the_servers_once_and_writes_only_what_is_missing(emu):
    emu.add_snapshot(server_id=12345, name='fleet')
    fleet = Fleet(client_for(emu), [12345, 12346, 12347], 'fleet')
    snapshots = fleet.ensure_present(wait=False)
    assert [snap['server']['id'] for snap in snapshots] == [12345, 12346, 12347]
    assert sorted(calls(emu)) == sorted(['GET /api/v1/snapshots/', 'GET /api/v1/servers/', 'POST /api/v1/snapshots/',
                                         'POST /api/v1/snapshots/', 'GET /api/v1/snapshots/'])


def test_the_same_wording_for_one_server_and_for_a_fleet(emu):
    for index in range(5):
        emu.add_snapshot(server_id=12346, name='full-%d' % index)
    one = Fleet.of_one(client_for(emu), 12346, 'more')
    one.ensure_present()
    many = Fleet(client_for(emu), [12345, 12346], 'more', check_mode=True)
    many.ensure_present()
    assert str(one.errors[12346]) == str(many.errors[12346])
    assert one.errors[12346].as_dict() == dict(code='snapshot_limit', status=None, method=None, path=None, limit=5)
    assert len(one.errors[12346].results['snapshots']) == 5


def test_in_progress_without_wait_is_refused_alike_for_delete_and_restore(emu):
    snap = emu.add_snapshot(server_id=12345, name='busy', status='in_progress', complete_after=None)
    fleet = Fleet.of_one(client_for(emu), 12345, 'busy')
    fleet.ensure_absent(wait=False)
    with pytest.raises(VpsorgApiError) as failure:
        restore(client_for(emu), 12345, 'busy', wait=False)
    assert fleet.errors[12345].code == failure.value.code == 'in_progress'
    assert 'busy (id %d' % snap['id'] in str(failure.value)
    assert str(fleet.errors[12345]).endswith('before deleting') and str(failure.value).endswith('before restoring')
    assert all(entry['method'] == 'GET' for entry in emu.requests())


def test_restore_reads_the_server_before(emu):
    snap = emu.add_snapshot(server_id=12347, name='base')
    restored, before, after = restore(client_for(emu), snapshot_id=snap['id'], wait=False)
    assert restored['id'] == snap['id']
    assert before['status'] == 'active' and after['status'] == 'restoring'


@pytest.mark.parametrize('before, ends_as, fails', [
    ('active', 'active', False), ('stopped', 'stopped', False), ('stopped', 'active', False), ('active', 'stopped', True),
    ('active', 'error', True)])
def test_a_restore_succeeds_only_when_the_server_is_back_as_it_was_or_active(emu, before, ends_as, fails):
    snap = emu.add_snapshot(server_id=12346, name='base')
    emu.update_server(12346, status=before)
    emu.update_server(12346, restore_ends_as=ends_as)
    if not fails:
        dummy, server_before, after = restore(client_for(emu), snapshot_id=snap['id'], wait=True, timeout=10)
        assert (server_before['status'], after['status']) == (before, ends_as)
        return
    with pytest.raises(VpsorgApiError) as failure:
        restore(client_for(emu), snapshot_id=snap['id'], wait=True, timeout=10)
    assert failure.value.code == 'restore_failed'
    assert str(failure.value) == ('server 12346 ended the restore from snapshot %d %s, not %s as before it: it may not be back'
                                  % (snap['id'], ends_as, before))
    assert failure.value.results['server']['status'] == ends_as and failure.value.results['server_before']['status'] == before


def test_an_empty_fleet_sends_no_request(emu):
    fleet = Fleet(client_for(emu), [], 'nothing')
    assert fleet.ensure_present() == [] and fleet.ensure_absent() == []
    assert not fleet.changed and fleet.failures() == []
    assert emu.requests() == []


def test_a_snapshot_another_run_made_in_the_last_slot_is_adopted_unchanged(emu):
    """Four snapshots: this run lists them, another run then takes the fifth slot with the same name. The create
    is refused at the quota and the other run's snapshot is adopted: reported, but this run changed nothing."""
    for index in range(4):
        emu.add_snapshot(server_id=12345, name='old-%d' % index)
    fleet = Fleet.of_one(client_for(emu), 12345, 'same-name')
    theirs = emu.add_snapshot(server_id=12345, name='same-name')
    snapshots = fleet.ensure_present(wait=False)
    assert [snap['id'] for snap in snapshots] == [theirs['id']]
    assert not fleet.changed and fleet.created == set()


def snapshots_named(emu, name):
    snapshots = emu.call('GET', '/state')['accounts'][0]['snapshots']
    return [snap for snap in snapshots if snap['name'] == name]


def test_fleet_present_creates_only_what_is_missing_and_reports_failures(emu):
    emu.add_snapshot(server_id=12345, name='fleet-x')
    for index in range(5):
        emu.add_snapshot(server_id=12347, name='full-%d' % index)
    fleet = Fleet(client_for(emu, retries=6), [12345, 12346, 12347, 99999, 12348], 'fleet-x')
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
    fleet = Fleet(client_for(emu, retries=6), [12345, 12346], 'planned', check_mode=True)
    snapshots = fleet.ensure_present()
    assert fleet.changed
    assert [snap['id'] for snap in snapshots] == [None, None]
    assert all(entry['method'] == 'GET' for entry in emu.requests())


def test_fleet_absent_deletes_only_that_name(emu):
    keep = emu.add_snapshot(server_id=12345, name='keep-me')
    for server_id in (12345, 12346):
        emu.add_snapshot(server_id=server_id, name='drop-me')
    fleet = Fleet(client_for(emu, retries=6), [12345, 12346, 12347], 'drop-me')
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


def test_an_empty_fleet_sends_no_request_to_a_hostile_api(hostile):
    fleet = Fleet(hostile_client(hostile), [], 'x')
    assert fleet.ensure_present() == []
    assert not fleet.changed
    assert hostile.log() == []


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_fleet_under_faults_keeps_exactly_one_snapshot_per_server_and_deletes_only_what_it_made(emu, seed):
    servers = [12345, 12346, 12347] + [emu.call('POST', '/servers', {'name': 'soak-%d' % index})['id'] for index in range(7)]
    bystanders = [emu.add_snapshot(server_id=server_id, name='keep-me')['id'] for server_id in servers]
    emu.faults(rate=0.3, drop_rate=0.05, retry_after=0, when='random', seed=seed)
    client = quick_client(emu.base_url, retries=10)
    kept = Fleet(client, servers, 'soak')
    kept.ensure_present(timeout=60)
    temporary = Fleet(client, servers, 'soak-tmp')
    temporary.ensure_present(timeout=60)
    gone = Fleet(client, servers, 'soak-tmp')
    gone.ensure_absent(timeout=60)
    emu.call('DELETE', '/faults')
    assert kept.failures() == temporary.failures() == gone.failures() == []
    snapshots = list_snapshots(quick_client(emu.base_url))
    assert sorted(snap['server']['id'] for snap in snapshots if snap['name'] == 'soak') == sorted(servers)
    assert [snap for snap in snapshots if snap['name'] == 'soak-tmp'] == []
    assert set(bystanders) <= set(snap['id'] for snap in snapshots)
    log = emu.requests()
    assert sum(1 for entry in log if entry['fault']) >= 5
    deleted = set(int(entry['path'].split('/')[-2]) for entry in log if entry['method'] == 'DELETE')
    assert not deleted & set(snap['id'] for snap in snapshots)


# Issue 27: a fleet restored in one run, each server from its own snapshot of one name -----------------------

FLEET = (12345, 12346, 12347)


def restores(emu):
    return [entry['path'] for entry in emu.requests() if entry['method'] == 'POST' and entry['path'].endswith('/restore/')]


def seed_fleet(emu, name='fleet-r', servers=FLEET):
    return dict((server_id, emu.add_snapshot(server_id=server_id, name=name, status='completed')) for server_id in servers)


def test_a_fleet_restore_in_check_mode_returns_the_plan_and_sends_nothing(emu):
    seeded = seed_fleet(emu)
    fleet = Fleet(client_for(emu), list(FLEET), 'fleet-r', check_mode=True)
    snapshots, before, after = fleet.ensure_restored(wait=True, timeout=30)
    assert fleet.changed and not fleet.errors
    assert [snap['id'] for snap in snapshots] == [seeded[server_id]['id'] for server_id in FLEET]
    assert [server['status'] for server in before] == ['active'] * 3 and after == before
    assert all(entry['method'] == 'GET' for entry in emu.requests())


def test_a_fleet_restore_whose_preflight_fails_sends_no_restore_at_all(emu):
    seeded = seed_fleet(emu, servers=FLEET[:2])
    duplicate = emu.add_snapshot(server_id=12346, name='fleet-r', status='completed')
    fleet = Fleet(client_for(emu), list(FLEET), 'fleet-r')
    with pytest.raises(VpsorgApiError) as failure:
        fleet.ensure_restored(wait=True, timeout=30)
    assert failure.value.code == 'servers_failed'
    assert str(failure.value).startswith("no restore was sent: 2 of 3 servers cannot be restored from 'fleet-r': 12346: server 12346 has 2 "
                                         "snapshots named 'fleet-r': fleet-r (id %d" % duplicate['id'])
    assert "12347: server 12347 has no snapshot named 'fleet-r'" in str(failure.value)
    failed = failure.value.results['failed_servers']
    assert [(item['server_id'], fleet.errors[item['server_id']].code) for item in failed] == [(12346, 'ambiguous'), (12347, 'not_found')]
    assert failure.value.results['changed'] is False and failure.value.results['servers'] == []
    assert [snap['id'] for snap in failure.value.results['snapshots']] == [seeded[12345]['id']]
    assert restores(emu) == []


def test_a_fleet_restore_refuses_a_server_that_is_restoring_already_before_any_restore(emu):
    seed_fleet(emu)
    emu.update_server(12347, status='restoring')
    with pytest.raises(VpsorgApiError) as failure:
        Fleet(client_for(emu), list(FLEET), 'fleet-r').ensure_restored(wait=True, timeout=30)
    assert '12347: server 12347 cannot be restored now: its status is restoring (a restore is under way)' in str(failure.value)
    assert restores(emu) == []


def test_a_fleet_restore_sends_one_restore_per_server_and_waits_for_the_set_with_one_read_per_poll(emu):
    seeded = seed_fleet(emu)
    fleet = Fleet(client_for(emu), list(FLEET), 'fleet-r')
    snapshots, before, after = fleet.ensure_restored(wait=True, timeout=30)
    assert not fleet.errors and fleet.changed
    assert sorted(restores(emu)) == sorted('/api/v1/snapshots/%d/restore/' % seeded[server_id]['id'] for server_id in FLEET)
    assert [server['status'] for server in after] == ['active'] * 3 and [server['id'] for server in before] == list(FLEET)
    reads = [entry['path'] for entry in emu.requests() if entry['method'] == 'GET']
    # The snapshots (one list, pages of 2), the servers before, then the servers list once per poll: never a GET per server.
    assert not [path for path in reads if path.startswith('/api/v1/servers/1')]
    assert len(emu.requests()) <= 2 * len(FLEET) + 4


def test_a_fleet_restore_whose_answers_were_lost_adopts_them_and_never_restores_twice(emu):
    seed_fleet(emu)
    # The recheck adopts a restore by finding the server still restoring, as real restores (minutes) always are. With
    # the session's 0.3 s restores, a loaded machine let a restore end before its recheck, which then re-sent it.
    emu.config(restore_seconds=3)
    emu.faults(rate=1.0, statuses=[502], when='after', methods=['POST'])
    fleet = Fleet(quick_client(emu.base_url), list(FLEET), 'fleet-r')
    dummy, dummy, after = fleet.ensure_restored(wait=True, timeout=30)
    assert not fleet.errors and [server['status'] for server in after] == ['active'] * 3
    assert len(restores(emu)) == 3  # each POST took effect, lost its answer, and was adopted, not sent again


def test_a_fleet_restore_fails_the_server_that_does_not_come_back_after_the_others_are_done(emu):
    seed_fleet(emu)
    emu.update_server(12346, restore_ends_as='error')
    fleet = Fleet(client_for(emu), list(FLEET), 'fleet-r')
    dummy, dummy, after = fleet.ensure_restored(wait=True, timeout=30)
    assert [server['status'] for server in after] == ['active', 'error', 'active']
    assert list(fleet.errors) == [12346] and fleet.errors[12346].code == 'restore_failed'
    assert str(fleet.failure()).startswith('1 of 3 servers failed: 12346: server 12346 ended the restore from snapshot')
    assert len(restores(emu)) == 3


def test_a_fleet_restore_waits_for_a_snapshot_still_in_progress_first(emu):
    seed_fleet(emu, servers=FLEET[:2])
    emu.add_snapshot(server_id=12347, name='fleet-r', status='in_progress')
    fleet = Fleet(client_for(emu), list(FLEET), 'fleet-r')
    snapshots, dummy, dummy = fleet.ensure_restored(wait=True, timeout=30)
    assert not fleet.errors and [snap['status'] for snap in snapshots] == ['completed'] * 3
    assert len(restores(emu)) == 3


def test_a_fleet_restore_refuses_a_server_in_a_status_the_api_cannot_restore_before_any_restore(emu):
    seed_fleet(emu)
    emu.update_server(12346, status='error')
    with pytest.raises(VpsorgApiError) as failure:
        Fleet(client_for(emu), list(FLEET), 'fleet-r').ensure_restored(wait=True, timeout=30)
    assert ('12346: server 12346 cannot be restored now: its status is error; wait until it is active or stopped'
            in str(failure.value))
    assert restores(emu) == []


def test_a_fleet_restore_whose_wait_cannot_read_the_servers_keeps_what_it_sent(emu):
    seed_fleet(emu)
    fleet = Fleet(client_for(emu, retries=0), list(FLEET), 'fleet-r')
    # Once the restores are sent, every read of the servers list fails: the wait cannot tell, but the run must still
    # return the snapshots it restored from and fail each server with the read's error.
    original = fleet.client.request

    def request(method, path, *args, **kwargs):
        if method == 'GET' and path.rstrip('/').endswith('servers') and restores(emu):
            emu.faults(rate=1.0, statuses=[503], methods=['GET'])
        return original(method, path, *args, **kwargs)

    fleet.client.request = request
    snapshots, dummy, dummy = fleet.ensure_restored(wait=True, timeout=30)
    emu.clear_faults()
    assert len(snapshots) == 3 and len(restores(emu)) == 3 and fleet.changed
    assert sorted(fleet.errors) == list(FLEET) and all(error.status == 503 for error in fleet.errors.values())
