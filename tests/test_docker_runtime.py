"""The docker runtime against a real engine: an environment image for a tiny repository,
sandboxes of it, and their isolation (history, network, timeouts, process limits, cleanup).

Needs a running Docker engine and the base image (`swegym env base`); the environment
build pip-installs pytest, so it needs PyPI (through the CA bundle on intercepted networks).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from conftest import git, make_repo, skip_without_docker
from swegym import Components, get_plugin_manager
from swegym.core.envbuild import environment_id
from swegym.core.instance import TaskInstance
from swegym.core.envplan import ExactPythonError
from swegym.core.repository import EnvironmentSpec, RepositorySpec
from swegym.core.runtime import TIMEOUT_EXIT, EnvironmentBuildError, SandboxError
from swegym.plugins.runtimes import docker as docker_plugin
from swegym.plugins.runtimes.docker import SANDBOX_LABEL, DockerRuntime, DockerSandbox

pytestmark = pytest.mark.docker

# A name of its own per test session: concurrent runs on one engine never share (or remove)
# each other's environment images.
REPO = f"toy/calc{uuid.uuid4().hex[:6]}"
BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


@pytest.fixture(scope="module")
def engine():
    """The engine's client; skips the module when there is no engine or no base image."""
    skip_without_docker()
    client = DockerRuntime().client(timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="module")
def toy(engine, tmp_path_factory):
    """A repository with a buggy base commit and a later fixing commit, and its built environment."""
    root = tmp_path_factory.mktemp("docker-runtime")
    repo_dir = root / "calc"
    base = make_repo(repo_dir, {"calc.py": BUGGY, "test_calc.py": TESTS, "run.sh": "#!/bin/sh\necho run\n"})
    git(repo_dir, "update-index", "--chmod=+x", "run.sh")
    git(repo_dir, "commit", "-q", "-m", "executable run.sh")
    base = git(repo_dir, "rev-parse", "HEAD")
    (repo_dir / "calc.py").write_text(FIXED)
    git(repo_dir, "commit", "-q", "-am", "the fix (a future commit)")
    future = git(repo_dir, "rev-parse", "HEAD")
    repo = RepositorySpec(
        name=REPO, url="", local_path=str(repo_dir), environments={"0.1": EnvironmentSpec(install="")}
    )
    runtime = DockerRuntime(root=str(root / "cache"))
    instance = _instance(base)
    environment = runtime.environment(repo, instance)
    yield runtime, repo, instance, environment, future
    engine.images.remove(environment.location)  # the next run rebuilds it in a fresh cache


def _instance(base_commit: str, version: str = "0.1") -> TaskInstance:
    return TaskInstance(
        instance_id=f"{REPO.replace('/', '__')}-{uuid.uuid4().hex[:8]}",
        repo=REPO,
        base_commit=base_commit,
        patch="",
        test_patch="",
        problem_statement="add subtracts",
        version=version,
    )


@pytest.fixture
def sandbox(toy):
    runtime, repo, instance, _, _ = toy
    with runtime.sandbox(repo, instance) as sandbox:
        yield sandbox


def _containers(engine, **labels: str) -> list:
    filters = {"label": [SANDBOX_LABEL] + [f"{k}={v}" for k, v in labels.items()]}
    return engine.containers.list(all=True, filters=filters)


def test_environment_is_an_image_found_without_building(toy, engine):
    runtime, repo, instance, environment, _ = toy
    base_id = engine.images.get(runtime.base_image_for("bookworm")).id
    tag = f"swegym/env/{REPO.replace('/', '__')}:{environment_id('0.1', repo.environment('0.1'))}-{base_id.split(':')[1][:12]}"
    assert environment.location == tag  # the base image's identity is part of the tag
    assert environment.base_image == f"{runtime.base_image_for('bookworm')} ({base_id})"
    assert engine.images.get(environment.location).labels["swegym.environment"] == environment.key
    assert environment.python == "3.11" and environment.notes == ()
    log = open(environment.log_path).read()
    assert "swegym: environment ready" in log
    assert "(uv " in log or "swegym: Python 3.11" in log
    assert runtime.environment(repo, _instance(instance.base_commit), build=False) == environment


