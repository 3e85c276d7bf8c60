# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options are checked locally, before any request, and never show the token."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError


@pytest.mark.parametrize('url, token, timeout, retries, says', [
    ('https://admin.vps.org/api/v1', '', 30, 5, 'no API token'),
    ('https://admin.vps.org/api/v1', None, 30, 5, 'no API token'),
    ('https://admin.vps.org/api/v1', 'two words', 30, 5, 'one word of printable ASCII'),
    ('admin.vps.org/api/v1', 'vps_x', 30, 5, 'must be an http:// or https:// URL'),
    ('ftp://admin.vps.org/api/v1', 'vps_x', 30, 5, 'must be an http:// or https:// URL'),
    ('https://admin.vps.org:99999/api/v1', 'vps_x', 30, 5, 'invalid port'),
    ('https://admin.vps.org/api/v1', 'vps_x', 0, 5, 'api_timeout must be a positive'),
    ('https://admin.vps.org/api/v1', 'vps_x', 30, -1, 'api_retries must be zero or more'),
])
def test_settings_are_checked_before_any_request(url, token, timeout, retries, says):
    with pytest.raises(VpsorgApiError) as failure:
        build_client(url, token, True, timeout, retries)
    assert says in str(failure.value)
    assert failure.value.code == 'config_error'


def test_url_with_the_token_in_it_is_redacted():
    with pytest.raises(VpsorgApiError) as failure:
        build_client('vps_leaky/api', 'vps_leaky', True, 30, 5)
    assert 'vps_leaky' not in str(failure.value)
