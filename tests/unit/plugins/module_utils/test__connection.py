# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options are checked locally, before any request, and never show the token."""

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._pages import read_all
from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN


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


@pytest.mark.parametrize('url, timeout, retries, says', [
    ('http://user:hunter2@{host}/api/v1', 30, 5, 'must not contain a user name or password'),
    ('http://{host}/api/v1?page=2', 30, 5, 'must not contain a query string'),
    ('http://{host}/api/v1?', 30, 5, 'must not contain a query string'),
    ('http://{host}/api/v1#top', 30, 5, 'must not contain a query string or a fragment'),
    ('http://{host}/api/v1/../v2', 30, 5, "must not contain '.', '..'"),
    ('http://{host}/api/./v1', 30, 5, "must not contain '.', '..'"),
    ('http://{host}\\@evil/api/v1', 30, 5, 'without spaces or backslashes'),
    ('http://{host}/api v1', 30, 5, 'without spaces or backslashes'),
    ('http://{host}/api/v1', 100000000000, 5, 'api_timeout must be at most 3600'),
    ('http://{host}/api/v1', True, 5, 'api_timeout must be a whole number'),
    ('http://{host}/api/v1', 30, True, 'api_retries must be a whole number'),
    ('http://{host}/api/v1', 30, 10 ** 9, 'api_retries must be at most 100'),
])
def test_bad_settings_are_refused_before_any_request(hostile, url, timeout, retries, says):
    url = url.replace('{host}', '127.0.0.1:%d' % hostile.api.server_port)
    with pytest.raises(VpsorgApiError) as failure:
        read_all(build_client(url, TOKEN, True, timeout, retries), 'snapshots/')
    assert failure.value.code == 'config_error'
    assert says in str(failure.value)
    assert 'hunter2' not in str(failure.value)
    assert hostile.log() == []


def test_an_ipv6_api_url_is_accepted():
    """urllib3 keeps an IPv6 host in brackets and urlsplit drops them: that is not a disagreement."""
    assert build_client('http://[::1]:8080/api/v1', TOKEN).api_url == 'http://[::1]:8080/api/v1'
