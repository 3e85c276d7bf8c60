"""The role's built-in apt upgrade, run for real on a Debian root (tests/os/build-root.sh) through a chroot connection.

Run by tests/os/run.sh (`make integration-os`), which sets OS_TEST_ROOT (the cached, never-changed root) and
OS_TEST_WORK (where this run copies it). The tests run in file order on one copy: a held lock that changes nothing,
the real upgrade, then a second run that finds nothing to do.
"""

import calendar
import fcntl
import json
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from ansible_collections.vpsorg.cloud.tests.emulator.harness import serve

HERE = os.path.dirname(os.path.abspath(__file__))
CACHED_ROOT = os.environ.get("OS_TEST_ROOT", "")
WORK = os.environ.get("OS_TEST_WORK", "")
SERVER_ID = 12345  # the emulator's first seeded server
TOKEN = "vps_os_test_token"
SNAPSHOT_SECONDS = 1
# A bound on every playbook run: the upgrade of a minimal root takes well under a minute.
PLAYBOOK_TIMEOUT = 600
# Stands in for a kernel package's postinst (Debian's kernel hooks write the flag): every dpkg run of an upgrade
# asks for a reboot, and a run that changes no package does not run dpkg at all.
REBOOT_HOOK = 'DPkg::Post-Invoke { "echo \'*** System restart required ***\' > /var/run/reboot-required"; };\n'

pytestmark = pytest.mark.skipif(not (CACHED_ROOT and WORK), reason="run through tests/os/run.sh (make integration-os)")


def installed_versions(root):
    """Package -> version of every installed package, read from dpkg's status file (not through the role)."""
    versions = {}
    with open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8") as status:
        for stanza in status.read().split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.M))
            if fields.get("Status", "").endswith(" installed"):
                versions[fields["Package"] + ":" + fields.get("Architecture", "")] = fields["Version"]
    return versions


def apt_history_starts(root):
    """The Start-Date of every apt run in the root's history, as epoch seconds (the root's clock is UTC)."""
    path = os.path.join(root, "var/log/apt/history.log")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as history:
        dates = re.findall(r"^Start-Date: (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d)$", history.read(), re.M)
    return [calendar.timegm(time.strptime(re.sub(r"\s+", " ", date), "%Y-%m-%d %H:%M:%S")) for date in dates]


def pending_upgrades(root):
    """What apt would still upgrade, with the lists the root has now."""
    out = subprocess.run(["chroot", root, "apt-get", "--simulate", "dist-upgrade"], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return re.findall(r"^Inst (\S+)", out, re.M)


@pytest.fixture(scope="module")
def root():
    """A fresh copy of the cached root, with lists that look fresh (so a run that trusts their age upgrades nothing)."""
    copy = os.path.join(WORK, "root")
    if os.path.exists(copy):
        shutil.rmtree(copy)
    subprocess.run(["cp", "-a", CACHED_ROOT, copy], check=True, timeout=300)
    with open(os.path.join(copy, "etc/apt/apt.conf.d/99vpsorg-test-reboot-request"), "w", encoding="utf-8") as hook:
        hook.write(REBOOT_HOOK)
    os.utime(os.path.join(copy, "var/lib/apt/lists"))
    yield copy
    shutil.rmtree(copy)


@pytest.fixture(scope="module")
def emulator():
    """The emulator in a child process (the shared starter); its files, the log among them, in WORK/emulator."""
    args = ["--port", "0", "--quiet", "--token", TOKEN, "--servers", "1", "--snapshot-seconds", str(SNAPSHOT_SECONDS),
            "--restore-seconds", "1"]
    with serve(args, os.path.join(WORK, "emulator")) as running:
        yield running


@pytest.fixture(scope="module")
def before(root):
    """The versions installed before any run, and what was pending then."""
    return installed_versions(root)


def run_role(root, emulator, name, *extra):
    """Run tests/os/upgrade.yml on the root; return (process, facts or None, the emulator requests it made)."""
    facts_file = os.path.join(WORK, name + ".json")
    if os.path.exists(facts_file):
        os.remove(facts_file)
    inventory = os.path.join(WORK, "inventory.yml")
    with open(inventory, "w", encoding="utf-8") as out:
        json.dump({"all": {"hosts": {"debian_root": {
            "ansible_connection": "community.general.chroot", "ansible_host": root,
            "ansible_python_interpreter": "/usr/bin/python3", "vpsorg_server_id": SERVER_ID}}}}, out)
    seen = len(emulator.control.requests())
    # Pipelining: one chroot process per task instead of several (the connection supports it).
    env = dict(os.environ, VPSORG_API_URL=emulator.url, VPSORG_API_TOKEN=TOKEN, ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_PIPELINING="1")
    started = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", inventory, os.path.join(HERE, "upgrade.yml"), "-e", "os_test_facts_file=" + facts_file,
         *extra], env=env, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, check=False)
    with open(os.path.join(WORK, name + ".log"), "w", encoding="utf-8") as log:
        log.write(proc.stdout + proc.stderr + f"\n(ran in {time.monotonic() - started:.0f} s)\n")
    facts = None
    if os.path.exists(facts_file):
        with open(facts_file, encoding="utf-8") as out:
            facts = json.load(out)
    return proc, facts, emulator.control.requests()[seen:]


def snapshot_posts(requests):
    return [r for r in requests if r["method"] == "POST" and r["path"] == "/api/v1/snapshots/"
            and (r["body"] or {}).get("server_id") == SERVER_ID]


