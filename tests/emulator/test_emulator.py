# -*- coding: utf-8 -*-
# Copyright: (c) 2025, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator, spoken to over real HTTP; the documented examples are replayed verbatim."""

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.test import Client

from .harness import HarnessError, serve, write_self_signed_certificate

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SNAPSHOT_KEYS = {"id", "server", "name", "status", "size_mb", "created_at", "description"}
SERVER_KEYS = {"id", "name", "hostname", "status", "ip_address", "location", "plan", "os", "created_at", "updated_at"}
CREATE_MESSAGE = "Snapshot is being created. This may take 3-10 minutes depending on server size."
LIMIT_DETAIL = "Snapshot limit reached. A server can have at most 5 snapshots."

# The examples of the documentation page, verbatim.
DOC_LIST_RESPONSE = {
    "count": 2,
    "results": [
        {"id": 801, "server": {"id": 12345, "name": "web-server-01"}, "name": "pre-migration-snapshot", "status": "completed",
         "size_mb": 5120, "created_at": "2025-01-15T18:30:00Z", "description": "Before major migration"},
        {"id": 798, "server": {"id": 12345, "name": "web-server-01"}, "name": "weekly-snapshot-2025-01-08", "status": "completed",
         "size_mb": 4856, "created_at": "2025-01-08T12:00:00Z", "description": "Weekly snapshot"},
    ],
}
DOC_CREATE_REQUEST = {"server_id": 12345, "name": "before-update-snapshot", "description": "Snapshot before system update"}
DOC_RESTORE_RESPONSE = {
    "status": "success",
    "message": "Server is being restored from snapshot. This may take 5-15 minutes.",
    "snapshot": {"id": 801, "name": "pre-migration-snapshot", "created_at": "2025-01-15T18:30:00Z"},
    "server": {"id": 12345, "name": "web-server-01", "status": "restoring"},
}


def seed_documented_snapshots(emu):
    """The two snapshots of the documented list example, with their ids and dates."""
    for snapshot in reversed(DOC_LIST_RESPONSE["results"]):
        fields = {k: v for k, v in snapshot.items() if k != "server"}
        emu.seed_snapshot(server_id=snapshot["server"]["id"], **fields)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met within %s s" % timeout)


def self_signed_cert(directory):
    """A certificate for 127.0.0.1 from the shared harness; skips the test when no tool can make one."""
    certfile, keyfile = str(directory / "cert.pem"), str(directory / "key.pem")
    try:
        write_self_signed_certificate(certfile, keyfile)
    except HarnessError as error:
        pytest.skip(str(error))
    return certfile, keyfile


# ----- the documented examples, request for request ---------------------------------------


def test_documented_list_example(emu):
    seed_documented_snapshots(emu)
    response = emu.api("GET", "/snapshots/", params={"server_id": 12345})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert {k: body[k] for k in ("count", "results")} == DOC_LIST_RESPONSE
    assert body["next"] is None and body["previous"] is None


def test_documented_create_example(emu):
    seed_documented_snapshots(emu)
    response = emu.api("POST", "/snapshots/", json=DOC_CREATE_REQUEST)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == SNAPSHOT_KEYS | {"message"}
    assert body["id"] == 802
    assert body["server"] == {"id": 12345, "name": "web-server-01"}
    assert body["name"] == "before-update-snapshot"
    assert body["status"] == "in_progress"
    assert body["size_mb"] is None
    assert ISO_Z.match(body["created_at"])
    assert body["description"] == "Snapshot before system update"
    assert body["message"] == CREATE_MESSAGE


def test_documented_restore_example(emu):
    seed_documented_snapshots(emu)
    response = emu.api("POST", "/snapshots/801/restore/")
    assert response.status_code == 200
    assert response.json() == DOC_RESTORE_RESPONSE


def test_documented_delete_example(emu):
    seed_documented_snapshots(emu)
    response = emu.api("DELETE", "/snapshots/801/")
    assert response.status_code == 204
    assert response.content == b""
    assert emu.api("GET", "/snapshots/801/").status_code == 404
    assert [s["id"] for s in emu.api("GET", "/snapshots/").json()["results"]] == [798]


