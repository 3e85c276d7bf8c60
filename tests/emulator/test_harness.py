# -*- coding: utf-8 -*-
# Copyright: (c) 2025, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness that tests, scripts and benchmarks share: its command line, control client and certificates."""

import json
import os
import shutil
import ssl
import subprocess
import sys

import pytest
import requests

from .harness import EmulatorControl, HarnessError, is_running, serve, write_self_signed_certificate

HARNESS_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness.py")


def harness(*args):
    return subprocess.run([sys.executable, HARNESS_PY] + list(args), capture_output=True, text=True, timeout=60, check=False)


def test_cli_starts_seeds_and_stops_a_background_emulator(tmp_path):
    state = str(tmp_path / "emulator")
    started = harness("start", state, "--port", "0", "--quiet", "--token", "vps_harness_token", "--servers", "1")
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1")
    pid = int((tmp_path / "emulator" / "pid").read_text())
    try:
        seeded = harness("seed", url, json.dumps({"servers": ["extra"], "on_each_server": ["a", "b"], "snapshots": [
            {"server_id": 12345, "name": "pending", "status": "in_progress", "complete_after": None}]}))
        assert json.loads(seeded.stdout) == {"servers": [12346], "snapshots": [801, 802, 803]}
        listed = requests.get(url + "/snapshots/?server_id=12346", headers={"Authorization": "Bearer vps_harness_token"}, timeout=10)
        assert [s["name"] for s in listed.json()["results"]] == ["b", "a"]
        counters = harness("control", url.replace("/api/v1", "/_emulator"), "GET", "counters")
        assert json.loads(counters.stdout)["total"] == 1
        missing = harness("control", url, "GET", "nowhere")
        assert missing.returncode == 1 and missing.stderr.startswith("harness.py control: emulator GET /_emulator/nowhere answered 404")
    finally:
        stopped = harness("stop", state)
    assert stopped.returncode == 0 and not is_running(pid)
    assert not os.path.exists(os.path.join(state, "pid"))


def test_cli_start_reports_an_emulator_that_exits(tmp_path):
    failed = harness("start", str(tmp_path), "--servers", "many")
    assert failed.returncode == 1
    assert failed.stderr.startswith("harness.py start: the emulator exited with status 2 before it printed its URL")
    assert "invalid int value: 'many'" in failed.stderr


def test_process_and_control_client(tmp_path):
    with serve(["--port", "0", "--quiet", "--servers", "2", "--snapshot-seconds", "0"], str(tmp_path)) as process:
        control = process.control
        assert control.base_url == process.url and control.control_url == process.url[:-len("/api/v1")] + "/_emulator"
        assert [s["id"] for s in control.reset(servers=4)["accounts"][0]["servers"]] == [12345, 12346, 12347, 12348]
        control.add_snapshot(server_id=12348, name="x")
        control.config(page_size=1)
        assert control.faults(rate=1.0, statuses=[503])["statuses"] == [503]
        assert control.clear_faults()["rate"] == 0
        assert control.update_server(12348, status="stopped")["status"] == "stopped"
        assert [s["name"] for s in control.snapshots()] == ["x"]
        with pytest.raises(HarnessError, match="answered 400"):
            control.config(page_size=0)
        assert control.call("POST", "config", {"page_size": 0}, expected=(400,)) == {"page_size": ["Expected a int >= 1."]}
        assert control.counters()["total"] == 0 and control.requests() == []
    assert process.process.returncode == 0


@pytest.mark.parametrize("tool", ["openssl", "cryptography"])
def test_both_certificate_tools_make_a_certificate_a_server_can_load(tmp_path, tool):
    if tool == "openssl" and not shutil.which("openssl"):
        pytest.skip("no openssl CLI on this machine")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    assert write_self_signed_certificate(cert, key, tool) == tool
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    with serve(["--port", "0", "--quiet", "--certfile", cert, "--keyfile", key], str(tmp_path), cafile=cert) as process:
        assert process.url.startswith("https://127.0.0.1:")
        assert process.control.state()["accounts"][0]["snapshots"] == []
        assert requests.get(process.url + "/servers/", headers={"Authorization": "Bearer vps_emulator_token"}, verify=cert,
                            timeout=10).json()["count"] == 3


def test_unknown_certificate_tool(tmp_path):
    with pytest.raises(HarnessError, match="unknown certificate tool 'gnutls'"):
        write_self_signed_certificate(str(tmp_path / "c"), str(tmp_path / "k"), "gnutls")


def test_control_url_forms():
    for url in ("http://127.0.0.1:1/api/v1", "http://127.0.0.1:1/api/v1/", "http://127.0.0.1:1/_emulator"):
        control = EmulatorControl(url)
        assert (control.base_url, control.control_url) == ("http://127.0.0.1:1/api/v1", "http://127.0.0.1:1/_emulator")


def test_serve_in_a_thread_takes_the_same_options_as_the_script():
    with serve(["--quiet", "--token", "vps_thread_token", "--servers", "2", "--page-size", "1"], in_thread=True) as running:
        assert running.url == running.server.base_url and running.url.startswith("http://127.0.0.1:")
        listed = requests.get(running.url + "/servers/", headers={"Authorization": "Bearer vps_thread_token"}, timeout=10).json()
        assert listed["count"] == 2 and len(listed["results"]) == 1
        assert running.control.counters()["total"] == 1
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url + "/servers/", timeout=5)


@pytest.mark.parametrize("in_thread", [True, False], ids=["thread", "process"])
def test_serve_starts_the_hostile_api_the_same_way(tmp_path, in_thread):
    with serve((), str(tmp_path), server="hostile", in_thread=in_thread) as running:
        assert running.url.startswith("http://127.0.0.1:") and running.url.endswith("/api/v1") and running.control is None
        control = running.url[:-len("/api/v1")] + "/_hostile"
        script = [{"method": "GET", "path": "/api/v1/servers/", "status": 418, "json": {"detail": "teapot"}}]
        assert requests.post(control + "/routes", json=script, timeout=10).status_code == 200
        answer = requests.get(running.url + "/servers/", headers={"Authorization": "Bearer x"}, timeout=10)
        assert (answer.status_code, answer.json()) == (418, {"detail": "teapot"})
        log = requests.get(control + "/log", timeout=10).json()["requests"]
        assert [(entry["method"], entry["path"], entry["authorization"]) for entry in log] == [("GET", "/api/v1/servers/", True)]
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url + "/servers/", timeout=5)


def test_cli_starts_and_stops_the_hostile_api(tmp_path):
    state = str(tmp_path / "hostile")
    started = harness("start", "--server", "hostile", state)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1")
    pid = int((tmp_path / "hostile" / "pid").read_text())
    assert requests.get(url[:-len("/api/v1")] + "/_hostile/log", timeout=10).json() == {"requests": []}
    stopped = harness("stop", state)
    assert stopped.returncode == 0 and not is_running(pid)


def test_serve_refuses_what_it_cannot_start(tmp_path):
    with pytest.raises(HarnessError, match="unknown server 'other'"):
        with serve((), str(tmp_path), server="other"):
            pass
    with pytest.raises(HarnessError, match="needs a directory"):
        with serve(()):
            pass
    with pytest.raises(HarnessError, match="takes no server options"):
        with serve(["--lifetime", "5"], server="hostile", in_thread=True):
            pass
