"""The LLM protocol: chat messages in, one assistant message (with optional tool calls) out.

Every backend (an OpenAI-compatible server, a local transformers model, in-process vLLM,
replayed recordings) implements ``LLM.complete``. Messages are ``swegym.Turn`` objects, the
same type trajectories store, so what the model saw is exactly what SFT trains on.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from swegym.core.trajectory import Turn


@attrs.frozen
class ToolSpec:
    """A tool the model may call: a name, a description and a JSON-schema of its parameters."""

    name: str
    description: str
    parameters: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "object", "properties": {}})

    def to_openai(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}}


@attrs.frozen
class SamplingParams:
    """How to sample one completion."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 2048
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False


@attrs.frozen
class Completion:
    """The model's answer: an assistant ``Turn`` plus usage and, where available, log-probabilities."""

    message: Turn
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    logprobs: tuple[float, ...] | None = None


class ContextLimitError(Exception):
    """The prompt no longer fits the model's context window."""


class LLM(abc.ABC):
    """An LLM backend (a ``swegym_register_llms`` component)."""

    name: ClassVar[str]
    #: whether ``complete(tools=...)`` returns native tool calls; if not, agents use the
    #: text form ``<function=NAME><parameter=KEY>VALUE</parameter></function>``.
    native_tools: ClassVar[bool] = False
    #: the answers come from an expert's recording, not a model: the episode's trajectory is
    #: labelled ``expert`` (the replay backend sets it for recordings labelled expert)
    expert: bool = False

    @abc.abstractmethod
    def complete(self, messages: Sequence[Turn], *, tools: Sequence[ToolSpec] | None = None, params: SamplingParams = SamplingParams()) -> Completion:
        """One assistant message for ``messages``."""

    def for_episode(self, instance_id: str, sample_index: int) -> LLM:
        """The backend to use for one episode (replay binds to its recording here)."""
        return self

    def count_tokens(self, messages: Sequence[Turn]) -> int:
        """Approximate prompt size in tokens (backends with a tokenizer override this)."""
        return sum(len(m.content) for m in messages) // 4 + 4 * len(messages)

    @property
    def model_name(self) -> str:
        return getattr(self, "model", self.name)

    def close(self) -> None:
        """Release clients, servers or GPU memory."""
