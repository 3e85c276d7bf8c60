# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vpsorg_snapshot's main() against the emulator: bad input, retries that run out, timeouts, ids of another account
and a fleet of ten servers under faults.

Moved from the reliability integration target (bad_input.yml, exhausted.yml, timeouts.yml, foreign_ids.yml and
fleet_ids.yml with fleet_check.yml), where each case cost an ansible-playbook task; the assertions are the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.vpsorg.cloud.plugins.modules import vpsorg_snapshot, vpsorg_snapshot_info
from ansible_collections.vpsorg.cloud.tests.unit.plugins.modules.conftest import one_clear_line

BAD_INPUT = [
    ({'server_id': 12345, 'name': 'two\nlines'}, 'is invalid'),
    ({'server_id': 12345, 'name': 'trailing-newline\n'}, 'is invalid'),
    ({'server_id': 12345, 'name': 'ok', 'description': 'fine', 'wait': 'perhaps'}, "argument 'wait' is of type str"),
    ({'state': 'absent', 'snapshot_id': -801}, 'snapshot_id must be a positive integer, got -801'),
    ({'server_ids': '12345,abc', 'name': 'ok'}, 'server_ids'),
]
# The reliability target's fault runs: 30% of the answers replaced by 429 (Retry-After 1) or 500/502/503 HTML pages,
# 5% of the connections dropped, before or after the request took effect. With 10 retries a request fails only after
# 11 faults in a row: about 0.35^11 = 1e-5, so the runs do not flake.
FAULTS = dict(rate=0.3, drop_rate=0.05, statuses=[429, 500, 502, 503], retry_after=1, when='random')
FAULT_RETRIES = 10


@pytest.fixture
def snapshot(run_module):
    return run_module(vpsorg_snapshot)


def posts(requests, name=None):
    return [entry for entry in requests if entry['method'] == 'POST' and not entry['path'].endswith('/restore/')
            and (name is None or entry['body']['name'] == name)]


def restores(requests):
    return [entry for entry in requests if entry['path'].endswith('/restore/')]


@pytest.mark.parametrize('args, says', BAD_INPUT, ids=[says for _args, says in BAD_INPUT])
def test_bad_input_is_refused_in_one_line_before_any_request(emu, snapshot, args, says):
    result = snapshot(**args)
    assert result['failed'] and says in result['msg'], result
    assert one_clear_line(result, 'vps_tökén_ünicode')
    assert emu.requests() == []


def test_retries_that_run_out_make_no_create_the_api_did_not_confirm(emu, snapshot):
    emu.faults(rate=1.0, statuses=[502], methods=['POST'], when='before')
    gave_up_create = snapshot(server_id=12345, name='never-made', api_retries=2)
    emu.faults(rate=1.0, statuses=[500], methods=['POST'], when='after')
    adopted_create = snapshot(server_id=12346, name='made-once', api_retries=2)
    emu.clear_faults()
    requests, snapshots = emu.requests(), emu.snapshots()
    assert re.match(r'POST /api/v1/snapshots/ failed. HTTP 502. .*\(gave up after 3 attempts\)$', gave_up_create['msg'])
    assert one_clear_line(gave_up_create)
    assert adopted_create['changed'] and not adopted_create['failed']
    assert len(posts(requests, 'never-made')) == 3
    assert [entry for entry in posts(requests, 'never-made') if entry['applied']] == []
    # The lost answer was recovered by reading the state, not by a second create.
    assert len(posts(requests, 'made-once')) == 1
    assert [snap['name'] for snap in snapshots] == ['made-once']
    assert adopted_create['snapshot']['id'] == snapshots[0]['id']