def test_build_tools_and_the_shared_cache_are_there(sandbox, toy):
    _, _, _, environment, _ = toy
    tools = sandbox.exec("make --version && gcc --version && pkg-config --version && python -c 'import setuptools, wheel, pip'")
    assert tools.ok, tools.output
    cache = toy[0].cache / "uv-cache"
    assert cache.is_dir() and any(cache.iterdir())  # uv wrote into the host's shared cache


def test_history_stops_at_the_base_commit(sandbox, toy):
    _, _, instance, _, future = toy
    log = sandbox.exec("git log --all --format=%H")
    assert log.ok and log.output.split()[0] == instance.base_commit
    assert len(log.output.split()) == 2 and future not in log.output
    assert sandbox.exec("git remote").output == ""
    assert sandbox.exec("git for-each-ref --format='%(refname)'").output.split() == ["refs/heads/swegym"]
    assert sandbox.exec("git status --porcelain").output == ""


def test_session_keeps_cwd_and_exports(sandbox):
    session = sandbox.session()
    assert session.run("mkdir -p sub/dir && cd sub/dir && export GREETING=hello").ok
    result = session.run("pwd; echo $GREETING")
    assert result.output.split() == ["/testbed/sub/dir", "hello"]
    assert sandbox.exec("pwd; echo ${GREETING:-unset}").output.split() == ["/testbed", "unset"]


def test_an_edit_makes_the_tests_pass_and_shows_in_the_diff(sandbox):
    failing = sandbox.exec("python -m pytest -q test_calc.py", timeout=60)
    assert failing.exit_code == 1 and "1 failed" in failing.output
    sandbox.write_file("calc.py", FIXED)
    passing = sandbox.exec("python -m pytest -q test_calc.py", timeout=60)
    assert passing.ok, passing.output
    assert "1 passed" in passing.output
    diff = sandbox.diff()
    assert "-    return a - b\n+    return a + b" in diff
    assert "run.sh" not in diff


def test_files_round_trip_text_of_any_size_and_keep_their_mode(sandbox):
    text = "naïve ☃ 𝄞\n" + "x" * 3_000_000 + "\nend\n"
    sandbox.write_file("new/dir/big.txt", text)
    assert sandbox.read_file("new/dir/big.txt") == text
    assert sandbox.read_file("/testbed/new/dir/big.txt") == text
    sandbox.write_file("run.sh", "#!/bin/sh\necho changed\n")
    assert sandbox.exec("./run.sh").output == "changed\n"
    assert "old mode" not in sandbox.diff()
    with pytest.raises(FileNotFoundError):
        sandbox.read_file("no/such/file")


def test_timeout_kills_the_whole_command(sandbox):
    result = sandbox.exec("echo started; sleep 1234 & sleep 1235", timeout=1)
    assert result.timed_out and result.exit_code == TIMEOUT_EXIT
    assert result.output == "started\n"
    assert result.duration_s < 5
    assert "sleep 123" not in sandbox.exec("ps -eo args").output
    assert sandbox.exec("echo alive").output == "alive\n"


def test_there_is_no_network(sandbox):
    probe = "python -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)\""
    result = sandbox.exec(probe, timeout=30)
    assert result.exit_code != 0 and "OSError" in result.output
    with pytest.raises(SandboxError, match="no network"):
        sandbox.exec("true", network=True)


def test_a_fork_bomb_is_contained_and_killed_at_its_timeout(sandbox):
    result = sandbox.exec(":(){ :|:& }; :; sleep 60", timeout=5)
    assert result.timed_out and result.exit_code == TIMEOUT_EXIT
    assert "Resource temporarily unavailable" in result.output  # the pids limit held it
    processes = sandbox.exec("ps -eo pid= | wc -l")
    assert processes.ok and int(processes.output) < 10
    assert sandbox.exec("echo alive").output == "alive\n"


