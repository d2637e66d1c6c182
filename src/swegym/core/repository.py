"""Repositories and their per-version environment specs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from swegym.core.errors import UnknownVersionError


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class EnvironmentSpec:
    """How to build and test one version of a repository (SWE-bench's spec, typed).

    ``packages`` is SWE-bench's field: ``"requirements.txt"``, ``"environment.yml"`` or a
    space-separated list of pip packages. ``network`` lists the phases that need network
    access; everything else runs offline.
    """

    python: str | None = None
    pre_install: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)
    install: str = ""
    test_cmd: str = "pytest -rA"
    packages: str = ""
    pip_packages: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)
    env_patches: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)
    eval_commands: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)
    requirements_paths: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)
    environment_yml_paths: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)
    log_parser: str = "pytest"
    network: tuple[str, ...] = attrs.field(default=("build",), converter=_as_tuple)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvironmentSpec:
        fields = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"unknown environment spec keys {unknown}; known: {sorted(fields)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, value_serializer=lambda _i, _a, v: list(v) if isinstance(v, tuple) else v)

    @property
    def spec_hash(self) -> str:
        """A short content hash: environments are cached per (repository, version, hash)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


@attrs.frozen
class RepositorySpec:
    """A repository that task instances come from, with its environments per version.

    ``local_path`` is a local git repository or bundle holding the history, used instead of
    ``url``; or a function returning one, called when the history is first needed (the demo
    plugin builds its repository that way, on first use rather than at start-up).
    """

    name: str
    url: str
    environments: Mapping[str, EnvironmentSpec] = attrs.field(factory=dict)
    lite_ids: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    description: str = ""
    paper_instances: int | None = None
    local_path: str | Callable[[], str] | None = None

    @property
    def slug(self) -> str:
        return self.name.replace("/", "__")

    def local_history(self) -> str | None:
        """``local_path``, called first when it is a function."""
        return self.local_path() if callable(self.local_path) else self.local_path

    @property
    def versions(self) -> list[str]:
        return sorted(self.environments, key=_version_key)

    def environment(self, version: str) -> EnvironmentSpec:
        """The spec for ``version``; an unknown version names the known ones."""
        try:
            return self.environments[version]
        except KeyError:
            known = ", ".join(self.versions) or "none"
            raise UnknownVersionError(
                f"{self.name} has no environment spec for version {version!r}; known versions: {known}"
            ) from None


def _version_key(version: str) -> tuple:
    parts = []
    for piece in version.replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)