def test_ids_start_at_801_and_description_defaults_to_empty(emu):
    body = emu.create(12345, "first").json()
    assert body["id"] == 801 and body["description"] == ""
    assert emu.create(12346, "second").json()["id"] == 802


# ----- authentication, routing, errors -----------------------------------------------------


@pytest.mark.parametrize("headers, detail", [
    ({}, "Authentication credentials were not provided."),
    ({"Authorization": "Token {token_a}"}, "Authentication credentials were not provided."),
    ({"Authorization": "Bearer vps_unknown"}, "Invalid token."),
    ({"Authorization": "Bearer"}, "Invalid token header. No credentials provided."),
    ({"Authorization": "Bearer a b"}, "Invalid token header. Token string should not contain spaces."),
])
@pytest.mark.parametrize("method, path", [
    ("GET", "/snapshots/"), ("POST", "/snapshots/"), ("POST", "/snapshots/801/restore/"), ("DELETE", "/snapshots/801/"),
    ("GET", "/servers/"),
])
def test_unauthenticated_requests_get_401(emu, headers, detail, method, path):
    headers = {key: value.format(token_a=emu.token_a) for key, value in headers.items()}
    response = emu.api(method, path, token=None, headers=headers, json={"server_id": 12345, "name": "x"})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert emu.state()["snapshots"] == []


