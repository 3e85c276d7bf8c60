# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests speak real HTTP to the local API emulator, started once per session."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'emulator'))

from emulator import Emulator  # noqa: E402 pylint: disable=wrong-import-position,import-error

TOKEN = 'vps_unit_test_token_abcdef'
OTHER_TOKEN = 'vps_unit_test_other_account'


class Control(object):
    """The emulator's control endpoints, for arranging faults and reading what the client sent."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.base_url = emulator.base_url

    def call(self, method, path, payload=None):
        response = requests.request(method, self.emulator.control_url + path, json=payload, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def requests(self):
        return self.call('GET', '/requests')['requests']

    def faults(self, **settings):
        return self.call('POST', '/faults', settings)

    def add_snapshot(self, **fields):
        return self.call('POST', '/snapshots', fields)

    def config(self, **settings):
        return self.call('POST', '/config', settings)


@pytest.fixture(scope='session')
def emulator_instance():
    emulator = Emulator(tokens=[TOKEN, OTHER_TOKEN], servers=3, snapshot_seconds=0.3, restore_seconds=0.3, page_size=2)
    emulator.start_in_thread()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(emulator_instance):
    control = Control(emulator_instance)
    control.call('POST', '/reset')
    return control
