# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a fleet's reads cost when the fleet is a slice of a large account (issue 18), and that they stay right
when the API does not list newest first, when snapshots vanish, and with retention on the same read."""

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._fleet import Fleet
from ansible_collections.vpsorg.cloud.plugins.module_utils._source import list_snapshots, SnapshotSource
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import hostile_client, snap


FIRST = 12345
# 120 servers with 3 snapshots each: 360 snapshots, 4 pages of 100 in the account-wide list.
SERVERS, EACH = 120, 3


def client_for(emu):
    return build_client(emu.base_url, TOKEN, True, 5, 3)


def large_account(emu, order='newest_first'):
    emu.reset(servers=SERVERS)
    emu.config(snapshot_seconds=0.3, list_order=order)
    for server_id in range(FIRST, FIRST + SERVERS):
        for index in range(EACH):
            # Older than anything a test creates, as in an account in use (nightly snapshots of earlier days).
            emu.add_snapshot(server_id=server_id, name='nightly-%d' % index, status='completed',
                             created_at='2025-01-%02dT03:00:00Z' % (index + 1))
    return emu.requests()[-1]['seq'] if emu.requests() else 0


def reads(emu, since):
    """The requests after since as (method, path, 'server_id' or page number)."""
    shown = []
    for entry in emu.requests(since):
        if not entry['path'].startswith('/api/'):
            continue
        query = entry.get('query') or {}
        shown.append((entry['method'], entry['path'], 'server_id' if 'server_id' in query else int(query.get('page', 1))))
    return shown


def fleet_names(emu, name):
    return sorted((snap['server']['id'], snap['status']) for snap in emu.snapshots() if snap['name'] == name)


def test_a_small_slice_reads_each_server_and_only_the_newest_page_while_waiting(emu):
    since = large_account(emu)
    fleet = Fleet(client_for(emu), [FIRST, FIRST + 1, FIRST + 2], 'slice')
    snapshots = fleet.ensure_present(wait=True, timeout=60)
    assert [snap['status'] for snap in snapshots] == ['completed'] * 3 and not fleet.errors
    assert fleet_names(emu, 'slice') == [(FIRST + index, 'completed') for index in range(3)]
    sent = reads(emu, since)
    # The first page of the account-wide list tells its size (4 pages > 3 servers): each server's own list instead.
    assert sent[0] == ('GET', '/api/v1/snapshots/', 1)
    assert sorted(sent[1:4]) == [('GET', '/api/v1/snapshots/', 'server_id')] * 3
    assert sorted(sent[4:7]) == [('POST', '/api/v1/snapshots/', 1)] * 3
    # Every later read (the settling read and each poll) is the first page only: no servers list, no page 2.
    assert sent[7:] and set(sent[7:]) == set([('GET', '/api/v1/snapshots/', 1)])


def test_a_slice_of_an_api_listing_oldest_first_falls_back_to_each_servers_list(emu):
    since = large_account(emu, order='oldest_first')
    fleet = Fleet(client_for(emu), [FIRST, FIRST + 1, FIRST + 2], 'oldest')
    snapshots = fleet.ensure_present(wait=True, timeout=60)
    assert [snap['status'] for snap in snapshots] == ['completed'] * 3 and not fleet.errors
    assert fleet_names(emu, 'oldest') == [(FIRST + index, 'completed') for index in range(3)]
    sent = reads(emu, since)
    # The order is checked on the data: a first page that is not newest first proves nothing, so no read stops early on
    # it; the servers' own lists answer instead, and no read goes past the first page of the account-wide list.
    assert all(what in (1, 'server_id') for dummy, dummy, what in sent)
    after_creates = sent[7:]
    assert after_creates.count(('GET', '/api/v1/snapshots/', 'server_id')) >= 3


def test_a_vanished_snapshot_is_not_taken_for_done_on_a_partial_read(emu):
    since = large_account(emu)
    client = client_for(emu)
    reader = SnapshotSource(client, [FIRST, FIRST + 1])
    reader.read()
    assert reader.per_server and reader.mark
    kept = client.post('snapshots/', dict(server_id=FIRST, name='kept'))
    dropped = client.post('snapshots/', dict(server_id=FIRST + 1, name='dropped'))
    client.delete('snapshots/%d/' % dropped['id'])
    first = len(reads(emu, since))
    listing = reader.read_newest([kept['id'], dropped['id']], [FIRST, FIRST + 1], since=kept['created_at'])
    ids = set(snap['id'] for snap in listing)
    assert kept['id'] in ids and dropped['id'] not in ids
    # Not found on the newest page: the servers' own lists were read to tell it is gone.
    assert reads(emu, since)[first:][-2:] == [('GET', '/api/v1/snapshots/', 'server_id')] * 2


def test_an_unknown_server_in_a_slice_is_checked_alone(emu):
    since = large_account(emu)
    fleet = Fleet(client_for(emu), [FIRST, 99999, FIRST + 1], 'slice', check_mode=True)
    fleet.ensure_present()
    assert fleet.errors[99999].as_dict()['code'] == 'not_found'
    assert str(fleet.errors[99999]) == 'server 99999 does not exist in this account'
    assert ('GET', '/api/v1/servers/99999/', 1) in reads(emu, since)
    assert not [entry for entry in reads(emu, since) if entry[1] == '/api/v1/servers/']


def test_the_whole_account_reads_its_list_once_without_reading_the_first_page_again(emu):
    emu.add_snapshot(server_id=FIRST, name='one')
    fleet = Fleet(client_for(emu), [FIRST, FIRST + 1, FIRST + 2], 'whole', check_mode=True)
    fleet.ensure_present()
    assert not fleet.reader.per_server
    # One page holds the account: one list; the servers without snapshots are checked with the servers list.
    assert reads(emu, 0) == [('GET', '/api/v1/snapshots/', 1), ('GET', '/api/v1/servers/', 1)]


def test_retention_shares_the_read_makes_room_on_a_full_server_first_and_prunes_the_others_after(emu):
    for index, name in enumerate(['fleet-1', 'fleet-2', 'fleet-3', 'fleet-4', 'other']):
        emu.add_snapshot(server_id=FIRST, name=name, status='completed', created_at='2025-01-0%dT00:00:00Z' % (index + 1))
    emu.add_snapshot(server_id=FIRST + 1, name='fleet-2', status='completed', created_at='2025-01-02T00:00:00Z')
    fleet = Fleet(client_for(emu), [FIRST, FIRST + 1], 'fleet-5')
    beyond = fleet.names_beyond('fleet-', 3)
    assert beyond == ['fleet-2', 'fleet-1']
    # FIRST is full: room first there, with the names a prune deletes anyway; FIRST + 1 keeps fleet-2 for now.
    assert fleet.prune(beyond, fleet.full_servers()) == ['fleet-2', 'fleet-1']
    assert sorted(snap['name'] for snap in emu.snapshots() if snap['server']['id'] == FIRST + 1) == ['fleet-2']
    snapshots = fleet.ensure_present(wait=True, timeout=30)
    assert not fleet.errors and fleet.changed
    assert [snap['status'] for snap in snapshots] == ['completed'] * 2
    assert fleet.prune(beyond, fleet.servers_done(snapshots)) == ['fleet-2']
    left = sorted((snap['server']['id'], snap['name']) for snap in emu.snapshots())
    assert left == [(FIRST, 'fleet-3'), (FIRST, 'fleet-4'), (FIRST, 'fleet-5'), (FIRST, 'other'), (FIRST + 1, 'fleet-5')]


def test_retention_keeps_the_old_names_of_a_server_that_did_not_get_its_new_snapshot(emu):
    for server_id in (FIRST, FIRST + 1):
        for day in (1, 2, 3):
            emu.add_snapshot(server_id=server_id, name='fleet-%d' % day, status='completed', created_at='2025-01-0%dT00:00:00Z' % day)
    fleet = Fleet(client_for(emu), [FIRST, FIRST + 1], 'fleet-4')
    beyond = fleet.names_beyond('fleet-', 2)
    assert beyond == ['fleet-2', 'fleet-1'] and fleet.prune(beyond, fleet.full_servers()) == []
    emu.update_server(FIRST + 1, status='restoring')  # the API refuses a snapshot of a server being restored
    snapshots = fleet.ensure_present(wait=True, timeout=30)
    assert list(fleet.errors) == [FIRST + 1]
    assert fleet.prune(beyond, fleet.servers_done(snapshots)) == ['fleet-2', 'fleet-1']
    left = sorted((snap['server']['id'], snap['name']) for snap in emu.snapshots() if snap['status'] == 'completed')
    assert left == [(FIRST, 'fleet-3'), (FIRST, 'fleet-4'), (FIRST + 1, 'fleet-1'), (FIRST + 1, 'fleet-2'), (FIRST + 1, 'fleet-3')]


def test_a_slice_whose_account_list_changes_under_every_pass_reads_its_servers_own_lists(emu):
    # The AWX slicing race: four slices of 40 servers, each pruning its own servers while the others read the
    # account-wide list (2 pages). Every pass over that list sees it change; retention must still see every
    # snapshot of its own servers, or an old name survives on some of them.
    emu.reset(servers=40)
    for day in range(1, 5):
        for server_id in range(FIRST, FIRST + 40):
            emu.add_snapshot(server_id=server_id, name='fleet-%d' % day, status='completed',
                             created_at='2024-01-%02dT03:00:00Z' % day)
    # Listed newest first, ties by the higher id: page 2 starts at fleet-2 of FIRST + 19, and each snapshot another
    # slice deletes on page 1 moves the next fleet-2 (FIRST + 18, 17, ...) up out of reach of a pass that reads on.
    own = list(range(FIRST + 1, FIRST + 40, 4))
    others = sorted(snap['id'] for snap in emu.snapshots() if snap['server']['id'] not in own)
    client, other_slice = client_for(emu), client_for(emu)
    plain_get = client.get

    def get_while_another_slice_prunes(path, params=None, **options):
        answer = plain_get(path, params, **options)
        if 'server_id' not in (params or {}):
            other_slice.delete('snapshots/%d/' % others.pop())
        return answer

    client.get = get_while_another_slice_prunes
    reader = SnapshotSource(client, own)
    listing = reader.read()
    assert not reader.per_server  # 2 pages cost less than 10 servers' lists
    assert sorted((snap['server']['id'], snap['name']) for snap in listing) == sorted(
        (server_id, 'fleet-%d' % day) for server_id in own for day in range(1, 5))
    # One pass over the account-wide list, which changed under it, then each server's own list (one page each).
    sent = [entry for entry in reads(emu, 0) if entry[0] == 'GET']
    assert sent[-10:] == [('GET', '/api/v1/snapshots/', 'server_id')] * 10
    assert len(sent) == 12


def test_a_slice_of_an_api_listing_oldest_first_never_trusts_a_pass_over_its_pages(emu):
    # Oldest first, a snapshot another run creates lands at the end: one delete on page 1 and one create keep the
    # count, yet move the first snapshot of page 2 (fleet-3 of FIRST + 20) onto page 1 after it was read.
    emu.reset(servers=40)
    emu.config(list_order='oldest_first')
    for day in range(1, 5):
        for server_id in range(FIRST, FIRST + 40):
            emu.add_snapshot(server_id=server_id, name='fleet-%d' % day, status='completed',
                             created_at='2024-01-%02dT03:00:00Z' % day)
    own = list(range(FIRST, FIRST + 40, 4))
    others = sorted(snap['id'] for snap in emu.snapshots() if snap['server']['id'] not in own)
    client, other_run = client_for(emu), client_for(emu)
    plain_get = client.get

    def get_while_another_run_writes(path, params=None, **options):
        answer = plain_get(path, params, **options)
        if 'server_id' not in (params or {}) and others:
            other_run.delete('snapshots/%d/' % others.pop(0))
            other_run.post('snapshots/', dict(server_id=FIRST + 1, name='other-run'))
            del others[:]
        return answer

    client.get = get_while_another_run_writes
    reader = SnapshotSource(client, own)
    listing = reader.read()
    assert reader.per_server and reader.mark is None
    assert sorted((snap['server']['id'], snap['name']) for snap in listing) == sorted(
        (server_id, 'fleet-%d' % day) for server_id in own for day in range(1, 5))


def test_retention_prunes_only_names_of_the_form_it_makes_and_reports_the_others(emu):
    names = ['fleet-20261101', 'fleet-manual-before-migration', 'fleet-20261102', 'fleet-2026110', 'fleet-20261103x']
    for index, name in enumerate(names):
        emu.add_snapshot(server_id=FIRST, name=name, status='completed', created_at='2026-11-0%dT00:00:00Z' % (index + 1))
    fleet = Fleet(client_for(emu), [FIRST], 'fleet-20261207')
    snapshots, pruned, unmanaged = fleet.ensure_present_keeping('fleet-', 1, wait=True, timeout=30)
    assert [snap['name'] for snap in snapshots] == ['fleet-20261207']
    assert pruned == ['fleet-20261102', 'fleet-20261101']
    assert unmanaged == ['fleet-20261103x', 'fleet-2026110', 'fleet-manual-before-migration']
    assert sorted(snap['name'] for snap in emu.snapshots()) == sorted(
        ['fleet-20261207', 'fleet-manual-before-migration', 'fleet-2026110', 'fleet-20261103x'])


def test_the_whole_account_list_over_pages_not_newest_first_is_read_server_by_server(hostile):
    """list_all (the info module without filters) trusted any settled pass; a list in another order is read per server."""
    oldest_first = [snap(900 + index, server_id=12345 + index % 2, name='s%d' % index,
                         created_at='2025-01-%02dT00:00:00Z' % (index + 1)) for index in range(5)]
    hostile.script([
        dict(method='GET', path='/api/v1/snapshots/', query='server_id=12345',
             json=dict(count=3, next=None, results=[item for item in oldest_first if item['server']['id'] == 12345])),
        dict(method='GET', path='/api/v1/snapshots/', query='server_id=12346',
             json=dict(count=2, next=None, results=[item for item in oldest_first if item['server']['id'] == 12346])),
        dict(method='GET', path='/api/v1/snapshots/', pages=oldest_first, page_size=2),
        dict(method='GET', path='/api/v1/servers/', json=dict(count=2, next=None, results=[
            dict(id=12345, name='web-01', status='active'), dict(id=12346, name='web-02', status='active')])),
    ])
    listed = list_snapshots(hostile_client(hostile))
    assert sorted(item['id'] for item in listed) == list(range(900, 905))
    paths = [entry['path'] for entry in hostile.log()]
    # The pass over the account-wide list (3 pages), then the servers list and each server's own list (read in parallel).
    assert len(paths) == 6 and paths[3] == '/api/v1/servers/?page_size=100'
    assert sorted(paths[4:]) == ['/api/v1/snapshots/?server_id=12345&page_size=100', '/api/v1/snapshots/?server_id=12346&page_size=100']
