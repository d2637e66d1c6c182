"""One episode of CodeActAgent v2.1 as SWE-Gym ran it (OpenHands 0.14.0's controller loop).

The history is a list of OpenHands-style events; every step the conversation is rebuilt from
it as CodeActAgent did (the assistant message of a response, then its tool results; same-role
messages merged), and in text mode converted by OpenHands' own converter (tool descriptions
and the in-context example added, ``</function`` as stop word) and the answer parsed back by
it. Per step, as the controller did: the stuck check (OpenHands' ``StuckDetector`` on the
history), the iteration limit (one iteration per action), then one action: a pending call of
the last response, or a new model call. A call the parser rejects becomes an error
observation (the model's message is dropped from what it sees next); a message without a
call gets SWE-Gym's fake user reply; ``finish`` ends the episode. On context overflow the
older half of the history is dropped (the first user message kept), as OpenHands did.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from swegym.core.agent import AgentResult
from swegym.core.instance import TaskInstance
from swegym.core.llm import LLM, ContextLimitError, SamplingParams, ToolSpec
from swegym.core.runtime import Sandbox, SandboxError
from swegym.core.trajectory import StopReason, ToolCall, Turn
from swegym.plugins.openhands_agent import events as ev
from swegym.plugins.openhands_agent.aci_editor import ACIEditor
from swegym.plugins.openhands_agent.bash import BashSession, PathView
from swegym.plugins.openhands_agent.original import FunctionCallValidationError, Originals

if TYPE_CHECKING:
    from swegym.plugins.openhands_agent import OpenHandsAgent

#: SWE-Gym's run_infer.py (evaluation harness, not part of the openhands-ai package)
INSTRUCTION = (
    "<uploaded_files>\n"
    "{root}\n"
    "</uploaded_files>\n"
    "I've uploaded a python code repository in the directory {name}. Consider the following PR description:\n\n"
    "<pr_description>\n"
    "{problem_statement}\n"
    "</pr_description>\n\n"
    "Can you help me implement the necessary changes to the repository so that the requirements specified in the <pr_description> are met?\n"
    "I've already taken care of all changes to any of the test files described in the <pr_description>. This means you DON'T have to modify the testing logic or any of the tests in any way!\n"
    "Your task is to make the minimal changes to non-tests files in the /workspace directory to ensure the <pr_description> is satisfied.\n"
    "Follow these steps to resolve the issue:\n"
    "1. As a first step, it might be a good idea to explore the repo to familiarize yourself with its structure.\n"
    "2. Create a script to reproduce the error and execute it with `python <filename.py>` using the BashTool, to confirm the error\n"
    "3. Edit the sourcecode of the repo to resolve the issue\n"
    "4. Rerun your reproduce script and confirm that the error is fixed!\n"
    "5. Think about edgecases and make sure your fix handles them as well\n"
    "Your thinking should be thorough and so it's fine if it's very long.\n"
)
#: SWE-Gym's fake user (evaluation/utils/shared.py ``codeact_user_response``)
FAKE_USER = (
    "Please continue working on the task on whatever approach you think is suitable.\n"
    "If you think you have solved the task, please first send your answer to user through message and then finish the interaction.\n"
    "IMPORTANT: YOU SHOULD NEVER ASK FOR HUMAN HELP.\n"
)
GIVE_UP = "If you want to give up, run: <execute_bash> exit </execute_bash>.\n"
ERROR_NOTE = "\n[Error occurred in processing last action]"


def workspace_name(instance: TaskInstance) -> str:
    """SWE-Gym's work tree name: ``<owner>__<repo>__<version>``."""
    return f"{instance.repo}__{instance.version}".replace("/", "__")


def instruction(instance: TaskInstance, root: str, name: str, *, hints: bool = False) -> str:
    text = INSTRUCTION.format(root=root, name=name, problem_statement=instance.problem_statement)
    if hints and instance.hints_text.strip():
        text += f"\n<hints>\n{instance.hints_text.strip()}\n</hints>\n"  # a swegym option: SWE-Gym's CodeActAgent runs had none
    return text


