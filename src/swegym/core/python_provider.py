"""Finding a Python interpreter for an environment's requested version.

Providers are tried in order: the system's interpreters (Debian's ``python3.X`` or the
running one), pyenv-installed ones, ``uv``-managed ones already installed, then ``uv python
install`` where uv's downloads are reachable. A version none provides is replaced by the
nearest available one (recorded in the build log and every report), or, when exactness is
asked for, is an error.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from swegym.core.envrecipe import nearest, version_key
from swegym.core.errors import SwegymError


class PythonNotFoundError(SwegymError):
    """No interpreter of the requested version is available."""


@attrs.frozen
class PythonChoice:
    """The interpreter an environment is built with."""

    path: str
    version: str  # major.minor
    requested: str | None
    provider: str
    fallback: str = ""  # why no exact interpreter could be had (uv's download failed, ...)

    @property
    def exact(self) -> bool:
        return self.requested is None or self.requested == self.version

    @property
    def note(self) -> str:
        if self.exact:
            return ""
        return f"python {self.requested} requested, {self.version} used ({self.path}, nearest available)"


def _version_of(path: str) -> str | None:
    try:
        out = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def system_pythons() -> Iterator[tuple[str, str]]:
    """``python3.X`` on PATH and in /usr/bin, and the interpreter running swegym."""
    names = {f"python3.{minor}" for minor in range(6, 16)} | {"python3"}
    seen = set()
    candidates = [shutil.which(name) for name in sorted(names)] + sorted(glob.glob("/usr/bin/python3.*"))
    candidates.append(getattr(sys, "_base_executable", sys.executable))
    for path in candidates:
        if not path or not os.access(path, os.X_OK) or path.endswith("-config"):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        version = _version_of(path)
        if version:
            yield path, version


def pyenv_pythons() -> Iterator[tuple[str, str]]:
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for path in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python3"))):
        version = _version_of(path)
        if version:
            yield path, version


def uv_pythons() -> Iterator[tuple[str, str]]:
    uv = shutil.which("uv")
    if not uv:
        return
    out = subprocess.run([uv, "python", "list", "--only-installed", "--output-format", "json"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        return
    import json

    for entry in json.loads(out.stdout or "[]"):
        path = entry.get("path")
        version = entry.get("version", "")
        if path and version:
            yield path, ".".join(version.split(".")[:2])


PROVIDERS: dict[str, Callable[[], Iterator[tuple[str, str]]]] = {
    "system": system_pythons,
    "pyenv": pyenv_pythons,
    "uv": uv_pythons,
}


def available_pythons() -> list[tuple[str, str, str]]:
    """``(provider, path, major.minor)`` for every interpreter found, providers in order."""
    found = []
    for provider, list_pythons in PROVIDERS.items():
        for path, version in list_pythons():
            found.append((provider, path, version))
    return found


def find_python(requested: str | None, *, exact: bool = False, uv_install_dir: Path | None = None) -> PythonChoice:
    """An interpreter for ``requested`` (``"3.8"``; None: the one running swegym).

    An installed interpreter of that version first (system, pyenv, uv's); else uv installs
    it (``uv_install_dir``) where uv's downloads are reachable; else the nearest installed
    version (on a tie the older), unless ``exact``: then a clear error.
    """
    if requested is None:
        version = "%d.%d" % sys.version_info[:2]
        return PythonChoice(getattr(sys, "_base_executable", sys.executable), version, None, "system")
    found = available_pythons()
    for provider, path, version in found:
        if version == requested:
            return PythonChoice(path, version, requested, provider)
    note = ""
    if uv_install_dir is not None:
        from swegym.core.uv_tool import python_install

        path, note = python_install(requested, install_dir=uv_install_dir, cache=uv_install_dir.parent)
        if path:
            return PythonChoice(path, requested, requested, "uv")
    versions = sorted({version for _, _, version in found}, key=version_key)
    if not exact and found:
        version = nearest(requested, versions)
        provider, path, _ = next(f for f in found if f[2] == version)
        return PythonChoice(path, version, requested, provider, fallback=note)
    raise PythonNotFoundError(
        f"python {requested} is not available (found: {', '.join(versions) or 'none'}"
        + (f"; {note}" if note else "")
        + "); install it (apt, pyenv or 'uv python install'), or drop -o runtime.exact_python=true to use the nearest"
    )