def test_unknown_routes_and_methods(emu):
    for path in ("/nothing/", "/snapshots", "/snapshots/801", "/snapshots/abc/", "/snapshots/801/restore"):
        response = emu.api("GET", path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}
    response = emu.api("PUT", "/snapshots/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}
    assert response.headers["Allow"] == "GET, POST"
    assert emu.api("GET", "/snapshots/801/restore/").status_code == 405
    assert emu.api("DELETE", "/servers/12345/").status_code == 405


def test_not_found_for_unknown_server_and_snapshot(emu):
    assert emu.create(99999, "x").json() == {"detail": "Not found."}
    assert emu.create(99999, "x").status_code == 404
    for method, path in (("GET", "/snapshots/999/"), ("POST", "/snapshots/999/restore/"), ("DELETE", "/snapshots/999/"),
                         ("GET", "/servers/99999/")):
        response = emu.api(method, path)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


@pytest.mark.parametrize("payload, errors", [
    ({}, {"server_id": ["This field is required."], "name": ["This field is required."]}),
    ({"server_id": 12345}, {"name": ["This field is required."]}),
    ({"name": "ok"}, {"server_id": ["This field is required."]}),
    ({"server_id": "abc", "name": "ok"}, {"server_id": ["A valid integer is required."]}),
    ({"server_id": 12345, "name": "has space"}, {"name": ["Enter a valid name consisting of letters, numbers, underscores or hyphens."]}),
    ({"server_id": 12345, "name": "dots.not.allowed"}, {"name": ["Enter a valid name consisting of letters, numbers, underscores or hyphens."]}),
    ({"server_id": 12345, "name": ""}, {"name": ["This field may not be blank."]}),
    ({"server_id": 12345, "name": None}, {"name": ["This field may not be null."]}),
    ({"server_id": 12345, "name": "a" * 101}, {"name": ["Ensure this field has no more than 100 characters."]}),
    ({"server_id": 12345, "name": "ok", "description": ["x"]}, {"description": ["Not a valid string."]}),
])
def test_create_validation_errors(emu, payload, errors):
    response = emu.api("POST", "/snapshots/", json=payload)
    assert response.status_code == 400
    assert response.json() == errors
    assert emu.state()["snapshots"] == []


def test_create_accepts_longest_name_and_numeric_string_server_id(emu):
    assert emu.create(12345, "a" * 100).status_code == 201
    assert emu.api("POST", "/snapshots/", json={"server_id": "12345", "name": "Mixed_Case-09"}).status_code == 201


def test_invalid_json_body(emu):
    response = emu.api("POST", "/snapshots/", data="{not json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")
    response = emu.api("POST", "/snapshots/", data="[1, 2]")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


def test_duplicate_names_are_accepted(emu):
    first = emu.create(12345, "same-name").json()
    second = emu.create(12345, "same-name").json()
    assert first["id"] != second["id"]
    assert [s["name"] for s in emu.api("GET", "/snapshots/").json()["results"]] == ["same-name", "same-name"]


# ----- behaviour over time -----------------------------------------------------------------


def test_snapshot_completes_with_size(emu):
    snapshot_id = emu.create(12345, "grows").json()["id"]
    assert emu.api("GET", "/snapshots/%d/" % snapshot_id).json()["status"] == "in_progress"
    time.sleep(emu.snapshot_seconds + 0.1)
    done = emu.api("GET", "/snapshots/%d/" % snapshot_id).json()
    assert done["status"] == "completed"
    assert isinstance(done["size_mb"], int) and done["size_mb"] > 0
    assert set(done) == SNAPSHOT_KEYS


def test_restore_lifecycle(emu):
    snapshot_id = emu.create(12345, "restore-me").json()["id"]
    early = emu.api("POST", "/snapshots/%d/restore/" % snapshot_id)
    assert early.status_code == 400 and "detail" in early.json()
    time.sleep(emu.snapshot_seconds + 0.1)
    response = emu.api("POST", "/snapshots/%d/restore/" % snapshot_id)
    assert response.status_code == 200
    assert response.json()["server"] == {"id": 12345, "name": "web-server-01", "status": "restoring"}
    assert emu.api("GET", "/servers/12345/").json()["status"] == "restoring"
    again = emu.api("POST", "/snapshots/%d/restore/" % snapshot_id)
    assert again.status_code == 400 and "detail" in again.json()
    during = emu.create(12345, "during-restore")
    assert during.status_code == 400 and "detail" in during.json()
    time.sleep(emu.restore_seconds + 0.1)
    assert emu.api("GET", "/servers/12345/").json()["status"] == "active"
    assert emu.create(12345, "after-restore").status_code == 201


def test_snapshot_quota(emu):
    for index in range(5):
        assert emu.create(12345, "s%d" % index).status_code == 201
    response = emu.create(12345, "sixth")
    assert response.status_code == 400
    assert response.json() == {"detail": LIMIT_DETAIL}
    assert emu.create(12346, "other-server").status_code == 201
    # Deleting an in_progress snapshot frees a slot.
    emu.api("DELETE", "/snapshots/801/")
    assert emu.create(12345, "sixth").status_code == 201


# ----- pagination and filters --------------------------------------------------------------


def test_pagination_across_pages(emu):
    for index in range(5):
        emu.seed_snapshot(server_id=12345, name="a%d" % index, created_at="2025-01-0%dT00:00:00Z" % (index + 1))
    for index in range(2):
        emu.seed_snapshot(server_id=12346, name="b%d" % index, created_at="2025-01-09T00:00:00Z")
    first = emu.api("GET", "/snapshots/", params={"page_size": 3})
    body = first.json()
    assert body["count"] == 7 and body["previous"] is None
    assert body["next"] == emu.base_url + "/snapshots/?page=2&page_size=3"
    names, url, pages = [], emu.base_url + "/snapshots/?page_size=3", 0
    while url:
        page = emu.api("GET", url).json()
        names += [s["name"] for s in page["results"]]
        url, pages = page["next"], pages + 1
    # Newest first; the two equal timestamps are ordered by id, highest first.
    assert names == ["b1", "b0", "a4", "a3", "a2", "a1", "a0"] and pages == 3
    last = emu.api("GET", "/snapshots/", params={"page_size": 3, "page": 3}).json()
    assert last["next"] is None and last["previous"] == emu.base_url + "/snapshots/?page=2&page_size=3"
    second = emu.api("GET", "/snapshots/", params={"page_size": 3, "page": 2}).json()
    assert second["previous"] == emu.base_url + "/snapshots/?page_size=3"
    assert emu.api("GET", "/snapshots/", params={"page_size": 3, "page": "last"}).json()["results"] == last["results"]
    filtered = emu.api("GET", "/snapshots/", params={"server_id": 12345, "page_size": 2}).json()
    assert filtered["count"] == 5 and filtered["next"] == emu.base_url + "/snapshots/?page=2&page_size=2&server_id=12345"


def test_invalid_pages_and_page_size(emu):
    for index in range(3):
        emu.seed_snapshot(server_id=12345, name="s%d" % index)
    for page in ("0", "3", "-1", "abc"):
        response = emu.api("GET", "/snapshots/", params={"page": page, "page_size": 2})
        assert (response.status_code, response.json()) == (404, {"detail": "Invalid page."}), page
    assert emu.api("GET", "/snapshots/", params={"page": 1}).status_code == 200
    # Invalid sizes fall back to the default, like DRF.
    assert len(emu.api("GET", "/snapshots/", params={"page_size": "zero"}).json()["results"]) == 3
    emu.control("POST", "/config", {"max_page_size": 2, "page_size": 1})
    assert len(emu.api("GET", "/snapshots/").json()["results"]) == 1
    capped = emu.api("GET", "/snapshots/", params={"page_size": 1000}).json()
    assert len(capped["results"]) == 2 and capped["next"].endswith("page=2&page_size=1000")
    empty = emu.api("GET", "/servers/", params={"status": "stopped"}).json()
    assert empty == {"count": 0, "next": None, "previous": None, "results": []}


def test_server_id_filter(emu):
    emu.create(12345, "mine")
    emu.create(12346, "other")
    assert [s["name"] for s in emu.api("GET", "/snapshots/?server_id=12345").json()["results"]] == ["mine"]
    assert emu.api("GET", "/snapshots/?server_id=12348").json()["count"] == 0
    assert emu.api("GET", "/snapshots/?server_id=424242").json()["count"] == 0
    response = emu.api("GET", "/snapshots/?server_id=abc")
    assert response.status_code == 400 and list(response.json()) == ["server_id"]


def test_account_isolation(emu):
    mine = emu.create(12345, "a-only").json()["id"]
    time.sleep(emu.snapshot_seconds + 0.1)
    theirs = emu.api("GET", "/snapshots/", token=emu.token_b).json()
    assert theirs["count"] == 0
    for method, path in (("GET", "/snapshots/%d/" % mine), ("POST", "/snapshots/%d/restore/" % mine),
                         ("DELETE", "/snapshots/%d/" % mine), ("GET", "/servers/12345/")):
        response = emu.api(method, path, token=emu.token_b)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), path
    assert emu.create(12345, "intruder", token=emu.token_b).status_code == 404
    assert emu.api("GET", "/servers/12348/").status_code == 404
    assert [s["id"] for s in emu.api("GET", "/servers/", token=emu.token_b).json()["results"]] == [12348, 12349, 12350]
    assert emu.create(12348, "b-own", token=emu.token_b).status_code == 201
    state = emu.control("GET", "/state")["accounts"]
    assert [s["name"] for s in state[0]["snapshots"]] == ["a-only"] and state[0]["servers"][0]["status"] == "active"
    assert [s["name"] for s in state[1]["snapshots"]] == ["b-own"]


