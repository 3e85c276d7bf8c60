# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One flow for one server and for a fleet: what each costs in requests, and that a fleet of one decides alike."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._client import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet, restore
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN


def client_for(emu):
    return build_client(emu.base_url, TOKEN, True, 5, 3)


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


RESTORE_OUTCOMES = [('active', 'active', False), ('stopped', 'stopped', False), ('stopped', 'active', False),
                    ('active', 'stopped', True), ('active', 'error', True)]


@pytest.mark.parametrize('before, ends_as, fails', RESTORE_OUTCOMES)
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
