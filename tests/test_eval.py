"""`swegym eval` end to end on the demo repository, with the local and the Docker runtime:
gold and empty predictions, adversarial patches, and an interrupted run resumed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import skip_without_docker
from demo_support import checkout, demo_instances, make_patch, processes_mentioning, repository
from swegym.core.harness import grade
from swegym.core.results import GradeStatus
from swegym.plugins.runtimes.cgroup import SandboxCgroup

pytestmark = pytest.mark.slow
ID = "swegym__tinyver-18"
FIX_TEST = "def test_compare_with_unrelated_objects():"


def swegym(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "swegym", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


RUNTIMES = [
    pytest.param("local"),
    pytest.param("docker", marks=pytest.mark.docker),
]


def skip_without(runtime_name):
    if runtime_name == "docker":
        skip_without_docker()


@pytest.mark.parametrize("runtime_name", RUNTIMES)
def test_gold_resolves_every_demo_instance_and_empty_none(tmp_path, runtime_name):
    skip_without(runtime_name)
    out = swegym("eval", "--dataset", "demo", "--predictions", "gold", "--run-id", "gold-run", "-w", "2", "--runtime", runtime_name, cwd=tmp_path)
    summary = json.loads((tmp_path / "gold.gold-run.json").read_text())
    assert summary["resolved_instances"] == summary["total_instances"] >= 8
    assert summary["error_ids"] == [] and summary["unresolved_ids"] == []
    assert "resolved" in out
    report_dir = tmp_path / "logs" / "run_evaluation" / "gold-run" / "gold" / ID
    assert {p.name for p in report_dir.iterdir()} >= {"report.json", "test_output.txt", "patch.diff", "eval.sh", "run_instance.log"}
    report = json.loads((report_dir / "report.json").read_text())[ID]
    assert report["resolved"] and report["patch_successfully_applied"]
    assert report["tests_status"]["FAIL_TO_PASS"]["success"] == ["tests/test_version.py::test_compare_with_unrelated_objects"]
    environment = report["environment"]  # what the tests ran in, in every report
    assert environment["python_used"] and environment["install_path"] == "pip" and environment["key"]
    assert summary["swegym"]["python"][ID].endswith("(pip)") and "python (install)" in out

    swegym("eval", "--dataset", "demo", "--predictions", "empty", "--run-id", "empty-run", "--runtime", runtime_name, cwd=tmp_path)
    empty = json.loads((tmp_path / "empty.empty-run.json").read_text())
    assert empty["resolved_instances"] == 0
    assert empty["empty_patch_instances"] == empty["submitted_instances"] == summary["total_instances"]


@pytest.fixture(scope="module")
def instance(components):
    return demo_instances(components)[ID]


@pytest.fixture(scope="module")
def repo_dir(instance, tmp_path_factory):
    return checkout(instance, tmp_path_factory.mktemp("demo") / "tinyver")


@pytest.fixture(params=RUNTIMES)
def runtime(request, components, instance, tmp_path, monkeypatch):
    skip_without(request.param)
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path))
    runtime = components["runtimes"].create(request.param)
    runtime.environment(repository(), instance)
    return runtime


def no_leftovers(runtime, tmp_path):
    """Nothing of the sandbox is still running: no process, no container."""
    assert processes_mentioning(str(tmp_path)) == []
    if runtime.name == "docker":
        from swegym.plugins.runtimes.docker import OWNER_LABEL, owner_id

        # this process's sandboxes only: other runs may share the engine
        client = runtime.client()
        mine = client.containers.list(all=True, filters={"label": ["swegym.sandbox", f"{OWNER_LABEL}={owner_id()}"]})
        assert mine == []


def graded(runtime, instance, patch, timeout=60):
    result = grade(runtime, repository(), instance, patch, timeout=timeout).result
    return result


def test_editing_the_fail_to_pass_test_does_not_resolve(runtime, instance, repo_dir):
    # the agent "adds" the failing test as a trivially passing one, and changes no code
    test_file = (repo_dir / "tests" / "test_version.py").read_text()
    patch = make_patch(repo_dir, {"tests/test_version.py": test_file + f"\n\n{FIX_TEST}\n    pass\n", "tinyver/utils.py": ("\"\"\"", "\"\"\"Utilities. ", )})
    result = graded(runtime, instance, patch)
    assert result.status is GradeStatus.UNRESOLVED
    assert "test_files_edited" in result.flags
    assert result.tests_status["FAIL_TO_PASS"]["failure"] == ["tests/test_version.py::test_compare_with_unrelated_objects"]


def test_conftest_forcing_passes_does_not_resolve(runtime, instance, repo_dir):
    forcing = (
        "import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n    report = outcome.get_result()\n    report.outcome = 'passed'\n"
    )
    patch = make_patch(repo_dir, {"conftest.py": forcing, "tests/conftest.py": forcing})
    result = graded(runtime, instance, patch)
    assert result.status is GradeStatus.UNRESOLVED
    assert "conftest_edited" in result.flags
    # the same patch would have forced a pass: prove the conftest works when not removed
    assert "report.outcome = 'passed'" in patch


def test_patch_that_does_not_apply_is_patch_failed(runtime, instance):
    bad = "diff --git a/tinyver/version.py b/tinyver/version.py\n--- a/tinyver/version.py\n+++ b/tinyver/version.py\n@@ -1,3 +1,3 @@\n-this line is not there\n+nor this\n context\n"
    result = graded(runtime, instance, bad)
    assert result.status is GradeStatus.PATCH_FAILED and not result.patch_applied and result.patch_exists
    assert "does not apply" in result.reason


def test_hanging_tests_are_killed_at_the_timeout(runtime, instance, repo_dir, tmp_path):
    patch = make_patch(repo_dir, {"tinyver/errors.py": ('"""', 'import time\ntime.sleep(3600)\n"""')}, base_patch=instance.patch)
    started = time.monotonic()
    result = graded(runtime, instance, patch, timeout=5)
    assert time.monotonic() - started < 30
    assert result.status is GradeStatus.TIMEOUT and "timed out" in result.reason
    no_leftovers(runtime, tmp_path)


@pytest.mark.parametrize(
    "payload",
    [
        "import subprocess\nsubprocess.run(['curl', '-sSf', '-m', '5', 'https://pypi.org/simple/'], check=True)\n",
        "import socket\nsocket.create_connection(('1.1.1.1', 443), timeout=5)\n",
    ],
    ids=["curl", "socket"],
)
def test_network_use_fails_offline(runtime, instance, repo_dir, payload, tmp_path):
    if runtime.name == "local" and not runtime.use_bwrap():
        pytest.skip("network isolation needs bubblewrap")
    # the gold fix plus a network call at import: it resolves only if the network is reachable
    patch = make_patch(repo_dir, {"tinyver/errors.py": ('"""', payload + '"""')}, base_patch=instance.patch)
    result = graded(runtime, instance, patch)
    assert result.status in (GradeStatus.UNRESOLVED, GradeStatus.ERROR)
    assert result.tests_status["FAIL_TO_PASS"]["failure"]
    no_leftovers(runtime, tmp_path)


@pytest.mark.parametrize("runtime_name", RUNTIMES)
def test_fork_bomb_is_graded_and_cleaned_up(components, instance, repo_dir, tmp_path, monkeypatch, runtime_name):
    skip_without(runtime_name)
    if runtime_name == "local" and not SandboxCgroup.available():
        pytest.skip("needs a writable cgroup for a pids limit")
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path))
    runtime = components["runtimes"].create(runtime_name, {"pids_limit": 64})
    bomb = "import os\nfor _ in range(10000):\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    patch = make_patch(repo_dir, {"tinyver/errors.py": ('"""', bomb + '"""')}, base_patch=instance.patch)
    result = graded(runtime, instance, patch, timeout=10)
    assert not result.resolved
    no_leftovers(runtime, tmp_path)


def test_killed_eval_resumes_without_regrading(tmp_path):
    command = [sys.executable, "-m", "swegym", "eval", "--dataset", "demo", "--predictions", "gold", "--run-id", "r1"]
    env = {**os.environ, "SWEGYM_SANDBOX_DIR": str(tmp_path / "sandboxes")}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    run_dir = tmp_path / "logs" / "run_evaluation" / "r1" / "gold"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(run_dir.glob("*/report.json"))) < 2:
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for _ in range(50):  # the sandbox's command server notices its owner is gone and exits
        if not processes_mentioning(str(tmp_path / "sandboxes")):
            break
        time.sleep(0.1)
    assert processes_mentioning(str(tmp_path / "sandboxes")) == []
    finished = {p.parent.name for p in run_dir.glob("*/report.json")}
    assert len(finished) >= 2
    before = {name: (run_dir / name / "report.json").stat().st_mtime_ns for name in finished}
    out = swegym("eval", "--dataset", "demo", "--predictions", "gold", "--run-id", "r1", cwd=tmp_path)
    assert f"{len(finished)} from an earlier run" in " ".join(out.split())
    summary = json.loads((tmp_path / "gold.r1.json").read_text())
    assert summary["resolved_instances"] == summary["total_instances"]
    for name, mtime in before.items():  # not graded again
        assert (run_dir / name / "report.json").stat().st_mtime_ns == mtime
