# -*- coding: utf-8 -*-
# Copyright: (c) 2025, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: one in-process emulator for the session, reset before every test."""

import pytest
import requests

from .harness import EmulatorControl, serve

TOKEN_A = "vps_test_token_account_a"
TOKEN_B = "vps_test_token_account_b"
SNAPSHOT_SECONDS = 0.3
RESTORE_SECONDS = 0.3


class EmulatorClient:
    """Real HTTP to the emulator's API, and its control endpoints through the shared harness."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.base_url = emulator.base_url
        self.control_url = emulator.control_url
        self.token_a, self.token_b = TOKEN_A, TOKEN_B
        self.snapshot_seconds, self.restore_seconds = SNAPSHOT_SECONDS, RESTORE_SECONDS
        # Every control answer is kept, to check that no token leaks into one.
        self.control_client = EmulatorControl(emulator.base_url, keep_answers=True)

    def api(self, method, path, token=TOKEN_A, **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers.setdefault("Authorization", "Bearer %s" % token)
        headers.setdefault("Content-Type", "application/json")
        url = path if path.startswith("http") else self.base_url + path
        return requests.request(method, url, headers=headers, timeout=10, **kwargs)

    def control(self, method, path, payload=None, expected=(200, 201)):
        return self.control_client.call(method, path, payload, expected)

    def create(self, server_id, name, token=TOKEN_A, **extra):
        return self.api("POST", "/snapshots/", token=token, json=dict(server_id=server_id, name=name, **extra))

    def seed_snapshot(self, **fields):
        return self.control("POST", "/snapshots", fields)

    def state(self, account=0):
        return self.control("GET", "/state")["accounts"][account]


@pytest.fixture(scope="session")
def emulator_instance():
    args = ["--quiet", "--token", TOKEN_A, "--token", TOKEN_B, "--servers", "3", "--snapshot-seconds", str(SNAPSHOT_SECONDS),
            "--restore-seconds", str(RESTORE_SECONDS)]
    with serve(args, in_thread=True) as running:
        yield running.server


@pytest.fixture
def emu(emulator_instance):
    client = EmulatorClient(emulator_instance)
    client.control("POST", "/reset")
    yield client
    for text in client.control_client.answers:
        assert TOKEN_A not in text and TOKEN_B not in text