def tool_specs(originals: Originals) -> tuple[ToolSpec, ...]:
    """OpenHands' three tools as native tool specs (finish has no parameters there)."""
    return tuple(
        ToolSpec(
            name=tool["function"]["name"],
            description=tool["function"]["description"],
            parameters=tool["function"].get("parameters") or {"type": "object", "properties": {}},
        )
        for tool in originals.tools
    )


def _openai_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))}}


def messages_from_turns(turns: tuple[Turn, ...] | list[Turn], skip: set[int] = frozenset()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    """A recorded trajectory as OpenHands' function-calling messages (same-role turns merged)."""
    messages: list[dict[str, Any]] = []
    for index, turn in enumerate(turns):
        if index in skip:
            continue
        if turn.role == "assistant" and turn.tool_calls:
            message: dict[str, Any] = {"role": "assistant", "content": turn.content, "tool_calls": [_openai_call(c) for c in turn.tool_calls]}
        elif turn.role == "tool":
            message = {"role": "tool", "content": turn.content, "tool_call_id": turn.tool_call_id, "name": turn.name}
        else:
            message = {"role": turn.role, "content": turn.content}
        last = messages[-1] if messages else None
        if last and last["role"] == message["role"] and message["role"] != "tool" and "tool_calls" not in last and "tool_calls" not in message:
            last["content"] = f"{last['content']}\n{message['content']}"
        else:
            messages.append(message)
    return messages


class CodeActEpisode:
    """The mutable state of one run."""

    def __init__(self, agent: OpenHandsAgent, originals: Originals, instance: TaskInstance, sandbox: Sandbox, llm: LLM,
                 params: SamplingParams, *, native: bool) -> None:
        self.agent = agent
        self.originals = originals
        self.llm = llm
        self.native = native
        self.tools = tool_specs(originals)
        self.openai_tools = [dict(tool) for tool in originals.tools]
        if not native:
            params = attrs.evolve(params, stop=tuple(dict.fromkeys((*params.stop, *originals.stop_words))))
        self.params = params
        name = workspace_name(instance)
        root = f"/workspace/{name}" if agent.workspace == "openhands" else sandbox.workdir
        self.view = PathView(root, sandbox.workdir)
        self.sandbox = sandbox
        self.bash: BashSession | None = None
        self.editor = ACIEditor(sandbox, self.view, max_chars=originals.editor_max_chars,
                                notice=originals.editor_notice, snippet_lines=originals.editor_snippet_lines)
        task = instruction(instance, root, name if agent.workspace == "openhands" else root, hints=agent.include_hints)
        self.system = originals.system_prompt
        self.history: list[ev.Event] = [ev.MessageAction(content=task, wait_for_response=False, source=ev.EventSource.USER)]
        self.state = ev.State(history=self.history)
        self.detector = originals.stuck_detector(self.state)
        self.turns: list[Turn] = [Turn(role="system", content=self.system), Turn(role="user", content=task)]
        self.hidden: list[int] = []  # recorded turns the model no longer saw (its malformed calls)
        self.pending: deque[ev.Action] = deque()
        self.responses = 0
        self.info: dict[str, Any] = {
            "scaffold": "codeact",
            "tool_mode": "native" if native else "text",
            "workspace": root,
            "in_context_example": agent.in_context_example,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "parse_errors": 0,
            "truncations": 0,
        }

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> AgentResult:
        try:
            stop = self._loop()
        finally:
            if self.bash is not None:
                self.bash.close()
        self.info["assistant_turns"] = sum(1 for turn in self.turns if turn.role == "assistant")
        self.info["hidden_turns"] = self.hidden
        return AgentResult(turns=tuple(self.turns), stop_reason=stop, info=self.info)

    def _stuck(self) -> bool:
        if self.agent.stuck_rules == "openhands":
            return bool(self.detector.is_stuck())
        return _repeated(self.history, self.agent.max_repeats)

    def _loop(self) -> StopReason:
        iteration = 0
        while True:
            if self._stuck():
                self.info["error"] = "Agent got stuck in a loop"
                return StopReason.STUCK
            if iteration >= self.agent.max_turns:
                return StopReason.MAX_TURNS
            iteration += 1
            if self.pending:
                action = self.pending.popleft()
            else:
                step = self._ask()
                if isinstance(step, StopReason):
                    return step
                if step is None:
                    continue  # an error observation or a truncated history: next iteration
                action = step
            if isinstance(action, ev.AgentFinishAction):
                self.history.append(action)
                return StopReason.FINISHED
            self.history.append(action)
            if isinstance(action, ev.MessageAction):
                self._fake_user()
                continue
            try:
                self._execute(action)
            except SandboxError as exc:
                self.info["error"] = f"sandbox: {exc}"
                return StopReason.ERROR

    def _ask(self) -> ev.Action | StopReason | None:
        """One model call: the first action of its answer (the rest wait), or what ended the step."""
        messages = self._messages()
        prompt_messages: list[dict[str, Any]] | None = None
        if self.native:
            prompt = [_turn(m) for m in messages]
        else:
            prompt_messages = self.originals.to_text_messages(messages, self.openai_tools,
                                                              add_in_context_learning_example=self.agent.in_context_example)
            prompt = [Turn(role=m["role"], content=m["content"]) for m in prompt_messages]
        size = self.llm.count_tokens(prompt)
        self.info["context_tokens"] = size
        if size > self.agent.max_context_tokens:
            return self._overflow(f"the prompt ({size} tokens) exceeds max_context_tokens={self.agent.max_context_tokens}")
        began = time.perf_counter()
        try:
            completion = self.llm.complete(prompt, tools=self.tools if self.native else None, params=self.params)
        except ContextLimitError as exc:
            return self._overflow(f"context limit: {exc}")
        except Exception as exc:  # a backend failure ends this episode, not the run
            self.info["error"] = f"{type(exc).__name__}: {exc}"
            return StopReason.ERROR
        elapsed = time.perf_counter() - began
        self.info["prompt_tokens"] += completion.prompt_tokens
        self.info["completion_tokens"] += completion.completion_tokens
        usage = {"elapsed_s": elapsed, "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens}
        self.responses += 1
        try:
            thought, calls = self._read(completion.message, prompt_messages)
        except FunctionCallValidationError as exc:
            self.info["parse_errors"] += 1
            self.hidden.append(len(self.turns))
            self.turns.append(Turn(role="assistant", content=completion.message.content or "", **usage))
            self.history.append(ev.ErrorObservation(content=str(exc)))
            self.turns.append(Turn(role="user", content=self._error_text(str(exc))))
            return None
        except Exception as exc:  # what OpenHands' controller did not catch ended its episode
            self.turns.append(Turn(role="assistant", content=completion.message.content or "", **usage))
            self.info["error"] = f"{type(exc).__name__}: {exc}"
            return StopReason.ERROR
        self.turns.append(Turn(role="assistant", content=thought, tool_calls=tuple(calls), **usage))
        if not calls:
            return ev.MessageAction(content=thought, wait_for_response=True, response=self.responses)
        actions = [self._action(call, thought if index == 0 else "") for index, call in enumerate(calls)]
        self.pending.extend(actions[1:])
        return actions[0]

    def _read(self, message: Turn, prompt_messages: list[dict[str, Any]] | None) -> tuple[str, list[ToolCall]]:
        """The thought and the calls of an answer, parsed as OpenHands parsed them."""
        step = self.responses
        if self.native:
            calls = [c if c.id else attrs.evolve(c, id=f"toolu_{step:02d}_{i}") for i, c in enumerate(message.tool_calls)]
            for call in calls:
                if call.name not in {tool.name for tool in self.tools}:
                    raise RuntimeError(f"Unknown tool call: {call.name}")
            return message.content or "", calls
        raw = message.content or ""
        if message.tool_calls:  # a replayed recording: its calls, written as the model wrote them
            rendered = self.originals.tool_call_to_string(_openai_call(attrs.evolve(message.tool_calls[0], id="replay")))
            raw = (raw + "\n\n" + rendered).lstrip()
        assert prompt_messages is not None
        converted = self.originals.from_text_messages([*prompt_messages, {"role": "assistant", "content": raw}], self.openai_tools)
        answer = converted[-1]
        calls = [
            ToolCall(name=c["function"]["name"], arguments=json.loads(c["function"]["arguments"]), id=f"toolu_{step:02d}")
            for c in answer.get("tool_calls") or ()
        ]
        return answer.get("content") or "", calls

    def _action(self, call: ToolCall, thought: str) -> ev.Action:
        arguments = dict(call.arguments)
        if call.name == "execute_bash":
            unknown = sorted(set(arguments) - {"command"})
            if unknown or "command" not in arguments:  # CmdRunAction(**arguments) raised TypeError
                raise_type = f"CmdRunAction got unexpected arguments {unknown}" if unknown else "CmdRunAction missing 'command'"
                raise TypeError(raise_type)
            return ev.CmdRunAction(command=str(arguments["command"]), thought=thought, response=self.responses, call=call)
        if call.name == "str_replace_editor":
            return ev.IPythonRunCellAction(code=ev.editor_code(arguments), thought=thought, include_extra=False,
                                           response=self.responses, call=call)
        if call.name == "finish":
            return ev.AgentFinishAction(thought=thought, response=self.responses, call=call)
        raise RuntimeError(f"Unknown tool call: {call.name}")

    def _fake_user(self) -> None:
        users = sum(1 for e in self.history if isinstance(e, ev.MessageAction) and e.source == ev.EventSource.USER)
        reply = FAKE_USER + (GIVE_UP if users >= 2 else "")
        self.history.append(ev.MessageAction(content=reply, source=ev.EventSource.USER))
        self.turns.append(Turn(role="user", content=reply))

    # -- tools ---------------------------------------------------------------------------

    def _execute(self, action: ev.Action) -> None:
        call = action.call
        began = time.perf_counter()
        limit = self.agent.max_observation_chars
        prefix = self.agent.observation_prefix
        if isinstance(action, ev.CmdRunAction):
            if self.bash is None:
                self.bash = BashSession(self.sandbox, self.view, timeout=self.agent.bash_timeout, split=self.originals.split_bash_commands)
            result = self.bash.run(action.command)
            observation: ev.Observation = ev.CmdOutputObservation(
                content=result.content, command=action.command, exit_code=result.exit_code,
                interpreter_details=result.interpreter_details, tool_call_id=call.id, tool_name=call.name,
            )
            text = prefix + self.originals.truncate_content(result.content + result.interpreter_details, limit)
            text += f"\n[Command finished with exit code {result.exit_code}]"
        else:
            output = self.editor(dict(call.arguments)).rstrip()
            observation = ev.IPythonRunCellObservation(content=output, code=action.code, tool_call_id=call.id, tool_name=call.name)
            text = self.originals.truncate_content(prefix + output, limit)
        self.history.append(observation)
        self.turns.append(Turn(role="tool", content=text, tool_call_id=call.id, name=call.name, elapsed_s=time.perf_counter() - began))

    def _error_text(self, content: str) -> str:
        return self.agent.observation_prefix + self.originals.truncate_content(content, self.agent.max_observation_chars) + ERROR_NOTE

    # -- the conversation ------------------------------------------------------------------

    def _messages(self) -> list[dict[str, Any]]:
        """CodeActAgent._get_messages over the history, as plain dicts."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}]
        pending: dict[int, list[ev.Action]] = {}
        results: dict[str, dict[str, Any]] = {}
        for event in self.history:
            add: list[dict[str, Any]] = []
            if isinstance(event, ev.MessageAction):
                add.append({"role": "user" if event.source == ev.EventSource.USER else "assistant", "content": event.content})
            elif isinstance(event, ev.Action) and event.call is not None:
                pending.setdefault(event.response, []).append(event)
            elif isinstance(event, ev.ErrorObservation) and not event.tool_call_id:
                add.append({"role": "user", "content": self._error_text(event.content)})
            elif isinstance(event, ev.Observation) and event.tool_call_id:
                results[event.tool_call_id] = {"role": "tool", "content": self._observation_text(event),
                                               "tool_call_id": event.tool_call_id, "name": event.tool_name}
            for response in list(pending):
                actions = pending[response]
                thought = next((a.thought for a in actions if getattr(a, "thought", "")), "")
                calls = [a.call for a in actions]
                if all(call.id in results for call in calls) and len(calls) == self._calls_in(response):
                    add.append({"role": "assistant", "content": thought, "tool_calls": [_openai_call(c) for c in calls]})
                    add.extend(results.pop(call.id) for call in calls)
                    del pending[response]
            for message in add:
                last = messages[-1]
                if last["role"] == message["role"] and message["role"] != "tool" and "tool_calls" not in last and "tool_calls" not in message:
                    last["content"] = f"{last['content']}\n{message['content']}"
                else:
                    messages.append(message)
        return messages

    def _calls_in(self, response: int) -> int:
        return sum(1 for e in self.history if isinstance(e, ev.Action) and e.call is not None and e.response == response) + sum(
            1 for a in self.pending if a.response == response
        )

    def _observation_text(self, event: ev.Observation) -> str:
        # the tool turn recorded when it ran holds exactly that text
        for turn in reversed(self.turns):
            if turn.role == "tool" and turn.tool_call_id == event.tool_call_id:
                return turn.content
        return event.content

    def _overflow(self, why: str) -> StopReason | None:
        if self.agent.on_context_overflow == "stop":
            self.info["error"] = why
            return StopReason.CONTEXT
        before = len(self.history)
        self.history[:] = conversation_window(self.history)
        self.info["truncations"] += 1
        if len(self.history) >= before:
            self.info["error"] = f"{why}; the history cannot be shortened further"
            return StopReason.CONTEXT
        return None


def conversation_window(history: list[ev.Event]) -> list[ev.Event]:
    """OpenHands' ``_apply_conversation_window``: the newer half, pairs kept whole, the first user message kept."""
    if not history:
        return history
    first_user = next((e for e in history if isinstance(e, ev.MessageAction) and e.source == ev.EventSource.USER), None)
    middle = max(1, len(history) // 2)
    kept = history[middle:]
    index = 0
    while index < len(kept):
        first = kept[index]
        if isinstance(first, ev.Observation) and first.tool_call_id:
            action = next((e for e in reversed(history[:middle]) if isinstance(e, ev.Action) and e.call is not None
                           and e.call.id == first.tool_call_id), None)
            kept = [action, *kept] if action is not None else kept[1:]
            break
        if isinstance(first, ev.MessageAction) or (isinstance(first, ev.Action) and first.source == ev.EventSource.USER):
            index += 1
            continue
        break
    if first_user is not None and first_user not in kept:
        kept = [first_user, *kept]
    return kept


def _repeated(history: list[ev.Event], max_repeats: int) -> bool:
    """swegym's own rule (``stuck_rules=repeats``): the same action more than ``max_repeats`` times in a row."""
    actions = [e for e in history if isinstance(e, ev.Action) and not (isinstance(e, ev.MessageAction) and e.source == ev.EventSource.USER)]
    if len(actions) <= max_repeats:
        return False
    last = actions[-(max_repeats + 1):]
    return all(a == last[0] for a in last)


def _turn(message: Mapping[str, Any]) -> Turn:
    calls = tuple(ToolCall(c["function"]["name"], json.loads(c["function"]["arguments"]), c["id"]) for c in message.get("tool_calls") or ())
    return Turn(role=message["role"], content=message.get("content") or "", tool_calls=calls,
                tool_call_id=message.get("tool_call_id", ""), name=message.get("name", ""))
