# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests speak real HTTP to the local API emulator, started once per session."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vpsorg.cloud.tests.emulator.harness import EmulatorControl, serve

TOKEN = 'vps_unit_test_token_abcdef'
OTHER_TOKEN = 'vps_unit_test_other_account'


@pytest.fixture(scope='session')
def emulator_instance():
    args = ['--quiet', '--token', TOKEN, '--token', OTHER_TOKEN, '--servers', '3', '--snapshot-seconds', '0.3',
            '--restore-seconds', '0.3', '--page-size', '2']
    with serve(args, in_thread=True) as running:
        yield running.server


@pytest.fixture
def emu(emulator_instance):
    control = EmulatorControl(emulator_instance.base_url)
    control.reset()
    return control
