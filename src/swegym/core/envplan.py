"""The plan of an environment build: which base suite, which Python (requested and used,
and from where), and which install path (pip, conda, conda-translated).

One function decides this for both the dry run (``swegym env plan``) and the real builds,
so what the plan prints is what a build does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from swegym.core.conda_env import CondaEnvironment
from swegym.core.envbuild import is_environment_yml
from swegym.core.envrecipe import DEFAULT_SUITE, SUITES, suite_for
from swegym.core.errors import SwegymError
from swegym.core.repository import EnvironmentSpec, RepositorySpec

PIP, CONDA, CONDA_TRANSLATED = "pip", "conda", "conda-translated"


class ExactPythonError(SwegymError):
    """The exact Python version was required and nothing reachable has it."""


@attrs.frozen
class PythonPlan:
    """The interpreter an environment gets.

    ``source``: ``debian:<suite>`` (the suite's python3), ``uv`` (a uv-managed CPython) or
    ``image`` (the one image set with ``runtime.base_image``); ``host`` on the local runtime.
    """

    requested: str | None
    used: str
    source: str
    suite: str = DEFAULT_SUITE
    origin: str = "spec"  # where ``requested`` came from: spec, environment.yml, file name, default

    @property
    def exact(self) -> bool:
        return self.requested is None or self.requested == self.used

    @property
    def note(self) -> str:
        if self.exact:
            return ""
        return f"python {self.requested} requested, {self.used} used ({self.source}, nearest reachable)"

    def check(self, exact_required: bool) -> None:
        if exact_required and not self.exact:
            raise ExactPythonError(
                f"python {self.requested} is not reachable here (nearest: {self.used} from {self.source}); "
                "install it (or let uv download it), or drop -o runtime.exact_python=true to use the nearest"
            )


@attrs.frozen
class EnvironmentPlan:
    repo: str
    version: str
    python: PythonPlan
    install: str  # PIP, CONDA or CONDA_TRANSLATED
    env_file: str | None = None

    @property
    def suite(self) -> str:
        return self.python.suite

    def to_dict(self) -> dict:
        return {
            "repo": self.repo,
            "version": self.version,
            "suite": self.suite,
            "python_requested": self.python.requested,
            "python_requested_from": self.python.origin,
            "python_used": self.python.used,
            "python_source": self.python.source,
            "install": self.install,
            "env_file": self.env_file,
        }


def requested_python(spec: EnvironmentSpec, env_file: CondaEnvironment | None = None) -> tuple[str | None, str]:
    """``(version, origin)``: the spec's Python, else the environment file's, else the one its
    file name states (``environment-3.10.yaml``, ``travis-37.yaml``), else None."""
    if spec.python:
        return spec.python, "spec"
    if env_file is not None and env_file.python:
        return env_file.python, f"{env_file.path}"
    for path in spec.environment_yml_paths[:1]:
        match = re.search(r"(?<!\d)(3)\.?(\d{1,2})(?!\d)", path.rsplit("/", 1)[-1])
        if match:
            return f"{match.group(1)}.{match.group(2)}", "file name"
    return None, "default"


def plan_python(requested: str | None, *, uv_python: bool = False, origin: str = "spec") -> PythonPlan:
    """The Docker runtime's choice: uv's exact CPython when reachable (on the default suite,
    which has the toolchain), else the Debian suite with that version, else the nearest suite."""
    if requested is not None and uv_python and requested not in SUITES.values():
        return PythonPlan(requested, requested, "uv", DEFAULT_SUITE, origin)
    choice = suite_for(requested)
    return PythonPlan(requested, choice.python, f"debian:{choice.suite}", choice.suite, origin)


def plan_environment(
    repo: RepositorySpec,
    version: str,
    *,
    conda_reachable: bool = False,
    uv_python: bool = False,
    env_file: CondaEnvironment | None = None,
    conda: str = "auto",
) -> EnvironmentPlan:
    """The plan for one spec version (``env_file``: the environment.yml when already read)."""
    spec = repo.environment(version)
    requested, origin = requested_python(spec, env_file)
    python = plan_python(requested, uv_python=uv_python, origin=origin)
    if is_environment_yml(spec):
        install = CONDA if conda_reachable and conda != "translate" else CONDA_TRANSLATED
        if install == CONDA:  # conda installs the file's own python
            python = PythonPlan(requested, requested or "environment.yml's", "conda", DEFAULT_SUITE, origin)
        path = env_file.path if env_file is not None else ", ".join(spec.environment_yml_paths) or "environment.yml"
        return EnvironmentPlan(repo.name, version, python, install, path)
    return EnvironmentPlan(repo.name, version, python, PIP)


def plan_repositories(repos: Iterable[RepositorySpec], **options) -> list[EnvironmentPlan]:
    """A plan for every spec version of every repository."""
    return [plan_environment(repo, version, **options) for repo in repos for version in repo.versions]
