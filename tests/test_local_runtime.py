"""The local runtime on the bundled demo repository: environments, sandboxes, shell, cleanup."""

import shutil
import subprocess
import time

import pytest

from demo_support import demo_instances, processes_mentioning, repository
from swegym.core.git_source import run_git
from swegym.plugins.runtimes.cgroup import SandboxCgroup
from swegym.plugins.runtimes.local import LocalRuntime

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def instance(components):
    return demo_instances(components)["swegym__tinyver-18"]


@pytest.fixture()
def runtime(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    runtime = LocalRuntime()
    runtime.environment(repository(), instance)  # built once per test session (shared cache)
    return runtime


def test_environment_is_built_once_and_recorded(runtime, instance):
    environment = runtime.environment(repository(), instance, build=False)
    assert environment.key.startswith("swegym__tinyver/0.2-")
    assert environment.python  # the interpreter it was built with
    log = open(environment.log_path).read()
    assert "swegym: environment ready" in log


def test_sandbox_has_no_future_history_and_no_remotes(runtime, instance):
    with runtime.sandbox(repository(), instance) as sandbox:
        head = sandbox.exec("git rev-parse HEAD").output.strip()
        assert head == instance.base_commit
        assert sandbox.exec("git remote").output.strip() == ""
        refs = sandbox.exec("git for-each-ref --format='%(objectname)'").output.split()
        assert refs == [instance.base_commit]
        # the fix commit (a later commit) is not reachable from any ref
        later = instance.extra["mined_from"]
        assert later not in sandbox.exec("git log --all --format=%H").output


def test_persistent_shell_keeps_cwd_and_exports(runtime, instance):
    with runtime.sandbox(repository(), instance) as sandbox:
        shell = sandbox.session()
        assert shell.run("cd tests && export MARK=42").exit_code == 0
        result = shell.run("pwd; echo $MARK")
        assert result.output.split() == [f"{sandbox.workdir}/tests", "42"]
        assert shell.current_dir() == f"{sandbox.workdir}/tests"
        assert shell.run("exit 3").exit_code == 3


def test_files_diff_and_real_tests(runtime, instance):
    with runtime.sandbox(repository(), instance) as sandbox:
        assert "def parse(text)" in sandbox.read_file("tinyver/version.py")
        sandbox.write_file("NOTES.txt", "new file\n")
        sandbox.write_file("tinyver/version.py", sandbox.read_file("tinyver/version.py").replace("def parse(text):", "def parse(text):  # edited", 1))
        diff = sandbox.diff()
        assert "+new file" in diff and "# edited" in diff
        result = sandbox.exec("python -m pytest -q tests/test_bump.py")
        assert result.exit_code == 0, result.output
        assert "passed" in result.output


def test_timeout_kills_the_command_and_its_children(runtime, instance):
    with runtime.sandbox(repository(), instance) as sandbox:
        result = sandbox.exec("sleep 300 & sleep 301; echo never", timeout=1)
        assert result.timed_out and result.exit_code == 124 and "never" not in result.output
        assert "sleep 30" not in sandbox.exec("ps -eo args").output


def test_output_is_capped_keeping_head_and_tail(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path))
    runtime = LocalRuntime(max_output_bytes=1000)
    with runtime.sandbox(repository(), instance) as sandbox:
        result = sandbox.exec("echo FIRST; head -c 100000 /dev/zero | tr '\\0' x; echo; echo LAST")
        assert result.truncated and result.output.startswith("FIRST") and result.output.rstrip().endswith("LAST")
        assert len(result.output) < 1200


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_network_is_off_under_bubblewrap(runtime, instance):
    with runtime.sandbox(repository(), instance) as sandbox:
        code = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)"
        result = sandbox.exec(f"python -c \"{code}\"")
        assert result.exit_code != 0 and "unreachable" in result.output.lower()


def test_close_leaves_nothing_behind(runtime, instance, tmp_path):
    sandbox = runtime.sandbox(repository(), instance)
    sandbox.exec("(sleep 600 &) ; nohup sleep 601 >/dev/null 2>&1 &")
    root = str(sandbox.root)
    sandbox.close()
    sandbox.close()  # idempotent
    base = tmp_path / "sandboxes" / "swegym-sandboxes"
    assert [p.name for p in base.iterdir() if not p.name.startswith(".trash-")] == []
    for _ in range(100):  # the directory itself is deleted in the background
        if not list(base.iterdir()):
            break
        time.sleep(0.05)
    assert list(base.iterdir()) == []
    assert processes_mentioning(root) == []
    assert not [p for p in processes_mentioning("sleep 60") if p]


@pytest.mark.skipif(not SandboxCgroup.available(), reason="needs a writable cgroup")
def test_fork_bomb_is_contained(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path))
    runtime = LocalRuntime(pids_limit=64)
    with runtime.sandbox(repository(), instance) as sandbox:
        sandbox.exec("bomb() { bomb | bomb & }; bomb; sleep 2", timeout=4)
        assert 0 < len(sandbox.cgroup.pids()) <= 64  # capped by the sandbox's pids limit
        groups = list(sandbox.cgroup.dirs)
    assert not any(group.exists() for group in groups)  # every process killed, the cgroups removed
    assert subprocess.run(["true"]).returncode == 0  # the host still forks


def test_bare_clone_is_shared_not_copied(runtime, instance):
    bare = runtime.bare_clone(repository())
    with runtime.sandbox(repository(), instance) as sandbox:
        alternates = (sandbox.tree / ".git" / "objects" / "info" / "alternates").read_text().strip()
        assert alternates == str(bare / "objects")
        objects = run_git(["count-objects", "-v"], cwd=sandbox.tree).stdout
        assert "count: 0" in objects and "size-pack: 0" in objects


def test_file_access_cannot_follow_a_symlink_out_of_the_sandbox(runtime, instance, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("host file\n")
    with runtime.sandbox(repository(), instance) as sandbox:
        (sandbox.tree / "escape").symlink_to(outside)
        with pytest.raises(Exception, match="outside the sandbox"):
            sandbox.write_file("escape", "overwritten\n")
        with pytest.raises(Exception, match="outside the sandbox"):
            sandbox.read_file("escape")
    assert outside.read_text() == "host file\n"


def test_gc_removes_sandboxes_of_dead_owners_only(runtime, instance, tmp_path):
    from swegym.plugins.runtimes.local import collect_garbage

    dead = subprocess.Popen(["true"])
    dead.wait()
    with runtime.sandbox(repository(), instance) as live:
        orphan = runtime.sandbox(repository(), instance)
        (orphan.root / "owner").write_text(str(dead.pid))  # as if its process was killed -9
        orphan._server.kill()
        removed = collect_garbage()
        # its directory, and any of its processes still dying (killed too)
        assert str(orphan.root) in removed and not orphan.root.exists()
        assert all(item == str(orphan.root) or item.startswith(("process ", "cgroup swegym-")) for item in removed), removed
        assert live.root.exists()
        orphan.close()


def test_a_sandbox_opened_from_a_short_lived_thread_outlives_it(runtime, instance):
    """PDEATHSIG watches the forking thread: the server must not die with the opener's thread."""
    import contextlib
    import threading

    stack = contextlib.ExitStack()
    opened = {}
    opener = threading.Thread(target=lambda: opened.update(sandbox=stack.enter_context(runtime.sandbox(repository(), instance))))
    opener.start()
    opener.join()
    with stack:
        time.sleep(0.5)  # the kernel's SIGKILL would have landed by now
        assert opened["sandbox"].exec("echo alive").output.strip() == "alive"
