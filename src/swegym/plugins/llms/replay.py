"""The ``replay`` backend: answers with the assistant turns of recorded trajectories.

For deterministic tests, and for re-executing expert (or any recorded) trajectories in
live sandboxes: the tool calls are executed again for real, only the model is replayed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import attrs

from swegym import hookimpl
from swegym.core.errors import SwegymError
from swegym.core.llm import LLM, Completion, SamplingParams, ToolSpec
from swegym.core.store import TrajectoryStore
from swegym.core.trajectory import Turn

#: path -> instance_id -> [(sample_index, assistant turns, recorded as expert)]
_CACHE: dict[str, dict[str, list[tuple[int, tuple[Turn, ...], bool]]]] = {}
_LOCK = threading.Lock()


class ReplayExhausted(SwegymError):
    """The recording has no more assistant turns for this episode."""


def _recordings(path: str) -> dict[str, list[tuple[int, tuple[Turn, ...], bool]]]:
    """instance_id -> [(sample_index, assistant turns, expert)], read once per process."""
    with _LOCK:
        if path not in _CACHE:
            files = sorted(Path(path).glob("*.jsonl")) if Path(path).is_dir() else [Path(path)]
            if not files or not all(f.is_file() for f in files):
                raise SwegymError(f"replay: no recorded trajectories at {path}")
            recordings: dict[str, list[tuple[int, tuple[Turn, ...], bool]]] = {}
            for file in files:
                for trajectory in TrajectoryStore(file):
                    assistant = tuple(t for t in trajectory.turns if t.role == "assistant")
                    recordings.setdefault(trajectory.instance_id, []).append((trajectory.sample_index, assistant, trajectory.expert))
            _CACHE[path] = recordings
        return _CACHE[path]


@attrs.frozen
class ReplayLLM(LLM):
    """Replays recorded assistant turns (a trajectories JSONL file, or a directory of them)."""

    name: ClassVar[str] = "replay"
    native_tools: ClassVar[bool] = True

    path: str = attrs.field(metadata={"help": "trajectories JSONL file, or a directory of <agent>.jsonl files"})
    model: str = attrs.field(default="replay", metadata={"help": "model name recorded in new trajectories"})
    agent: str | None = attrs.field(default=None, metadata={"help": "in a directory, replay <agent>.jsonl"})

    @path.validator
    def _exists(self, _attribute, value: str) -> None:
        if not Path(value).exists():
            raise ValueError(f"no recorded trajectories at {value!r} (-o llm.path=TRAJECTORIES.jsonl)")

    def for_episode(self, instance_id: str, sample_index: int) -> LLM:
        path = self.path
        if self.agent and Path(path).is_dir():
            path = str(Path(path) / f"{self.agent}.jsonl")
        recordings = _recordings(path).get(instance_id)
        if not recordings:
            raise SwegymError(f"replay: no recorded trajectory for {instance_id} in {path}")
        by_sample = {index: (turns, expert) for index, turns, expert in recordings}
        turns, expert = by_sample.get(sample_index, recordings[0][1:])
        return _Cursor(self.model, instance_id, turns, expert=expert)

    def complete(self, messages: Sequence[Turn], *, tools: Sequence[ToolSpec] | None = None, params: SamplingParams = SamplingParams()) -> Completion:
        raise SwegymError("replay: call for_episode(instance_id, sample_index) first")


class _Cursor(LLM):
    """A replay bound to one episode: the next recorded assistant turn on each call."""

    name: ClassVar[str] = "replay"
    native_tools: ClassVar[bool] = True

    def __init__(self, model: str, instance_id: str, turns: tuple[Turn, ...], *, expert: bool = False) -> None:
        self.model = model
        self.expert = expert
        self.instance_id = instance_id
        self.turns = turns
        self.position = 0

    def complete(self, messages: Sequence[Turn], *, tools: Sequence[ToolSpec] | None = None, params: SamplingParams = SamplingParams()) -> Completion:
        if self.position >= len(self.turns):
            raise ReplayExhausted(f"replay: the recording of {self.instance_id} has only {len(self.turns)} assistant turns")
        turn = self.turns[self.position]
        self.position += 1
        message = Turn(role="assistant", content=turn.content, tool_calls=turn.tool_calls)
        return Completion(message, prompt_tokens=turn.prompt_tokens, completion_tokens=turn.completion_tokens)


@hookimpl
def swegym_register_llms(register):
    register(ReplayLLM)
