# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in this process, the way ansible-playbook hands it its arguments, against the emulator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN


class ModuleRun:
    """Runs one module; each call returns the task result (the JSON the module printed) as a dict."""

    def __init__(self, module, base_url, capsys):
        self.module = module
        self.base_url = base_url
        self.capsys = capsys
        self.outputs = []

    def __call__(self, **args):
        # What a play's module_defaults for group/vpsorg.cloud.vpsorg give every task, and the name the controller
        # passes (it names the module in "Unsupported parameters" messages).
        params = dict(api_url=self.base_url, api_token=TOKEN, _ansible_module_name='vpsorg.cloud.' + self.module.__name__.rsplit('.', 1)[1])
        params.update(args)
        with patch_module_args(params), pytest.raises(SystemExit):
            self.module.main()
        output = self.capsys.readouterr().out
        self.outputs.append(output)
        result = json.loads(output)
        result.setdefault('failed', False)
        result.setdefault('changed', False)
        return result


def one_clear_line(result, *secrets):
    """A failed result whose message is one line, with no traceback and none of the secrets anywhere in it."""
    text = json.dumps(result, ensure_ascii=False)
    return (result['failed'] and '\n' not in result['msg'] and 'Traceback' not in text
            and not [secret for secret in (TOKEN,) + secrets if secret in text])


@pytest.fixture
def run_module(emu, capsys):
    """run_module(module) -> a ModuleRun of that module against the emulator (reset for each test)."""
    return lambda module: ModuleRun(module, emu.base_url, capsys)
