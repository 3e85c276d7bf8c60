# -*- coding: utf-8 -*-
# Copyright: (c) 2026, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make test` on a machine that never ran it: the parallel lanes share nothing under $HOME that they create.

ansible-test makes an ssh key pair on its first integration run, at ~/.ansible/test/id_rsa unless the collection
holds one at tests/output/.tmp/id_rsa; two lanes that start at once on a fresh machine both ran ssh-keygen there, and
the second died ("id_rsa already exists. Overwrite (y/n)?"). run-integration.sh now gives each staged copy its own key
pair (ssh-key.sh), and install-get-pip.sh writes the get-pip stand-in under ~/.ansible/test/cache atomically.

Here two integration runs start at the same moment, each in its own staged copy, the way `make test`'s lanes do,
and neither may create or touch ~/.ansible/test/id_rsa. HOME stays as it is (async tasks read the passwd home).
"""

import filecmp
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME_KEY = Path("~/.ansible/test/id_rsa").expanduser()
PROBE_TASKS = """---
- name: Reach the emulator that run-integration.sh started for this run
  ansible.builtin.uri:
    url: "{{ vpsorg_emulator_url }}/state"
  register: fresh_machine_state

- name: The emulator answered
  ansible.builtin.assert:
    that: fresh_machine_state.status == 200
"""


def key_state():
    """What the home key pair looks like now: None when absent, else its modification time and size."""
    return (HOME_KEY.stat().st_mtime_ns, HOME_KEY.stat().st_size) if HOME_KEY.exists() else None


def stage_with_probe(destination):
    """A staged copy of the collection whose only new target reaches the emulator; returns the collection's path."""
    staged = subprocess.run([str(ROOT / "tests/utils/stage.sh"), str(destination)], cwd=ROOT, check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    target = Path(staged, "tests/integration/targets/fresh_machine_probe")
    (target / "tasks").mkdir(parents=True)
    (target / "aliases").write_text("context/controller\n")
    (target / "tasks/main.yml").write_text(PROBE_TASKS)
    return Path(staged)


def test_two_integration_runs_start_at_once_without_a_home_key_pair(tmp_path):
    before = key_state()
    stages = [stage_with_probe(tmp_path / ("lane%d" % lane)) for lane in (1, 2)]
    python_version = "%d.%d" % sys.version_info[:2]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    runs = [subprocess.Popen([str(ROOT / "tests/utils/run-integration.sh"), str(stage), python_version, "fresh_machine_probe"],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for stage in stages]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-5000:]
        assert "Running fresh_machine_probe integration test role" in output, output[-5000:]
    keys = [(stage / "tests/output/.tmp/id_rsa").read_text() for stage in stages]
    assert all("PRIVATE KEY" in key for key in keys)
    assert keys[0] != keys[1], "each staged copy has a key pair of its own"
    assert key_state() == before, "the runs created or changed ~/.ansible/test/id_rsa"


def test_get_pip_stand_in_is_written_whole_by_runs_at_once():
    script = str(ROOT / "tests/utils/install-get-pip.sh")
    runs = [subprocess.Popen([script, sys.executable], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _run in range(4)]
    for run in runs:
        output = run.communicate(timeout=60)[0]
        assert run.returncode == 0, output
    cache = Path("~/.ansible/test/cache").expanduser()
    stand_ins = sorted(cache.glob("get_pip_*.py"))
    assert stand_ins, "no get-pip stand-in under %s" % cache
    assert any(filecmp.cmp(str(path), str(ROOT / "tests/utils/get_pip_offline.py"), shallow=False) for path in stand_ins)
    assert not [path for path in cache.iterdir() if ".py." in path.name], "a half-written stand-in was left behind"
