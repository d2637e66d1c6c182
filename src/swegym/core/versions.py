"""Which release a commit belongs to, and which environment spec version serves it.

SWE-bench-style datasets key environments by the ``major.minor`` of the release an
instance's base commit belongs to. That is read, in order, from the package's version file
at the commit (``moto/__init__.py``'s ``"4.1.0.dev"`` -> ``4.1``), else the first release
tag that contains the commit (``git tag --contains``: a commit on mypy's master after the
0.800 branch point belongs to 0.810, not to the nearest tag behind it), else the nearest
tag. Only the commit's tree, a handful of blobs and the tag list are read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import attrs

from swegym.core.git_source import run_git

# `__version__ = "4.1.0.dev"`, `VERSION = '1.10.2'`, `VERSION = StrictStr('1.8')`, setup.py's `version="0.9"`.
VERSION_ASSIGNMENT = re.compile(
    r"""^\s*(?:__version__|VERSION|version)\s*[:=]\s*(?:\w+\()?\s*["'](\d+(?:\.\d+)+[^"']*)["']""", re.M
)
# Final releases only: v0.800, 1.10.2, 2021.04.1 (no rc, dev, or branch markers).
RELEASE_TAG = re.compile(r"^v?(\d+(?:\.\d+)+)$")
VERSION_FILE_NAMES = ("version.py", "__init__.py", "__about__.py", "_version.py")
NOT_PACKAGES = {"tests", "test", "docs", "doc", "scripts", "examples", "benchmarks", "ci", "tools"}


@attrs.frozen
class ReleaseVersion:
    """A commit's ``major.minor`` version and where it was read (``hydra/__init__.py: 1.3.0.dev0``)."""

    version: str
    source: str


def release_version(git_dir: str | os.PathLike[str], commit: str, *, package: str = "") -> ReleaseVersion:
    """The release ``commit`` belongs to: version file, else first release tag containing it, else nearest tag."""
    for path in version_file_candidates(git_dir, commit, package=package):
        shown = run_git(["show", f"{commit}:{path}"], cwd=git_dir, check=False)
        match = VERSION_ASSIGNMENT.search(shown.stdout) if shown.returncode == 0 else None
        if match:
            return ReleaseVersion(short_version(match[1]), f"{path}: {match[1]}")
    tag = first_release_tag(git_dir, commit)
    if tag:
        return ReleaseVersion(short_version(tag), f"first release tag containing it: {tag}")
    nearest = nearest_tag(git_dir, commit)
    if nearest:
        return ReleaseVersion(short_version(nearest), f"nearest tag: {nearest}")
    return ReleaseVersion("", "no version file and no tag")


def version_file_candidates(git_dir: str | os.PathLike[str], commit: str, *, package: str = "") -> list[str]:
    """Files that may hold a static version: ``<pkg>/version.py``, ``<pkg>/__init__.py``, ``setup.py``...

    Top-level packages (and those under ``src/``) are tried, the one named like ``package`` first.
    """
    listed = run_git(["ls-tree", "-r", "--name-only", commit], cwd=git_dir, check=False)
    present = {path for path in listed.stdout.splitlines() if _shallow(path)} if listed.returncode == 0 else set()
    packages = sorted(
        {path.rsplit("/", 1)[0] for path in present if path.endswith("/__init__.py")},
        key=lambda directory: (directory.rsplit("/", 1)[-1] != package, directory.startswith("src/"), directory),
    )
    candidates = [
        f"{directory}/{name}"
        for directory in packages
        if directory.rsplit("/", 1)[-1] not in NOT_PACKAGES
        for name in VERSION_FILE_NAMES
    ]
    candidates += ["setup.py", "setup.cfg", "pyproject.toml"]
    return [path for path in candidates if path in present]


def _shallow(path: str) -> bool:
    """A top-level file, a file of a top-level package, or of a package under ``src/``."""
    depth = path.count("/")
    return depth <= 1 or depth == 2 and path.startswith("src/")


def first_release_tag(git_dir: str | os.PathLike[str], commit: str) -> str:
    """The lowest final-release tag whose history contains ``commit``, or ""."""
    listed = run_git(["tag", "--contains", commit], cwd=git_dir, check=False)
    releases = [tag for tag in listed.stdout.split() if RELEASE_TAG.match(tag)] if listed.returncode == 0 else []
    return min(releases, key=lambda tag: version_key(RELEASE_TAG.match(tag)[1]), default="")


def nearest_tag(git_dir: str | os.PathLike[str], commit: str) -> str:
    result = run_git(["describe", "--tags", "--abbrev=0", commit], cwd=git_dir, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def short_version(text: str) -> str:
    """``v0.2.1`` -> ``0.2``, ``release-3`` -> ``3``; "" when there is no number."""
    match = re.search(r"\d+(?:\.\d+)?", text.removeprefix("v"))
    return match[0] if match else ""


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def spec_version(version: str, spec_versions: Iterable[str]) -> tuple[str, str]:
    """The spec version serving ``version``: itself when known, else the newest older one.

    Returns ``(spec_version, note)``; the note is "" for an exact match and says what was
    substituted otherwise. With no older spec the version is kept as it is.
    """
    known = list(spec_versions)
    if not version or not known or version in known:
        return version, ""
    older = [v for v in known if version_key(v) <= version_key(version)]
    if not older:
        return version, f"no spec version at or below {version}"
    chosen = max(older, key=version_key)
    return chosen, f"release {version} has no spec; using {chosen}, the newest spec version before it"
