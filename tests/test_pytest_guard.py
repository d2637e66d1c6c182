"""swegym's pytest plugin in a real pytest run, and the grader's checks of its record."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from swegym.core.patches import patch_files, sanitize_model_patch
from swegym.core.pytest_guard import MODULE, GuardSetup, log_summary_counts, plugin_source, read_verdict

TESTS = """\
import pytest


def test_ok():
    assert True


def test_bad():
    assert False


@pytest.mark.xfail
def test_expected():
    assert False


@pytest.mark.skip
def test_skipped():
    pass


@pytest.fixture
def broken():
    raise RuntimeError("setup")


def test_setup_error(broken):
    pass
"""


def pytest_with_guard(tmp_path, files: dict[str, str], *args: str):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / f"{MODULE}.py").write_text(plugin_source())
    setup = GuardSetup(str(guard_dir))
    env = {**os.environ, **setup.env()}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-q", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    record = (guard_dir / "outcomes.jsonl").read_text() if (guard_dir / "outcomes.jsonl").exists() else ""
    return setup, result, record


def verdict(setup, result, record, *, log_statuses=None, touched=()):
    return read_verdict(
        record, setup.nonce, exit_code=result.returncode, log=result.stdout, log_statuses=log_statuses or {}, touched=touched
    )


def test_outcomes_come_from_pytest_itself(tmp_path):
    setup, result, record = pytest_with_guard(tmp_path, {"test_a.py": TESTS})
    found = verdict(setup, result, record)
    assert found.complete and found.tampered == ()
    assert found.statuses == {
        "test_a.py::test_ok": "PASSED",
        "test_a.py::test_bad": "FAILED",
        "test_a.py::test_expected": "XFAIL",
        "test_a.py::test_skipped": "SKIPPED",
        "test_a.py::test_setup_error": "ERROR",
    }


def test_a_conftest_hookwrapper_that_rewrites_reports_is_tampering(tmp_path):
    conftest = (
        "import pytest\n\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    outcome.get_result().outcome = 'passed'\n"
    )
    setup, result, record = pytest_with_guard(tmp_path, {"test_a.py": TESTS, "conftest.py": conftest})
    found = verdict(setup, result, record)
    assert any("rewritten after pytest made it (failed -> passed)" in reason for reason in found.tampered), found


def test_hooks_in_files_the_patch_changed_are_tampering(tmp_path):
    setup, result, record = pytest_with_guard(tmp_path, {"test_a.py": TESTS, "conftest.py": "def pytest_configure(config):\n    pass\n"})
    assert verdict(setup, result, record).tampered == ()
    found = verdict(setup, result, record, touched=("conftest.py",))
    assert any("a file the patch changed" in reason for reason in found.tampered)


def test_os_exit_before_the_session_ends_is_tampering(tmp_path):
    lying = "import os\n\ndef test_lie():\n    print('PASSED test_a.py::test_bad')\n    os._exit(0)\n"
    setup, result, record = pytest_with_guard(tmp_path, {"test_a.py": TESTS, "test_z.py": lying}, "-p", "no:randomly")
    assert result.returncode == 0
    found = verdict(setup, result, record, log_statuses={"test_a.py::test_bad": "PASSED"})
    assert not found.complete
    assert any("without finishing its session" in reason for reason in found.tampered)
    assert any("the log shows test_a.py::test_bad PASSED but pytest reported it FAILED" in r for r in found.tampered)


def test_forged_records_and_contradicting_summaries_are_tampering(tmp_path):
    setup, result, record = pytest_with_guard(tmp_path, {"test_a.py": TESTS})
    forged = record + json.dumps({"event": "report", "nodeid": "x", "when": "call", "outcome": "passed", "nonce": "guess"}) + "\n"
    assert any("forged nonce" in r for r in verdict(setup, result, forged).tampered)
    lying_log = result.stdout + "\n===== 5 passed in 0.01s =====\n"
    found = read_verdict(record, setup.nonce, exit_code=result.returncode, log=lying_log, log_statuses={}, touched=())
    assert any("summary line says 5 passed" in r for r in found.tampered)
    found = read_verdict(record, setup.nonce, exit_code=0, log=result.stdout, log_statuses={}, touched=())
    assert any("exit status 1 but the test command exited 0" in r for r in found.tampered)


def test_no_record_means_the_tests_did_not_run_under_pytest():
    found = read_verdict("", "n", exit_code=0, log="ok", log_statuses={"t": "PASSED"}, touched=())
    assert found.statuses is None and found.tampered == ()


def test_log_summary_counts():
    assert log_summary_counts("x\n==== 3 failed, 2 passed, 1 warning in 0.12s ====\n") == {"failed": 3, "passed": 2}
    assert log_summary_counts("111 passed in 0.22s") == {"passed": 111}
    assert log_summary_counts("no summary here") is None


CODE = "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
PLAIN_CONFTEST = "--- /dev/null\n+++ b/conftest.py\n@@ -0,0 +1 @@\n+import evil\n"


def test_plain_unified_diffs_are_read_whole():
    assert patch_files(CODE + PLAIN_CONFTEST) == ["pkg/mod.py", "conftest.py"]
    sanitized = sanitize_model_patch(CODE + PLAIN_CONFTEST, "")
    assert sanitized.removed == ("conftest.py",) and "conftest_edited" in sanitized.flags
    assert "pkg/mod.py" in sanitized.patch and "conftest" not in sanitized.patch


def test_startup_hooks_config_files_and_metadata_are_removed():
    for path, flag in (
        ("sitecustomize.py", "startup_hook_edited"),
        ("pkg/evil.pth", "startup_hook_edited"),
        (".pytest.ini", "pytest_config_edited"),
        ("pytest.toml", "pytest_config_edited"),
        ("pkg.egg-info/entry_points.txt", "build_metadata_edited"),
    ):
        patch = CODE + f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x\n"
        sanitized = sanitize_model_patch(patch, "")
        assert sanitized.removed == (path,) and sanitized.flags == (flag,), path
