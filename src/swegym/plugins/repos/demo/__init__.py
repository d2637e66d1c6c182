"""The bundled demo repository, ``swegym/tinyver``, and its ``demo`` dataset.

tinyver is a small semantic-version library written for swegym. Its git history holds real
bug fixes, each with tests that expose the bug and a realistic issue text
(``data/issues.json``). The history ships as plain files (``data/tinyver``: the first
commit's tree, one patch per later commit, ``history.json``) and is replayed into a git
repository in the cache on first use (``build.py``), with the same commit SHAs everywhere.
``data/instances.jsonl`` was produced from that history by ``swegym mine`` and
``swegym validate`` (``scripts/build_demo_dataset.sh``). It is the embedded default that
runs anywhere: pure Python, only pytest, no network once the environment is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import ClassVar

import attrs

from swegym import EnvironmentSpec, RepositorySpec, TaskInstance, hookimpl
from swegym.core.datasets import read_instance_file

NAME = "swegym/tinyver"
DATA = Path(str(resources.files(__package__).joinpath("data")))
ENVIRONMENT = EnvironmentSpec(
    install="python -m pip install -e '.[test]'",
    test_cmd="pytest -rA",
    network=("build",),
)


def built_repository() -> str:
    """The path of the demo repository, built from ``data/tinyver`` on first use."""
    from swegym.plugins.repos.demo.build import build_repository  # not at start-up

    return str(build_repository())


def repository() -> RepositorySpec:
    return RepositorySpec(
        name=NAME,
        url="",
        local_path=built_repository,  # built on first use, not at start-up
        description="tinyver, the bundled demo repository (semantic versions and ranges)",
        environments={version: ENVIRONMENT for version in ("0.1", "0.2", "0.3")},
    )


@attrs.frozen
class DemoDataset:
    """The demo instances: tinyver's bug fixes, mined and validated from its history."""

    name: ClassVar[str] = "demo"
    split: str = attrs.field(default="train", metadata={"help": "only 'train' exists"})

    def load(self) -> Iterator[TaskInstance]:
        return read_instance_file(DATA / "instances.jsonl")


@hookimpl
def swegym_register_repositories(register):
    register(repository())


@hookimpl
def swegym_register_datasets(register):
    register(DemoDataset)
