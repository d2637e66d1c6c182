"""The ``openhands`` agent's ``variant=swegym``: swegym's own CodeAct-style loop (before issue 12).

The scaffold SWE-Gym trained its policies in (OpenHands' CodeActAgent): the model sees the
issue, then calls one tool per message (``execute_bash`` in a persistent shell,
``str_replace_editor``, ``finish``) and reads each result, until it finishes or a limit
stops it. Backends with native function calling get the tools as JSON schemas; the others
(and ``tool_mode=text``) write calls in the text form of ``swegym.core.toolcalls``, whose
results come back as user turns: the form SWE-Gym's trajectories are trained in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from swegym.core.agent import Agent, AgentResult
from swegym.core.instance import TaskInstance
from swegym.core.llm import LLM, Completion, ContextLimitError, SamplingParams, ToolSpec
from swegym.core.runtime import Sandbox, SandboxError
from swegym.core.toolcalls import FUNCTION_END, parse_tool_calls, tool_result_turn, tools_prompt
from swegym.core.trajectory import StopReason, ToolCall, Turn
from swegym.plugins.openhands_agent.editor import StrReplaceEditor, ToolError
from swegym.plugins.openhands_agent.prompts import NUDGE, issue_prompt, system_prompt, tool_specs

if TYPE_CHECKING:
    from swegym.plugins.openhands_agent import OpenHandsAgent

#: the most a model may ask a single command to run for, in seconds
MAX_COMMAND_TIMEOUT = 1800.0


def truncate(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail around a marker."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... observation truncated: {omitted} characters omitted ...]\n{text[len(text) - tail:]}"


class _Episode:
    """The mutable state of one run: the conversation, the shell, the editor, the counters."""

    def __init__(
        self, agent: OpenHandsAgent, instance: TaskInstance, sandbox: Sandbox, llm: LLM, params: SamplingParams, *, native: bool
    ) -> None:
        self.agent = agent
        self.llm = llm
        self.native = native
        self.tools = tool_specs(bash_timeout=agent.bash_timeout)
        self.schemas: dict[str, ToolSpec] = {tool.name: tool for tool in self.tools}
        if not native and FUNCTION_END not in params.stop:
            # the model stops after its call instead of imagining the result
            params = attrs.evolve(params, stop=(*params.stop, FUNCTION_END))
        self.params = params
        self.shell = sandbox.session(timeout=agent.bash_timeout)
        self.editor = StrReplaceEditor(sandbox)
        workdir = sandbox.workdir
        self.turns: list[Turn] = [
            Turn(role="system", content=system_prompt(workdir, "" if native else tools_prompt(self.tools))),
            Turn(role="user", content=issue_prompt(instance, workdir, hints=agent.include_hints)),
        ]
        self.info: dict[str, Any] = {
            "tool_mode": "native" if native else "text",
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "parse_errors": 0,
            "tool_errors": 0,
        }
        self._last_action: tuple[str, str] | None = None
        self._repeats = 0

    def run(self) -> AgentResult:
        stop = self._loop()
        self.info["assistant_turns"] = sum(1 for turn in self.turns if turn.role == "assistant")
        return AgentResult(turns=tuple(self.turns), stop_reason=stop, info=self.info)

    def _loop(self) -> StopReason:
        for step in range(self.agent.max_turns):
            size = self.llm.count_tokens(self.turns)
            self.info["context_tokens"] = size
            if size > self.agent.max_context_tokens:
                self.info["error"] = f"the prompt ({size} tokens) exceeds max_context_tokens={self.agent.max_context_tokens}"
                return StopReason.CONTEXT
            began = time.perf_counter()
            try:
                completion = self.llm.complete(self.turns, tools=self.tools if self.native else None, params=self.params)
            except ContextLimitError as exc:
                self.info["error"] = f"context limit: {exc}"
                return StopReason.CONTEXT
            except Exception as exc:  # a backend failure ends this episode, not the run
                self.info["error"] = f"{type(exc).__name__}: {exc}"
                return StopReason.ERROR
            elapsed = time.perf_counter() - began
            self.info["prompt_tokens"] += completion.prompt_tokens
            self.info["completion_tokens"] += completion.completion_tokens

            content, calls, errors = self._read_actions(completion, step)
            self.turns.append(
                Turn(
                    role="assistant",
                    content=content,
                    tool_calls=tuple(calls if self.native else calls[:1]),
                    elapsed_s=elapsed,
                    prompt_tokens=completion.prompt_tokens,
                    completion_tokens=completion.completion_tokens,
                )
            )
            if self._is_stuck(calls[0] if calls else None, content):
                return StopReason.STUCK
            if not calls:
                if errors:
                    self.info["parse_errors"] += 1
                    message = "ERROR: your function call could not be parsed:\n" + "\n".join(errors)
                    message += "\nWrite exactly one call in the format the system prompt shows, then stop."
                else:
                    message = NUDGE
                self.turns.append(Turn(role="user", content=message))
                continue
            call = calls[0]
            if call.name == "finish":
                message = call.arguments.get("message") if isinstance(call.arguments, Mapping) else None
                if message:
                    self.info["finish_message"] = str(message)
                return StopReason.FINISHED
            began = time.perf_counter()
            try:
                output = self._execute(call)
            except SandboxError as exc:
                self.info["error"] = f"sandbox: {exc}"
                return StopReason.ERROR
            if not self.native and (len(calls) > 1 or errors):
                output += "\n[Only the first function call of a message is executed; the rest of that message was ignored.]"
            self.turns.append(tool_result_turn(call, output, native=self.native, elapsed_s=time.perf_counter() - began))
            for extra in calls[1:] if self.native else ():  # every native call id needs an answer
                self.turns.append(
                    tool_result_turn(extra, "ERROR: only one tool call per message is executed; this call was skipped.", native=True)
                )
        return StopReason.MAX_TURNS

    def _read_actions(self, completion: Completion, step: int) -> tuple[str, list[ToolCall], list[str]]:
        """The message text and its calls (with ids), plus parse errors in text mode."""
        content = completion.message.content or ""
        if self.native:
            calls = [
                call if call.id else attrs.evolve(call, id=f"call_{step}_{index}")
                for index, call in enumerate(completion.message.tool_calls)
            ]
            return content, calls, []
        if completion.finish_reason == "stop" and FUNCTION_END in self.params.stop:
            # the server strips the stop sequence; put it back so the turn reads as generated
            last = content.rfind("<function=")
            if last != -1 and FUNCTION_END not in content[last:]:
                content += FUNCTION_END
        parsed, errors = parse_tool_calls(content)
        calls = [attrs.evolve(call, id=f"call_{step}_{index}") for index, call in enumerate(parsed)]
        return content, calls, errors

    def _is_stuck(self, call: ToolCall | None, content: str) -> bool:
        """Whether this action repeats the previous one more than ``max_repeats`` times in a row."""
        if call is None:
            action = ("", content.strip())
        else:
            action = (call.name, json.dumps(call.arguments, sort_keys=True, default=str))
        self._repeats = self._repeats + 1 if action == self._last_action else 1
        self._last_action = action
        return self._repeats > self.agent.max_repeats

    def _execute(self, call: ToolCall) -> str:
        """Run one call; a call the tool cannot carry out becomes an error observation."""
        limit = self.agent.max_observation_chars
        try:
            arguments = self._check(call)
            if call.name == "execute_bash":
                return self._bash(arguments)
            return truncate(self.editor(arguments), limit)
        except ToolError as exc:
            self.info["tool_errors"] += 1
            return truncate(f"ERROR:\n{exc}", limit)

    def _check(self, call: ToolCall) -> Mapping[str, Any]:
        spec = self.schemas.get(call.name)
        if spec is None:
            raise ToolError(f"Unknown function {call.name!r}. The available functions are: {', '.join(self.schemas)}")
        if not isinstance(call.arguments, Mapping):
            raise ToolError(f"The arguments of {call.name} must be named parameters, got {call.arguments!r}")
        accepted = spec.parameters.get("properties") or {}
        unknown = sorted(set(call.arguments) - set(accepted))
        if unknown:
            raise ToolError(f"Unknown parameter {unknown[0]!r} for {call.name}. Accepted parameters: {', '.join(accepted)}")
        missing = [key for key in spec.parameters.get("required") or () if call.arguments.get(key) in (None, "")]
        if missing:
            raise ToolError(f"Missing required parameter {missing[0]!r} for {call.name}.")
        return call.arguments

    def _bash(self, arguments: Mapping[str, Any]) -> str:
        command = arguments["command"]
        if not isinstance(command, str) or not command.strip():
            raise ToolError("Parameter `command` must be a non-empty string.")
        timeout = self.agent.bash_timeout
        if arguments.get("timeout") not in (None, ""):
            try:
                timeout = float(arguments["timeout"])
            except (TypeError, ValueError):
                raise ToolError(f"Parameter `timeout` must be a number of seconds, got {arguments['timeout']!r}") from None
            if not 0 < timeout <= MAX_COMMAND_TIMEOUT:
                raise ToolError(f"Parameter `timeout` must be between 0 and {MAX_COMMAND_TIMEOUT:g} seconds, got {timeout:g}")
        result = self.shell.run(command, timeout=timeout)
        if result.timed_out:
            status = (
                f"[Command timed out after {timeout:g} seconds and was killed (exit code {result.exit_code}). "
                "If it needs more time, call it again with a larger `timeout`.]"
            )
        else:
            status = f"[Command finished with exit code {result.exit_code}]"
        output = result.output.rstrip("\n")
        if not output:
            return status
        return f"{truncate(output, max(self.agent.max_observation_chars - len(status) - 1, 100))}\n{status}"