def restores(requests):
    return [r for r in requests if r["method"] == "POST" and r["path"].endswith("/restore/")]


def test_a_bad_lock_wait_fails_before_any_request(root, emulator, before):
    proc, facts, requests = run_role(root, emulator, "bad-input", "-e", "safe_upgrade_lock_timeout=-1")
    assert proc.returncode == 2, proc.stdout
    assert facts is None
    assert "safe_upgrade_lock_timeout must be zero or more seconds, got -1." in proc.stdout
    assert requests == []
    assert installed_versions(root) == before


def test_a_held_dpkg_lock_fails_in_one_line_and_restores_nothing(root, emulator, before):
    lock_path = os.path.join(root, "var/lib/dpkg/lock-frontend")
    # apt and dpkg take fcntl locks; lockf is one, held here by another process than the upgrade's.
    with open(lock_path, "a", encoding="utf-8") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        proc, facts, requests = run_role(root, emulator, "locked", "-e", "safe_upgrade_lock_timeout=2")
    assert proc.returncode == 2, proc.stdout
    assert facts is None  # the host failed
    # The host's failure is the last fatal line (the ones before it were rescued by the role).
    fatal = [line for line in proc.stdout.splitlines() if line.startswith("fatal: [debian_root]: FAILED!")]
    assert fatal, proc.stdout
    message = json.loads(fatal[-1].split("=> ", 1)[1])["msg"]
    assert "\n" not in message
    assert "failed before changing anything, so it was NOT rolled back" in message, message
    assert "lock" in message, message
    assert len(snapshot_posts(requests)) == 1
    assert restores(requests) == []
    assert installed_versions(root) == before
    assert apt_history_starts(root) == []


def hold_lock_until_apt_waits(lock, root, seen):
    """Release the dpkg lock a second after the upgrade's apt-get is seen running in the root (and so waiting)."""
    deadline = time.monotonic() + PLAYBOOK_TIMEOUT
    real_root = os.path.realpath(root)
    try:
        while not seen and time.monotonic() < deadline:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        argv = cmdline.read().split(b"\0")
                    in_root = os.readlink(f"/proc/{pid}/root") == real_root
                except OSError:
                    continue
                if in_root and b"dist-upgrade" in argv and any(arg.endswith(b"apt-get") for arg in argv):
                    seen.append(pid)
                    time.sleep(1)
                    break
            time.sleep(0.2)
    finally:
        lock.close()


def test_the_upgrade_waits_for_the_lock_and_upgrades_after_the_snapshot_completed(root, emulator, before):
    # The lock is held when the run starts, and let go only once apt-get waits for it.
    lock = open(os.path.join(root, "var/lib/dpkg/lock-frontend"), "a", encoding="utf-8")
    fcntl.lockf(lock, fcntl.LOCK_EX)
    seen = []
    holder = threading.Thread(target=hold_lock_until_apt_waits, args=(lock, root, seen))
    holder.start()
    try:
        proc, facts, requests = run_role(root, emulator, "upgrade", "-e", f"safe_upgrade_lock_timeout={PLAYBOOK_TIMEOUT}")
    finally:
        seen.append("done")
        holder.join()
    assert seen[0] != "done", "apt-get dist-upgrade was never seen waiting for the lock"
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = installed_versions(root)
    changed = sorted(name for name in set(before) | set(after) if after.get(name) != before.get(name))
    assert changed, "nothing was upgraded: upgrades were pending in the -updates/-security suites"
    assert facts["state"] == "upgraded"
    assert facts["outcome"] == "upgraded"
    assert int(facts["packages_changed"]) == len(changed)
    assert pending_upgrades(root) == []
    # The snapshot completed before apt started: its POST, then the poll that saw it completed, then apt.
    posts = snapshot_posts(requests)
    assert len(posts) == 1 and posts[0]["status"] == 201
    completed_at = posts[0]["time"] + SNAPSHOT_SECONDS
    seen_completed = min(r["time"] for r in requests if r["method"] == "GET" and r["time"] >= completed_at)
    starts = apt_history_starts(root)
    assert len(starts) == 1
    assert starts[0] >= int(seen_completed)  # Start-Date has whole seconds
    assert restores(requests) == []
    # The upgrade asked for a reboot; the real one is off, the decision is what is tested.
    assert os.path.exists(os.path.join(root, "run/reboot-required"))
    assert facts["reboot_needed"] is True
    assert facts["reboot_reason"] == "this run's upgrade created /var/run/reboot-required"
    assert "Reboot: no, although needed: safe_upgrade_reboot is false" in proc.stdout
    assert re.search(r"TASK \[vpsorg.cloud.safe_upgrade : Reboot because this run's upgrade asks for it\] \**\n"
                     r"skipping: \[debian_root\]", proc.stdout)


def test_a_second_run_changes_nothing_and_does_not_reboot_for_an_old_flag(root, emulator):
    upgraded = installed_versions(root)
    proc, facts, requests = run_role(root, emulator, "second")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed_versions(root) == upgraded
    assert len(apt_history_starts(root)) == 1
    assert facts["state"] == "upgraded"
    assert facts["outcome"] == "up_to_date"
    assert int(facts["packages_changed"]) == 0
    assert facts["apt_changed"] is False
    assert facts["reboot_needed"] is False
    assert facts["reboot_reason"].startswith("/var/run/reboot-required is left from before this run, which changed no")
    assert restores(requests) == []
