"""Reading patches: files they touch, and removing a patch's edits to tests.

An agent must not be able to grade itself resolved. Before grading, edits to test files,
``conftest.py`` files, pytest configuration, Python start-up hooks (sitecustomize.py,
``.pth`` files) and installed metadata (``*.egg-info``) are removed from the model patch
(and flagged in the report); the instance's own test files are then checked out at the
base commit and its test patch applied, as SWE-bench does. Paths come from unidiff, so a
plain unified diff is read like a git one; the grader checks the work tree after applying
too (``harness.protect_tree``), for formats no diff parser reads (``patch`` also takes
context diffs).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import attrs
import unidiff

from swegym.core.testfiles import is_pytest_config, is_test_file

DIFF_HEADER = re.compile(r"^diff --git ", re.M)
_PLUS_PATH = re.compile(r"^\+\+\+ (?:b/)?(.+?)\s*$", re.M)
_MINUS_PATH = re.compile(r"^--- (?:a/)?(.+?)\s*$", re.M)
_GIT_PATHS = re.compile(r"^diff --git a/(.+?) b/(.+?)$", re.M)


@attrs.frozen
class FileDiff:
    path: str
    text: str
    source: str | None = None  # the pre-image path, where unidiff read one


@attrs.frozen
class SanitizedPatch:
    """The patch to grade, and what was removed from the model's patch and why."""

    patch: str
    removed: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


def split_patch(patch: str) -> list[FileDiff]:
    """A git-format patch split into per-file diffs, each keeping its exact text."""
    starts = [m.start() for m in DIFF_HEADER.finditer(patch)]
    if not starts:
        return [FileDiff(path, patch) for path in _paths(patch)[:1]] if patch.strip() else []
    if starts[0] != 0:
        starts.insert(0, 0)
    chunks = [patch[a:b] for a, b in zip(starts, starts[1:] + [len(patch)])]
    diffs = []
    for chunk in chunks:
        paths = _paths(chunk)
        if paths:
            diffs.append(FileDiff(paths[0], chunk))
    return diffs


def _paths(chunk: str) -> list[str]:
    plus = [p for p in _PLUS_PATH.findall(chunk) if p != "/dev/null"]
    if plus:
        return plus
    minus = [p for p in _MINUS_PATH.findall(chunk) if p != "/dev/null"]
    if minus:
        return minus
    match = _GIT_PATHS.search(chunk)
    return [match.group(2)] if match else []


def patch_files(patch: str) -> list[str]:
    """The paths a patch touches, in order (both sides of a rename)."""
    parsed = _parse(patch)
    if parsed is None:
        return [diff.path for diff in split_patch(patch)]
    paths: list[str] = []
    for patched in parsed:
        for path in (patched.target_file, patched.source_file):
            path = _strip(path)
            if path and path not in paths:
                paths.append(path)
    return paths


def _parse(patch: str) -> unidiff.PatchSet | None:
    try:
        return unidiff.PatchSet(patch)
    except unidiff.UnidiffParseError:
        return None


def _strip(path: str | None) -> str | None:
    if not path or path == "/dev/null":
        return None
    path = path.split("\t", 1)[0]
    return path[2:] if path.startswith(("a/", "b/")) else path


STARTUP_HOOKS = {"sitecustomize.py", "usercustomize.py"}
PYTEST_ONLY_CONFIG = {"pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"}


def protection_flag(path: str, protected: set[str] | frozenset[str] = frozenset(), diff_text: str = "") -> str | None:
    """Why an edit to ``path`` may not reach the test run (a report flag), or None."""
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else ""
    if name == "conftest.py":
        return "conftest_edited"
    if name in PYTEST_ONLY_CONFIG or is_pytest_config(path, diff_text):
        return "pytest_config_edited"
    if name in STARTUP_HOOKS or name.endswith(".pth"):
        return "startup_hook_edited"
    if any(part.endswith((".egg-info", ".dist-info")) for part in parts):
        return "build_metadata_edited"
    if path in protected or is_test_file(path):
        return "test_files_edited"
    return None


def file_diffs(patch: str) -> list[FileDiff]:
    """Per-file diffs, paths as unidiff reads them; each keeps its exact text in git's
    format, and is re-rendered by unidiff otherwise (the same edit)."""
    parsed = _parse(patch)
    exact = split_patch(patch)
    if not parsed:
        return exact
    paths = [(_strip(f.target_file) or _strip(f.source_file) or "", _strip(f.source_file)) for f in parsed]
    texts = [d.text for d in exact] if [d.path for d in exact] == [p for p, _ in paths] else [str(f) for f in parsed]
    return [FileDiff(path, text, source) for (path, source), text in zip(paths, texts)]


def sanitize_model_patch(patch: str, test_patch: str) -> SanitizedPatch:
    """Remove edits to tests, conftest.py, pytest configuration and start-up hooks from ``patch``."""
    protected = set(patch_files(test_patch))
    kept, removed, flags = [], [], set()
    for diff in file_diffs(patch):
        flag = protection_flag(diff.path, protected, diff.text)
        if flag is None and diff.source and diff.source != diff.path:  # renamed away from a protected file
            flag = protection_flag(diff.source, protected, diff.text)
        if flag is None:
            kept.append(diff.text)
            continue
        flags.add(flag)
        removed.append(diff.path)
    if not removed:
        return SanitizedPatch(patch)
    text = "".join(kept)
    if text and not text.endswith("\n"):
        text += "\n"
    return SanitizedPatch(text, tuple(removed), tuple(sorted(flags)))