def test_servers_list_filters_and_detail(emu):
    servers = emu.api("GET", "/servers/").json()
    assert servers["count"] == 3
    assert [s["name"] for s in servers["results"]] == ["web-server-01", "web-server-02", "web-server-03"]
    first = servers["results"][0]
    assert set(first) == SERVER_KEYS
    assert first["id"] == 12345 and first["hostname"] == "web-server-01.example.com" and first["status"] == "active"
    assert first["ip_address"].startswith("203.0.113.") and first["plan"] == "vps-2gb" and first["os"] == "ubuntu-24.04"
    assert ISO_Z.match(first["created_at"]) and ISO_Z.match(first["updated_at"])
    assert [s["location"] for s in servers["results"]] == ["nyc1", "ams1", "fra1"]
    assert emu.api("GET", "/servers/12346/").json() == servers["results"][1]
    emu.control("PUT", "/servers/12346", {"status": "stopped"})
    assert [s["id"] for s in emu.api("GET", "/servers/?status=stopped").json()["results"]] == [12346]
    assert [s["id"] for s in emu.api("GET", "/servers/?status=active&location=fra1").json()["results"]] == [12347]
    assert emu.api("GET", "/servers/12346/").json()["status"] == "stopped"


# ----- control endpoints -------------------------------------------------------------------


