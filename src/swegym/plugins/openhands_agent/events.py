"""The episode's history as OpenHands keeps it: actions and observations.

OpenHands' ``StuckDetector`` (read from the installed package) compares these events with
``==`` and ``isinstance``; they carry exactly the dataclass fields of OpenHands' own events of
0.14.0 that take part in that comparison, so the rules behave as they did there. What this
scaffold adds (the call a model wrote, the id of its response) is excluded from comparison.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any


class EventSource(str, enum.Enum):
    AGENT = "agent"
    USER = "user"
    ENVIRONMENT = "environment"


@dataclass
class Event:
    source: EventSource = field(default=EventSource.AGENT, compare=False, kw_only=True)


@dataclass
class Action(Event):
    #: the model's response this action came from (several calls of one message share it)
    response: int = field(default=-1, compare=False, kw_only=True)
    #: the call as the model wrote it: name, arguments, id
    call: Any = field(default=None, compare=False, kw_only=True)


@dataclass
class Observation(Event):
    content: str
    #: the id of the call this observation answers ("" for none)
    tool_call_id: str = field(default="", compare=False, kw_only=True)
    tool_name: str = field(default="", compare=False, kw_only=True)


@dataclass
class MessageAction(Action):
    content: str
    image_urls: list[str] | None = None
    wait_for_response: bool = False


@dataclass
class CmdRunAction(Action):
    command: str
    thought: str = ""
    blocking: bool = False
    keep_prompt: bool = True
    hidden: bool = False


@dataclass
class IPythonRunCellAction(Action):
    """OpenHands ran ``str_replace_editor`` calls as this (``print(file_editor(**{...}))``)."""

    code: str
    thought: str = ""
    include_extra: bool = True


@dataclass
class AgentFinishAction(Action):
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    thought: str = ""


@dataclass
class NullAction(Action):
    pass


@dataclass
class CmdOutputObservation(Observation):
    command_id: int = -1
    command: str = ""
    exit_code: int = 0
    hidden: bool = False
    interpreter_details: str = ""


@dataclass
class IPythonRunCellObservation(Observation):
    code: str = ""


@dataclass
class ErrorObservation(Observation):
    error_id: str = ""


@dataclass
class NullObservation(Observation):
    pass


@dataclass
class State:
    """What ``StuckDetector`` reads and writes."""

    history: list[Event]
    almost_stuck: int = 0


def editor_code(arguments: dict[str, Any]) -> str:
    """The cell OpenHands 0.14.0 ran for a ``str_replace_editor`` call."""
    return f"print(file_editor(**{arguments}))"


__all__ = [
    "Action",
    "AgentFinishAction",
    "CmdOutputObservation",
    "CmdRunAction",
    "ErrorObservation",
    "Event",
    "EventSource",
    "IPythonRunCellAction",
    "IPythonRunCellObservation",
    "MessageAction",
    "NullAction",
    "NullObservation",
    "Observation",
    "State",
]
