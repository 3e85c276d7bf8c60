# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base and the shared option rules: absurd ids are refused before any request."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._module import check_options


@pytest.mark.parametrize('params, says', [
    (dict(server_id=True), 'server_id must be a positive integer, got true (a boolean)'),
    (dict(snapshot_id=2 ** 63), 'snapshot_id must be a positive integer, got 9223372036854775808 (more than 2^63 - 1)'),
    (dict(server_ids=[12345, False]), 'server_ids must be positive integers, got false (a boolean)'),
])
def test_absurd_ids_are_refused(params, says):
    with pytest.raises(VpsorgApiError) as failure:
        check_options(params)
    assert failure.value.code == 'invalid_input'
    assert str(failure.value) == says