def test_request_log_and_counters(emu):
    emu.create(12345, "logged", description="d")
    emu.api("GET", "/snapshots/", params={"server_id": 12345})
    emu.api("GET", "/servers/", token=emu.token_b)
    emu.api("GET", "/servers/", token="vps_wrong")
    emu.api("DELETE", "/snapshots/801/")
    log = emu.control("GET", "/requests")["requests"]
    assert [(e["seq"], e["method"], e["path"], e["status"], e["account"]) for e in log] == [
        (1, "POST", "/api/v1/snapshots/", 201, 0),
        (2, "GET", "/api/v1/snapshots/", 200, 0),
        (3, "GET", "/api/v1/servers/", 200, 1),
        (4, "GET", "/api/v1/servers/", 401, None),
        (5, "DELETE", "/api/v1/snapshots/801/", 204, 0),
    ]
    assert log[0]["body"] == {"server_id": 12345, "name": "logged", "description": "d"}
    assert log[1]["query"] == {"server_id": "12345"} and log[1]["body"] is None
    assert all(e["fault"] is None and isinstance(e["time"], float) for e in log)
    assert [e["seq"] for e in emu.control("GET", "/requests?since=3")["requests"]] == [4, 5]
    counters = emu.control("GET", "/counters")
    assert counters == {
        "total": 5, "writes": 2, "faults": 0,
        "by_endpoint": {"POST /api/v1/snapshots/": 1, "GET /api/v1/snapshots/": 1, "GET /api/v1/servers/": 2,
                        "DELETE /api/v1/snapshots/{id}/": 1},
        "by_status": {"201": 1, "200": 2, "401": 1, "204": 1},
    }


def test_no_token_in_any_control_response(emu):
    emu.create(12345, "x")
    emu.create(12348, "y", token=emu.token_b)
    emu.api("GET", "/snapshots/", headers={"Authorization": "Bearer %s" % emu.token_b})
    emu.control("POST", "/faults", {"rate": 1.0, "statuses": [503], "methods": ["DELETE"]})
    emu.api("DELETE", "/snapshots/801/")
    for path in ("/requests", "/counters", "/state", "/faults", "/config"):
        text = json.dumps(emu.control("GET", path))
        assert emu.token_a not in text and emu.token_b not in text


def test_reset_state_and_seeding(emu):
    emu.create(12345, "gone-after-reset")
    emu.control("POST", "/config", {"snapshot_seconds": 60})
    emu.control("POST", "/faults", {"rate": 0.5})
    state = emu.control("POST", "/reset", {"servers": 1})
    assert [len(a["servers"]) for a in state["accounts"]] == [1, 1]
    assert [a["servers"][0]["id"] for a in state["accounts"]] == [12345, 12346]
    assert all(a["snapshots"] == [] for a in state["accounts"])
    assert state["config"]["snapshot_seconds"] == emu.snapshot_seconds
    assert emu.control("GET", "/faults")["rate"] == 0.0
    assert emu.control("GET", "/counters")["total"] == 0 and emu.control("GET", "/requests")["requests"] == []
    emu.control("POST", "/reset")
    assert [s["id"] for s in emu.state(1)["servers"]] == [12348, 12349, 12350]
    assert emu.create(12345, "fresh").json()["id"] == 801


def test_control_adds_servers_and_snapshots(emu):
    server = emu.control("POST", "/servers", {"account": 1, "name": "db-01", "status": "stopped", "location": "ams1"})
    assert server["id"] == 12351 and server["name"] == "db-01" and server["status"] == "stopped"
    assert emu.api("GET", "/servers/12351/", token=emu.token_b).json() == server
    assert emu.api("GET", "/servers/12351/").status_code == 404
    for index in range(5):
        emu.seed_snapshot(server_id=12351, name="seed%d" % index, status="completed", size_mb=100 + index)
    emu.control("POST", "/snapshots", {"server_id": 12351, "name": "over"}, expected=(400,))
    forced = emu.seed_snapshot(server_id=12351, name="over", force=True, status="in_progress", complete_after=None)
    assert forced["status"] == "in_progress" and forced["size_mb"] is None
    assert emu.create(12351, "api-refuses", token=emu.token_b).json() == {"detail": LIMIT_DETAIL}
    time.sleep(emu.snapshot_seconds + 0.1)
    # complete_after: null keeps it in progress for good, for wait_timeout tests.
    assert emu.api("GET", "/snapshots/%d/" % forced["id"], token=emu.token_b).json()["status"] == "in_progress"
    assert emu.api("GET", "/snapshots/?server_id=12351", token=emu.token_b).json()["results"][-1]["size_mb"] == 100
    pinned = emu.control("PUT", "/servers/12345", {"status": "restoring"})
    assert pinned["status"] == "restoring"
    emu.control("PUT", "/servers/12345", {"status": "exploded"}, expected=(400,))
    emu.control("PUT", "/servers/99999", {"status": "active"}, expected=(404,))


