"""The conda path for environment.yml specs: py-rattler solves and installs a real conda
package from a conda channel (a local one here: no conda channel is reachable offline),
honouring the date cutoff; the channel probe answers quickly when nothing listens."""

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time
from importlib import resources

import pytest

from swegym.core.conda_env import channels_reachable
from swegym.core.envprepare import conda_create_command

pytest.importorskip("rattler")

CONTENT = b"hello from a conda package\n"


@pytest.fixture
def channel(tmp_path):
    """A conda channel with one noarch package, toyconda 1.0, and its repodata.json."""
    noarch = tmp_path / "channel" / "noarch"
    noarch.mkdir(parents=True)
    index = {"name": "toyconda", "version": "1.0", "build": "0", "build_number": 0, "depends": [], "subdir": "noarch",
             "noarch": "generic", "license": "MIT"}
    paths = {"paths_version": 1, "paths": [{"_path": "share/toyconda.txt", "path_type": "hardlink",
                                             "sha256": hashlib.sha256(CONTENT).hexdigest(), "size_in_bytes": len(CONTENT)}]}
    package = noarch / "toyconda-1.0-0.tar.bz2"
    with tarfile.open(package, "w:bz2") as tar:
        for name, data in (("info/index.json", json.dumps(index).encode()), ("info/paths.json", json.dumps(paths).encode()),
                           ("share/toyconda.txt", CONTENT)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    blob = package.read_bytes()
    record = index | {"md5": hashlib.md5(blob).hexdigest(), "sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob),
                      "timestamp": 1577836800000}  # 2020-01-01
    (noarch / "repodata.json").write_text(json.dumps({"info": {"subdir": "noarch"}, "packages": {package.name: record}}))
    return tmp_path / "channel"


def create(environment_file, prefix, date):
    script = str(resources.files("swegym.core").joinpath("conda_create.py"))
    return subprocess.run([sys.executable, script, str(environment_file), str(prefix), date], capture_output=True, text=True)


def test_py_rattler_creates_the_environment_with_its_pip_section_kept(channel, tmp_path, monkeypatch):
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "pkgs"))
    environment = tmp_path / "environment.yml"
    environment.write_text(
        f"channels:\n  - file://{channel}\n  - defaults\ndependencies:\n  - toyconda=1.0\n  - pip:\n    - six==1.16.0\n"
    )
    result = create(environment, tmp_path / "prefix", "2020-06-01T00:00:00+00:00")
    assert result.returncode == 0, result.stderr
    assert "1 packages from file://" in result.stdout
    assert (tmp_path / "prefix" / "share" / "toyconda.txt").read_bytes() == CONTENT
    assert list((tmp_path / "prefix" / "conda-meta").glob("toyconda-1.0-0.json"))
    assert (tmp_path / "prefix" / ".swegym-pip.txt").read_text() == "six==1.16.0\n"
    # A cutoff before the package's date leaves nothing to install: a solver error says so.
    too_early = create(environment, tmp_path / "prefix2", "2019-06-01T00:00:00+00:00")
    assert too_early.returncode != 0 and "cutoff" in too_early.stderr


def test_the_build_step_installs_py_rattler_and_runs_the_script():
    command = conda_create_command("/e/environment.yml", "/opt/swegym/venv", "2021-01-01T00:00:00Z", "/opt/swegym/conda-tools")
    assert "py-rattler pyyaml" in command and "env -u UV_EXCLUDE_NEWER" in command
    assert command.endswith("/opt/swegym/conda-tools/venv/bin/python /opt/swegym/conda-tools/conda_create.py "
                            "/e/environment.yml /opt/swegym/venv 2021-01-01T00:00:00Z")
    assert "rattler.solve(" in command  # the script itself travels in the build script


def test_unreachable_channels_are_found_out_quickly_and_remembered(tmp_path):
    started = time.monotonic()
    reachable, why = channels_reachable(tmp_path, url="http://127.0.0.1:9/conda-forge/noarch/repodata.json")
    assert not reachable and "127.0.0.1:9" in why
    assert time.monotonic() - started < 10
    assert channels_reachable(tmp_path, url="http://127.0.0.1:9/other")[0] is False  # from the marker, no request
    assert (tmp_path / "conda-channels.probe").read_text().startswith("unreachable ")
