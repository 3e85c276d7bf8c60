#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way to start a fake VPS.org API, and what tests and tools share to drive it.

- ``serve``: start a fake API and stop it again (a context manager): the emulator (emulator.py) or the hostile API
  (tests/hostile/hostile.py), in a thread of this process or in a child process; every test suite, script and tool
  starts its fake API through it (the command line below is the same for shell scripts).
- ``EmulatorControl``: the emulator's control endpoints under ``/_emulator/`` (reset, state, faults, config, seeding,
  the request log and counters), for an emulator in this process or in another one.
- ``write_self_signed_certificate``: a certificate for 127.0.0.1, with the openssl CLI or the cryptography package.

Standard library only, so that shell scripts can use it as a command as well::

    harness.py start [--timeout S] [--server hostile] DIR [SERVER OPTIONS...]
                                                 start the fake API in the background, print its base URL
    harness.py stop DIR                          stop the fake API that `start DIR` started
    harness.py cert CERT KEY [--tool TOOL]       write a self-signed certificate, print the tool that made it
    harness.py control URL METHOD PATH [JSON]    one control request (URL: the API or control base URL), print the answer
    harness.py seed URL SPEC_JSON                add servers and snapshots in one go (see EmulatorControl.seed)

``start`` keeps the server's pid, first line and stderr in DIR (files pid, url, emulator.log).
"""

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from urllib.error import HTTPError
from urllib.request import Request, urlopen

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_SCRIPT = os.path.join(HERE, "emulator.py")
# The fake APIs that serve() starts, each by its script.
SERVERS = {
    "emulator": EMULATOR_SCRIPT,
    "hostile": os.path.join(os.path.dirname(HERE), "hostile", "hostile.py"),
}
CERT_TOOLS = ("auto", "openssl", "cryptography")


class HarnessError(Exception):
    """The emulator did not start, stop or answer as expected; the message says which and why."""


# ----- the control client ------------------------------------------------------------------------


class EmulatorControl:
    """The control endpoints of one emulator; built from its API base URL (``.../api/v1``) or control URL.

    ``call`` raises HarnessError for a status outside ``expected``; ``keep_answers`` keeps every answer's text in
    ``answers`` (tests check that no token ever appears in one).
    """

    def __init__(self, url, cafile=None, keep_answers=False, timeout=60):
        url = url.rstrip("/")
        root = url[:-len("/_emulator")] if url.endswith("/_emulator") else url.rsplit("/api/v1", 1)[0]
        self.base_url = root + "/api/v1"
        self.control_url = root + "/_emulator"
        self.timeout = timeout
        self.answers = [] if keep_answers else None
        self._context = None
        if self.control_url.startswith("https:"):
            # The control API answers loopback clients only; without a CA file, trust the emulator's own certificate.
            self._context = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()  # noqa: S323 pylint: disable=protected-access

    def call(self, method, path, body=None, expected=(200, 201)):
        """One control request; the decoded JSON answer (None when empty)."""
        data = json.dumps(body).encode() if body is not None else None
        request = Request(self.control_url + "/" + path.lstrip("/"), data=data, method=method,
                          headers={"Content-Type": "application/json"})
        try:
            with urlopen(request, timeout=self.timeout, context=self._context) as response:
                status, text = response.status, response.read().decode()
        except HTTPError as error:
            status, text = error.code, error.read().decode()
        if self.answers is not None:
            self.answers.append(text)
        if status not in expected:
            raise HarnessError("emulator %s /_emulator/%s answered %s: %s" % (method, path.lstrip("/"), status, text[:300]))
        return json.loads(text) if text else None

    def reset(self, servers=None):
        return self.call("POST", "reset", {} if servers is None else {"servers": servers})

    def state(self):
        return self.call("GET", "state")

    def snapshots(self, account=0):
        return self.state()["accounts"][account]["snapshots"]

    def requests(self, since=0):
        return self.call("GET", "requests?since=%d" % since)["requests"]

    def counters(self):
        return self.call("GET", "counters")

    def faults(self, **settings):
        return self.call("POST", "faults", settings)

    def clear_faults(self):
        return self.call("DELETE", "faults")

    def config(self, **settings):
        return self.call("POST", "config", settings)

    def add_server(self, **fields):
        return self.call("POST", "servers", fields)

    def update_server(self, server_id, **fields):
        return self.call("PUT", "servers/%d" % server_id, fields)

    def add_snapshot(self, **fields):
        return self.call("POST", "snapshots", fields)

    def seed(self, spec):
        """Add what spec says in one go; returns {"servers": [id, ...], "snapshots": [id, ...]} in that order.

        spec: {"servers": [name, ...], "on_each_server": [snapshot name, ...], "snapshots": [body, ...]}: servers to
        add, snapshot names to put on each added server, and more snapshots, each a body for POST /_emulator/snapshots
        whose "status" defaults to "completed".
        """
        servers = [self.add_server(name=name)["id"] for name in spec.get("servers", [])]
        wanted = [dict(server_id=server_id, name=name) for server_id in servers for name in spec.get("on_each_server", [])]
        snapshots = [self.add_snapshot(**dict({"status": "completed"}, **body))["id"] for body in wanted + spec.get("snapshots", [])]
        return {"servers": servers, "snapshots": snapshots}


# ----- the emulator in a child process -------------------------------------------------------------


class ServerProcess:
    """``SCRIPT ARGS`` (emulator.py unless told) in a child process of its own session; ``url`` is the base URL it
    printed first, ``control`` the emulator's control client.

    Its stdout goes to ``directory/url`` and its stderr to ``log_path`` (default ``directory/emulator.log``). Use it as
    a context manager, or call ``stop()``, which returns the exit status. Start it through ``serve``.
    """

    def __init__(self, args, directory, python=None, log_path=None, startup_timeout=30.0, cafile=None, script=EMULATOR_SCRIPT):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.url_path = os.path.join(directory, "url")
        self.log_path = log_path or os.path.join(directory, "emulator.log")
        with open(self.url_path, "wb") as stdout, open(self.log_path, "ab") as stderr:
            self.process = subprocess.Popen([python or sys.executable, script] + list(args), stdin=subprocess.DEVNULL,
                                            stdout=stdout, stderr=stderr, start_new_session=True)
        self.pid = self.process.pid
        try:
            self.url = wait_for_first_line(self.url_path, startup_timeout, self.process.poll, self.log_path)
        except HarnessError:
            self.stop()
            raise
        self.control = EmulatorControl(self.url, cafile=cafile) if script == EMULATOR_SCRIPT else None

    def stop(self, grace=10.0):
        """SIGTERM, then SIGKILL after grace seconds; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


