# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml: ansible-builder makes a build context that installs the BUILT collection.

No container engine here, so the image itself is not built; what ansible-builder decides is checked instead.
"""

import glob
import json
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml

from conftest import ROOT


def run(argv, cwd=None):
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def manifest(tarball):
    with tarfile.open(tarball) as archive:
        return json.load(archive.extractfile("MANIFEST.json"))["collection_info"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The steps of docs/awx.md: build the collection, name the tarball, ansible-builder create."""
    work = tmp_path_factory.mktemp("ee")
    run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(work / "dist"), ROOT])
    (tarball,) = glob.glob(str(work / "dist" / "vpsorg-cloud-*.tar.gz"))
    os.rename(tarball, str(work / "dist" / "vpsorg-cloud.tar.gz"))
    shutil.copy(os.path.join(ROOT, "execution-environment.yml"), str(work))
    output = run(["ansible-builder", "create", "-f", "execution-environment.yml", "--context", "context",
                  "--output-filename", "Containerfile"], cwd=str(work))
    return work, output


def test_create_succeeds_with_the_built_collection_in_the_context(built):
    work, output = built
    assert "Complete! The build context can be found at" in output
    context = work / "context"
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    info = manifest(str(context / "_build" / "collections" / "vpsorg-cloud.tar.gz"))
    assert (info["namespace"], info["name"], info["version"]) == (galaxy["namespace"], galaxy["name"], galaxy["version"])
    with open(str(context / "_build" / "requirements.yml")) as handle:
        assert yaml.safe_load(handle) == {"collections": [{"name": "collections/vpsorg-cloud.tar.gz", "type": "file"}]}


def test_containerfile_installs_the_tarball_then_introspects_it(built):
    work, _output = built
    with open(str(work / "context" / "Containerfile")) as handle:
        containerfile = handle.read()
    # The galaxy stage works in /build, where the tarball's relative path in requirements.yml resolves.
    galaxy_stage = containerfile.split("FROM base AS galaxy", 1)[1].split("FROM base AS builder", 1)[0]
    assert "COPY _build /build" in galaxy_stage and "WORKDIR /build" in galaxy_stage
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in galaxy_stage
    assert "introspect.py introspect" in containerfile
    assert "ansible-core>=2.19,<2.22" in containerfile and "ansible-runner>=2.4,<2.5" in containerfile


def test_the_installed_collection_asks_pip_for_requests_and_the_system_for_nothing(built, tmp_path):
    work, _output = built
    run(["ansible-galaxy", "collection", "install", "--force", str(work / "dist" / "vpsorg-cloud.tar.gz"), "-p", str(tmp_path)])
    introspected = yaml.safe_load(run(["ansible-builder", "introspect", "--sanitize", str(tmp_path)]).split("\n", 1)[1])
    assert introspected["python"] == ["requests>=2.25  # from collection vpsorg.cloud"]
    assert introspected["system"] == []
