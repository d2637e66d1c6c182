"""SFT messages of a CodeAct trajectory in the layout of SWE-Gym's released SFT data.

SWE-Gym's released OpenHands trajectories are OpenHands' function-calling messages run through
its own converter (``convert_fncall_messages_to_non_fncall_messages``): the tool descriptions
appended to the system prompt, the in-context example around the first user message, each
call written as ``<function=...>`` after the thought, each result a user turn
``EXECUTION RESULT of [NAME]:``. The same converter, read from the installed openhands-ai,
writes them here; turns the model did not see (its malformed calls) are left out.
"""

from __future__ import annotations

from typing import Any

from swegym.core.trajectory import Trajectory
from swegym.plugins.openhands_agent.codeact import messages_from_turns
from swegym.plugins.openhands_agent.original import load


def codeact_messages(trajectory: Trajectory, *, format: str = "text") -> list[dict[str, Any]]:
    """The trajectory's messages: ``text`` (SWE-Gym's layout) or ``native`` (tool_calls and tool turns)."""
    info = trajectory.config.get("info") or {}
    hidden = set(info.get("hidden_turns") or ())
    messages = messages_from_turns(trajectory.turns, hidden)
    if format == "native":
        return messages
    originals = load()
    example = info.get("in_context_example", True)
    converted = originals.to_text_messages(messages, [dict(t) for t in originals.tools], add_in_context_learning_example=example)
    return [{"role": m["role"], "content": m["content"]} for m in converted]


def is_codeact(trajectory: Trajectory) -> bool:
    return trajectory.agent == "openhands" and (trajectory.config.get("info") or {}).get("scaffold") == "codeact"
