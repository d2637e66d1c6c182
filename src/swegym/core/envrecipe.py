"""What a base image holds, per Debian suite, and which suite serves a requested Python.

Each Debian suite ships one CPython: bullseye 3.9, bookworm 3.11, trixie 3.13. A spec's
Python version picks the suite that has it, else the nearest one (on a tie, the older
interpreter: a project that asks for 3.10 was also tested on its older supported versions,
and old pinned dependencies have wheels for older interpreters more often). Every base
image carries the same toolchain, so C extensions of old dependencies compile.

The base image's tag carries a hash of its recipe (suite, packages, image settings): a
changed recipe is a new image, and environments record the id of the image they came from.
"""

from __future__ import annotations

import hashlib
import json

import attrs

# suite -> its python3 (major.minor); ordered oldest first.
SUITES: dict[str, str] = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}
DEFAULT_SUITE = "bookworm"
BASE_REPOSITORY = "swegym/base"

# The interpreter, its headers and venv; git and patch for checkouts and grading.
RUNTIME_PACKAGES = (
    "python3", "python3-venv", "python3-pip", "python3-dev",
    "git", "ca-certificates", "patch", "procps", "coreutils", "curl", "locales",
)
# Compilers and the headers SWE-Gym's repositories' dependencies build against (C
# extensions of numpy/pandas-era pins, lxml, h5py, cryptography, psycopg2, pygraphviz), and the system
# tools their specs call (cmake for dvc and conan). pipx is not in every suite: builds
# install tools through uv instead (see envbuild's pipx shim).
TOOLCHAIN_PACKAGES = (
    "build-essential", "pkg-config", "cmake",
    "libffi-dev", "libssl-dev", "zlib1g-dev", "libbz2-dev", "liblzma-dev", "libsqlite3-dev",
    "libxml2-dev", "libxslt1-dev", "libhdf5-dev", "libpq-dev", "libyaml-dev",
    "libgraphviz-dev",  # pygraphviz (bokeh's test environment) compiles against it
)
PACKAGES = RUNTIME_PACKAGES + TOOLCHAIN_PACKAGES

IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["bash"]',
)
# Bumped when the way the image is made changes without the lists above changing.
RECIPE_REVISION = 2


def recipe(suite: str, *, uv_version: str | None = None) -> dict:
    """Everything that decides a base image's contents (what its tag's hash covers)."""
    if suite not in SUITES:
        raise ValueError(f"unknown Debian suite {suite!r}; known: {', '.join(SUITES)}")
    return {
        "suite": suite,
        "packages": sorted(PACKAGES),
        "changes": list(IMAGE_CHANGES),
        "uv": uv_version,
        "revision": RECIPE_REVISION,
    }


def recipe_hash(suite: str, *, uv_version: str | None = None) -> str:
    blob = json.dumps(recipe(suite, uv_version=uv_version), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def base_tag(suite: str, *, uv_version: str | None = None) -> str:
    """``swegym/base:<suite>-<recipe hash>``."""
    return f"{BASE_REPOSITORY}:{suite}-{recipe_hash(suite, uv_version=uv_version)}"


@attrs.frozen
class SuiteChoice:
    """The Debian suite whose interpreter serves a requested Python version."""

    suite: str
    python: str  # the suite's python3, major.minor
    requested: str | None

    @property
    def exact(self) -> bool:
        return self.requested is None or self.requested == self.python


def version_key(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major or 0), int((minor.partition(".")[0]) or 0)


def nearest(requested: str, available: list[str]) -> str:
    """The available version closest to ``requested``; on a tie, the older one."""
    target = version_key(requested)

    def distance(version: str) -> tuple[int, int, int]:
        key = version_key(version)
        return abs(key[0] - target[0]), abs(key[1] - target[1]), key[1]

    return min(available, key=distance)


def suite_for(requested: str | None) -> SuiteChoice:
    """The suite with ``requested`` as its python3, else the nearest (None: the default suite)."""
    if requested is None:
        return SuiteChoice(DEFAULT_SUITE, SUITES[DEFAULT_SUITE], None)
    for suite, python in SUITES.items():
        if python == requested:
            return SuiteChoice(suite, python, requested)
    python = nearest(requested, list(SUITES.values()))
    suite = next(s for s, p in SUITES.items() if p == python)
    return SuiteChoice(suite, python, requested)
