"""kill -9 of a running ``swegym eval`` leaves no process; ``swegym env gc`` then leaves no
sandbox directory, cgroup or container of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import skip_without_docker
from demo_support import demo_instances, repository
from swegym.plugins.runtimes.cgroup import SandboxCgroup
from swegym.plugins.runtimes.process import pid_alive

pytestmark = pytest.mark.slow


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        parent = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("runtime_name", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_kill_9_of_eval_leaves_nothing_after_gc(runtime_name, components, tmp_path, monkeypatch):
    if runtime_name == "docker":
        skip_without_docker()
    sandboxes = tmp_path / "sandboxes"
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(sandboxes))
    runtime = components["runtimes"].create(runtime_name)
    for instance in demo_instances(components).values():  # built before, so the kill lands mid-grading
        runtime.environment(repository(), instance)
    run = subprocess.Popen(
        [sys.executable, "-m", "swegym", "eval", "--dataset", "demo", "--predictions", "gold", "--run-id", "k9",
         "-w", "2", "--runtime", runtime_name],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        if runtime_name == "local":
            wait_for(lambda: list((sandboxes / "swegym-sandboxes").glob("*/repo")), 120, "a sandbox")
        else:
            wait_for(lambda: _containers_of(runtime, descendants(run.pid)), 120, "a container")
        time.sleep(0.5)
        below = descendants(run.pid)
        assert len(below) >= 3  # the fork server, two workers (and their sandboxes)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        wait_for(lambda: not [p for p in below if pid_alive(p)], 10, "every process of the run to exit")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()

    result = subprocess.run([sys.executable, "-m", "swegym", "env", "gc", "-r", runtime_name], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    owners = {run.pid, *below}
    if runtime_name == "local":
        assert list((sandboxes / "swegym-sandboxes").iterdir()) == []
        left = [name for name in SandboxCgroup.owned("swegym-") if name.split("-")[1] in {str(p) for p in owners}]
        assert left == []
    else:
        assert _containers_of(runtime, owners) == []


def _containers_of(runtime, pids: set[int]) -> list[str]:
    import socket

    from swegym.plugins.runtimes.docker import OWNER_LABEL, SANDBOX_LABEL

    client = runtime.client()
    try:
        owners = {f"{socket.gethostname()}:{pid}" for pid in pids}
        return [
            c.name for c in client.containers.list(all=True, filters={"label": SANDBOX_LABEL})
            if c.labels.get(OWNER_LABEL) in owners
        ]
    finally:
        client.close()
