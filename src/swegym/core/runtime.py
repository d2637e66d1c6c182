"""The runtime protocol: environments built once per version, sandboxes per instance.

A *runtime* (local processes, Docker, ...) builds an *environment* per (repository,
version, spec hash) and opens *sandboxes*: an isolated work tree of the repository at an
instance's base commit, with that environment active. Everything above this module
(grading, agents, validation) talks only to ``Sandbox``.
"""

from __future__ import annotations

import abc
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from swegym.core.errors import SwegymError

if TYPE_CHECKING:
    from swegym.core.instance import TaskInstance
    from swegym.core.repository import RepositorySpec
    from swegym.core.shell import ShellSession

#: Exit code reported for a command killed at its timeout (as GNU timeout does).
TIMEOUT_EXIT = 124


class EnvironmentBuildError(SwegymError):
    """An environment could not be built; the message names the build log."""


class SandboxError(SwegymError):
    """A sandbox could not be started or used."""


@attrs.frozen
class CommandResult:
    """What a command in a sandbox did."""

    exit_code: int
    output: str
    timed_out: bool = False
    truncated: bool = False
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@attrs.frozen
class Environment:
    """A built environment: where it lives and how it was made (for reports)."""

    key: str
    repo: str
    version: str
    spec_hash: str
    location: str
    python: str = ""
    notes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    log_path: str = ""
    python_requested: str | None = None
    python_source: str = ""  # debian:<suite>, uv, conda, image, or the local provider
    python_path: str = ""
    install: str = "pip"  # pip, conda or conda-translated
    base_image: str = ""  # tag (id) of the image it was built from (Docker)
    resolved_as_of: str | None = None

    def summary(self) -> dict[str, Any]:
        """What report.json and the eval summary say about the environment an instance ran in."""
        return {
            "key": self.key,
            "python_requested": self.python_requested,
            "python_used": self.python,
            "python_source": self.python_source,
            "install_path": self.install,
            "python_path": self.python_path,
            "base_image": self.base_image,
            "resolved_as_of": self.resolved_as_of,
            "substitutions": list(self.notes),
        }

    @classmethod
    def load(cls, marker: Path) -> Environment:
        """The environment recorded in a build's ``environment.json`` marker."""
        import json

        data = json.loads(marker.read_text())
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls) if f.name in data})


class Sandbox(abc.ABC):
    """A live, isolated copy of a repository at an instance's base commit.

    ``workdir`` is the repository's path as commands inside the sandbox see it. Commands
    run without network unless asked; ``close()`` removes every process and file the
    sandbox made (sandboxes are context managers, so ``with`` guarantees it).
    """

    workdir: str
    environment: Environment
    #: where scratch state (the shell session's) lives inside the sandbox
    state_dir: str = "/tmp"
    #: how commands are isolated from the host ("bwrap", "docker", "none"), for reports
    isolation: str = "none"

    @abc.abstractmethod
    def exec(
        self,
        command: str,
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        network: bool = False,
    ) -> CommandResult:
        """Run ``command`` with bash in ``workdir`` in a fresh process group."""

    @abc.abstractmethod
    def read_file(self, path: str) -> str:
        """Read a text file (a path relative to ``workdir``, or absolute inside the sandbox)."""

    @abc.abstractmethod
    def write_file(self, path: str, text: str) -> None:
        """Write a text file, creating parent directories."""

    @abc.abstractmethod
    def close(self) -> None:
        """Kill every process of the sandbox and remove its work tree. Idempotent."""

    def session(self, *, timeout: float = 120.0) -> ShellSession:
        """A shell whose working directory and environment persist between commands."""
        from swegym.core.shell import ShellSession

        return ShellSession(self, default_timeout=timeout)

    def diff(self) -> str:
        """The work tree's changes against the base commit, as a ``git diff`` (new files included)."""
        result = self.exec("git add -A && git -c core.quotepath=off diff --cached --no-color HEAD", timeout=120)
        if result.exit_code != 0:
            raise SandboxError(f"git diff failed in the sandbox: {result.output.strip()[-300:]}")
        return result.output

    def path(self, relative: str) -> str:
        """An absolute in-sandbox path for a path relative to ``workdir``."""
        return relative if relative.startswith("/") else f"{self.workdir.rstrip('/')}/{relative}"

    def quote(self, path: str) -> str:
        return shlex.quote(self.path(path))

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Runtime(abc.ABC):
    """A way to build environments and open sandboxes (a ``swegym_register_runtimes`` component)."""

    name: ClassVar[str]
    #: Numeric options that must be above zero when a runtime has them: a zero or negative
    #: limit would silently mean "no limit" to one engine and be refused by another.
    positive_options: ClassVar[tuple[str, ...]] = ("memory_mb", "cpus", "pids_limit", "max_output_bytes", "build_timeout")

    @abc.abstractmethod
    def environment(self, repo: RepositorySpec, instance: TaskInstance, *, build: bool = True) -> Environment:
        """The environment for ``instance``'s version, built first if missing and ``build``."""

    @abc.abstractmethod
    def sandbox(self, repo: RepositorySpec, instance: TaskInstance) -> Sandbox:
        """Open a sandbox at ``instance.base_commit`` in its (already built) environment."""

    def collect_garbage(self) -> list[str]:
        """Remove what sandboxes of dead runs left (processes, directories, containers,
        cgroups): only those whose owning process is gone. Returns what was removed.

        ``swegym env gc`` calls it on every runtime, and each runtime calls it once per
        process before its first sandbox, so a run cleans up after killed ones.
        """
        return []

    def environment_key(self, repo: RepositorySpec, version: str) -> str:
        from swegym.core.envbuild import environment_id

        return f"{repo.slug}/{environment_id(version, repo.environment(version))}"

    def log_dir(self) -> Path:
        from swegym.core.git_source import cache_dir

        return cache_dir() / "logs" / "build"
