"""environment.yml specs: read the file, find its Python, and either create it exactly with
a conda implementation (py-rattler, see ``conda_create``) or translate it to pip requirements.

The translation keeps every pin, renames the packages whose conda name differs from their
PyPI name (the names bokeh, dask, modin and pandas's environment files use), drops what
exists only as a conda package (C libraries, compilers, browsers, node) and lists what it
dropped, so the build log and the environment's metadata say exactly what was left out.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import attrs

from swegym.core.errors import SwegymError

#: conda-forge names whose PyPI distribution is named differently.
CONDA_TO_PYPI: dict[str, str] = {
    "beautiful-soup": "beautifulsoup4",
    "dask-core": "dask",
    "dateutil": "python-dateutil",
    "filesystem-spec": "fsspec",
    "ipython-notebook": "notebook",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "opencv": "opencv-python",
    "py-xgboost": "xgboost",
    "pyqt": "PyQt5",
    "pytables": "tables",
    "python-blosc": "blosc",
    "python-cityhash": "cityhash",
    "python-graphviz": "graphviz",
    "python-xxhash": "xxhash",
    "pytorch": "torch",
    "ray-client": "ray[client]",
    "ray-core": "ray",
    "ray-default": "ray[default]",
    "redis-py": "redis",
    "seaborn-base": "seaborn",
    "tiledb-py": "tiledb",
}

#: conda packages with no PyPI counterpart (system libraries and tools): dropped, listed.
CONDA_ONLY: frozenset[str] = frozenset({
    "arrow-cpp", "blas", "blosc", "bower", "c-blosc2", "c-compiler", "compilers", "cxx-compiler",
    "firefox", "gcc", "geckodriver", "graphviz", "gulp", "gxx", "hdf5", "libarrow", "libblas",
    "libcurl", "libgdal", "libpq", "libprotobuf", "libthrift", "libxgboost", "mkl", "mkl-service",
    "mpich", "nodejs", "openblas", "openjdk", "openmpi", "pandoc", "pip", "postgresql", "snappy",
    "sqlite", "tiledb", "ucx-proc", "yaml",
})


class EnvironmentFileError(SwegymError):
    """An environment.yml could not be found or read."""


@attrs.frozen
class CondaEnvironment:
    """An environment.yml, parsed."""

    path: str
    text: str
    channels: tuple[str, ...]
    dependencies: tuple[str, ...]  # conda match specs
    pip: tuple[str, ...]  # its ``pip:`` section

    @classmethod
    def parse(cls, text: str, path: str = "environment.yml") -> CondaEnvironment:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise EnvironmentFileError(f"{path}: not valid YAML ({' '.join(str(exc).split())[:200]})") from None
        data = data if isinstance(data, dict) else {}
        conda, pip = [], []
        for entry in data.get("dependencies") or ():
            if isinstance(entry, str):
                conda.append(entry.strip())
            elif isinstance(entry, dict):
                pip.extend(str(p).strip() for p in entry.get("pip") or ())
        channels = tuple(str(c) for c in data.get("channels") or ()) or ("conda-forge",)
        return cls(path, text, channels, tuple(conda), tuple(pip))

    @property
    def python(self) -> str | None:
        """The major.minor the file asks for (``python=3.10``, ``python>=3.9``), or None."""
        for spec in self.dependencies:
            name, version = split_spec(spec)
            if name == "python":
                match = re.search(r"(\d+)\.(\d+)", version)
                return f"{match.group(1)}.{match.group(2)}" if match else None
        return None


@attrs.frozen
class Translation:
    """pip requirements for an environment.yml, and what had to be left out."""

    requirements: tuple[str, ...]
    urls: tuple[str, ...]  # VCS/URL requirements of the pip section (installed best-effort)
    dropped: tuple[str, ...]  # conda-only entries
    renamed: tuple[tuple[str, str], ...]


def split_spec(spec: str) -> tuple[str, str]:
    """``("numpy", ">=1.21,<2")`` for a conda match spec (channel prefix and build dropped)."""
    spec = spec.split("::")[-1].strip()
    match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]=]*\])?\s*(.*)$", spec)
    if not match:
        return spec.lower(), ""
    name = match.group(1).lower() + (match.group(2) or "")
    return name, match.group(3).strip()


def pip_version(version: str) -> str:
    """A conda version constraint as a pip one: ``=1.21`` -> ``==1.21.*``, ``1.2.*`` -> ``==1.2.*``."""
    version = version.strip()
    if not version:
        return ""
    parts = []
    for piece in version.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if piece.startswith("=") and not piece.startswith("=="):
            piece = piece[1:].split("=")[0]  # "=1.21=py39_0": a build string follows
            parts.append(f"=={piece}" if piece.endswith("*") else f"=={piece}.*")
        elif piece[0].isdigit():
            piece = piece.split()[0]
            parts.append(f"=={piece}" if piece.endswith("*") or piece.count(".") >= 2 else f"=={piece}.*")
        else:
            parts.append(piece.split()[0])
    return ",".join(parts)


def translate(environment: CondaEnvironment) -> Translation:
    """The environment's dependencies as pip requirements (pins kept, names mapped)."""
    requirements, urls, dropped, renamed = [], [], [], []
    for spec in environment.dependencies:
        name, version = split_spec(spec)
        base = name.split("[")[0]
        if base == "python":
            continue
        if base in CONDA_ONLY:
            dropped.append(spec)
            continue
        if base in CONDA_TO_PYPI:
            renamed.append((base, CONDA_TO_PYPI[base]))
            name = CONDA_TO_PYPI[base] + name[len(base):]
        requirements.append(name + pip_version(version))
    for entry in environment.pip:
        if "://" in entry or entry.startswith(("git+", "-e ")):
            urls.append(entry)
        else:
            requirements.append(entry)
    return Translation(tuple(requirements), tuple(urls), tuple(dropped), tuple(renamed))


def read_environment_file(bare_clone: Path, commit: str, paths: tuple[str, ...]) -> CondaEnvironment:
    """The first of ``paths`` that exists at ``commit`` in the repository (SWE-bench's rule)."""
    candidates = paths or ("environment.yml",)
    for path in candidates:
        out = subprocess.run(
            ["git", "--git-dir", str(bare_clone), "show", f"{commit}:{path}"], capture_output=True, text=True
        )
        if out.returncode == 0:
            return CondaEnvironment.parse(out.stdout, path)
    raise EnvironmentFileError(
        f"none of the spec's environment files ({', '.join(candidates)}) exists at {commit[:12]}"
    )


CHANNEL_PROBE_URL = "https://conda.anaconda.org/conda-forge/noarch/repodata.json"


def channels_reachable(cache: Path, *, url: str = CHANNEL_PROBE_URL, ttl_s: float = 3600) -> tuple[bool, str]:
    """Whether conda channels answer from here: ``(reachable, reason)``; remembered ``ttl_s``."""
    marker = cache / "conda-channels.probe"
    if marker.is_file() and time.time() - marker.stat().st_mtime < ttl_s:
        state, _, reason = marker.read_text().partition(" ")
        return state == "reachable", reason
    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=5) as reply:
            ok, reason = reply.status < 400, f"HTTP {reply.status}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        ok, reason = False, " ".join(str(getattr(exc, "reason", exc)).split())[:160]
    cache.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{'reachable' if ok else 'unreachable'} {url}: {reason}")
    return ok, f"{url}: {reason}"