def test_a_restore_can_be_set_to_end_in_another_status_once(emu):
    snapshot_id = emu.create(12345, "ends-badly").json()["id"]
    time.sleep(emu.snapshot_seconds + 0.1)
    emu.control("PUT", "/servers/12345", {"restore_ends_as": "error"})
    emu.control("PUT", "/servers/12345", {"restore_ends_as": "exploded"}, expected=(400,))
    assert emu.api("POST", "/snapshots/%d/restore/" % snapshot_id).status_code == 200
    time.sleep(emu.restore_seconds + 0.1)
    assert emu.api("GET", "/servers/12345/").json()["status"] == "error"
    # The switch holds for one restore: the next one ends active again.
    emu.control("PUT", "/servers/12345", {"status": "active"})
    assert emu.api("POST", "/snapshots/%d/restore/" % snapshot_id).status_code == 200
    time.sleep(emu.restore_seconds + 0.1)
    assert emu.api("GET", "/servers/12345/").json()["status"] == "active"


def test_runtime_config(emu):
    config = emu.control("POST", "/config", {"snapshot_seconds": 0, "restore_seconds": 0.1, "page_size": 2})
    assert config == {"snapshot_seconds": 0.0, "restore_seconds": 0.1, "page_size": 2, "max_page_size": 100, "rate_limit": 0,
                      "server_shape": "flat", "list_order": "newest_first"}
    snapshot_id = emu.create(12345, "instant").json()["id"]
    assert emu.api("GET", "/snapshots/%d/" % snapshot_id).json()["status"] == "completed"
    assert len(emu.api("GET", "/servers/").json()["results"]) == 2
    emu.control("POST", "/config", {"page_size": 0}, expected=(400,))
    emu.control("POST", "/config", {"bogus": 1}, expected=(400,))
    assert emu.control("GET", "/config")["page_size"] == 2


def test_list_order_oldest_first(emu):
    first, second = emu.create(12345, "older").json()["id"], emu.create(12345, "newer").json()["id"]
    assert [snap["id"] for snap in emu.api("GET", "/snapshots/?page_size=100").json()["results"]][:2] == [second, first]
    emu.control("POST", "/config", {"list_order": "oldest_first"})
    assert [snap["id"] for snap in emu.api("GET", "/snapshots/?page_size=100").json()["results"]][-2:] == [first, second]
    assert [snap["id"] for snap in emu.api("GET", "/snapshots/?server_id=12345").json()["results"]][-2:] == [first, second]
    emu.control("POST", "/config", {"list_order": "sideways"}, expected=(400,))


