# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection run the way AWX / Automation Platform run it: ansible-runner private data dirs, job slices.

Expects ansible-playbook and ansible-runner on PATH and the collection on ANSIBLE_COLLECTIONS_PATH (`make awx`).
"""

import json
import os
import re
import subprocess

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.vpsorg.cloud.tests.emulator.harness import EmulatorControl, serve

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TOKEN = "vps_awx_test_token_7c1e9a"
# What a credential's injectors set; nothing else of the connection reaches the job.
CONNECTION_VARS = ("VPSORG_API_TOKEN", "VPSORG_API_URL", "VPS_API_TOKEN", "VPS_API_URL")


class Api(EmulatorControl):
    """The emulator's control endpoints (the shared harness), plus what the jobs are given: its API URL."""

    def __init__(self, url):
        super().__init__(url)
        self.url = url

    def state(self):
        return super().state()["accounts"][0]


@pytest.fixture(scope="session")
def api_emulator():
    with serve(["--quiet", "--token", TOKEN, "--servers", "3", "--snapshot-seconds", "0.5", "--restore-seconds", "0.5"],
               in_thread=True) as running:
        yield Api(running.url)


@pytest.fixture
def api(api_emulator):
    """The emulator back in its seeded state for each test."""
    api_emulator.reset()
    return api_emulator


def credential_type(kind):
    """The credential type's input or injector configuration, as docs/awx.md gives it to paste into AWX."""
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        text = handle.read()
    match = re.search(r"<!-- credential-type-%s -->\n```yaml\n(.*?)```" % kind, text, re.S)
    assert match, "docs/awx.md has no credential-type-%s block" % kind
    return yaml.safe_load(match.group(1))


def injected_env(**inputs):
    """What AWX injects for a credential of that type: its env injectors rendered with the inputs."""
    environment = ImmutableSandboxedEnvironment()
    return dict((name, environment.from_string(template).render(**inputs))
                for name, template in credential_type("injectors")["env"].items())


def job_env():
    """The environment a job starts from: the caller's, without any API connection setting."""
    return dict((key, value) for key, value in os.environ.items() if key not in CONNECTION_VARS)


def write_private_data_dir(path, api, inventory, extravars=None, credential=None):
    """An ansible-runner private data dir as AWX lays it out: the credential's variables only in env/envvars."""
    for sub in ("env", "inventory"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    envvars = injected_env(**(credential or {"api_token": TOKEN, "api_url": api.url}))
    for key in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_LOCAL_TEMP", "ANSIBLE_HOME"):
        if os.environ.get(key):
            envvars[key] = os.environ[key]
    with open(os.path.join(path, "env", "envvars"), "w") as handle:
        json.dump(envvars, handle)
    if extravars:
        with open(os.path.join(path, "env", "extravars"), "w") as handle:
            json.dump(extravars, handle)
    for name, content in inventory.items():
        with open(os.path.join(path, "inventory", name), "w") as handle:
            handle.write(content)
    return path


def run_runner(path, ident, playbook="vpsorg.cloud.fleet_snapshot"):
    """`ansible-runner run PRIVATE_DATA_DIR -p PLAYBOOK`; the process, its output and the artifacts dir."""
    return subprocess.Popen(["ansible-runner", "run", path, "-p", playbook, "--ident", ident],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=job_env(), text=True)


def finished(process, path, ident, timeout=600):
    output = process.communicate(timeout=timeout)[0]
    artifacts = os.path.join(path, "artifacts", ident)
    return process.returncode, output, artifacts


def job_events(artifacts):
    directory = os.path.join(artifacts, "job_events")
    events = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as handle:
            events.append(json.load(handle))
    return sorted(events, key=lambda event: event.get("counter", 0))


def task_results(events, task):
    """The module results of one task (one per item for a loop)."""
    results = []
    for event in events:
        data = event.get("event_data", {})
        if event.get("event") in ("runner_on_ok", "runner_on_failed") and data.get("task") == task:
            res = data.get("res", {})
            results.extend(res.get("results", [res]))
    return results


def read_artifact_files(artifacts_root):
    """Every file under artifacts/, as bytes, by path."""
    contents = {}
    for directory, _dirs, files in os.walk(artifacts_root):
        for name in files:
            full = os.path.join(directory, name)
            with open(full, "rb") as handle:
                contents[full] = handle.read()
    return contents
