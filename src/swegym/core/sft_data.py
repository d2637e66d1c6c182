"""Trajectories as chat examples for supervised fine-tuning (rejection-sampling SFT).

Two forms of one example ``{"messages": [...], "instance_id", "sample_index", "agent",
"model", "resolved"}``:

- ``text``, the form SWE-Gym trains on: a tool call is written in the assistant's message
  (``<function=NAME><parameter=KEY>VALUE</parameter></function>``, by
  ``swegym.core.toolcalls.render_tool_call``) and its result is a user turn
  ``EXECUTION RESULT of [NAME]:``. A trajectory recorded with native tool calls gets the
  ``tools_prompt`` section appended to its system prompt, as the agent writes it in text
  mode; one recorded in text mode already reads this way and is kept as it is.
- ``native``, OpenAI-style: assistant ``tool_calls`` (arguments as a JSON string) answered by
  ``tool`` messages with the same ``tool_call_id``, and a top-level ``tools`` list; the form
  TRL's SFTTrainer takes with a tools-aware chat template.

Consecutive turns of one role are merged (chat templates want roles to alternate) and
turns after the last assistant turn are dropped (nothing to learn from them).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from swegym.core.errors import MissingDependencyError, UsageError
from swegym.core.llm import ToolSpec
from swegym.core.store import TrajectoryStore
from swegym.core.toolcalls import RESULT_PREFIX, render_tool_call, tool_result_turn, tools_prompt
from swegym.core.trajectory import ToolCall, Trajectory, Turn

SFTFormat = Literal["text", "native"]
FORMATS: tuple[str, ...] = ("text", "native")


def _openhands_tools(config: Mapping[str, Any]) -> tuple[ToolSpec, ...]:
    if (config.get("info") or {}).get("scaffold") == "codeact":
        from swegym.plugins.openhands_agent.codeact import tool_specs as codeact_tools
        from swegym.plugins.openhands_agent.original import load

        return codeact_tools(load())
    from swegym.plugins.openhands_agent import OpenHandsAgent
    from swegym.plugins.openhands_agent.prompts import tool_specs

    default = attrs.fields(OpenHandsAgent).bash_timeout.default
    timeout = (config.get("agent_options") or {}).get("bash_timeout", default)
    return tool_specs(bash_timeout=float(timeout))


def _moatless_tools(config: Mapping[str, Any]) -> tuple[ToolSpec, ...]:
    from swegym.plugins.moatless_agent.actions import TOOLS

    return TOOLS


# agent name -> (its tool specs for a trajectory's config, what joins the system prompt and
# the tools section in that agent's text mode)
AGENT_TOOLS: dict[str, tuple[Callable[[Mapping[str, Any]], tuple[ToolSpec, ...]], str]] = {
    "openhands": (_openhands_tools, "\n\n"),
    "moatless": (_moatless_tools, "\n"),
}


def agent_tools(agent: str, config: Mapping[str, Any] | None = None) -> tuple[ToolSpec, ...]:
    """The tools agent ``agent`` offered the model (``config`` is the trajectory's config)."""
    if agent not in AGENT_TOOLS:
        raise UsageError(f"no tool specs known for agent {agent!r} (known: {', '.join(sorted(AGENT_TOOLS))})")
    return AGENT_TOOLS[agent][0](config or {})


def tool_mode(trajectory: Trajectory) -> str:
    """``native`` or ``text``: as the agent recorded it, else read off the turns."""
    mode = (trajectory.config.get("info") or {}).get("tool_mode")
    if mode in ("native", "text"):
        return mode
    return "native" if any(turn.role == "tool" for turn in trajectory.turns) else "text"


def sft_example(trajectory: Trajectory, *, format: SFTFormat = "text", tools: Sequence[ToolSpec] | None = None) -> dict[str, Any]:
    """``trajectory`` as one chat example; ``tools`` defaults to the agent's (``agent_tools``)."""
    if format not in FORMATS:
        raise UsageError(f"unknown SFT format {format!r} (known: {', '.join(FORMATS)})")
    codeact = _codeact(trajectory)
    if codeact is not None:
        return _codeact_example(trajectory, codeact, format)
    native_recording = tool_mode(trajectory) == "native"
    if tools is None and (format == "native" or native_recording):
        tools = agent_tools(trajectory.agent, trajectory.config)
    if format == "text":
        separator = AGENT_TOOLS.get(trajectory.agent, (None, "\n\n"))[1]
        messages = _text_messages(trajectory.turns, tools or (), separator) if native_recording else _plain(trajectory.turns)
    else:
        messages = _native_messages(trajectory.turns) if native_recording else _native_from_text(trajectory.turns)
    example: dict[str, Any] = {"messages": _alternating(messages)}
    if format == "native":
        example["tools"] = [tool.to_openai() for tool in tools or ()]
    example.update(
        instance_id=trajectory.instance_id,
        sample_index=trajectory.sample_index,
        agent=trajectory.agent,
        model=trajectory.model,
        resolved=trajectory.resolved,
    )
    return example


def _codeact(trajectory: Trajectory) -> Any:
    """The openhands plugin's SFT writer for a CodeAct trajectory (OpenHands' own layout), else None."""
    if trajectory.agent != "openhands" or (trajectory.config.get("info") or {}).get("scaffold") != "codeact":
        return None
    from swegym.plugins.openhands_agent import sft

    return sft


def _codeact_example(trajectory: Trajectory, writer: Any, format: str) -> dict[str, Any]:
    messages = writer.codeact_messages(trajectory, format=format)
    if format == "native":
        messages = [dict(m) for m in messages]
    example: dict[str, Any] = {"messages": _trailing_assistant(messages)}
    if format == "native":
        from swegym.plugins.openhands_agent.codeact import tool_specs
        from swegym.plugins.openhands_agent.original import load

        example["tools"] = [tool.to_openai() for tool in tool_specs(load())]
    example.update(instance_id=trajectory.instance_id, sample_index=trajectory.sample_index, agent=trajectory.agent,
                   model=trajectory.model, resolved=trajectory.resolved)
    return example


def _trailing_assistant(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nothing after the last assistant turn (nothing to learn from it)."""
    while messages and messages[-1]["role"] != "assistant":
        messages.pop()
    return messages


def _plain(turns: Iterable[Turn]) -> list[dict[str, Any]]:
    return [{"role": turn.role, "content": turn.content} for turn in turns]


def _text_messages(turns: Sequence[Turn], tools: Sequence[ToolSpec], separator: str) -> list[dict[str, Any]]:
    names: dict[str, str] = {}  # tool_call_id -> tool name, for a tool turn that lacks its name
    messages = []
    for turn in turns:
        if turn.role == "system":
            content = f"{turn.content}{separator}{tools_prompt(tools)}" if tools else turn.content
            messages.append({"role": "system", "content": content})
        elif turn.role == "assistant":
            names.update((call.id, call.name) for call in turn.tool_calls if call.id)
            parts = [turn.content] if turn.content.strip() else []
            parts += [render_tool_call(call) for call in turn.tool_calls]
            messages.append({"role": "assistant", "content": "\n\n".join(parts)})
        elif turn.role == "tool":
            call = ToolCall(name=turn.name or names.get(turn.tool_call_id, "unknown"), id=turn.tool_call_id)
            messages.append({"role": "user", "content": tool_result_turn(call, turn.content, native=False).content})
        else:
            messages.append({"role": turn.role, "content": turn.content})
    return messages


def _openai_call(call: ToolCall, call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))}}


def _native_messages(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    messages = []
    count = 0
    for turn in turns:
        if turn.role == "assistant" and turn.tool_calls:
            calls = []
            for call in turn.tool_calls:
                count += 1
                calls.append(_openai_call(call, call.id or f"call_{count}"))
            messages.append({"role": "assistant", "content": turn.content, "tool_calls": calls})
        elif turn.role == "tool":
            messages.append({"role": "tool", "tool_call_id": turn.tool_call_id, "name": turn.name, "content": turn.content})
        else:
            messages.append({"role": turn.role, "content": turn.content})
    return messages


def _native_from_text(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """A text-mode recording with its calls as ``tool_calls`` and their results as ``tool`` messages."""
    messages: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # calls of the last assistant turn not yet answered
    for index, turn in enumerate(turns):
        if turn.role == "assistant" and turn.tool_calls:
            pending = [_openai_call(call, call.id or f"call_{index}_{n}") for n, call in enumerate(turn.tool_calls)]
            # the calls move to tool_calls; what the model wrote before them stays
            content = turn.content.split("<function=", 1)[0].rstrip()
            messages.append({"role": "assistant", "content": content, "tool_calls": list(pending)})
            continue
        prefix = RESULT_PREFIX.format(name=pending[0]["function"]["name"]) if pending else None
        if turn.role == "user" and prefix and turn.content.startswith(prefix):
            call = pending.pop(0)
            messages.append({"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"],
                             "content": turn.content[len(prefix):]})
            continue
        pending = []
        messages.append({"role": turn.role, "content": turn.content})
    return messages


def _alternating(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive plain user (or assistant) messages merged; nothing after the last assistant turn."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        last = merged[-1] if merged else None
        if (
            last is not None
            and message["role"] == last["role"]
            and message["role"] in ("user", "assistant")
            and "tool_calls" not in last
            and "tool_calls" not in message
        ):
            last["content"] = f"{last['content']}\n\n{message['content']}"
        else:
            merged.append(dict(message))
    while merged and merged[-1]["role"] != "assistant":
        merged.pop()
    return merged


def read_trajectories(source: str | os.PathLike[str]) -> Iterator[Trajectory]:
    """The trajectories of a rollout directory (its trajectories.jsonl) or of a JSONL file."""
    path = Path(source)
    if path.is_dir():
        path = path / "trajectories.jsonl"
    if not path.is_file():
        raise UsageError(f"{path}: no such file (give a rollout directory or a trajectories JSONL)")
    for record in TrajectoryStore(path).records():
        try:
            yield Trajectory.from_dict(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{path}: not a trajectory record ({type(exc).__name__}: {exc})") from None


@attrs.define
class SFTStats:
    """What an export read, kept and wrote."""

    read: int = 0
    kept: int = 0
    written: int = 0
    assistant_turns: int = 0
    chars: int = 0

    def add(self, example: Mapping[str, Any]) -> None:
        self.written += 1
        self.assistant_turns += sum(1 for m in example["messages"] if m["role"] == "assistant")
        self.chars += sum(len(m.get("content") or "") for m in example["messages"])
        for message in example["messages"]:
            for call in message.get("tool_calls") or ():
                self.chars += len(call["function"]["name"]) + len(call["function"]["arguments"])

    @property
    def mean_assistant_turns(self) -> float:
        return self.assistant_turns / self.written if self.written else 0.0

    @property
    def approx_tokens(self) -> int:
        """A rough token count: characters / 4."""
        return self.chars // 4


def sft_examples(
    trajectories: Iterable[Trajectory], *, format: SFTFormat = "text", only_resolved: bool = True, stats: SFTStats | None = None
) -> Iterator[dict[str, Any]]:
    """One example per trajectory (resolved ones only unless ``only_resolved`` is false).

    A trajectory with no assistant turn (an episode that failed before the model spoke)
    gives no example.
    """
    stats = stats if stats is not None else SFTStats()
    for trajectory in trajectories:
        stats.read += 1
        if only_resolved and not trajectory.resolved:
            continue
        stats.kept += 1
        example = sft_example(trajectory, format=format)
        if not any(m["role"] == "assistant" for m in example["messages"]):
            continue
        stats.add(example)
        yield example


def write_jsonl(examples: Iterable[Mapping[str, Any]], out: str | os.PathLike[str]) -> None:
    """Write ``examples`` to ``out``, one per line; ``out`` appears complete or not at all."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        with tmp.open("w") as handle:
            for example in examples:
                handle.write(json.dumps(example, ensure_ascii=False) + "\n")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)


_MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


def write_hf(examples: Iterable[Mapping[str, Any]], out: str | os.PathLike[str]) -> None:
    """Write ``examples`` as a Hugging Face ``datasets.Dataset`` (``save_to_disk``).

    Arrow needs one schema for every row: each message gets every key (None where unused),
    and ``tools`` is stored as a JSON string, since the tools' parameter schemas differ and
    Arrow would merge them into one with null-filled properties.
    """
    try:
        import datasets
    except ImportError:
        raise MissingDependencyError("datasets", "train") from None
    rows = []
    for example in examples:
        row = dict(example)
        native = "tools" in row
        keys = _MESSAGE_KEYS if native else ("role", "content")
        row["messages"] = [{key: message.get(key) for key in keys} for message in example["messages"]]
        if native:
            row["tools"] = json.dumps(row["tools"])
        rows.append(row)
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp))
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)


def export_sft(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: SFTFormat = "text",
    as_: Literal["jsonl", "hf"] = "jsonl",
    only_resolved: bool = True,
) -> SFTStats:
    """Convert the trajectories in ``source`` into an SFT dataset at ``out``."""
    stats = SFTStats()
    examples = sft_examples(read_trajectories(source), format=format, only_resolved=only_resolved, stats=stats)
    if as_ == "jsonl":
        write_jsonl(examples, out)
    elif as_ == "hf":
        write_hf(examples, out)
    else:
        raise UsageError(f"unknown output kind {as_!r} (known: jsonl, hf)")
    return stats


__all__ = [
    "AGENT_TOOLS",
    "FORMATS",
    "SFTStats",
    "agent_tools",
    "export_sft",
    "read_trajectories",
    "sft_example",
    "sft_examples",
    "tool_mode",
    "write_hf",
    "write_jsonl",
]
