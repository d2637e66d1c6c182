"""The agent protocol: a scaffold that works on one instance in one sandbox with one LLM."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs

from swegym.core.errors import UsageError
from swegym.core.instance import TaskInstance
from swegym.core.llm import LLM, SamplingParams
from swegym.core.runtime import Sandbox
from swegym.core.trajectory import StopReason, Trajectory, Turn


@attrs.frozen
class AgentResult:
    """What an episode produced, before grading: the conversation and why it stopped.

    The final patch is not the agent's to report: the runner takes ``sandbox.diff()``.
    """

    turns: tuple[Turn, ...]
    stop_reason: StopReason
    info: Mapping[str, Any] = attrs.field(factory=dict)


class Agent(abc.ABC):
    """An agent scaffold (a ``swegym_register_agents`` component); options are attrs fields."""

    name: ClassVar[str]

    @abc.abstractmethod
    def run(self, instance: TaskInstance, sandbox: Sandbox, llm: LLM, *, params: SamplingParams) -> AgentResult:
        """Work on ``instance`` in ``sandbox`` (a work tree at its base commit) until done or a limit."""

    @classmethod
    def import_trajectories(cls, source: Path, **options: Any) -> Iterator[Trajectory]:
        """Trajectories this scaffold's original implementation wrote (``swegym import``).

        :param source: the original's output (a file or a directory, as the scaffold documents)
        :param options: scaffold-specific reading options (``swegym import -o KEY=VALUE``)
        """
        raise UsageError(f"agent {cls.name!r} cannot import trajectories")
