# -*- coding: utf-8 -*-
# Copyright: (c) 2025, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server shapes switch: the servers endpoints answer in the shapes seen in the wild."""

import subprocess
import sys

import pytest
import requests

from .emulator import SERVER_SHAPES, Emulator
from .harness import EMULATOR_SCRIPT as EMULATOR_PY


def servers_and_detail(emu):
    listed = emu.api("GET", "/servers/").json()["results"]
    detail = emu.api("GET", "/servers/%d/" % listed[0]["id"]).json()
    return listed, detail


def test_flat_is_the_default(emu):
    listed, detail = servers_and_detail(emu)
    assert listed[0] == detail == emu.state()["servers"][0]
    assert isinstance(detail["ip_address"], str) and isinstance(detail["location"], str)


def test_names_shape_has_an_address_list_and_name_fields(emu):
    flat = emu.state()["servers"]
    assert emu.control("POST", "/config", {"server_shape": "names"})["server_shape"] == "names"
    listed, detail = servers_and_detail(emu)
    assert listed[0] == detail
    for entry, server in zip(listed, flat):
        assert entry["ipv4_addresses"] == [server["ip_address"]]
        assert (entry["location_name"], entry["plan_name"], entry["os_name"]) == (server["location"], server["plan"], server["os"])
        assert not {"ip_address", "location", "plan", "os"} & set(entry)


def test_nested_shape_has_objects_with_names(emu):
    flat = emu.state()["servers"]
    emu.control("POST", "/config", {"server_shape": "nested"})
    listed, detail = servers_and_detail(emu)
    assert listed[0] == detail
    for entry, server in zip(listed, flat):
        assert entry["ip_address"] == server["ip_address"]
        for key in ("location", "plan", "os"):
            assert entry[key]["name"] == server[key] and isinstance(entry[key]["id"], int)


def test_shape_leaves_snapshots_and_state_alone_and_reset_restores_it(emu):
    emu.control("POST", "/config", {"server_shape": "names"})
    created = emu.create(12345, "shaped").json()
    assert created["server"] == {"id": 12345, "name": "web-server-01"}
    assert emu.state()["servers"][0]["location"] == "nyc1"
    emu.control("POST", "/reset")
    assert emu.control("GET", "/config")["server_shape"] == "flat"


def test_unknown_shape_is_refused_and_changes_nothing(emu):
    answer = requests.post(emu.control_url + "/config", json={"server_shape": "xml", "page_size": 3}, timeout=10)
    assert answer.status_code == 400
    assert answer.json() == {"server_shape": ["Expected one of %s." % ", ".join(SERVER_SHAPES)]}
    assert emu.control("GET", "/config")["page_size"] != 3


def test_constructor_and_cli_take_the_shape():
    with Emulator(server_shape="nested") as emulator:
        detail = requests.get(emulator.base_url + "/servers/12345/", headers={"Authorization": "Bearer vps_emulator_token"},
                              timeout=10).json()
        assert detail["plan"]["name"] == "vps-2gb"
    refused = subprocess.run([sys.executable, EMULATOR_PY, "--server-shape", "xml"], capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 2 and "invalid choice: 'xml'" in refused.stderr


@pytest.mark.parametrize("shape", SERVER_SHAPES)
def test_every_shape_paginates(emu, shape):
    emu.control("POST", "/config", {"server_shape": shape, "page_size": 2})
    first = emu.api("GET", "/servers/").json()
    second = emu.api("GET", first["next"]).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and len(second["results"]) == 1
