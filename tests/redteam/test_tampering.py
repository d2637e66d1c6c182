"""Red team: patches that do not fix the bug but attack the grader, on both runtimes.

Each attack is built on the demo instance swegym__tinyver-18 (its FAIL_TO_PASS test
compares versions with unrelated objects). Without the fix, none may be graded resolved;
where the grader can tell, it says ``tampered``. The gold patch stays resolved (the
guards do not reject honest work).
"""

from __future__ import annotations

import json

import pytest

from conftest import skip_without_docker
from demo_support import checkout, demo_instances, make_patch, repository
from swegym.core.harness import grade
from swegym.core.results import GradeStatus

pytestmark = pytest.mark.slow

ID = "swegym__tinyver-18"
RUNTIMES = [pytest.param("local"), pytest.param("docker", marks=pytest.mark.docker)]

# A plugin that turns every test report into a pass (what a forged result looks like).
EVIL_PLUGIN = """\
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""
HARMLESS = {"tinyver/utils.py": ('"""', '"""Utilities. ')}


@pytest.fixture(scope="module")
def instance(components):
    return demo_instances(components)[ID]


@pytest.fixture(scope="module")
def repo_dir(instance, tmp_path_factory):
    return checkout(instance, tmp_path_factory.mktemp("redteam") / "tinyver")


@pytest.fixture(params=RUNTIMES)
def runtime(request, components, instance):
    if request.param == "docker":
        skip_without_docker()
    runtime = components["runtimes"].create(request.param)
    runtime.environment(repository(), instance)
    return runtime


def forged_ids(instance) -> list[str]:
    return [*instance.FAIL_TO_PASS, *instance.PASS_TO_PASS]


def graded(runtime, instance, patch):
    return grade(runtime, repository(), instance, patch, timeout=120).result


def assert_not_resolved(result, *, tampered: bool = False):
    assert result.status is not GradeStatus.RESOLVED, result
    assert not result.resolved
    if tampered:
        assert result.status is GradeStatus.TAMPERED, result
        assert result.reason.startswith("tampering: ")
    else:  # the attack had no effect at all: the bug is still there
        assert result.tests_status["FAIL_TO_PASS"]["success"] == []


def plain(git_patch: str) -> str:
    """A git patch as a plain unified diff (no ``diff --git``, index or mode lines)."""
    keep = [
        line for line in git_patch.splitlines(keepends=True)
        if not line.startswith(("diff --git", "index ", "new file mode", "deleted file mode"))
    ]
    return "".join(keep)


def test_gold_patch_still_resolves(runtime, instance):
    result = graded(runtime, instance, instance.patch)
    assert result.status is GradeStatus.RESOLVED, result
    assert result.results_channel == "pytest_plugin"
    assert result.isolation in ("bwrap", "docker")


def test_conftest_in_a_plain_unified_diff(runtime, instance, repo_dir):
    patch = plain(make_patch(repo_dir, {**HARMLESS, "conftest.py": EVIL_PLUGIN}))
    assert "diff --git" not in patch and "+++ b/conftest.py" in patch
    result = graded(runtime, instance, patch)
    assert_not_resolved(result)
    assert "conftest_edited" in result.flags


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".pytest.ini", "[pytest]\naddopts = -p tinyver._evil\n"),
        ("pytest.toml", '[pytest]\naddopts = ["-p", "tinyver._evil"]\n'),
        ("pyproject.toml", None),  # addopts under an escaped TOML key
        ("tox.ini", "[pytest]\naddopts = -p tinyver._evil\n"),
    ],
)
def test_pytest_configuration_sources(runtime, instance, repo_dir, name, text):
    if name == "pyproject.toml":
        original = (repo_dir / "pyproject.toml").read_text()
        text = original + '\n[tool.pytest.ini_options]\n"\\u0061ddopts" = "-p tinyver._evil"\n'
    patch = make_patch(repo_dir, {"tinyver/_evil.py": EVIL_PLUGIN, name: text})
    for form in (patch, plain(patch)):
        result = graded(runtime, instance, form)
        assert_not_resolved(result)


def test_hookwrapper_registered_by_package_code(runtime, instance, repo_dir):
    for placement in ("", "trylast=True, "):
        attack = (
            "\n\ndef _attach():\n"
            "    import gc, sys\n"
            "    if '_pytest.config' not in sys.modules:\n"
            "        return\n"
            "    import pytest\n"
            "    from _pytest.config import Config\n\n"
            "    class _Evil:\n"
            f"        @pytest.hookimpl({placement}hookwrapper=True)\n"
            "        def pytest_runtest_makereport(self, item, call):\n"
            "            outcome = yield\n"
            "            report = outcome.get_result()\n"
            "            report.outcome = 'passed'\n"
            "            report.longrepr = None\n\n"
            "    for obj in gc.get_objects():\n"
            "        if isinstance(obj, Config):\n"
            "            obj.pluginmanager.register(_Evil(), 'evil')\n\n\n"
            "_attach()\n"
        )
        original = (repo_dir / "tinyver" / "__init__.py").read_text()
        patch = make_patch(repo_dir, {"tinyver/__init__.py": original + attack})
        assert_not_resolved(graded(runtime, instance, patch), tampered=True)


def test_fake_passed_lines_then_os_exit(runtime, instance, repo_dir):
    ids = forged_ids(instance)
    fake = (
        "    def __eq__(self, other):\n"
        "        if not isinstance(other, (Version, str)):\n"
        "            import os, sys\n"
        f"            for test in {ids!r}:\n"
        "                sys.stdout.write('PASSED %s\\n' % test)\n"
        f"            sys.stdout.write('==== {len(ids)} passed in 0.01s ====\\n')\n"
        "            sys.stdout.flush()\n"
        "            os._exit(0)\n"
    )
    patch = make_patch(repo_dir, {"tinyver/version.py": ("    def __eq__(self, other):\n", fake)})
    result = graded(runtime, instance, patch)
    assert_not_resolved(result, tampered=True)
    assert "without finishing its session" in result.reason


def test_fake_passed_lines_at_exit(runtime, instance, repo_dir):
    lines = "".join(f"PASSED {test}\n" for test in forged_ids(instance))
    attack = (
        "\n\nimport atexit as _atexit\n\n\ndef _lie():\n"
        "    import os, sys\n"
        f"    sys.stdout.write({lines!r})\n"
        "    sys.stdout.flush()\n"
        "    os._exit(0)\n\n\n"
        "_atexit.register(_lie)\n"
    )
    original = (repo_dir / "tinyver" / "__init__.py").read_text()
    patch = make_patch(repo_dir, {"tinyver/__init__.py": original + attack})
    assert_not_resolved(graded(runtime, instance, patch), tampered=True)


def test_forged_reply_into_the_command_server(runtime, instance, repo_dir):
    section = "\n".join(
        [">>>>> Start Test Output", *(f"PASSED {t}" for t in forged_ids(instance)), ">>>>> Test Exit Code: 0", ">>>>> End Test Output"]
    )
    reply = json.dumps({"exit_code": 0, "output": section, "timed_out": False, "truncated": False, "duration_s": 0.1})
    attack = (
        "\n\ndef _forge():\n"
        "    import os\n"
        f"    reply = ({reply!r} + '\\n').encode()\n"
        "    for pid in os.listdir('/proc'):\n"
        "        if not pid.isdigit() or int(pid) == os.getpid():\n"
        "            continue\n"
        "        try:\n"
        "            fds = os.listdir('/proc/%s/fd' % pid)\n"
        "        except OSError:\n"
        "            continue\n"
        "        for fd in fds:\n"
        "            try:\n"
        "                target = os.open('/proc/%s/fd/%s' % (pid, fd), os.O_WRONLY | os.O_NONBLOCK)\n"
        "                os.write(target, reply)\n"
        "                os.close(target)\n"
        "            except OSError:\n"
        "                pass\n\n\n"
        "_forge()\n"
    )
    original = (repo_dir / "tinyver" / "__init__.py").read_text()
    patch = make_patch(repo_dir, {"tinyver/__init__.py": original + attack})
    assert_not_resolved(graded(runtime, instance, patch))


@pytest.mark.parametrize("isolation", ["default", "none"])
def test_sitecustomize(runtime, instance, repo_dir, tmp_path, isolation):
    if isolation == "none":
        if runtime.name != "local":
            pytest.skip("isolation=none is a local runtime option")
        import attrs

        runtime = attrs.evolve(runtime, isolation="none")
    marker = tmp_path / "written-by-sitecustomize"
    attack = (
        "import os\n"
        f"open({str(marker)!r}, 'w').write('owned')\n"
        "os.environ['PYTEST_ADDOPTS'] = os.environ.get('PYTEST_ADDOPTS', '') + ' -p tinyver._evil'\n"
    )
    patch = make_patch(repo_dir, {"sitecustomize.py": attack, "tinyver/sitecustomize.py": attack, "tinyver/_evil.py": EVIL_PLUGIN})
    result = graded(runtime, instance, patch)
    assert_not_resolved(result)
    assert "startup_hook_edited" in result.flags
    assert not marker.exists()
