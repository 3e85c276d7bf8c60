# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vpsorg_snapshot_info's main() against the emulator: bad input, retries that run out, timeouts.

Moved from the reliability integration target (bad_input.yml, exhausted.yml, timeouts.yml), where each case cost an
ansible-playbook task; the assertions are the same. What only Ansible shows stays there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

import pytest

from ansible_collections.vpsorg.cloud.plugins.modules import vpsorg_snapshot_info
from ansible_collections.vpsorg.cloud.tests.unit.plugins.modules.conftest import one_clear_line

UNICODE_TOKEN = 'vps_tökén_ünicode'

BAD_INPUT = [
    ({'server_id': 'abc'}, "argument 'server_id' is of type str and we were unable to convert to int"),
    ({'server_id': 1.5}, "argument 'server_id' is of type float and we were unable to convert to int"),
    ({'server_id': -3}, 'server_id must be a positive integer, got -3'),
    ({'snapshot_ids': [801, 'x']}, 'snapshot_ids'),
    ({'name': ''}, "name '' is invalid"),
    ({'name': 'snäpshot'}, "name 'snäpshot' is invalid"),
    ({'name': '../../etc/passwd'}, "name '../../etc/passwd' is invalid"),
    ({'status': 'done'}, 'value of status must be one of: in_progress, completed, got: done'),
    ({'wait': 'perhaps'}, "argument 'wait' is of type str and we were unable to convert to bool"),
    ({'wait_timeout': 'soon'}, "argument 'wait_timeout' is of type str and we were unable to convert to int"),
    ({'server': 12345}, 'Unsupported parameters for (vpsorg.cloud.vpsorg_snapshot_info) module: server'),
    ({'api_url': 'http://'}, 'api_url must be an http:// or https:// URL'),
    ({'api_url': 'https://admin.vps.org:99999/api/v1'}, 'api_url has an invalid port'),
    ({'api_url': ''}, 'api_url must be an http:// or https:// URL'),
    ({'api_token': UNICODE_TOKEN}, 'api_token must be one word of printable ASCII characters'),
    ({'api_token': 'vps_two words'}, 'api_token must be one word of printable ASCII characters'),
    ({'api_retries': -1}, 'api_retries must be zero or more, got -1'),
    ({'api_timeout': -5}, 'api_timeout must be a positive number of seconds, got -5'),
    ({'validate_certs': 'maybe'}, "argument 'validate_certs' is of type str and we were unable to convert to bool"),
]


@pytest.fixture
def info(run_module):
    return run_module(vpsorg_snapshot_info)


@pytest.mark.parametrize('args, says', BAD_INPUT, ids=[says for _args, says in BAD_INPUT])
def test_bad_input_is_refused_in_one_line_before_any_request(emu, info, args, says):
    result = info(**args)
    assert result['failed'] and says in result['msg'], result
    assert one_clear_line(result, UNICODE_TOKEN)
    assert emu.requests() == []


def test_retries_that_run_out_fail_in_one_line_naming_the_last_status(emu, info):
    emu.faults(rate=1.0, statuses=[503])
    gave_up_503 = info(api_retries=2)
    emu.faults(rate=1.0, statuses=[429], retry_after=1)
    gave_up_429 = info(api_retries=2)
    emu.faults(drop_rate=1.0)
    gave_up_drop = info(api_retries=1)
    emu.clear_faults()
    assert re.match(r'GET /api/v1/snapshots/ failed. HTTP 503. non-JSON answer. 503 Service Unavailable \(gave up after 3 attempts\)$',
                    gave_up_503['msg'])
    assert gave_up_503['error']['status'] == 503
    assert re.search(r'failed. HTTP 429. .*\(gave up after 3 attempts\)$', gave_up_429['msg'])
    assert gave_up_429['error']['status'] == 429
    assert re.search(r'cannot reach the API at .*\(gave up after 2 attempts\)$', gave_up_drop['msg'])
    assert gave_up_drop['error']['code'] == 'connection_error'
    assert all(one_clear_line(result) for result in (gave_up_503, gave_up_429, gave_up_drop))
    # 429s are retried only after Retry-After: three attempts span two seconds or more.
    throttled = [entry for entry in emu.requests() if entry['status'] == 429]
    assert throttled[-1]['time'] - throttled[0]['time'] >= 2.0


def test_an_api_slower_than_api_timeout_fails_clearly(emu, info):
    emu.faults(latency=2)
    too_slow = info(api_timeout=1, api_retries=1)
    # The emulator still finishes both slow answers: wait for them, so that they land in this test's log only.
    deadline = time.monotonic() + 10
    while len(emu.requests()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    emu.clear_faults()
    assert re.match(r'GET /api/v1/snapshots/ failed. no answer within 1 seconds \(api_timeout\) \(gave up after 2 attempts\)$',
                    too_slow['msg'])
    assert too_slow['error']['code'] == 'timeout'
    assert one_clear_line(too_slow)


def test_a_wait_that_reaches_wait_timeout_names_what_is_still_in_progress(emu, info):
    # What timeouts.yml's module runs had left in progress when it waited for the whole account.
    emu.add_snapshot(server_id=12345, name='slow-one', status='in_progress', complete_after=None)
    emu.add_snapshot(server_id=12346, name='slow-fleet', status='in_progress', complete_after=None)
    slow_info = info(wait=True, wait_timeout=1)
    assert slow_info['failed']
    assert re.search(r'timed out after 1 seconds \(wait_timeout\) waiting for snapshot\(s\) still in progress. ', slow_info['msg'])
    assert 'slow-one' in slow_info['msg'] and 'slow-fleet' in slow_info['msg']
    assert one_clear_line(slow_info)