def test_control_refuses_non_loopback_clients(emulator_instance):
    client = Client(emulator_instance)
    assert client.get("/_emulator/state", environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 403
    assert client.get("/_emulator/state", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


# ----- faults and rate limit ---------------------------------------------------------------


def test_fault_429_has_retry_after(emu):
    emu.control("POST", "/faults", {"rate": 1.0, "statuses": [429], "retry_after": 3, "when": "before"})
    response = emu.api("GET", "/snapshots/")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"detail": "Request was throttled. Expected available in 3 seconds."}
    # Control endpoints are never faulted.
    assert emu.control("GET", "/counters")["faults"] == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_fault_5xx_is_an_html_page(emu, status):
    emu.control("POST", "/faults", {"rate": 1.0, "statuses": [status]})
    response = emu.api("GET", "/servers/")
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<html>") and str(status) in response.text
    entry = emu.control("GET", "/requests")["requests"][-1]
    assert entry["status"] == status and entry["fault"]["kind"] == "status" and entry["fault"]["status"] == status


def test_fault_drop_closes_the_connection(emu):
    emu.control("POST", "/faults", {"drop_rate": 1.0, "when": "before"})
    with pytest.raises(requests.ConnectionError):
        emu.create(12345, "never")
    emu.control("DELETE", "/faults")
    assert emu.state()["snapshots"] == []
    entry = emu.control("GET", "/requests")["requests"][-1]
    assert entry["status"] is None and entry["fault"] == {"kind": "drop", "when": "before"} and not entry["applied"]
    assert emu.control("GET", "/counters")["by_status"] == {"dropped": 1}


def test_fault_after_applies_the_write(emu):
    emu.control("POST", "/faults", {"rate": 1.0, "statuses": [502], "when": "after", "methods": ["POST"]})
    assert emu.create(12345, "lost-answer").status_code == 502
    assert emu.api("GET", "/snapshots/").status_code == 200
    assert [s["name"] for s in emu.state()["snapshots"]] == ["lost-answer"]
    emu.control("POST", "/faults", {"drop_rate": 1.0, "when": "after"})
    with pytest.raises(requests.ConnectionError):
        emu.create(12345, "dropped-answer")
    emu.control("DELETE", "/faults")
    assert [s["name"] for s in emu.state()["snapshots"]] == ["dropped-answer", "lost-answer"]
    assert emu.control("GET", "/counters")["writes"] == 2


def test_fault_before_does_not_apply(emu):
    emu.control("POST", "/faults", {"rate": 1.0, "statuses": [500], "when": "before"})
    assert emu.create(12345, "not-created").status_code == 500
    emu.control("DELETE", "/faults")
    assert emu.state()["snapshots"] == [] and emu.control("GET", "/counters")["writes"] == 0


def test_fault_seed_is_reproducible_and_latency_applies(emu):
    def statuses():
        emu.control("POST", "/faults", {"rate": 0.5, "drop_rate": 0.0, "seed": 42, "statuses": [429, 503]})
        return [emu.api("GET", "/servers/").status_code for _attempt in range(20)]

    first = statuses()
    assert first == statuses() and set(first) == {200, 429, 503}
    emu.control("POST", "/faults", {"latency": 0.3})
    started = time.monotonic()
    assert emu.api("GET", "/servers/").status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.control("POST", "/faults", {"rate": 2}, expected=(400,))
    emu.control("POST", "/faults", {"when": "sometimes"}, expected=(400,))


def test_rate_limit(emu):
    emu.control("POST", "/config", {"rate_limit": 5})
    statuses = [emu.api("GET", "/servers/") for _attempt in range(8)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert [r.status_code for r in statuses[:5]] == [200] * 5 and throttled
    assert throttled[0].headers["Retry-After"] == "1"
    assert throttled[0].json() == {"detail": "Request was throttled. Expected available in 1 seconds."}
    time.sleep(1.1)
    assert emu.api("GET", "/servers/").status_code == 200


# ----- transport: HTTPS, CLI, concurrency ---------------------------------------------------


def test_https_with_self_signed_certificate(tmp_path):
    cert = self_signed_cert(tmp_path)
    token = "vps_https_token"
    args = ["--quiet", "--token", token, "--certfile", cert[0], "--keyfile", cert[1], "--page-size", "1"]
    with serve(args, in_thread=True) as running:
        emulator = running.server
        assert emulator.base_url.startswith("https://127.0.0.1:")
        headers = {"Authorization": "Bearer %s" % token}
        response = requests.get(emulator.base_url + "/servers/", headers=headers, verify=cert[0], timeout=10)
        assert response.status_code == 200
        assert response.json()["next"] == emulator.base_url + "/servers/?page=2"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(emulator.base_url + "/servers/", headers=headers, timeout=10)
        requests.post(emulator.control_url + "/faults", json={"drop_rate": 1.0}, verify=cert[0], timeout=10)
        with pytest.raises(requests.ConnectionError):
            requests.get(emulator.base_url + "/servers/", headers=headers, verify=cert[0], timeout=10)


def test_cli_subprocess_prints_url_and_stops_on_sigterm(tmp_path):
    tokens = ["vps_cli_token_one", "vps_cli_token_two"]
    args = ["--port", "0", "--token", tokens[0], "--token", tokens[1], "--servers", "2", "--snapshot-seconds", "0.2", "--page-size", "1"]
    with serve(args, str(tmp_path)) as process:
        base_url = process.url
        assert re.match(r"^http://127\.0\.0\.1:\d+/api/v1$", base_url)
        response = requests.get(base_url + "/servers/", headers={"Authorization": "Bearer %s" % tokens[1]}, timeout=10)
        body = response.json()
        assert body["count"] == 2 and body["results"][0]["id"] == 12347 and body["next"].endswith("/servers/?page=2")
        created = requests.post(base_url + "/snapshots/", json={"server_id": 12345, "name": "cli"}, timeout=10,
                                headers={"Authorization": "Bearer %s" % tokens[0]})
        assert created.status_code == 201
        assert process.stop() == 0
    output = (tmp_path / "url").read_text() + (tmp_path / "emulator.log").read_text()
    assert all(token not in output for token in tokens)
    assert "POST /api/v1/snapshots/" in output


def test_concurrent_creates_across_servers(emu):
    emu.control("POST", "/reset", {"servers": 10})
    server_ids = [s["id"] for s in emu.state()["servers"]]
    jobs = [(server_ids[i % 10], "c%d" % i) for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda job: emu.create(*job), jobs))
    assert [r.status_code for r in responses] == [201] * 50
    ids = [r.json()["id"] for r in responses]
    assert sorted(ids) == list(range(801, 851))
    snapshots = emu.state()["snapshots"]
    assert len(snapshots) == 50
    assert all(sum(1 for s in snapshots if s["server"]["id"] == sid) == 5 for sid in server_ids)
    assert emu.control("GET", "/counters")["writes"] == 50


def test_concurrent_creates_never_exceed_the_quota(emu):
    with ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(lambda i: emu.create(12345, "race%d" % i), range(30)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [400] * 25
    assert all(r.json() == {"detail": LIMIT_DETAIL} for r in responses if r.status_code == 400)
    assert len(emu.state()["snapshots"]) == 5
    assert emu.api("GET", "/snapshots/?server_id=12345").json()["count"] == 5


def test_lists_stay_newest_first_through_seeding_out_of_order_and_deletes(emu):
    """The emulator keeps indexes per account and per server: every list must still equal a full sort of the state."""
    dates = ["2025-03-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z", "2025-02-01T00:00:00Z"]
    for index, created_at in enumerate(dates):
        emu.seed_snapshot(server_id=12345 + index % 2, name="seeded%d" % index, created_at=created_at)
    for index in range(4):
        assert emu.create(12345 + index % 3, "made%d" % index).status_code == 201
    doomed = [s["id"] for s in emu.state()["snapshots"] if s["name"] in ("seeded2", "made1")]
    assert [emu.api("DELETE", "/snapshots/%d/" % snapshot_id).status_code for snapshot_id in doomed] == [204, 204]

    def ids(path):
        return [s["id"] for s in emu.api("GET", path).json()["results"]]

    expected = sorted(emu.state()["snapshots"], key=lambda s: (s["created_at"], s["id"]), reverse=True)
    assert len(expected) == 6 and not set(doomed) & {s["id"] for s in expected}
    assert ids("/snapshots/?page_size=100") == [s["id"] for s in expected]
    assert ids("/snapshots/?page_size=2&page=2") == [s["id"] for s in expected][2:4]
    for server_id in (12345, 12346, 12347):
        assert ids("/snapshots/?server_id=%d" % server_id) == [s["id"] for s in expected if s["server"]["id"] == server_id]
    # The quota counts what is left after a delete.
    for index in range(5 - sum(1 for s in expected if s["server"]["id"] == 12346)):
        assert emu.create(12346, "fill%d" % index).status_code == 201
    assert emu.create(12346, "one-too-many").json() == {"detail": LIMIT_DETAIL}
