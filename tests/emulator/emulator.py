#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A faithful, stateful local emulator of the VPS.org Snapshots API.

It serves the four documented snapshot endpoints plus the servers endpoints under
/api/v1, shaped like the Django REST Framework service behind the real API, and
control endpoints under /_emulator/ that tests use to inspect and steer it
(request log, counters, reset, fault injection, run-time configuration, seeding).

Run ``python3 tests/emulator/emulator.py --help`` or import ``Emulator``.
"""

import argparse
import bisect
import ipaddress
import json
import math
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from urllib.parse import parse_qs, urlencode, urlunsplit

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DEFAULT_TOKEN = "vps_emulator_token"
SNAPSHOT_LIMIT = 5
NAME_MAX_LENGTH = 100
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
SERVER_STATUSES = ("active", "restoring", "stopped", "error")
SNAPSHOT_STATUSES = ("in_progress", "completed")
LOCATIONS = ("nyc1", "ams1", "fra1")
# How /api/v1/servers/ answers: "flat" strings and ip_address; "names" like the list entries a public client
# reads (ipv4_addresses, location_name, plan_name, os_name); "nested" like detail entries ({"name": ...} objects).
SERVER_SHAPES = ("flat", "names", "nested")
# How GET /snapshots/ orders its results: newest first (as documented clients expect), or oldest first, as a DRF API
# without an explicit ordering lists by primary key; a client must not depend on the order.
LIST_ORDERS = ("newest_first", "oldest_first")
FIRST_SERVER_ID = 12345
FIRST_SNAPSHOT_ID = 801
# Seeded servers get fixed creation dates so that state dumps are reproducible.
SEED_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

CREATE_MESSAGE = "Snapshot is being created. This may take 3-10 minutes depending on server size."
RESTORE_MESSAGE = "Server is being restored from snapshot. This may take 5-15 minutes."
NOT_FOUND = {"detail": "Not found."}


class ApiError(Exception):
    """An error answer: raised anywhere in a handler, turned into a JSON response."""

    def __init__(self, status, payload, headers=None):
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = headers or {}


def json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


def html_error_page(status):
    """The kind of page a reverse proxy answers with when the application behind it fails."""
    title = "%d %s" % (status, HTTPStatus(status).phrase)
    body = "<html><head><title>%s</title></head><body><h1>%s</h1></body></html>\n" % (title, title)
    return Response(body, status=status, mimetype="text/html")


def throttled_response(retry_after):
    payload = {"detail": "Request was throttled. Expected available in %d seconds." % retry_after}
    return json_response(payload, 429, {"Retry-After": str(retry_after)})


def iso_utc(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_from_epoch(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).replace(microsecond=0)


def parse_iso_utc(value):
    """Parse an ISO 8601 timestamp; naive ones are taken as UTC, as the API only speaks UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def parse_json_body(raw):
    """Decode a request body like DRF's JSONParser: an empty body is an empty form."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, {"detail": "JSON parse error - %s" % exc})


def is_loopback(address):
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


@dataclass
class Config:
    """Settings that tests may change at run time through POST /_emulator/config."""

    snapshot_seconds: float = 5.0
    restore_seconds: float = 5.0
    page_size: int = 20
    max_page_size: int = 100
    rate_limit: int = 0
    server_shape: str = "flat"
    list_order: str = "newest_first"

    LIMITS = {
        "snapshot_seconds": (float, 0),
        "restore_seconds": (float, 0),
        "page_size": (int, 1),
        "max_page_size": (int, 1),
        "rate_limit": (int, 0),
    }

    def update(self, changes):
        """Validate every change first so that a bad request changes nothing."""
        validated = {}
        for key, value in changes.items():
            if key in ("server_shape", "list_order"):
                choices = SERVER_SHAPES if key == "server_shape" else LIST_ORDERS
                if value not in choices:
                    raise ApiError(400, {key: ["Expected one of %s." % ", ".join(choices)]})
                validated[key] = value
                continue
            if key not in self.LIMITS:
                raise ApiError(400, {"detail": "Unknown config key %r." % key})
            kind, minimum = self.LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum or (kind is int and value != int(value)):
                raise ApiError(400, {key: ["Expected a %s >= %s." % (kind.__name__, minimum)]})
            validated[key] = kind(value)
        for key, value in validated.items():
            setattr(self, key, value)


@dataclass
class FaultConfig:
    """Fault injection settings; the defaults inject nothing."""

    rate: float = 0.0
    statuses: list = field(default_factory=lambda: [429, 500, 502, 503])
    drop_rate: float = 0.0
    retry_after: int = 1
    latency: float = 0.0
    when: str = "random"
    methods: list | None = None
    seed: int | None = None

    @classmethod
    def from_request(cls, body):
        if not isinstance(body, dict):
            raise ApiError(400, {"detail": "Expected a JSON object."})
        unknown = sorted(set(body) - {f.name for f in fields(cls)})
        if unknown:
            raise ApiError(400, {"detail": "Unknown fault keys: %s." % ", ".join(unknown)})
        faults = cls(**body)
        errors = {}
        for name in ("rate", "drop_rate", "latency"):
            value = getattr(faults, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (name != "latency" and value > 1):
                errors[name] = ["Expected a number between 0 and 1." if name != "latency" else "Expected a number >= 0."]
        if not isinstance(faults.statuses, list) or not faults.statuses or not all(
                isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in faults.statuses):
            errors["statuses"] = ["Expected a non-empty list of HTTP error statuses (400-599)."]
        if isinstance(faults.retry_after, bool) or not isinstance(faults.retry_after, int) or faults.retry_after < 0:
            errors["retry_after"] = ["Expected an integer >= 0."]
        if faults.when not in ("before", "after", "random"):
            errors["when"] = ["Expected one of before, after, random."]
        if faults.methods is not None and not (isinstance(faults.methods, list) and all(isinstance(m, str) for m in faults.methods)):
            errors["methods"] = ["Expected a list of HTTP methods or null."]
        if faults.seed is not None and (isinstance(faults.seed, bool) or not isinstance(faults.seed, int)):
            errors["seed"] = ["Expected an integer or null."]
        if errors:
            raise ApiError(400, errors)
        if faults.methods is not None:
            faults.methods = [m.upper() for m in faults.methods]
        return faults


@dataclass
class Server:
    id: int
    account: int
    name: str
    hostname: str
    status: str
    ip_address: str
    location: str
    plan: str
    os: str
    created_at: datetime
    updated_at: datetime
    # Epoch seconds at which a restore finishes; None while not restoring or when a
    # test pinned the status to "restoring" through the control API.
    restore_ends_at: float | None = None
    # The status the next restore ends in (a control switch, for tests of a restore that does not come back).
    restore_ends_as: str = "active"

    def as_api(self, shape="flat"):
        answer = {
            "id": self.id,
            "name": self.name,
            "hostname": self.hostname,
            "status": self.status,
            "ip_address": self.ip_address,
            "location": self.location,
            "plan": self.plan,
            "os": self.os,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
        }
        if shape == "names":
            answer["ipv4_addresses"] = [answer.pop("ip_address")]
            for key in ("location", "plan", "os"):
                answer["%s_name" % key] = answer.pop(key)
        elif shape == "nested":
            for key in ("location", "plan", "os"):
                answer[key] = {"id": sum(map(ord, answer[key])), "name": answer[key]}
        return answer


@dataclass
class Snapshot:
    id: int
    server: Server
    name: str
    status: str
    size_mb: int | None
    created_at: datetime
    description: str
    # Epoch seconds at which an in_progress snapshot completes; None means never.
    completes_at: float | None = None

    def as_api(self):
        return {
            "id": self.id,
            "server": {"id": self.server.id, "name": self.server.name},
            "name": self.name,
            "status": self.status,
            "size_mb": self.size_mb,
            "created_at": iso_utc(self.created_at),
            "description": self.description,
        }

    def newest_first_key(self):
        """Ascending order of this key is newest first; created_at has only second precision, so ties go to the higher id."""
        return (-self.created_at.timestamp(), -self.id)


def snapshot_size_mb(server_id):
    """A plausible, deterministic disk image size for a server."""
    return 2048 + (server_id * 389) % 6144


class QuietRequestHandler(WSGIRequestHandler):
    """Drops the per-request access log line but keeps error reports."""

    def log_request(self, code="-", size="-"):
        return None


class Emulator:
    """The emulator: state, WSGI application and the HTTP server that runs it."""

    API_ROUTES = [
        # (counter template, werkzeug rule, {method: handler name})
        ("/api/v1/snapshots/", "/api/v1/snapshots/", {"GET": "list_snapshots", "POST": "create_snapshot"}),
        ("/api/v1/snapshots/{id}/", "/api/v1/snapshots/<int:snapshot_id>/", {"GET": "get_snapshot", "DELETE": "delete_snapshot"}),
        ("/api/v1/snapshots/{id}/restore/", "/api/v1/snapshots/<int:snapshot_id>/restore/", {"POST": "restore_snapshot"}),
        ("/api/v1/servers/", "/api/v1/servers/", {"GET": "list_servers"}),
        ("/api/v1/servers/{id}/", "/api/v1/servers/<int:server_id>/", {"GET": "get_server"}),
    ]
    CONTROL_ROUTES = [
        ("/_emulator/requests", {"GET": "control_requests"}),
        ("/_emulator/counters", {"GET": "control_counters"}),
        ("/_emulator/reset", {"POST": "control_reset"}),
        ("/_emulator/state", {"GET": "control_state"}),
        ("/_emulator/faults", {"GET": "control_get_faults", "POST": "control_set_faults", "DELETE": "control_clear_faults"}),
        ("/_emulator/config", {"GET": "control_get_config", "POST": "control_set_config"}),
        ("/_emulator/servers", {"POST": "control_add_server"}),
        ("/_emulator/servers/<int:server_id>", {"PUT": "control_update_server"}),
        ("/_emulator/snapshots", {"POST": "control_add_snapshot"}),
    ]

    def __init__(self, tokens=None, servers=3, snapshot_seconds=5.0, restore_seconds=5.0, page_size=20, max_page_size=100,
                 rate_limit=0, server_shape="flat", host="127.0.0.1", port=0, certfile=None, keyfile=None, quiet=True):
        self.tokens = list(tokens or [DEFAULT_TOKEN])
        if len(set(self.tokens)) != len(self.tokens) or not all(t and not any(c.isspace() for c in t) for t in self.tokens):
            raise ValueError("tokens must be unique, non-empty and without whitespace")
        self._account_by_token = {token: index for index, token in enumerate(self.tokens)}
        self.servers_per_account = servers
        self.initial_config = Config(float(snapshot_seconds), float(restore_seconds), int(page_size), int(max_page_size), int(rate_limit))
        self.initial_config.update({"server_shape": server_shape})
        self.host = host
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self.quiet = quiet
        self.base_url = None
        self._server = None
        self._thread = None
        # One lock guards everything below; handlers run entirely under it.
        self._lock = threading.RLock()
        self._api_map = Map([Rule(rule, endpoint=index) for index, (_t, rule, _h) in enumerate(self.API_ROUTES)], merge_slashes=False)
        self._control_map = Map([Rule(rule, endpoint=index) for index, (rule, _h) in enumerate(self.CONTROL_ROUTES)], merge_slashes=False)
        self.reset()

    # ----- state -------------------------------------------------------------------

    def reset(self, servers=None):
        """Back to the seeded state: fresh servers, no snapshots, ids restart, log cleared."""
        with self._lock:
            self.config = replace(self.initial_config)
            self.faults = FaultConfig()
            self._rng = random.Random()
            self._servers = {}
            self._snapshots = {}
            # Indexes, so that a request costs what it reads, not the size of the account: servers per account in id
            # order, snapshots per account and per server newest first, and the pending transitions of _settle.
            self._account_server_lists = [[] for _token in self.tokens]
            self._account_snapshot_lists = [[] for _token in self.tokens]
            self._server_snapshot_lists = defaultdict(list)
            self._completing = {}
            self._restoring = {}
            self._next_server_id = FIRST_SERVER_ID
            self._next_snapshot_id = FIRST_SNAPSHOT_ID
            self._recent_requests = deque()
            self._log = []
            self._counters = {"total": 0, "writes": 0, "by_endpoint": Counter(), "by_status": Counter(), "faults": 0}
            count = self.servers_per_account if servers is None else servers
            for account in range(len(self.tokens)):
                for _index in range(count):
                    self._add_server(account, created_at=SEED_EPOCH + timedelta(days=len(self._servers)))

    def _add_server(self, account, name=None, status="active", location=None, plan="vps-2gb", os_name="ubuntu-24.04",
                    created_at=None, hostname=None, ip_address=None):
        ordinal = len(self._servers)
        # Names are numbered across accounts, so that no two accounts share a server name.
        name = name or "web-server-%02d" % (ordinal + 1)
        created_at = created_at or utc_from_epoch(time.time())
        server = Server(
            id=self._next_server_id, account=account, name=name, hostname=hostname or "%s.example.com" % name, status=status,
            # 203.0.113.0/24 is a documentation range: nothing real is ever addressed.
            ip_address=ip_address or "203.0.113.%d" % (ordinal % 254 + 1),
            location=location or LOCATIONS[ordinal % len(LOCATIONS)], plan=plan, os=os_name,
            created_at=created_at, updated_at=created_at)
        self._servers[server.id] = server
        self._account_server_lists[account].append(server)
        self._next_server_id += 1
        return server

    def _settle(self, now):
        """Apply the transitions that are due; time only moves forward when someone looks."""
        for snapshot in [s for s in self._completing.values() if now >= s.completes_at]:
            del self._completing[snapshot.id]
            snapshot.status = "completed"
            snapshot.size_mb = snapshot_size_mb(snapshot.server.id)
        for server in [s for s in self._restoring.values() if now >= s.restore_ends_at]:
            del self._restoring[server.id]
            server.status, server.restore_ends_as = server.restore_ends_as, "active"
            server.updated_at = utc_from_epoch(server.restore_ends_at)
            server.restore_ends_at = None

    def _account_servers(self, account):
        """The account's servers in id order (the index itself: do not change it)."""
        return self._account_server_lists[account]

    def _account_snapshots(self, account):
        """The account's snapshots, newest first (the index itself: do not change it)."""
        return self._account_snapshot_lists[account]

    def _server_snapshots(self, server_id):
        """One server's snapshots, newest first (the index itself: do not change it)."""
        return self._server_snapshot_lists.get(server_id, [])

    def _find_server(self, account, server_id):
        server = self._servers.get(server_id)
        if server is None or server.account != account:
            raise ApiError(404, NOT_FOUND)
        return server

    def _find_snapshot(self, account, snapshot_id):
        snapshot = self._snapshots.get(snapshot_id)
        if snapshot is None or snapshot.server.account != account:
            raise ApiError(404, NOT_FOUND)
        return snapshot

    def _new_snapshot(self, server, name, description, status, now, snapshot_id=None, created_at=None, size_mb=None, completes_in=None):
        snapshot_id = snapshot_id or self._next_snapshot_id
        self._next_snapshot_id = max(self._next_snapshot_id, snapshot_id + 1)
        completed = status == "completed"
        snapshot = Snapshot(
            id=snapshot_id, server=server, name=name, status=status,
            size_mb=(size_mb if size_mb is not None else snapshot_size_mb(server.id)) if completed else None,
            created_at=created_at or utc_from_epoch(now), description=description,
            completes_at=None if completed or completes_in is None else now + completes_in)
        self._snapshots[snapshot.id] = snapshot
        for index in (self._account_snapshot_lists[server.account], self._server_snapshot_lists[server.id]):
            bisect.insort(index, snapshot, key=Snapshot.newest_first_key)
        if snapshot.completes_at is not None:
            self._completing[snapshot.id] = snapshot
        return snapshot

    def _delete_snapshot(self, snapshot):
        del self._snapshots[snapshot.id]
        self._completing.pop(snapshot.id, None)
        for index in (self._account_snapshot_lists[snapshot.server.account], self._server_snapshot_lists[snapshot.server.id]):
            del index[bisect.bisect_left(index, snapshot.newest_first_key(), key=Snapshot.newest_first_key)]

    # ----- HTTP plumbing --------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/_emulator" or request.path.startswith("/_emulator/"):
            response = self._serve_control(request)
        else:
            response = self._serve_api(request, environ)
        return response(environ, start_response)

    def start_in_thread(self):
        """Start listening in a background thread and return the API base URL."""
        ssl_context = (self.certfile, self.keyfile) if self.certfile else None
        handler = QuietRequestHandler if self.quiet else WSGIRequestHandler
        self._server = make_server(self.host, self.port, self, threaded=True, ssl_context=ssl_context, request_handler=handler)
        self.port = self._server.server_port
        # A wildcard address is not something a client can connect to: show loopback instead.
        shown_host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in shown_host:
            shown_host = "[%s]" % shown_host
        self.base_url = "%s://%s:%d/api/v1" % ("https" if ssl_context else "http", shown_host, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="vpsorg-emulator", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def __enter__(self):
        self.start_in_thread()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def control_url(self):
        return self.base_url.rsplit("/api/v1", 1)[0] + "/_emulator"

    # ----- the API --------------------------------------------------------------------

    def _serve_api(self, request, environ):
        with self._lock:
            latency = self.faults.latency
        if latency:
            time.sleep(latency)
        raw_body = request.get_data(cache=True)
        try:
            logged_body = json.loads(raw_body) if raw_body.strip() else None
        except ValueError:
            logged_body = None
        route = self._match_api_route(request)
        with self._lock:
            now = time.time()
            self._settle(now)
            entry = {
                "seq": len(self._log) + 1, "time": now, "method": request.method, "path": request.path,
                "query": request.args.to_dict(), "status": None, "account": self._account_of(request),
                "fault": None, "body": logged_body, "applied": False,
            }
            if self._throttled(time.monotonic()):
                response = throttled_response(1)
            else:
                fault = self._pick_fault(request.method)
                if fault is None or fault["when"] == "after":
                    response, entry["applied"] = self._dispatch_api(request, route)
                if fault is not None:
                    # An "after" fault discards the real response of a request that was applied.
                    entry["fault"] = fault
                    self._counters["faults"] += 1
                    response = self._fault_response(fault)
            entry["status"] = response.status_code if response is not None else None
            self._record(entry, route[0] if route else "<unmatched>")
        if response is None:
            self._drop_connection(environ)
        return response

    def _record(self, entry, route_template):
        self._log.append(entry)
        counters = self._counters
        counters["total"] += 1
        counters["writes"] += int(entry["applied"])
        counters["by_endpoint"]["%s %s" % (entry["method"], route_template)] += 1
        counters["by_status"]["dropped" if entry["status"] is None else str(entry["status"])] += 1

    def _throttled(self, now):
        """Sliding one-second window over all API requests; throttled ones do not count."""
        window = self._recent_requests
        while window and window[0] <= now - 1.0:
            window.popleft()
        if self.config.rate_limit and len(window) >= self.config.rate_limit:
            return True
        window.append(now)
        return False

    def _pick_fault(self, method):
        faults = self.faults
        if faults.methods is not None and method not in faults.methods:
            return None
        roll = self._rng.random()
        if roll >= faults.drop_rate + faults.rate:
            return None
        when = faults.when if faults.when != "random" else self._rng.choice(("before", "after"))
        if roll < faults.drop_rate:
            return {"kind": "drop", "when": when}
        return {"kind": "status", "status": self._rng.choice(faults.statuses), "when": when}

    def _fault_response(self, fault):
        if fault["kind"] == "drop":
            return None
        if fault["status"] == 429:
            return throttled_response(self.faults.retry_after)
        return html_error_page(fault["status"])

    @staticmethod
    def _drop_connection(environ):
        """Close the socket without a response; werkzeug treats the error as a client disconnect."""
        connection = environ["werkzeug.socket"]
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise ConnectionAbortedError("connection dropped by fault injection")

    def _account_of(self, request):
        """The account index of a valid Bearer token, else None; never raises."""
        parts = request.headers.get("Authorization", "").split()
        if len(parts) == 2 and parts[0].lower() == "bearer":
            return self._account_by_token.get(parts[1])
        return None

    def _authenticate(self, request):
        """DRF TokenAuthentication with the "Bearer" keyword, including its messages."""
        parts = request.headers.get("Authorization", "").split()
        challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
        if not parts or parts[0].lower() != "bearer":
            raise ApiError(401, {"detail": "Authentication credentials were not provided."}, challenge)
        if len(parts) == 1:
            raise ApiError(401, {"detail": "Invalid token header. No credentials provided."}, challenge)
        if len(parts) > 2:
            raise ApiError(401, {"detail": "Invalid token header. Token string should not contain spaces."}, challenge)
        account = self._account_by_token.get(parts[1])
        if account is None:
            raise ApiError(401, {"detail": "Invalid token."}, challenge)
        return account

    def _match_api_route(self, request):
        """(counter template, {method: handler name}, path arguments), or None for an unknown path."""
        try:
            index, args = self._api_map.bind_to_environ(request.environ).match()
        except (NotFound, RequestRedirect):
            # A missing trailing slash is a 404, not a redirect: clients must use the documented paths.
            return None
        template, _rule, handlers = self.API_ROUTES[index]
        return template, handlers, args

    def _dispatch_api(self, request, route):
        """Authenticate and run one API request; returns (response, whether a write was applied)."""
        try:
            if route is None:
                raise ApiError(404, NOT_FOUND)
            _template, handlers, args = route
            # As in DRF, authentication is checked before the method.
            account = self._authenticate(request)
            method = "GET" if request.method == "HEAD" else request.method
            if method not in handlers:
                raise ApiError(405, {"detail": 'Method "%s" not allowed.' % request.method}, {"Allow": ", ".join(sorted(handlers))})
            response = getattr(self, handlers[method])(request, account, **args)
            return response, method in WRITE_METHODS and response.status_code < 300
        except ApiError as error:
            return json_response(error.payload, error.status, error.headers), False

    def _paginate(self, request, items, render=None):
        """DRF PageNumberPagination: page, page_size (capped), absolute next/previous links."""
        config = self.config
        try:
            page_size = int(request.args["page_size"])
            page_size = min(page_size, config.max_page_size) if page_size > 0 else config.page_size
        except (KeyError, ValueError):
            page_size = config.page_size
        pages = max(1, math.ceil(len(items) / page_size))
        raw_page = request.args.get("page") or "1"
        try:
            page = pages if raw_page == "last" else int(raw_page)
        except ValueError:
            page = 0
        if not 1 <= page <= pages:
            raise ApiError(404, {"detail": "Invalid page."})

        def link(number):
            query = parse_qs(request.query_string.decode("latin-1"), keep_blank_values=True)
            query.pop("page", None)
            if number > 1:
                query["page"] = [str(number)]
            return urlunsplit((request.scheme, request.host, request.path, urlencode(sorted(query.items()), doseq=True), ""))

        return json_response({
            "count": len(items),
            "next": link(page + 1) if page < pages else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": [(render or type(item).as_api)(item) for item in items[(page - 1) * page_size:page * page_size]],
        })

    def list_snapshots(self, request, account):
        snapshots = self._account_snapshots(account)
        raw_server_id = request.args.get("server_id", "")
        if raw_server_id:
            try:
                server_id = int(raw_server_id)
            except ValueError:
                raise ApiError(400, {"server_id": ["Enter a whole number."]})
            # Like a DRF filter, a server the account does not own simply matches nothing.
            server = self._servers.get(server_id)
            snapshots = self._server_snapshots(server_id) if server is not None and server.account == account else []
        if self.config.list_order == "oldest_first":
            snapshots = snapshots[::-1]
        return self._paginate(request, snapshots)

    def create_snapshot(self, request, account):
        body = parse_json_body(request.get_data(cache=True))
        server_id, name, description = self._validate_create(body)
        server = self._find_server(account, server_id)
        if server.status == "restoring":
            raise ApiError(400, {"detail": "Server is being restored; a snapshot cannot be taken now."})
        if len(self._server_snapshots(server.id)) >= SNAPSHOT_LIMIT:
            raise ApiError(400, {"detail": "Snapshot limit reached. A server can have at most %d snapshots." % SNAPSHOT_LIMIT})
        snapshot = self._new_snapshot(server, name, description, "in_progress", time.time(), completes_in=self.config.snapshot_seconds)
        return json_response(dict(snapshot.as_api(), message=CREATE_MESSAGE), 201)

    @staticmethod
    def _validate_create(body):
        """The create serializer: every field error at once, in DRF's words."""
        if not isinstance(body, dict):
            raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got %s." % type(body).__name__]})
        errors = {}
        server_id = body.get("server_id")
        if "server_id" not in body:
            errors["server_id"] = ["This field is required."]
        elif server_id is None:
            errors["server_id"] = ["This field may not be null."]
        else:
            try:
                if isinstance(server_id, bool) or (isinstance(server_id, float) and not server_id.is_integer()):
                    raise ValueError(server_id)
                server_id = int(server_id.strip() if isinstance(server_id, str) else server_id)
            except (TypeError, ValueError):
                errors["server_id"] = ["A valid integer is required."]
        name = body.get("name")
        if "name" not in body:
            errors["name"] = ["This field is required."]
        else:
            name_errors, name = Emulator._validate_text(name)
            if not name_errors:
                if not name:
                    name_errors.append("This field may not be blank.")
                else:
                    if len(name) > NAME_MAX_LENGTH:
                        name_errors.append("Ensure this field has no more than %d characters." % NAME_MAX_LENGTH)
                    if not NAME_PATTERN.match(name):
                        name_errors.append("Enter a valid name consisting of letters, numbers, underscores or hyphens.")
            if name_errors:
                errors["name"] = name_errors
        description_errors, description = Emulator._validate_text(body.get("description", ""))
        if description_errors:
            errors["description"] = description_errors
        if errors:
            raise ApiError(400, errors)
        return server_id, name, description

    @staticmethod
    def _validate_text(value):
        """DRF CharField: numbers are accepted as text, surrounding whitespace is trimmed."""
        if value is None:
            return ["This field may not be null."], None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return ["Not a valid string."], None
        return [], str(value).strip()

    def get_snapshot(self, _request, account, snapshot_id):
        return json_response(self._find_snapshot(account, snapshot_id).as_api())

    def delete_snapshot(self, _request, account, snapshot_id):
        self._delete_snapshot(self._find_snapshot(account, snapshot_id))
        response = Response(status=204)
        # DRF sends no Content-Type with an empty body.
        del response.headers["Content-Type"]
        return response

    def restore_snapshot(self, _request, account, snapshot_id):
        snapshot = self._find_snapshot(account, snapshot_id)
        server = snapshot.server
        if snapshot.status != "completed":
            raise ApiError(400, {"detail": "Snapshot is not completed yet; it cannot be restored."})
        if server.status == "restoring":
            raise ApiError(400, {"detail": "Server is not in a valid state for restoration: a restore is already running."})
        now = time.time()
        server.status = "restoring"
        server.restore_ends_at = now + self.config.restore_seconds
        self._restoring[server.id] = server
        server.updated_at = utc_from_epoch(now)
        return json_response({
            "status": "success",
            "message": RESTORE_MESSAGE,
            "snapshot": {"id": snapshot.id, "name": snapshot.name, "created_at": iso_utc(snapshot.created_at)},
            "server": {"id": server.id, "name": server.name, "status": server.status},
        })

    def list_servers(self, request, account):
        servers = self._account_servers(account)
        for key in ("status", "location"):
            wanted = request.args.get(key, "")
            if wanted:
                servers = [s for s in servers if getattr(s, key) == wanted]
        return self._paginate(request, servers, render=self._server_api)

    def get_server(self, _request, account, server_id):
        return json_response(self._server_api(self._find_server(account, server_id)))

    def _server_api(self, server):
        return server.as_api(self.config.server_shape)

    # ----- control endpoints ----------------------------------------------------------

    def _serve_control(self, request):
        """Control requests are never logged, throttled or faulted."""
        if not is_loopback(request.remote_addr):
            return json_response({"detail": "The control API only answers loopback clients."}, 403)
        try:
            try:
                index, args = self._control_map.bind_to_environ(request.environ).match()
            except (NotFound, RequestRedirect):
                raise ApiError(404, NOT_FOUND)
            handlers = self.CONTROL_ROUTES[index][1]
            if request.method not in handlers:
                raise ApiError(405, {"detail": 'Method "%s" not allowed.' % request.method}, {"Allow": ", ".join(sorted(handlers))})
            body = parse_json_body(request.get_data(cache=True))
            with self._lock:
                self._settle(time.time())
                payload, status = getattr(self, handlers[request.method])(request, body, **args)
            return json_response(payload, status)
        except ApiError as error:
            return json_response(error.payload, error.status, error.headers)

    @staticmethod
    def _control_object(body):
        if not isinstance(body, dict):
            raise ApiError(400, {"detail": "Expected a JSON object."})
        return body

    def control_requests(self, request, _body):
        try:
            since = int(request.args.get("since", "0"))
        except ValueError:
            raise ApiError(400, {"since": ["Enter a whole number."]})
        # seq is the 1-based position in the log, so "since" is a plain slice.
        return {"requests": self._log[max(since, 0):]}, 200

    def control_counters(self, _request, _body):
        counters = self._counters
        return {
            "total": counters["total"], "writes": counters["writes"], "faults": counters["faults"],
            "by_endpoint": dict(counters["by_endpoint"]), "by_status": dict(counters["by_status"]),
        }, 200

    def control_reset(self, _request, body):
        servers = self._control_object(body).get("servers")
        if servers is not None and (isinstance(servers, bool) or not isinstance(servers, int) or servers < 0):
            raise ApiError(400, {"servers": ["Expected an integer >= 0."]})
        self.reset(servers)
        return self.control_state(None, None)

    def control_state(self, _request, _body):
        accounts = [{
            "index": account,
            "servers": [s.as_api() for s in self._account_servers(account)],
            "snapshots": [s.as_api() for s in self._account_snapshots(account)],
        } for account in range(len(self.tokens))]
        return {"accounts": accounts, "config": asdict(self.config)}, 200

    def control_get_faults(self, _request, _body):
        return asdict(self.faults), 200

    def control_set_faults(self, _request, body):
        self.faults = FaultConfig.from_request(body)
        self._rng = random.Random(self.faults.seed)
        return asdict(self.faults), 200

    def control_clear_faults(self, _request, _body):
        self.faults = FaultConfig()
        return asdict(self.faults), 200

    def control_get_config(self, _request, _body):
        return asdict(self.config), 200

    def control_set_config(self, _request, body):
        self.config.update(self._control_object(body))
        return asdict(self.config), 200

    def control_add_server(self, _request, body):
        body = dict(self._control_object(body))
        account = body.pop("account", 0)
        if isinstance(account, bool) or not isinstance(account, int) or not 0 <= account < len(self.tokens):
            raise ApiError(400, {"account": ["Unknown account index."]})
        allowed = {"name", "status", "location", "plan", "os", "hostname", "ip_address"}
        if set(body) - allowed:
            raise ApiError(400, {"detail": "Unknown server fields: %s." % ", ".join(sorted(set(body) - allowed))})
        if body.get("status", "active") not in SERVER_STATUSES:
            raise ApiError(400, {"status": ["Expected one of %s." % ", ".join(SERVER_STATUSES)]})
        body["os_name"] = body.pop("os", "ubuntu-24.04")
        server = self._add_server(account, **body)
        return server.as_api(), 201

    def control_update_server(self, _request, body, server_id):
        server = self._servers.get(server_id)
        if server is None:
            raise ApiError(404, NOT_FOUND)
        body = self._control_object(body)
        allowed = {"name", "status", "location", "plan", "os", "hostname", "ip_address", "restore_ends_as"}
        if set(body) - allowed:
            raise ApiError(400, {"detail": "Unknown server fields: %s." % ", ".join(sorted(set(body) - allowed))})
        for key in ("status", "restore_ends_as"):
            if body.get(key, getattr(server, key)) not in SERVER_STATUSES:
                raise ApiError(400, {key: ["Expected one of %s." % ", ".join(SERVER_STATUSES)]})
        for key, value in body.items():
            setattr(server, key, value)
        if "status" in body:
            # A status set by hand stays until changed by hand: a pinned "restoring" never ends.
            server.restore_ends_at = None
            self._restoring.pop(server.id, None)
        server.updated_at = utc_from_epoch(time.time())
        return server.as_api(), 200

    def control_add_snapshot(self, _request, body):
        """Seed a snapshot directly, e.g. to replay documented examples with their ids and dates."""
        body = self._control_object(body)
        allowed = {"server_id", "name", "status", "created_at", "description", "size_mb", "id", "force", "complete_after"}
        if set(body) - allowed:
            raise ApiError(400, {"detail": "Unknown snapshot fields: %s." % ", ".join(sorted(set(body) - allowed))})
        server_id = body.get("server_id")
        server = self._servers.get(server_id) if isinstance(server_id, int) else None
        if server is None:
            raise ApiError(404, NOT_FOUND)
        complete_after = body.get("complete_after", self.config.snapshot_seconds)
        if complete_after is not None and (isinstance(complete_after, bool) or not isinstance(complete_after, (int, float))):
            raise ApiError(400, {"complete_after": ["Expected a number of seconds or null (never)."]})
        name = body.get("name")
        status = body.get("status", "completed")
        if not isinstance(name, str) or not name:
            raise ApiError(400, {"name": ["This field is required."]})
        if status not in SNAPSHOT_STATUSES:
            raise ApiError(400, {"status": ["Expected one of %s." % ", ".join(SNAPSHOT_STATUSES)]})
        snapshot_id = body.get("id")
        if snapshot_id is not None and (not isinstance(snapshot_id, int) or snapshot_id < 1 or snapshot_id in self._snapshots):
            raise ApiError(400, {"id": ["Expected an unused positive integer."]})
        try:
            created_at = parse_iso_utc(body["created_at"]) if body.get("created_at") else None
        except (TypeError, ValueError):
            raise ApiError(400, {"created_at": ["Expected an ISO 8601 timestamp."]})
        if not body.get("force") and len(self._server_snapshots(server.id)) >= SNAPSHOT_LIMIT:
            raise ApiError(400, {"detail": "Snapshot limit reached. A server can have at most %d snapshots." % SNAPSHOT_LIMIT})
        snapshot = self._new_snapshot(
            server, name, str(body.get("description", "")), status, time.time(), snapshot_id=snapshot_id, created_at=created_at,
            size_mb=body.get("size_mb"), completes_in=complete_after)
        return snapshot.as_api(), 201


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Local emulator of the VPS.org Snapshots API (tests, demos, offline playbooks).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default: 0)")
    parser.add_argument("--token", action="append", dest="tokens", metavar="T",
                        help="an API token; repeat for more accounts (default: one account, token %s)" % DEFAULT_TOKEN)
    parser.add_argument("--servers", type=int, default=3, help="servers seeded per account (default: 3)")
    parser.add_argument("--snapshot-seconds", type=float, default=5.0, help="time until a snapshot completes (default: 5)")
    parser.add_argument("--restore-seconds", type=float, default=5.0, help="time a restore keeps a server restoring (default: 5)")
    parser.add_argument("--page-size", type=int, default=20, help="default page size of list endpoints (default: 20)")
    parser.add_argument("--max-page-size", type=int, default=100, help="upper bound of the page_size parameter (default: 100)")
    parser.add_argument("--rate-limit", type=int, default=0, help="API requests per second before 429; 0 disables (default: 0)")
    parser.add_argument("--server-shape", choices=SERVER_SHAPES, default="flat",
                        help="how the servers endpoints answer: flat, names (ipv4_addresses, *_name) or nested ({name} objects)")
    parser.add_argument("--certfile", help="PEM certificate: serve HTTPS (needs --keyfile)")
    parser.add_argument("--keyfile", help="PEM private key of --certfile")
    parser.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    args = parser.parse_args(argv)
    if bool(args.certfile) != bool(args.keyfile):
        parser.error("--certfile and --keyfile go together")
    if args.tokens and (len(set(args.tokens)) != len(args.tokens) or not all(t and not any(c.isspace() for c in t) for t in args.tokens)):
        # Deliberately vague: the message must not echo a token.
        parser.error("tokens must be unique, non-empty and without whitespace")
    return args


def emulator_from_argv(argv):
    """The Emulator that these command-line options describe (not started): the script and harness.serve share it."""
    args = parse_args(argv)
    return Emulator(
        tokens=args.tokens, servers=args.servers, snapshot_seconds=args.snapshot_seconds, restore_seconds=args.restore_seconds,
        page_size=args.page_size, max_page_size=args.max_page_size, rate_limit=args.rate_limit, server_shape=args.server_shape, host=args.host, port=args.port,
        certfile=args.certfile, keyfile=args.keyfile, quiet=args.quiet)


def main(argv=None):
    emulator = emulator_from_argv(argv)
    stop_requested = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    print(emulator.start_in_thread(), flush=True)
    stop_requested.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
