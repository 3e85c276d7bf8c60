# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One attempt, one deadline: an answer that trickles in a byte at a time still ends at api_timeout."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._api import list_servers
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.conftest import hostile_client, page


@pytest.mark.parametrize('trickle_headers, close_delimited', [(False, False), (True, False), (False, True)])
def test_a_trickling_answer_times_out_within_api_timeout(hostile, trickle_headers, close_delimited):
    # 0.4 s per byte: every socket read gets data long before api_timeout, but the whole answer takes minutes.
    # A close-delimited answer (no Content-Length) is the case where http.client lets go of the socket early.
    hostile.script([dict(method='GET', path='/api/v1/servers/', json=page([dict(id=12345, name='x' * 200)]),
                         trickle=0.4, trickle_headers=trickle_headers, close_delimited=close_delimited)])
    with pytest.raises(VpsorgApiError) as failure:
        list_servers(hostile_client(hostile, timeout=2))
    assert failure.value.code == 'timeout'
    assert 'no answer within 2 seconds (api_timeout)' in str(failure.value)
