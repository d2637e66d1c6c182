"""Red team: code in a sandbox tries to escape (capabilities, host files, sockets, mounts).

On both runtimes the code under test has no capability, sees no host file outside the
allowed mounts (its work tree, its environment, the system's /usr), and no host socket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import swegym
from conftest import skip_without_docker
from demo_support import demo_instances, repository

pytestmark = pytest.mark.slow

PROJECT = Path(swegym.__file__).resolve().parents[2]  # this checkout of swegym, on the host


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request, components, tmp_path, monkeypatch):
    if request.param == "docker":
        skip_without_docker()
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    runtime = components["runtimes"].create(request.param, {"isolation": "bwrap"} if request.param == "local" else None)
    instance = demo_instances(components)["swegym__tinyver-18"]
    runtime.environment(repository(), instance)
    with runtime.sandbox(repository(), instance) as sandbox:
        yield sandbox


def run(sandbox, command: str) -> str:
    return sandbox.exec(command, timeout=60).output


def test_no_capability(sandbox):
    status = run(sandbox, "grep -E '^Cap(Eff|Prm|Amb)' /proc/self/status; python -c 'import os; print(os.getuid())'")
    for line in status.splitlines()[:3]:
        assert line.split()[1] == "0000000000000000", status
    assert sandbox.isolation in ("bwrap", "docker")


def test_mounts_cannot_be_made_writable(sandbox):
    # Host directories mounted read-only: the system and environment (local), the cached
    # clone's objects (Docker; its own image layers are the container's, not the host's).
    host_backed = ["/usr", str(sandbox.venv)] if sandbox.isolation == "bwrap" else ["/swegym/objects"]
    probes = " ; ".join(f"mount -o remount,rw {d} 2>/dev/null && echo REMOUNTED:{d}; touch {d}/swegym-escape 2>/dev/null && echo WROTE:{d}" for d in host_backed)
    out = run(sandbox, probes + "; mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED; true")
    assert "REMOUNTED" not in out and "WROTE" not in out and "MOUNTED" not in out, out
    assert not Path("/usr/swegym-escape").exists()


def test_no_host_secret_or_project_file(sandbox, tmp_path):
    sentinel = tmp_path / "host-secret.txt"
    sentinel.write_text("secret")
    paths = [str(sentinel), str(PROJECT / "pyproject.toml"), "/root/.bash_history", "/work"]
    if sandbox.isolation == "bwrap":
        paths.append("/etc/shadow")  # Docker shows its image's own, not the host's
    probes = [f"test -e {p} && echo VISIBLE:{p}" for p in paths] + ['[ -n "$(ls -A /home 2>/dev/null)" ] && echo VISIBLE:/home',
        # an environment image keeps the build's cache mount points as empty directories;
        # what must never show is a file from the host's cache
        '[ -n "$(find /root/.cache -type f 2>/dev/null | head -1)" ] && echo VISIBLE:/root/.cache']
    out = run(sandbox, " ; ".join(probes) + "; true")
    assert "VISIBLE" not in out, out


def test_no_host_socket(sandbox):
    code = (
        "import socket\n"
        "for path in ('/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock'):\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n"
        "        s.connect(path); print('CONNECTED', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, exc.errno)\n"
    )
    sandbox.write_file("/tmp/probe.py", code)
    out = run(sandbox, "python /tmp/probe.py; find / -xdev -type s 2>/dev/null | grep -v '^/proc' | head -5")
    assert "CONNECTED" not in out and "refused /var/run/docker.sock" in out, out
    assert ".sock" not in out.replace("/var/run/docker.sock", "").replace("/run/docker.sock", "").replace("containerd.sock", ""), out


def test_no_network(sandbox):
    code = "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=3); print('ONLINE')\nexcept OSError:\n    print('offline')\n"
    sandbox.write_file("/tmp/net.py", code)
    assert "offline" in run(sandbox, "python /tmp/net.py")
