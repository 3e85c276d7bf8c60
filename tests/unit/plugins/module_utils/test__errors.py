# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error vocabulary: every code raised in plugins/ is in the table, and the table is what users read."""

import os
import re

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils import _errors
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import ERROR_CODES, VpsorgApiError

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..')
MODULES = ('vpsorg_snapshot', 'vpsorg_snapshot_info')


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as handle:
        return handle.read()


def plugin_sources():
    for directory, dummy, files in os.walk(os.path.join(ROOT, 'plugins')):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(directory, name)
                yield os.path.relpath(path, ROOT), read(path)


def test_every_code_constant_is_in_the_table_and_every_table_entry_has_a_constant():
    constants = dict((name, value) for name, value in vars(_errors).items() if name.isupper() and isinstance(value, str))
    assert sorted(constants.values()) == sorted(ERROR_CODES)


def test_every_code_spelled_in_plugins_is_in_the_table():
    spelled = set()
    for path, source in plugin_sources():
        for code in re.findall(r"""\bcode\s*=\s*['"]([a-z_]+)['"]""", source):
            assert code in ERROR_CODES, '%s raises code %r, which is not in _errors.ERROR_CODES' % (path, code)
            spelled.add(code)
    assert spelled  # the client's request code spells its codes as literals


def test_docs_list_exactly_the_codes_of_the_table():
    documented = re.findall(r'^\| `([a-z_]+)` \| (?:both|`vpsorg_snapshot`) \|', read('docs', 'errors.md'), re.MULTILINE)
    assert sorted(documented) == sorted(ERROR_CODES)


@pytest.mark.parametrize('module', MODULES)
def test_each_module_documents_only_codes_of_the_table(module):
    source = read('plugins', 'modules', module + '.py')
    returned = source[source.index('RETURN = '):]
    block = returned[returned.index('\nerror:'):]
    documented = set(re.findall(r'(?<![A-Z])V\(([a-z_]+)\)', block))
    assert documented and documented <= set(ERROR_CODES)


def test_every_failure_has_the_same_error_keys():
    bare = VpsorgApiError('no request involved', code='invalid_input')
    assert bare.failure() == dict(msg='no request involved', error=dict(code='invalid_input', status=None, method=None, path=None))
    http = VpsorgApiError('GET /x failed', status=500, method='GET', path='/x', details=dict(limit=5), results=dict(snapshots=[]))
    assert http.failure() == dict(msg='GET /x failed', snapshots=[], error=dict(code='http_error', status=500, method='GET', path='/x', limit=5))