class ServerThread:
    """A fake API served by a thread of this process: ``server`` is the Emulator or HostileServer object itself."""

    def __init__(self, name, args):
        module = _server_module(name)
        if name == "emulator":
            self.server = module.emulator_from_argv(list(args))
            self.url = self.server.start_in_thread()
            self.control = EmulatorControl(self.url)
        else:
            if args:
                raise HarnessError("the hostile API takes no server options in a thread: %s" % " ".join(args))
            self.server = module.HostileServer().start()
            self.url = self.server.base_url
            self.control = None

    def stop(self):
        self.server.stop()
        return 0


@contextlib.contextmanager
def serve(args=(), directory=None, server="emulator", in_thread=False, **process_options):
    """Start a fake API, yield it, and stop it again; what it yields has ``url`` (the API base URL) and ``control``.

    server: "emulator" (emulator.py) or "hostile" (tests/hostile/hostile.py); args: its command-line options, the same
    in a thread and in a process. in_thread: serve from a thread of this process (``.server`` is the server object),
    else from a child process that keeps its files in directory (``.process``, ``.pid``; see ServerProcess for
    process_options: python, log_path, startup_timeout, cafile).
    """
    if server not in SERVERS:
        raise HarnessError("unknown server %r: use one of %s" % (server, ", ".join(SERVERS)))
    if in_thread:
        running = ServerThread(server, args)
    else:
        if directory is None:
            raise HarnessError("a fake API in a child process needs a directory for its files")
        running = ServerProcess(list(args), directory, script=SERVERS[server], **process_options)
    try:
        yield running
    finally:
        running.stop()