def test_waits_that_reach_wait_timeout_name_what_is_pending_and_a_second_run_makes_nothing_twice(emu, snapshot):
    emu.config(snapshot_seconds=60, restore_seconds=60)
    slow_one = snapshot(server_id=12345, name='slow-one', wait_timeout=2)
    slow_one_again = snapshot(server_id=12345, name='slow-one', wait=False)
    slow_fleet = snapshot(server_ids=[12345, 12346, 12347], name='slow-fleet', wait_timeout=2)
    base = emu.add_snapshot(server_id=12347, name='base', status='completed')
    slow_restore = snapshot(state='restored', snapshot_id=base['id'], wait_timeout=2)
    requests = emu.requests()
    assert slow_one['failed']
    assert re.match(r'timed out after 2 seconds \(wait_timeout\) waiting for snapshot\(s\) still in progress. slow-one \(id [0-9]+, created ',
                    slow_one['msg'])
    assert slow_one['error']['code'] == 'wait_timeout'
    assert not slow_one_again['failed'] and not slow_one_again['changed'] and slow_one_again['snapshot']['status'] == 'in_progress'
    assert slow_fleet['failed']
    assert [failure['server_id'] for failure in slow_fleet['failed_servers']] == [12345, 12346, 12347]
    assert re.match('3 of 3 servers failed. ', slow_fleet['msg'])
    # Each server's own reason names its snapshot still in progress.
    assert len([failure for failure in slow_fleet['failed_servers'] if re.match(
        r'timed out after 2 seconds \(wait_timeout\) waiting for snapshot\(s\) still in progress. slow-fleet \(id [0-9]+, created ',
        failure['reason'])]) == 3
    assert slow_restore['failed']
    assert slow_restore['msg'] == 'timed out after 2 seconds (wait_timeout) waiting for server 12347 to finish restoring (status restoring)'
    assert all(one_clear_line(result) for result in (slow_one, slow_fleet, slow_restore))
    # One create per name and server: the second run found the snapshot it had waited for.
    assert len(posts(requests, 'slow-one')) == 1
    assert len(posts(requests, 'slow-fleet')) == 3
    assert len(restores(requests)) == 1


def test_ids_of_another_account_or_server_read_delete_and_restore_nothing(emu, run_module, snapshot):
    info = run_module(vpsorg_snapshot_info)
    foreign_id, neighbour_id = emu.seed({'snapshots': [{'server_id': 12348, 'name': 'foreign'},
                                                       {'server_id': 12346, 'name': 'neighbour'}]})['snapshots']
    foreign_list = info(server_id=12348)
    foreign_info = info(snapshot_ids=[foreign_id])
    foreign_absent = snapshot(state='absent', snapshot_id=foreign_id)
    foreign_restore = snapshot(state='restored', snapshot_id=foreign_id)
    wrong_server_restore = snapshot(state='restored', server_id=12345, snapshot_id=neighbour_id)
    foreign_fleet = snapshot(server_ids=[12345, 12348], name='fleet-foreign')
    requests, state = emu.requests(), emu.state()
    assert not foreign_list['failed'] and foreign_list['snapshots'] == []
    assert foreign_info['failed'] and foreign_info['msg'] == 'snapshot_ids %d does not exist in this account' % foreign_id
    assert not foreign_absent['failed'] and not foreign_absent['changed']
    assert foreign_restore['failed'] and foreign_restore['msg'] == 'snapshot %d does not exist in this account' % foreign_id
    assert wrong_server_restore['failed']
    assert wrong_server_restore['msg'] == 'snapshot %d does not exist on server 12345' % neighbour_id
    assert foreign_fleet['failed']
    assert foreign_fleet['failed_servers'] == [{'server_id': 12348, 'reason': 'server 12348 does not exist in this account'}]
    assert [snap['server']['id'] for snap in foreign_fleet['snapshots']] == [12345]
    # Not one write reached the other account, and no restore or delete was sent at all.
    assert [entry for entry in requests if entry['account'] == 1] == []
    assert [entry for entry in requests if entry['method'] == 'DELETE'] == []
    assert restores(requests) == []
    assert [entry['body']['server_id'] for entry in requests if entry['method'] == 'POST'] == [12345]
    assert [snap['id'] for snap in state['accounts'][1]['snapshots']] == [foreign_id]
    assert [server for server in state['accounts'][0]['servers'] if server['status'] == 'restoring'] == []


