# -*- coding: utf-8 -*-
# Copyright: (c) 2026, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make integration-live` against a second, independently written API implementation (second_api.py).

The account holds one snapshot of its own on every test server (and on the restore server, and on a server the
tests are not given). The integration targets run in live mode against it; afterwards the account must be exactly
as before, and the request log must show that nothing that existed before was deleted or restored, and that only
the restore server was ever restored.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "vps_second_api_selftest_token"
TEST_SERVERS = [40001, 40012]
RESTORE_SERVER = 40023
OTHER_SERVER = 40034
# The whole suite against an API whose snapshots take one second: minutes, more on a busy 2-core machine.
RUN_TIMEOUT = 3000


def read_all(url, path):
    """Every item of a paginated list, through the API as any client sees it."""
    items, next_url = [], "%s/%s?page_size=4" % (url, path)
    while next_url:
        request = urllib.request.Request(next_url, headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(request, timeout=10) as answer:
            page = json.load(answer)
        items += page["results"]
        next_url = page.get("next")
    return items


def account_state(url):
    return {
        "servers": sorted((s["id"], s["name"], s["status"]) for s in read_all(url, "servers/")),
        "snapshots": sorted(json.dumps(s, sort_keys=True) for s in read_all(url, "snapshots/")),
    }


@pytest.fixture()
def second_api(tmp_path):
    request_log = tmp_path / "requests.jsonl"
    seeds = ["%d:kept-by-owner-%d" % (server, server) for server in TEST_SERVERS + [RESTORE_SERVER, OTHER_SERVER]]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/live/second_api.py"), "--token", TOKEN, "--servers", "4",
         "--snapshot-seconds", "1", "--restore-seconds", "1", "--request-log", str(request_log)]
        + ["--seed-snapshot=" + seed for seed in seeds],
        stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url, request_log
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_integration_live_leaves_the_account_as_it_was(second_api, tmp_path):
    url, request_log = second_api
    config = tmp_path / "integration_config.yml"
    config.write_text("\n".join([
        "---",
        "vpsorg_api_url: %s" % url,
        "vpsorg_api_token: %s" % TOKEN,
        "vpsorg_test_server_ids: %s" % json.dumps(TEST_SERVERS),
        "vpsorg_test_restore_server_id: %d" % RESTORE_SERVER,
        "vpsorg_test_wait_timeout: 60",
        ""]))
    before = account_state(url)
    kept_ids = {json.loads(s)["id"] for s in before["snapshots"]}
    assert len(kept_ids) == 4

    started = time.monotonic()
    command = ["make", "--no-print-directory", "integration-live", "INTEGRATION_CONFIG=%s" % config]
    if os.environ.get("LIVE_SELFTEST_TARGETS"):
        command.append("INTEGRATION_TARGETS=%s" % os.environ["LIVE_SELFTEST_TARGETS"])
    run = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=RUN_TIMEOUT, check=False)
    print(run.stdout[-20000:])
    print("make integration-live took %.0f s" % (time.monotonic() - started))
    assert run.returncode == 0, "make integration-live failed (output above)"

    assert account_state(url) == before
    requests = [json.loads(line) for line in request_log.read_text().splitlines()]
    creates = [r for r in requests if r["method"] == "POST" and r["path"] == "/api/v1/snapshots/" and r["status"] == 201]
    restores = [r for r in requests if r["path"].endswith("/restore/")]
    deletes = [r for r in requests if r["method"] == "DELETE"]
    # Not a vacuous pass: the run made, restored and deleted snapshots of its own.
    assert len(creates) >= 5 and len(deletes) >= len(creates)
    # vpsorg_snapshot and safe_upgrade restore the restore server; a run of other targets alone may not.
    targets = os.environ.get("LIVE_SELFTEST_TARGETS", "").split()
    assert restores or (targets and not set(targets) & {"vpsorg_snapshot", "safe_upgrade"})
    assert all(r["snapshot"]["server"]["id"] == RESTORE_SERVER for r in restores if r["snapshot"])
    assert not [r for r in restores + deletes if r["snapshot"] and r["snapshot"]["id"] in kept_ids]
    assert TOKEN not in run.stdout