def test_close_removes_the_container(toy, engine):
    runtime, repo, instance, _, _ = toy
    sandbox = runtime.sandbox(repo, instance)
    assert [c.id for c in _containers(engine)] and sandbox.container in [c.id for c in _containers(engine)]
    sandbox.close()
    sandbox.close()  # idempotent
    assert sandbox.container not in [c.id for c in _containers(engine)]
    with pytest.raises(SandboxError, match="closed"):
        sandbox.exec("true")


def test_a_failed_start_leaves_no_container(toy, engine):
    runtime, repo, _, _, _ = toy
    missing = _instance("0" * 40)
    with pytest.raises(SandboxError, match="could not check out"):
        runtime.sandbox(repo, missing)
    assert _containers(engine, **{"swegym.instance": missing.instance_id}) == []


def test_an_interrupted_start_leaves_no_container(toy, engine, monkeypatch):
    runtime, repo, instance, _, _ = toy
    instance = _instance(instance.base_commit)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(docker_plugin._Channel, "open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runtime.sandbox(repo, instance)
    assert _containers(engine, **{"swegym.instance": instance.instance_id}) == []


def test_a_missing_base_image_is_a_clear_error(toy):
    runtime, repo, instance, _, _ = toy
    other = DockerRuntime(base_image="swegym/base:not-built", root=runtime.root)
    repo2 = RepositorySpec(name=repo.name, url="", local_path=repo.local_path, environments={"0.2": EnvironmentSpec()})
    with pytest.raises(EnvironmentBuildError, match="base image swegym/base:not-built not found: run `swegym env base`"):
        other.environment(repo2, _instance(instance.base_commit, "0.2"))
    with pytest.raises(EnvironmentBuildError, match="is not built"):
        other.sandbox(repo2, _instance(instance.base_commit, "0.2"))


def test_a_python_no_suite_has_gets_the_nearest_recorded_unless_exactness_is_asked(toy, engine):
    runtime, repo, instance, _, _ = toy
    repo312 = RepositorySpec(
        name=repo.name, url="", local_path=repo.local_path, environments={"0.3": EnvironmentSpec(python="3.12")}
    )
    exact = DockerRuntime(root=runtime.root, exact_python=True)
    with pytest.raises(ExactPythonError, match=r"python 3\.12 is not reachable here \(nearest: 3\.11 from debian:bookworm\)"):
        exact.environment(repo312, _instance(instance.base_commit, "0.3"))
    environment = runtime.environment(repo312, _instance(instance.base_commit, "0.3"))
    assert (environment.python, environment.python_requested, environment.python_source) == ("3.11", "3.12", "debian:bookworm")
    assert environment.base_image.startswith(runtime.base_image_for("bookworm") + " (sha256:")
    assert environment.base_image.split("sha256:")[1][:12] in environment.location  # the tag names the base
    assert "python 3.12 requested, 3.11 used" in environment.notes[0]
    log = open(environment.log_path).read()
    assert "NOTE: python 3.12 requested, 3.11 used" in log and "# packages resolved as of: 20" in log
    engine.images.remove(environment.location)
    with pytest.raises(EnvironmentBuildError, match="was removed from the engine"):
        runtime.environment(repo312, _instance(instance.base_commit, "0.3"), build=False)


def test_a_failed_build_names_the_step_its_exit_code_and_output(toy, engine):
    runtime, repo, instance, _, _ = toy
    broken = RepositorySpec(
        name=repo.name, url="", local_path=repo.local_path,
        environments={"0.4": EnvironmentSpec(install="echo compiling; echo 'fatal: no compiler for fortran' >&2; exit 3")},
    )
    with pytest.raises(EnvironmentBuildError) as caught:
        runtime.environment(broken, _instance(instance.base_commit, "0.4"))
    message = str(caught.value)
    assert "install step failed at `exit 3` (exit 3):" in message
    assert "fatal: no compiler for fortran" in message and "log: " in message
    assert "EnvironmentBuildError" not in message


def test_an_unreachable_engine_is_a_clear_error(tmp_path):
    runtime = DockerRuntime(docker_host=f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(SandboxError, match="Docker engine not reachable .*: start dockerd or use --runtime local"):
        runtime.client(timeout=5)


def test_registered_with_validated_options():
    runtimes = Components(get_plugin_manager(entry_points=False, extra=[docker_plugin]))["runtimes"]
    runtime = runtimes.create("docker", {"memory_mb": "1024", "cpus": "0.5", "ca_bundle": "none"})
    assert (runtime.memory_mb, runtime.cpus, runtime.ca_bundle) == (1024, 0.5, None)
    assert isinstance(runtime, DockerRuntime) and DockerSandbox.workdir == "/testbed"


def test_importing_the_plugin_does_not_import_docker():
    code = "import sys, swegym.plugins.runtimes.docker; sys.exit('docker' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_gc_removes_containers_of_dead_owners_only(engine, toy):
    import socket

    from swegym.plugins.runtimes.docker import OWNER_LABEL, collect_garbage

    runtime, repo, instance, _, _ = toy
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner = f"{socket.gethostname()}:{dead.pid}"
    # The sandbox first: its first start in a process collects garbage itself.
    with runtime.sandbox(repo, instance) as live:
        orphan = engine.containers.create(
            runtime.base_image_for(), ["sleep", "infinity"], labels={SANDBOX_LABEL: "1", OWNER_LABEL: owner},
        )
        build = engine.containers.create(  # a build whose process was killed
            runtime.base_image_for(), ["sleep", "infinity"], labels={"swegym.build": "x/1.0-abc", OWNER_LABEL: owner},
        )
        removed = collect_garbage(runtime)
        assert orphan.name in removed and build.name in removed
        names = {c.name for c in engine.containers.list(all=True, filters={"label": SANDBOX_LABEL})}
        assert live.name in names and orphan.name not in names


def test_a_python_38_spec_is_built_on_the_bullseye_image(toy, engine):
    """Another suite's base image: 3.8 is nearest to bullseye's 3.9 (CI builds bullseye too)."""
    runtime, repo, instance, _, _ = toy
    try:
        engine.images.get(runtime.base_image_for("bullseye"))
    except Exception:
        pytest.skip(f"{runtime.base_image_for('bullseye')} is not built: swegym env base --suite bullseye")
    repo38 = RepositorySpec(
        name=repo.name, url="", local_path=repo.local_path, environments={"0.5": EnvironmentSpec(python="3.8")}
    )
    environment = runtime.environment(repo38, _instance(instance.base_commit, "0.5"))
    try:
        assert (environment.python, environment.python_source) == ("3.9", "debian:bullseye")
        with runtime.sandbox(repo38, _instance(instance.base_commit, "0.5")) as sandbox:
            result = sandbox.exec("python --version && gcc --version | head -1 && python -m pytest -q test_calc.py")
        assert "Python 3.9" in result.output and "gcc" in result.output
        assert "1 failed" in result.output  # the buggy base commit, run by bullseye's interpreter
    finally:
        engine.images.remove(environment.location)


def test_env_base_builds_the_suites_the_python_versions_need(engine, tmp_path):
    """Built already (CI builds bookworm and bullseye): the command finds them and says so."""
    tags = {suite: DockerRuntime().base_image_for(suite) for suite in ("bookworm", "bullseye")}
    for tag in tags.values():
        try:
            engine.images.get(tag)
        except Exception:
            pytest.skip(f"{tag} is not built: swegym env base --suite bookworm --suite bullseye")
    out = subprocess.run(
        [sys.executable, "-m", "swegym", "env", "base", "--python", "3.12", "--python", "3.8", "--python", "3.11"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("base image ready")]
    assert len(lines) == 2  # 3.12 and 3.11 both use bookworm
    assert lines[0].startswith(f"base image ready: {tags['bookworm']} (python 3.11, ")
    assert lines[1].startswith(f"base image ready: {tags['bullseye']} (python 3.9, ")
