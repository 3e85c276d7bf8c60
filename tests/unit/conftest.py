# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests speak real HTTP to the local API emulator, started once per session."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vpsorg.cloud.tests.emulator.emulator import Emulator
from ansible_collections.vpsorg.cloud.tests.emulator.harness import EmulatorControl

TOKEN = 'vps_unit_test_token_abcdef'
OTHER_TOKEN = 'vps_unit_test_other_account'


@pytest.fixture(scope='session')
def emulator_instance():
    emulator = Emulator(tokens=[TOKEN, OTHER_TOKEN], servers=3, snapshot_seconds=0.3, restore_seconds=0.3, page_size=2)
    emulator.start_in_thread()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(emulator_instance):
    control = EmulatorControl(emulator_instance.base_url)
    control.reset()
    return control
