# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Job slicing: 4 concurrent ansible-runner runs of fleet_snapshot, each on one slice of the same inventory.

As AWX slices a job: the inventory is imported once (ansible-inventory --list --export over the plugin), and
slice k of 4 runs on hosts k, k+4, k+8... with the same fleet snapshot name. Every server starts with old fleet
snapshots to prune, and the account holds more snapshots than one page (cap 100), so each slice pages through
the account-wide list while the others delete. The race is timing-dependent: the test repeats it
(AWX_SLICING_ROUNDS, default 8) and reports every round that went wrong.
"""

import json
import os
import subprocess

from conftest import finished, job_env, job_events, run_runner, task_results, write_private_data_dir, TOKEN

SERVERS = 40
SLICES = 4
OLD_NAMES = ("fleet-20240101", "fleet-20240102", "fleet-20240103", "fleet-20240104")
KEEP = 3  # the new name and the two newest old ones: fleet-20240101 and fleet-20240102 go
# Of the form the fleet playbook names its snapshots (prefix + a date): retention prunes only names of that form.
NEW_NAME = "fleet-20240105"
ROUNDS = int(os.environ.get("AWX_SLICING_ROUNDS", "8"))


def seed(api):
    api.reset(servers=SERVERS)
    api.config(max_page_size=100, snapshot_seconds=1)
    servers = api.state()["servers"]
    for day, name in enumerate(OLD_NAMES, start=1):
        for server in servers:
            api.add_snapshot(server_id=server["id"], name=name, created_at="2024-01-%02dT03:00:00Z" % day)
    return servers


def imported_inventory(api, directory):
    """The inventory as AWX imports it: ansible-inventory --list --export over the plugin."""
    source = os.path.join(directory, "source.vpsorg.yml")
    with open(source, "w") as handle:
        handle.write("plugin: vpsorg.cloud.vpsorg\n")
    env = dict(job_env(), VPSORG_API_TOKEN=TOKEN, VPSORG_API_URL=api.url, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    listed = subprocess.run(["ansible-inventory", "-i", source, "--list", "--export"], env=env, capture_output=True, text=True,
                            timeout=300, check=True)
    return json.loads(listed.stdout)["_meta"]["hostvars"]


def slice_inventory(hostvars, index):
    hosts = sorted(hostvars)[index::SLICES]
    return {"hosts.json": json.dumps({"all": {"hosts": dict((host, hostvars[host]) for host in hosts)}})}, hosts


def run_round(api, directory):
    """One sliced job; returns the problems found (empty when the round was right)."""
    servers = seed(api)
    hostvars = imported_inventory(api, directory)
    assert all(isinstance(value, (str, int)) for host in hostvars.values() for value in host.values())
    start = api.requests()[-1]["seq"] if api.requests() else 0
    jobs = []
    for index in range(SLICES):
        inventory, hosts = slice_inventory(hostvars, index)
        path = write_private_data_dir(os.path.join(directory, "slice%d" % index), api, inventory,
                                      {"fleet_snapshot_name": NEW_NAME, "fleet_snapshot_keep": KEEP})
        jobs.append((index, path, set(hostvars[host]["vpsorg_server_id"] for host in hosts), run_runner(path, "slice%d" % index)))

    problems = []
    for index, path, own_ids, process in jobs:
        rc, output, artifacts = finished(process, path, "slice%d" % index)
        if rc != 0:
            failed = [line for line in output.splitlines() if "fatal" in line or "FAILED" in line]
            problems.append("slice %d failed (rc %d): %s" % (index, rc, " | ".join(failed)[:600]))
            continue
        events = job_events(artifacts)
        # Retention runs in the snapshot task, on its own read (keep / keep_prefix): pruned_names says what it deleted.
        created = task_results(events, "Snapshot every server in one task and wait for all of them")
        touched = set(s["server"]["id"] for result in created for s in result.get("snapshots", []))
        if not touched <= own_ids:
            problems.append("slice %d touched other slices' servers %s" % (index, sorted(touched - own_ids)))
        pruned = sorted(name for result in created for name in result.get("pruned_names", []))
        if pruned != list(OLD_NAMES[:len(OLD_NAMES) + 1 - KEEP]):
            problems.append("slice %d pruned %s" % (index, pruned))

    state = api.state()
    for server in servers:
        names = sorted(s["name"] for s in state["snapshots"] if s["server"]["id"] == server["id"])
        new = [s for s in state["snapshots"] if s["server"]["id"] == server["id"] and s["name"] == NEW_NAME]
        if names != sorted(OLD_NAMES[len(OLD_NAMES) + 1 - KEEP:] + (NEW_NAME,)) or [s["status"] for s in new] != ["completed"]:
            problems.append("server %d ends with %s" % (server["id"], names))
    deletes = [r for r in api.requests(start) if r["method"] == "DELETE"]
    if len([r for r in deletes if r["status"] == 204]) != SERVERS * (len(OLD_NAMES) + 1 - KEEP) or len(deletes) != len(
            [r for r in deletes if r["status"] == 204]):
        problems.append("DELETE answers: %s" % sorted(set((r["status"], len([d for d in deletes if d["status"] == r["status"]])) for r in deletes)))
    return problems


def test_four_slices_snapshot_their_own_servers_once_and_prune_only_their_own(api, tmp_path):
    failures = []
    for round_number in range(ROUNDS):
        directory = tmp_path / ("round%d" % round_number)
        directory.mkdir()
        problems = run_round(api, str(directory))
        if problems:
            failures.append("round %d: %s" % (round_number + 1, "; ".join(problems[:6])))
    assert failures == [], "%d of %d rounds went wrong:\n%s" % (len(failures), ROUNDS, "\n".join(failures))
