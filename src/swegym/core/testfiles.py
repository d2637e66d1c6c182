"""Which paths of a repository are tests, test configuration, or test data.

Shared by the miner (splitting a commit into patch and test_patch), the grader (removing a
patch's edits to tests) and test-directive selection.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

# Directory names that hold tests in the SWE-Gym repositories and in most Python projects
# (mypy's and mypyc's data-driven cases live in test-data/*.test).
TEST_DIRS = {"test", "tests", "testing", "unittests", "test-data"}
# pytest's own configuration files: an edit here can change what "passing" means.
PYTEST_CONFIG_FILES = {"pytest.ini", "conftest.py"}
# Files that may carry a [tool:pytest] / [tool.pytest.ini_options] / [pytest] section.
SHARED_CONFIG_FILES = {"setup.cfg", "tox.ini", "pyproject.toml"}
# SWE-bench's list: files in a test patch with these extensions are data, not test modules.
NON_TEST_EXTS = (".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml")
PYTEST_SECTION = re.compile(r"^\s*\[(tool:pytest|pytest|tool\.pytest[\w.]*)\]", re.M)


def is_test_file(path: str) -> bool:
    """True for test modules, test data under test directories, and conftest.py files."""
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else ""
    if name == "conftest.py":
        return True
    if any(part.lower() in TEST_DIRS for part in parts[:-1]):
        return True
    if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py") or name == "tests.py"):
        return True
    return False


def is_pytest_config(path: str, diff_text: str = "") -> bool:
    """True for pytest.ini/conftest.py, and for shared config files whose diff touches pytest settings."""
    name = PurePosixPath(path).name
    if name in PYTEST_CONFIG_FILES:
        return True
    if name in SHARED_CONFIG_FILES:
        changed = [line[1:] for line in diff_text.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        return any("pytest" in line or "addopts" in line or "testpaths" in line for line in changed)
    return False


def test_directives(test_patch_files: list[str]) -> list[str]:
    """The paths to pass to the test command: test_patch's files minus data files (SWE-bench)."""
    return [path for path in test_patch_files if not path.endswith(NON_TEST_EXTS)]


def is_data_driven_case_file(path: str) -> bool:
    """mypy-style data-driven test files: ``test-data/unit/check-*.test`` holding ``[case testName]`` blocks."""
    return path.endswith(".test") and "test-data" in PurePosixPath(path).parts


def keyword_test_command(test_cmd: str, test_patch_files: list[str]) -> str:
    """The shell line for a test command ending in ``-k`` (SWE-bench's mypy command).

    ``-k`` takes an expression, not paths: with data-driven case files the expression names
    every case in them (read in the sandbox, after the test patch is applied); with Python
    test files only, the paths are passed and ``-k`` dropped.
    """
    data = [path for path in test_patch_files if is_data_driven_case_file(path)]
    if not data:
        base = test_cmd.rstrip().removesuffix("-k").rstrip()
        return f"{base} {' '.join(shlex.quote(p) for p in test_directives(test_patch_files))}".rstrip()
    quoted = " ".join(shlex.quote(path) for path in data)
    # "[case testName-skip]" -> testName; -k matches item names by substring.
    cases = (
        rf"sed -n 's/^\[case \([A-Za-z0-9_]*\).*/\1/p' {quoted} 2>/dev/null | sort -u | paste -sd' ' - | sed 's/ / or /g'"
    )
    return f'SWEGYM_CASES="$({cases})"\n{test_cmd.rstrip()} "${{SWEGYM_CASES:-no_case_found}}"'