def test_a_fleet_of_ten_under_faults_keeps_one_snapshot_per_server_and_deletes_only_its_own(emu, snapshot):
    kept, tmp = 'rel-fleet', 'rel-fleet-tmp'
    seeded = emu.seed({'servers': ['%s-%d' % (kept, index) for index in range(10)], 'on_each_server': ['keep-me'],
                       'snapshots': [{'server_id': 12345, 'name': kept}, {'server_id': 12345, 'name': tmp},
                                     {'server_id': 12348, 'name': tmp}]})
    server_ids, bystander_ids = seeded['servers'], seeded['snapshots']
    emu.faults(seed=8, **FAULTS)
    kept_run = snapshot(server_ids=server_ids, name=kept, api_retries=FAULT_RETRIES)
    tmp_run = snapshot(server_ids=server_ids, name=tmp, api_retries=FAULT_RETRIES)
    tmp_gone = snapshot(state='absent', server_ids=server_ids, name=tmp, api_retries=FAULT_RETRIES)
    kept_again = snapshot(server_ids=server_ids, name=kept, api_retries=FAULT_RETRIES)
    counters = emu.counters()
    emu.clear_faults()
    requests, state = emu.requests(), emu.state()

    # Every step succeeded (in the target, each was a task that must not fail).
    assert [run['failed'] for run in (kept_run, tmp_run, tmp_gone, kept_again)] == [False] * 4
    assert kept_run['failed_servers'] == []
    assert [snap['server']['id'] for snap in kept_run['snapshots']] == server_ids
    assert len(tmp_gone['snapshots']) == 10
    assert not kept_again['changed']
    assert [snap['id'] for snap in kept_again['snapshots']] == [snap['id'] for snap in kept_run['snapshots']]

    # fleet_check.yml: one snapshot per server and name, nothing lost, nothing deleted that the run did not create.
    alive_ids = [snap['id'] for account in state['accounts'] for snap in account['snapshots']]
    in_run = [snap for snap in state['accounts'][0]['snapshots'] if snap['server']['id'] in server_ids]
    creates = [entry for entry in requests if entry['method'] == 'POST' and entry['path'] == '/api/v1/snapshots/' and entry['applied']]
    # The emulator numbers snapshots in the order it applies creates, right after the seeded bystanders: so the log
    # tells the id, server and name of every snapshot the run created.
    created = [(max(bystander_ids) + 1 + index, entry['body']['server_id'], entry['body']['name']) for index, entry in enumerate(creates)]
    created_ids = [snap_id for snap_id, _server, _name in created]
    deletes = [entry for entry in requests if entry['method'] == 'DELETE']
    delete_ids = [int(re.search(r'[0-9]+(?=/$)', entry['path']).group(0)) for entry in deletes]
    applied_delete_ids = [int(re.search(r'[0-9]+(?=/$)', entry['path']).group(0)) for entry in deletes if entry['applied']]
    assert counters['faults'] >= 10
    # Every server got its creates, and exactly one snapshot of each name stays (none of the temporary one).
    assert sorted({server for _id, server, name in created if name == kept}) == sorted(server_ids)
    assert sorted({server for _id, server, name in created if name == tmp}) == sorted(server_ids)
    assert sorted(snap['server']['id'] for snap in in_run if snap['name'] == kept) == sorted(server_ids)
    assert [snap for snap in in_run if snap['name'] == tmp] == []
    assert sorted(snap['server']['id'] for snap in in_run if snap['name'] == 'keep-me') == sorted(server_ids)
    assert len(in_run) == 20
    # Every bystander is still there, including those with the run's names on servers outside the run.
    assert set(bystander_ids) - set(alive_ids) == set()
    # Every snapshot the run created is alive or was deleted by exactly one DELETE that took effect, and no DELETE at
    # all (even one that failed) aimed at a snapshot the run had not created.
    assert sorted(set(created_ids) - set(alive_ids)) == sorted(applied_delete_ids)
    assert len(set(applied_delete_ids)) == len(applied_delete_ids)
    assert set(delete_ids) - set(created_ids) == set()