def _server_module(name):
    """emulator.py or hostile.py as a module: from this package when there is one, else from its file."""
    relative = {"emulator": ".emulator", "hostile": "..hostile.hostile"}[name]
    if __package__:
        try:
            return importlib.import_module(relative, __package__)
        except ImportError:
            pass
    spec = importlib.util.spec_from_file_location("vpsorg_fake_api_" + name, SERVERS[name])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for_first_line(path, timeout, exit_status, log_path):
    """The first line written to path, once complete; HarnessError if exit_status() says the writer ended or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path, "rb") as handle:
            line = handle.readline()
        if line.endswith(b"\n"):
            return line.decode().strip()
        if exit_status() is not None:
            raise HarnessError("the emulator exited with status %s before it printed its URL: %s" % (exit_status(), tail(log_path)))
        if time.monotonic() >= deadline:
            raise HarnessError("the emulator did not print its URL within %g s: %s" % (timeout, tail(log_path)))
        time.sleep(0.05)


def tail(path, size=2000):
    try:
        with open(path, "rb") as handle:
            handle.seek(max(os.path.getsize(path) - size, 0))
            return handle.read().decode(errors="replace").strip() or "(no output)"
    except OSError:
        return "(no log)"


def stop_detached(directory, grace=10.0):
    """Stop the emulator `harness.py start DIR` left running: SIGTERM, then SIGKILL after grace seconds."""
    try:
        with open(os.path.join(directory, "pid")) as handle:
            pid = int(handle.read())
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + grace
    signum = signal.SIGTERM
    while is_running(pid):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            break
        if time.monotonic() >= deadline:
            signum = signal.SIGKILL
        time.sleep(0.05)
    os.unlink(os.path.join(directory, "pid"))


def is_running(pid):
    """True while pid is a live process (a zombie that its new parent has not reaped yet counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----- a TLS certificate -----------------------------------------------------------------------------


def write_self_signed_certificate(cert_path, key_path, tool="auto"):
    """A certificate and key for 127.0.0.1 (valid two days); returns the tool that made them: openssl or cryptography.

    tool "auto" uses the openssl CLI when it is on PATH, else Python's cryptography package (an ansible-core dependency).
    HarnessError when the tool asked for is not available.
    """
    if tool not in CERT_TOOLS:
        raise HarnessError("unknown certificate tool %r: use one of %s" % (tool, ", ".join(CERT_TOOLS)))
    if tool == "openssl" or (tool == "auto" and shutil.which("openssl")):
        if not shutil.which("openssl"):
            raise HarnessError("the openssl CLI is not on PATH")
        result = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                                 "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key_path, "-out", cert_path],
                                stdin=subprocess.DEVNULL, capture_output=True, check=False)
        if result.returncode != 0:
            raise HarnessError("openssl could not make a certificate: %s" % result.stderr.decode(errors="replace").strip())
        return "openssl"
    _write_certificate_with_cryptography(cert_path, key_path)
    return "cryptography"


def _write_certificate_with_cryptography(cert_path, key_path):
    try:
        import datetime
        import ipaddress
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise HarnessError("neither the openssl CLI nor the cryptography package is available to make a certificate") from None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
    with open(key_path, "wb") as key_file:
        key_file.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption()))
    with open(cert_path, "wb") as cert_file:
        cert_file.write(certificate.public_bytes(serialization.Encoding.PEM))


# ----- command line ----------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Start, stop and steer the local VPS.org API emulator from shell scripts.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a fake API in the background and print its base URL")
    start.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the URL (default: 30)")
    start.add_argument("--server", choices=sorted(SERVERS), default="emulator", help="which fake API (default: emulator)")
    start.add_argument("directory", help="where to keep its pid, url and emulator.log")
    start.add_argument("emulator_args", nargs=argparse.REMAINDER, help="options of the server's script")
    stop = commands.add_parser("stop", help="stop the fake API that `start DIR` started")
    stop.add_argument("directory")
    cert = commands.add_parser("cert", help="write a self-signed certificate for 127.0.0.1 and print the tool that made it")
    cert.add_argument("cert_path")
    cert.add_argument("key_path")
    cert.add_argument("--tool", choices=CERT_TOOLS, default="auto")
    control = commands.add_parser("control", help="one control request; prints the JSON answer")
    control.add_argument("url", help="the emulator's API base URL or control URL")
    control.add_argument("method")
    control.add_argument("path", help="e.g. state, counters, requests?since=0")
    control.add_argument("body", nargs="?", help="a JSON body")
    seed = commands.add_parser("seed", help="add servers and snapshots (see EmulatorControl.seed); prints the new ids")
    seed.add_argument("url")
    seed.add_argument("spec", help="JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "start":
            emulator = ServerProcess(args.emulator_args, args.directory, startup_timeout=args.timeout, script=SERVERS[args.server])
            with open(os.path.join(args.directory, "pid"), "w") as handle:
                handle.write("%d\n" % emulator.pid)
            print(emulator.url)
        elif args.command == "stop":
            stop_detached(args.directory)
        elif args.command == "cert":
            print(write_self_signed_certificate(args.cert_path, args.key_path, args.tool))
        elif args.command == "control":
            print(json.dumps(EmulatorControl(args.url).call(args.method, args.path, json.loads(args.body) if args.body else None)))
        else:
            print(json.dumps(EmulatorControl(args.url).seed(json.loads(args.spec))))
    except (HarnessError, OSError, ValueError) as error:
        print("harness.py %s: %s" % (args.command, error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
