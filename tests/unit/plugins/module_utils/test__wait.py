# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiter (bounded by time, backing off) and its snapshot target against the running emulator."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._wait import wait_for, SnapshotsTarget
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN


def client_for(emu, retries=6):
    return build_client(emu.base_url, TOKEN, True, 5, retries)


class _Target:
    """A wait target that is reached after a given number of polls."""

    def __init__(self, polls_needed):
        self.polls = 0
        self.polls_needed = polls_needed

    def poll(self):
        self.polls += 1
        return self.polls >= self.polls_needed


def test_the_waiter_gives_up_at_the_deadline_with_a_backing_off_schedule():
    clock = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    target = _Target(polls_needed=1000)
    assert wait_for(target, 30, sleep=sleep, clock=lambda: clock[0]) is False
    # Polls back off: two seconds at first, a fifth of the time waited later, never past the deadline.
    assert sleeps[0] == 2.0
    assert max(sleeps) <= 15.0
    assert abs(sum(sleeps) - 30.0) < 1e-9
    assert len(sleeps) < 20
    assert target.polls == len(sleeps) + 1


def test_the_waiter_returns_as_soon_as_the_target_is_reached():
    target = _Target(polls_needed=2)
    assert wait_for(target, 10, sleep=lambda seconds: None) is True
    assert target.polls == 2


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
