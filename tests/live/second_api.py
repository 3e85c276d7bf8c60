#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A second, independent implementation of the VPS.org Snapshots API, for the live-mode self-test.

Written from the API page (docs of the four snapshot endpoints) and the two server endpoints the collection
reads, with the standard library only. It is deliberately NOT the project's emulator: other server and snapshot
ids, another page size, one account, and no control endpoints at all. What a test needs beforehand (servers, the
snapshots an account already holds) is given on the command line; what it needs afterwards is read through the
API itself, like against the real service. With --request-log every API request is appended as one JSON line,
so a test can prove what was (not) deleted or restored.

    second_api.py [--port 0] --token T [--servers 3] [--seed-snapshot SERVER_ID:NAME ...]
                  [--snapshot-seconds 1] [--restore-seconds 1] [--request-log FILE]

The first line printed is the base URL, once it listens.
"""

import argparse
import json
import re
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

SNAPSHOTS_PER_SERVER = 5
PAGE_SIZE = 3
MAX_PAGE_SIZE = 4
FIRST_SERVER_ID = 40001
FIRST_SNAPSHOT_ID = 7000001
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CREATING = "Snapshot is being created. This may take 3-10 minutes depending on server size."
RESTORING = "Server is being restored from snapshot. This may take 5-15 minutes."


def utc(epoch):
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Problem(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


class Account:
    """The one account this API serves: its servers and snapshots, moved along by the clock when read."""

    def __init__(self, servers, seeds, snapshot_seconds, restore_seconds):
        self.lock = threading.Lock()
        self.snapshot_seconds = snapshot_seconds
        self.restore_seconds = restore_seconds
        self.servers = {}
        for index in range(servers):
            server_id = FIRST_SERVER_ID + 11 * index
            self.servers[server_id] = {
                "id": server_id, "name": "app-%d" % (index + 1), "hostname": "app-%d.test.invalid" % (index + 1),
                "status": "active", "ip_address": "192.0.2.%d" % (index + 10), "location": "tia1",
                "plan": "vps-4gb", "os": "debian-12", "_restored_at": None}
        self.snapshots = {}
        self.next_snapshot_id = FIRST_SNAPSHOT_ID
        seeded_at = time.time() - 86400
        for seed in seeds:
            server_id, name = seed.split(":", 1)
            snapshot = self._add(self.servers[int(server_id)], name, "there before the tests", seeded_at)
            snapshot.update(status="completed", size_mb=4096, _done_at=None)

    def _add(self, server, name, description, now):
        snapshot = {"id": self.next_snapshot_id, "server": {"id": server["id"], "name": server["name"]}, "name": name,
                    "status": "in_progress", "size_mb": None, "created_at": utc(now), "description": description,
                    "_done_at": now + self.snapshot_seconds}
        self.next_snapshot_id += 3
        self.snapshots[snapshot["id"]] = snapshot
        return snapshot

    def tick(self):
        now = time.time()
        for snapshot in self.snapshots.values():
            if snapshot["_done_at"] is not None and now >= snapshot["_done_at"]:
                snapshot.update(status="completed", size_mb=1024 + snapshot["server"]["id"] % 1000, _done_at=None)
        for server in self.servers.values():
            if server["_restored_at"] is not None and now >= server["_restored_at"]:
                server.update(status="active", _restored_at=None)

    def server(self, server_id):
        if server_id not in self.servers:
            raise Problem(404, {"detail": "Not found."})
        return self.servers[server_id]

    def snapshot(self, snapshot_id):
        if snapshot_id not in self.snapshots:
            raise Problem(404, {"detail": "Not found."})
        return self.snapshots[snapshot_id]

    def newest_first(self, server_id=None):
        chosen = [s for s in self.snapshots.values() if server_id is None or s["server"]["id"] == server_id]
        return sorted(chosen, key=lambda s: (s["created_at"], s["id"]), reverse=True)

    def create(self, body):
        if not isinstance(body, dict):
            raise Problem(400, {"non_field_errors": ["Invalid data."]})
        errors = {}
        server_id = body.get("server_id")
        if not isinstance(server_id, int) or isinstance(server_id, bool):
            errors["server_id"] = ["A valid integer is required."]
        name = body.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            errors["name"] = ["Use letters, digits, hyphens and underscores only."]
        description = body.get("description", "")
        if not isinstance(description, str):
            errors["description"] = ["Not a valid string."]
        if errors:
            raise Problem(400, errors)
        server = self.server(server_id)
        if server["status"] == "restoring":
            raise Problem(400, {"detail": "The server is being restored."})
        if len(self.newest_first(server_id)) >= SNAPSHOTS_PER_SERVER:
            raise Problem(400, {"detail": "Snapshot limit reached (%d per server)." % SNAPSHOTS_PER_SERVER})
        return dict(self._add(server, name, description, time.time()), message=CREATING)

    def restore(self, snapshot_id):
        snapshot = self.snapshot(snapshot_id)
        server = self.servers[snapshot["server"]["id"]]
        if snapshot["status"] != "completed" or server["status"] == "restoring":
            raise Problem(400, {"detail": "The server is not in a valid state for restoration."})
        server.update(status="restoring", _restored_at=time.time() + self.restore_seconds)
        return {"status": "success", "message": RESTORING,
                "snapshot": {key: snapshot[key] for key in ("id", "name", "created_at")},
                "server": {"id": server["id"], "name": server["name"], "status": server["status"]}}


def public(item):
    return {key: value for key, value in item.items() if not key.startswith("_")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm holds every answer back ~40 ms.
    disable_nagle_algorithm = True
    account = None
    token = None
    request_log = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.answer("GET")

    def do_POST(self):
        self.answer("POST")

    def do_DELETE(self):
        self.answer("DELETE")

    def answer(self, method):
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.touched = None
        try:
            if self.headers.get("Authorization") != "Bearer %s" % self.token:
                raise Problem(401, {"detail": "Invalid token."})
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise Problem(400, {"detail": "JSON parse error."})
            with self.account.lock:
                self.account.tick()
                status, payload = self.route(method, url.path, query, body)
        except Problem as problem:
            status, payload = problem.status, problem.body
        if self.request_log:
            with open(self.request_log, "a", encoding="utf-8") as log:
                log.write(json.dumps({"time": round(time.time(), 2), "method": method, "path": url.path, "query": query, "status": status,
                                      "snapshot": self.touched}) + "\n")
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self, method, path, query, body):
        account = self.account
        parts = [part for part in path.split("/") if part]
        if parts[:2] != ["api", "v1"] or not path.endswith("/"):
            raise Problem(404, {"detail": "Not found."})
        parts = parts[2:]
        numbers = [int(part) if part.isdigit() else None for part in parts]
        if parts == ["snapshots"] and method == "GET":
            server_id = query.get("server_id")
            if server_id is not None and not server_id.isdigit():
                raise Problem(400, {"server_id": ["A valid integer is required."]})
            return 200, self.page(path, query, account.newest_first(int(server_id) if server_id else None))
        if parts == ["snapshots"] and method == "POST":
            return 201, public(account.create(body))
        if len(parts) >= 2 and parts[0] == "snapshots" and numbers[1] and method in ("DELETE", "POST"):
            # Which snapshot a delete or restore aimed at, for the request log.
            self.touched = public(account.snapshot(numbers[1]))
        if len(parts) == 2 and parts[0] == "snapshots" and numbers[1] and method == "DELETE":
            del account.snapshots[account.snapshot(numbers[1])["id"]]
            return 204, None
        if len(parts) == 3 and parts[0] == "snapshots" and numbers[1] and parts[2] == "restore" and method == "POST":
            return 200, account.restore(numbers[1])
        if parts == ["servers"] and method == "GET":
            servers = [s for s in account.servers.values()
                       if all(s[key] == query[key] for key in ("status", "location") if query.get(key))]
            return 200, self.page(path, query, servers)
        if len(parts) == 2 and parts[0] == "servers" and numbers[1] and method == "GET":
            return 200, public(account.server(numbers[1]))
        raise Problem(404 if method == "GET" else 405, {"detail": "Not found."})

    def page(self, path, query, items):
        try:
            size = min(max(int(query.get("page_size", PAGE_SIZE)), 1), MAX_PAGE_SIZE)
            number = int(query.get("page", "1"))
        except ValueError:
            raise Problem(404, {"detail": "Invalid page."})
        last = max(1, -(-len(items) // size))
        if not 1 <= number <= last:
            raise Problem(404, {"detail": "Invalid page."})

        def link(other):
            return "http://%s%s?%s" % (self.headers.get("Host"), path, urlencode(dict(query, page=other)))

        return {"count": len(items), "next": link(number + 1) if number < last else None,
                "previous": link(number - 1) if number > 1 else None,
                "results": [public(item) for item in items[(number - 1) * size:number * size]]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--seed-snapshot", action="append", default=[], metavar="SERVER_ID:NAME")
    parser.add_argument("--snapshot-seconds", type=float, default=1.0)
    parser.add_argument("--restore-seconds", type=float, default=1.0)
    parser.add_argument("--request-log")
    args = parser.parse_args()
    Handler.account = Account(args.servers, args.seed_snapshot, args.snapshot_seconds, args.restore_seconds)
    Handler.token = args.token
    Handler.request_log = args.request_log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("http://127.0.0.1:%d/api/v1" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
