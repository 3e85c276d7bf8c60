# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vpsorg.cloud.fleet_snapshot under ansible-runner, the token given only as a credential would: env/envvars."""

import json
import os
import time

from conftest import TOKEN, credential_type, finished, injected_env, job_events, read_artifact_files, run_runner, task_results, write_private_data_dir

INVENTORY_SOURCE = "plugin: vpsorg.cloud.vpsorg\n"


def test_the_credential_type_asks_for_a_secret_token_and_injects_both_variables():
    inputs = credential_type("inputs")
    fields = dict((field["id"], field) for field in inputs["fields"])
    assert sorted(fields) == ["api_token", "api_url"] and inputs["required"] == ["api_token"]
    assert fields["api_token"]["secret"] is True and not fields["api_url"].get("secret")
    assert injected_env(api_token="vps_x", api_url="http://127.0.0.1:1/api/v1") == {
        "VPSORG_API_TOKEN": "vps_x", "VPSORG_API_URL": "http://127.0.0.1:1/api/v1"}
    # AWX renders an input left empty as ''; the URL must then be the real API's, never an empty string.
    for empty in ({}, {"api_url": ""}):
        assert injected_env(api_token="vps_x", **empty)["VPSORG_API_URL"] == "https://admin.vps.org/api/v1"


def test_fleet_snapshot_runs_under_ansible_runner_and_no_artifact_holds_the_token(api, tmp_path):
    servers = api.state()["servers"]
    name = "fleet-runner-%d" % int(time.time())
    path = write_private_data_dir(str(tmp_path / "job"), api, {"vpsorg.yml": INVENTORY_SOURCE}, {"fleet_snapshot_name": name})

    rc, output, artifacts = finished(run_runner(path, "fleet"), path, "fleet")

    assert rc == 0, output
    with open(os.path.join(artifacts, "status")) as handle:
        assert handle.read().strip() == "successful"
    # The inventory plugin read the servers with the injected token, and every server got one completed snapshot.
    snapshots = [s for s in api.state()["snapshots"] if s["name"] == name]
    assert sorted(s["server"]["id"] for s in snapshots) == sorted(s["id"] for s in servers)
    assert {s["status"] for s in snapshots} == {"completed"}
    events = job_events(artifacts)
    stats = [e for e in events if e["event"] == "playbook_on_stats"][-1]["event_data"]
    assert stats["failures"] == {} and stats["dark"] == {}
    created = task_results(events, "Snapshot every server in one task and wait for all of them")
    assert created and created[0]["changed"] is True and len(created[0]["snapshots"]) == len(servers)
    # The token is in env/envvars, and nowhere in what the run printed or recorded: stdout, job events, status.
    # ansible-runner itself copies its whole input environment, env/envvars included, into artifacts/<ident>/command
    # (always, whatever --omit-env-files says), so that file is as secret as env/envvars; it is the only one.
    files = read_artifact_files(os.path.join(path, "artifacts"))
    assert any(name.endswith("/stdout") for name in files) and len([name for name in files if "/job_events/" in name]) > 10
    leaked = sorted(os.path.relpath(name, artifacts) for name, content in files.items() if TOKEN.encode() in content)
    assert leaked in ([], ["command"])
    assert TOKEN not in output
    with open(os.path.join(path, "env", "envvars")) as handle:
        envvars = json.load(handle)
    assert (envvars["VPSORG_API_TOKEN"], envvars["VPSORG_API_URL"]) == (TOKEN, api.url)


def test_a_second_run_the_same_day_changes_nothing(api, tmp_path):
    path = write_private_data_dir(str(tmp_path / "job"), api, {"vpsorg.yml": INVENTORY_SOURCE}, {"fleet_snapshot_name": "fleet-again"})
    assert finished(run_runner(path, "first"), path, "first")[0] == 0
    before = api.state()["snapshots"]

    rc, output, artifacts = finished(run_runner(path, "second"), path, "second")

    assert rc == 0, output
    assert api.state()["snapshots"] == before
    events = job_events(artifacts)
    assert task_results(events, "Snapshot every server in one task and wait for all of them")[0]["changed"] is False


def test_a_wrong_token_fails_the_job_without_showing_it(api, tmp_path):
    path = write_private_data_dir(str(tmp_path / "job"), api, {"vpsorg.yml": INVENTORY_SOURCE},
                                  credential={"api_token": "vps_wrong_token_for_awx_test", "api_url": api.url})
    envvars_path = os.path.join(path, "env", "envvars")
    with open(envvars_path) as handle:
        envvars = json.load(handle)
    # Without it a source that fails to parse is a warning, and the job succeeds on no hosts.
    envvars["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
    with open(envvars_path, "w") as handle:
        json.dump(envvars, handle)

    rc, output, _artifacts = finished(run_runner(path, "wrong"), path, "wrong")

    assert rc != 0
    assert "HTTP 401" in output
    files = read_artifact_files(os.path.join(path, "artifacts"))
    assert not any(b"vps_wrong_token_for_awx_test" in content for name, content in files.items() if not name.endswith("/command"))
    assert "vps_wrong_token_for_awx_test" not in output
    assert api.state()["snapshots"] == []
