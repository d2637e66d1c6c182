"""OpenHands evaluation output (``output.jsonl``, completion logs) as swegym trajectories.

One record of OpenHands' ``run_infer.py`` output holds ``instance_id``, ``instruction``,
``history`` (its events, ``event_to_dict``: actions with ``action``/``args``, observations
with ``observation``/``content``/``extras``, both with ``tool_call_metadata``), ``metadata``
(the model), ``test_result`` (``git_patch``; after SWE-bench grading also ``report`` with
``resolved``), ``error`` and ``metrics``. Each becomes a CodeAct trajectory in the
function-calling form the scaffold records: the thought and the calls of each response, each
result as the model saw it (``OBSERVATION:`` prefix, OpenHands' truncation, the exit-code
line), the fake user's replies, the final patch, the stop reason and the grading.

Completion logs (``llm_completions/<instance_id>/*.json``, written with
``log_completions``) hold the exact messages of every model call: when present, the system
prompt and every observation text are taken from the last one instead of being rebuilt.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from swegym.core.errors import UsageError
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.trajectory import StopReason, ToolCall, Trajectory, Turn
from swegym.plugins.openhands_agent.codeact import ERROR_NOTE

_EDITOR_CALL = "print(file_editor(**"


def _editor_arguments(code: str) -> dict[str, Any] | None:
    code = code.strip()
    if not (code.startswith(_EDITOR_CALL) and code.endswith("))")):
        return None
    try:
        value = ast.literal_eval(code[len(_EDITOR_CALL) : -2])
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, dict) else None


def _truncate(content: str, limit: int) -> str:
    try:
        from swegym.plugins.openhands_agent.original import load

        return load().truncate_content(content, limit)
    except Exception:  # noqa: BLE001 - without the package: OpenHands' rule, stated in its docstring
        if len(content) <= limit:
            return content
        half = limit // 2
        return content[:half] + "\n[... Observation truncated due to length ...]\n" + content[-half:]


def _system_prompt() -> str:
    try:
        from swegym.plugins.openhands_agent.original import load

        return load().system_prompt
    except Exception:  # noqa: BLE001
        return ""


def _stop_reason(record: Mapping[str, Any], finished: bool) -> StopReason:
    error = str(record.get("error") or "").lower()
    if "stuck" in error:
        return StopReason.STUCK
    if "context" in error or "token" in error:
        return StopReason.CONTEXT
    if "iteration" in error or "budget" in error:
        return StopReason.MAX_TURNS
    if error:
        return StopReason.ERROR
    return StopReason.FINISHED if finished else StopReason.MAX_TURNS


def _outcome(record: Mapping[str, Any], patch: str) -> GradingResult | None:
    result = record.get("test_result") or {}
    report = result.get("report") if isinstance(result, Mapping) else None
    resolved = record.get("resolved")
    if isinstance(report, Mapping) and "resolved" in report:
        resolved = report["resolved"]
    if resolved is None:
        return None
    status = GradeStatus.RESOLVED if resolved else (GradeStatus.EMPTY_PATCH if not patch.strip() else GradeStatus.UNRESOLVED)
    tests = report.get("tests_status", {}) if isinstance(report, Mapping) else {}
    return GradingResult(record["instance_id"], status, patch_exists=bool(patch.strip()),
                         patch_applied=bool(patch.strip()), tests_status=tests, reason="imported from OpenHands' evaluation")


def _completion_texts(log_dir: Path | None, instance_id: str) -> tuple[str, list[str]]:
    """(system prompt, tool results in order) from the last completion log of the instance."""
    if log_dir is None:
        return "", []
    folder = log_dir / instance_id if (log_dir / instance_id).is_dir() else log_dir
    logs = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return "", []
    data = json.loads(logs[-1].read_text())
    messages = data.get("fncall_messages") or data.get("messages") or []

    def text(message: Mapping[str, Any]) -> str:
        content = message.get("content")
        if isinstance(content, list):
            return "\n".join(item.get("text", "") for item in content if item.get("type") == "text")
        return content or ""

    system = next((text(m) for m in messages if m.get("role") == "system"), "")
    results = [text(m) for m in messages if m.get("role") == "tool"]
    return system, results


def read_output(
    path: str | Path,
    *,
    completions: str | Path | None = None,
    observation_prefix: str = "OBSERVATION:\n",
    max_observation_chars: int = 30_000,
) -> Iterator[Trajectory]:
    """The trajectories in OpenHands' ``output.jsonl`` at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file (an OpenHands output.jsonl)")
    log_dir = Path(completions) if completions else (path.parent / "llm_completions")
    log_dir = log_dir if log_dir.is_dir() else None
    with path.open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                history = record["history"]
                instance_id = record["instance_id"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise UsageError(f"{path}:{number}: not an OpenHands output record ({type(exc).__name__}: {exc})") from None
            yield _trajectory(record, history, instance_id, path, log_dir, observation_prefix, max_observation_chars)


def _trajectory(record, history, instance_id, path, log_dir, prefix, limit) -> Trajectory:
    logged_system, logged_results = _completion_texts(log_dir, instance_id)
    turns: list[Turn] = [Turn("system", logged_system or _system_prompt())]
    responses: dict[str, int] = {}  # model response id -> index of its assistant turn
    finished = False
    task_seen = False
    count = 0
    for event in history:
        if isinstance(event, list) and len(event) == 2:  # the older (action, observation) pair form
            pair = list(event)
        else:
            pair = [event]
        for item in pair:
            if not isinstance(item, Mapping):
                continue
            count += 1
            if "action" in item:
                finished |= _add_action(turns, responses, item, count)
                if item.get("action") == "message" and item.get("source") == "user" and not task_seen:
                    task_seen = True
            elif "observation" in item:
                _add_observation(turns, item, prefix, limit)
    if len(turns) < 2 or turns[1].role != "user":
        turns.insert(1, Turn("user", record.get("instruction") or ""))
    if logged_results:
        tool_turns = [i for i, t in enumerate(turns) if t.role == "tool"]
        if len(tool_turns) == len(logged_results):  # the logged texts are what the model read
            for index, text in zip(tool_turns, logged_results):
                turn = turns[index]
                turns[index] = Turn("tool", text, tool_call_id=turn.tool_call_id, name=turn.name)
    result = record.get("test_result") or {}
    patch = (result.get("git_patch") if isinstance(result, Mapping) else "") or ""
    model = ((record.get("metadata") or {}).get("llm_config") or {}).get("model") or "openhands"
    info = {
        "scaffold": "codeact",
        "tool_mode": "text",
        "in_context_example": True,
        "imported_from": str(path),
        "openhands_error": record.get("error"),
        "hidden_turns": [],
        "assistant_turns": sum(1 for t in turns if t.role == "assistant"),
    }
    metadata = record.get("metadata") or {}
    return Trajectory(
        instance_id=instance_id,
        sample_index=int(record.get("sample_index", 0) or 0),
        agent="openhands",
        model=model,
        turns=tuple(turns),
        patch=patch if patch.endswith("\n") or not patch else patch + "\n",
        stop_reason=_stop_reason(record, finished),
        outcome=_outcome(record, patch),
        config={"info": info, "agent_options": {}, "source": "openhands", "max_iterations": metadata.get("max_iterations")},
    )


def _add_action(turns: list[Turn], responses: dict[str, int], item: Mapping[str, Any], count: int) -> bool:
    kind = item.get("action")
    args = item.get("args") or {}
    source = item.get("source")
    if kind == "message":
        content = args.get("content") or item.get("message") or ""
        turns.append(Turn("user" if source == "user" else "assistant", content))
        return False
    if kind == "run" and source == "agent":
        call = ToolCall("execute_bash", {"command": args.get("command", "")})
    elif kind == "run_ipython" and source == "agent":
        arguments = _editor_arguments(args.get("code", ""))
        call = ToolCall("str_replace_editor", arguments) if arguments is not None else ToolCall("execute_ipython_cell", {"code": args.get("code", "")})
    elif kind == "finish":
        call = ToolCall("finish", {})
    else:
        return False  # state changes, null actions, the runtime's own commands
    metadata = item.get("tool_call_metadata") or {}
    call_id = metadata.get("tool_call_id") or f"toolu_{count:02d}"
    response = (metadata.get("model_response") or {}).get("id")
    call = ToolCall(call.name, call.arguments, call_id)
    thought = args.get("thought") or ""
    if response and response in responses:  # another call of the same model response
        index = responses[response]
        previous = turns[index]
        turns[index] = Turn("assistant", previous.content or thought, tool_calls=(*previous.tool_calls, call))
    else:
        turns.append(Turn("assistant", thought, tool_calls=(call,)))
        if response:
            responses[response] = len(turns) - 1
    return kind == "finish"


def _add_observation(turns: list[Turn], item: Mapping[str, Any], prefix: str, limit: int) -> None:
    kind = item.get("observation")
    content = item.get("content") or ""
    extras = item.get("extras") or {}
    metadata = item.get("tool_call_metadata") or {}
    call_id = metadata.get("tool_call_id") or ""
    if not call_id:  # answer the last unanswered call, in order
        answered = {t.tool_call_id for t in turns if t.role == "tool"}
        pending = [c for t in turns if t.role == "assistant" for c in t.tool_calls if c.id not in answered and c.name != "finish"]
        call_id = pending[0].id if pending else ""
    name = metadata.get("function_name") or next(
        (c.name for t in turns if t.role == "assistant" for c in t.tool_calls if c.id == call_id), "")
    if kind == "run":
        text = prefix + _truncate(content + extras.get("interpreter_details", ""), limit)
        text += f"\n[Command finished with exit code {extras.get('exit_code', 0)}]"
    elif kind == "run_ipython":
        text = _truncate(prefix + content, limit)
    elif kind == "error":
        text = prefix + _truncate(content, limit) + ERROR_NOTE
        if not call_id:
            turns.append(Turn("user", text))
            return
    else:
        return  # agent_state_changed, null, ...
    if call_id:
        turns.append(Turn("tool", text, tool_call_id=call_id, name=name))
