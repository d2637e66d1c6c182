"""The openhands agent in real local sandboxes on the demo repository, driven by a scripted model.

Only the model is a test double (``ScriptedLLM`` replays queued messages); the sandbox,
the shell, the editor and the parsing of tool calls are the real ones.
"""

from __future__ import annotations

import re

import pytest

import swegym.plugins.openhands_agent as openhands_plugin
from conftest import git
from demo_support import checkout, demo_instances, repository
from swegym import Components, get_plugin_manager
from swegym.core.errors import OptionError, UsageError
from swegym.core.llm import LLM, Completion, ContextLimitError, SamplingParams
from swegym.core.toolcalls import render_tool_call
from swegym.core.trajectory import StopReason, ToolCall, Turn
from swegym.plugins.openhands_agent import OpenHandsAgent
from swegym.plugins.openhands_agent.prompts import NUDGE
from swegym.plugins.runtimes.local import LocalRuntime

pytestmark = pytest.mark.slow

FINISH = ToolCall("finish")


class ScriptedLLM(LLM):
    """Answers with queued replies: a ToolCall (rendered for the mode), raw text, or an exception."""

    name = "scripted"

    def __init__(self, replies, *, native=False):
        self.native_tools = native
        self.replies = list(replies)
        self.requests = []

    def complete(self, messages, *, tools=None, params=SamplingParams()):
        self.requests.append({"messages": list(messages), "tools": tools, "params": params})
        if not self.replies:
            raise RuntimeError("the script has no more replies")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ToolCall):
            message = Turn("assistant", "", tool_calls=(reply,)) if self.native_tools else Turn("assistant", render_tool_call(reply))
        elif isinstance(reply, Turn):
            message = reply
        else:
            message = Turn("assistant", reply)
        return Completion(message, prompt_tokens=self.count_tokens(messages), completion_tokens=7)


def bash(command, **extra):
    return ToolCall("execute_bash", {"command": command, **extra})


def edit(command, path, **extra):
    return ToolCall("str_replace_editor", {"command": command, "path": path, **extra})


def observations(result):
    """The contents of the turns after the issue that are not the model's."""
    return [turn.content for turn in result.turns[2:] if turn.role != "assistant"]


@pytest.fixture(scope="module")
def instance(components):
    return demo_instances(components)["swegym__tinyver-18"]


@pytest.fixture()
def sandbox(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    runtime = LocalRuntime()
    runtime.environment(repository(), instance)  # built once per test session (shared cache)
    with runtime.sandbox(repository(), instance) as sandbox:
        yield sandbox


def play(instance, sandbox, replies, *, native=False, **options):
    # swegym's own scaffold (variant=swegym) with its former defaults; the default variant,
    # OpenHands' CodeActAgent, is tested in test_openhands_codeact.py
    options = {"variant": "swegym", "bash_timeout": 120.0, "max_observation_chars": 10_000, **options}
    llm = ScriptedLLM(replies, native=native)
    result = OpenHandsAgent(**options).run(instance, sandbox, llm, params=SamplingParams())
    return result, llm


# -- prompts and modes ---------------------------------------------------------------


def test_text_mode_prompt_shows_the_issue_and_tools_but_never_the_tests(instance, sandbox):
    result, llm = play(instance, sandbox, [FINISH])
    assert result.stop_reason is StopReason.FINISHED and result.info["tool_mode"] == "text"
    system, issue = result.turns[0], result.turns[1]
    assert system.role == "system" and issue.role == "user"
    assert sandbox.workdir in system.content and f"<uploaded_files>\n{sandbox.workdir}\n</uploaded_files>" in issue.content
    assert "Comparing a Version with None raises AttributeError" in issue.content
    assert "---- BEGIN FUNCTION #1: execute_bash ----" in system.content
    assert "str_replace_editor" in system.content and "finish" in system.content
    request = llm.requests[0]
    assert request["tools"] is None and "</function>" in request["params"].stop
    shown = "\n".join(turn.content for turn in request["messages"])
    for secret in (*instance.FAIL_TO_PASS, "test_compare_with_unrelated_objects", "_as_version", "test_patch", "FAIL_TO_PASS"):
        assert secret not in shown
    assert "diff --git" not in shown


def test_native_mode_passes_tool_specs_and_answers_every_call_id(instance, sandbox):
    two_calls = Turn("assistant", "Two at once.", tool_calls=(bash("echo one", ), bash("echo two")))
    result, llm = play(instance, sandbox, [two_calls, FINISH], native=True)
    assert result.stop_reason is StopReason.FINISHED and result.info["tool_mode"] == "native"
    assert [tool.name for tool in llm.requests[0]["tools"]] == ["execute_bash", "str_replace_editor", "finish"]
    assert "<function=" not in result.turns[0].content and "</function>" not in llm.requests[0]["params"].stop
    assistant, first, second = result.turns[2:5]
    ids = [call.id for call in assistant.tool_calls]
    assert len(ids) == 2 and all(ids) and ids[0] != ids[1]
    assert (first.role, first.tool_call_id, first.name) == ("tool", ids[0], "execute_bash")
    assert first.content == "one\n[Command finished with exit code 0]"
    assert second.tool_call_id == ids[1] and "skipped" in second.content


def test_native_mode_needs_a_backend_with_tool_calls(instance, sandbox):
    with pytest.raises(UsageError, match="tool_mode=native"):
        play(instance, sandbox, [FINISH], tool_mode="native")
    result, llm = play(instance, sandbox, [FINISH], native=True, tool_mode="text")
    assert result.info["tool_mode"] == "text" and llm.requests[0]["tools"] is None


# -- execute_bash ----------------------------------------------------------------------


def test_bash_keeps_cwd_and_environment_between_calls(instance, sandbox):
    result, _ = play(instance, sandbox, [bash("cd tinyver && export MARK=42"), bash("pwd; echo $MARK; exit 3"), FINISH])
    first, second = observations(result)
    assert first == "EXECUTION RESULT of [execute_bash]:\n[Command finished with exit code 0]"
    assert second == (
        f"EXECUTION RESULT of [execute_bash]:\n{sandbox.workdir}/tinyver\n42\n[Command finished with exit code 3]"
    )
    assert all(turn.elapsed_s > 0 for turn in result.turns[3::2])


def test_long_output_keeps_head_and_tail(instance, sandbox):
    command = "echo FIRST; head -c 50000 /dev/zero | tr '\\0' x; echo; echo LAST"
    result, _ = play(instance, sandbox, [bash(command), FINISH], max_observation_chars=1000)
    (output,) = observations(result)
    body = output.removeprefix("EXECUTION RESULT of [execute_bash]:\n")
    assert body.startswith("FIRST\nxxx") and body.endswith("LAST\n[Command finished with exit code 0]")
    assert "observation truncated" in body and len(body) <= 1100


def test_a_command_past_its_timeout_is_killed_and_the_shell_goes_on(instance, sandbox):
    replies = [bash("cd tests"), bash("sleep 30; echo never", timeout="1"), bash("sleep 30", timeout="oops"), bash("pwd"), FINISH]
    result, _ = play(instance, sandbox, replies, bash_timeout=20)
    _, killed, invalid, after = observations(result)
    assert "timed out after 1 seconds" in killed and "exit code 124" in killed and "never" not in killed
    assert "`timeout` must be a number" in invalid
    assert after.endswith(f"{sandbox.workdir}/tests\n[Command finished with exit code 0]")
    assert result.turns[5].elapsed_s < 10


# -- str_replace_editor ---------------------------------------------------------------


def test_editor_view_create_insert_and_errors(instance, sandbox):
    root = sandbox.workdir
    version = f"{root}/tinyver/version.py"
    replies = [
        edit("view", root),
        edit("view", version, view_range="[112, 115]"),
        edit("view", version, view_range=[300, 310]),
        edit("create", f"{root}/tinyver/version.py", file_text="x"),
        edit("create", f"{root}/notes/todo.txt", file_text="one\nthree\n"),
        edit("insert", f"{root}/notes/todo.txt", insert_line="1", new_str="two"),
        edit("insert", f"{root}/notes/todo.txt", insert_line="9", new_str="ten"),
        edit("view", "tinyver/version.py"),
        edit("view", f"{root}/../outside.txt"),
        edit("view", "/etc/passwd"),
        edit("delete", version),
        edit("view", f"{root}/missing.py"),
        FINISH,
    ]
    result, _ = play(instance, sandbox, replies)
    assert result.stop_reason is StopReason.FINISHED
    listing, ranged, bad_range, exists, created, inserted, past_end, relative, outside, etc, unknown, missing = (
        o.removeprefix("EXECUTION RESULT of [str_replace_editor]:\n") for o in observations(result)
    )
    assert f"{root}/tinyver/version.py" in listing and f"{root}/tests/test_version.py" in listing
    assert ".git" not in listing and ".gitignore" not in listing
    assert ranged.splitlines()[1:] == [
        "   112\t    def __eq__(self, other):",
        "   113\t        if isinstance(other, str):",
        "   114\t            other = parse(other)",
        "   115\t        return self._key() == other._key()",
    ]
    assert bad_range.startswith("ERROR:") and "should be within the range of lines of the file" in bad_range
    assert "File already exists at" in exists
    assert created == f"File created successfully at: {root}/notes/todo.txt"
    assert sandbox.read_file("notes/todo.txt") == "one\ntwo\nthree\n"
    assert "     2\ttwo" in inserted
    assert "Invalid `insert_line` parameter: 9" in past_end and "[0, 3]" in past_end
    assert "not an absolute path" in relative and f"Maybe you meant {version}?" in relative
    assert "outside the repository" in outside and "outside the repository" in etc
    assert "Unrecognized command 'delete'" in unknown
    assert "does not exist" in missing
    assert result.info["tool_errors"] == 8


def test_str_replace_needs_exactly_one_match_and_undo_walks_back(instance, sandbox):
    path = f"{sandbox.workdir}/tinyver/version.py"
    original = sandbox.read_file(path)
    twice = "        if isinstance(other, str):\n            other = parse(other)\n"
    replies = [
        edit("str_replace", path, old_str="def parse(text) :", new_str="x"),
        edit("str_replace", path, old_str=twice, new_str="        other = parse(other)\n"),
        edit("str_replace", path, old_str="    def __hash__(self):", new_str="    def __hash__(self):  # first"),
        edit("str_replace", path, old_str="  # first", new_str="  # second"),
        edit("undo_edit", path),
        edit("undo_edit", path),
        edit("undo_edit", path),
        FINISH,
    ]
    result, _ = play(instance, sandbox, replies)
    none, several, first, second, undo_1, undo_2, undo_3 = observations(result)
    assert "No replacement was performed, old_str `def parse(text) :` did not appear verbatim" in none
    assert "Multiple occurrences of old_str" in several and "in lines [113, 118]" in several
    assert "has been edited" in first and "   122\t    def __hash__(self):  # first" in first
    assert "   122\t    def __hash__(self):  # second" in second
    assert "undone successfully" in undo_1 and "  # first" in undo_1
    assert "undone successfully" in undo_2 and sandbox.read_file(path) == original
    assert "No edit history found" in undo_3
    assert sandbox.diff() == ""


def test_undo_of_a_create_removes_the_file(instance, sandbox):
    path = f"{sandbox.workdir}/scratch/new.py"
    result, _ = play(instance, sandbox, [edit("create", path, file_text="print(1)\n"), edit("undo_edit", path), FINISH])
    assert "removed" in observations(result)[1]
    assert sandbox.exec("test -e scratch/new.py").exit_code == 1


# -- text-mode parsing ----------------------------------------------------------------


def test_malformed_and_unknown_calls_become_errors_then_the_agent_recovers(instance, sandbox):
    replies = [
        "Let me list files.\n<function=execute_bash>\nls\n</function>",  # no <parameter=...>
        "<function=search_code>\n<parameter=query>parse</parameter>\n</function>",
        "<function=execute_bash>\n<parameter=cmd>ls</parameter>\n</function>",
        "I am not sure what to do next.",
        "<function=execute_bash>\n<parameter=command>echo recovered</parameter>\n",  # stop sequence stripped
        "<function=finish>\n</function>",
    ]
    result, _ = play(instance, sandbox, replies)
    assert result.stop_reason is StopReason.FINISHED
    parse_error, unknown_tool, unknown_parameter, nudge, recovered = observations(result)
    assert parse_error.startswith("ERROR: your function call could not be parsed:") and "expected <parameter=NAME>" in parse_error
    assert unknown_tool.startswith("EXECUTION RESULT of [search_code]:\nERROR:\nUnknown function 'search_code'")
    assert "Unknown parameter 'cmd' for execute_bash" in unknown_parameter
    assert nudge == NUDGE
    assert recovered == "EXECUTION RESULT of [execute_bash]:\nrecovered\n[Command finished with exit code 0]"
    assistant = [turn for turn in result.turns if turn.role == "assistant"]
    assert assistant[0].content == replies[0] and assistant[0].tool_calls == ()
    assert assistant[1].tool_calls[0].name == "search_code" and assistant[1].tool_calls[0].id
    assert assistant[4].content == replies[4] + "</function>"  # the stripped stop sequence is put back
    assert assistant[4].tool_calls[0].arguments == {"command": "echo recovered"}
    assert result.info["parse_errors"] == 1 and result.info["tool_errors"] == 2


def test_only_the_first_of_several_text_calls_runs(instance, sandbox):
    reply = render_tool_call(bash("echo first")) + "\n" + render_tool_call(bash("echo second"))
    result, _ = play(instance, sandbox, [reply, FINISH])
    (output,) = observations(result)
    assert "first" in output and "second" not in output.split("\n[Only")[0] and "[Only the first function call" in output
    assert [call.arguments["command"] for call in result.turns[2].tool_calls] == ["echo first"]
    assert result.turns[2].content == reply


# -- limits ------------------------------------------------------------------------------


def test_the_same_action_four_times_in_a_row_is_stuck(instance, sandbox):
    result, llm = play(instance, sandbox, [bash("ls"), bash("ls"), bash("ls"), bash("ls"), FINISH])
    assert result.stop_reason is StopReason.STUCK
    assert len(llm.requests) == 4 and len(observations(result)) == 3
    again, _ = play(instance, sandbox, [bash("ls"), bash("ls"), bash("ls"), bash("pwd"), bash("ls"), FINISH])
    assert again.stop_reason is StopReason.FINISHED


def test_max_turns(instance, sandbox):
    result, llm = play(instance, sandbox, [bash(f"echo {i}") for i in range(10)], max_turns=3)
    assert result.stop_reason is StopReason.MAX_TURNS
    assert result.info["assistant_turns"] == 3 and len(llm.requests) == 3


def test_context_limit_from_the_prompt_size_or_the_backend(instance, sandbox):
    big = bash("head -c 8000 /dev/zero | tr '\\0' y")
    result, llm = play(instance, sandbox, [big, big, FINISH], max_context_tokens=2500)
    assert result.stop_reason is StopReason.CONTEXT and len(llm.requests) == 1
    assert result.info["context_tokens"] > 2500 and "max_context_tokens" in result.info["error"]
    refused, _ = play(instance, sandbox, [bash("ls"), ContextLimitError("prompt of 40000 tokens")])
    assert refused.stop_reason is StopReason.CONTEXT and "40000" in refused.info["error"]


def test_a_failing_backend_ends_the_episode_with_an_error(instance, sandbox):
    result, _ = play(instance, sandbox, [bash("ls"), ConnectionError("server went away")])
    assert result.stop_reason is StopReason.ERROR
    assert result.info["error"] == "ConnectionError: server went away"
    assert [turn.role for turn in result.turns] == ["system", "user", "assistant", "user"]


def test_finish_records_tokens_and_message(instance, sandbox):
    result, _ = play(instance, sandbox, [bash("true"), ToolCall("finish", {"message": "done"})])
    assert result.stop_reason is StopReason.FINISHED and result.info["finish_message"] == "done"
    assistant = [turn for turn in result.turns if turn.role == "assistant"]
    assert all(turn.completion_tokens == 7 and turn.prompt_tokens > 0 for turn in assistant)
    assert result.info["completion_tokens"] == 14
    assert result.info["prompt_tokens"] == sum(turn.prompt_tokens for turn in assistant)


# -- a whole episode ---------------------------------------------------------------------


def test_replaying_the_gold_edits_fixes_the_issue(instance, sandbox, tmp_path):
    path = f"{sandbox.workdir}/tinyver/version.py"
    reproduce = "python -c \"from tinyver import parse; v = parse('1.0.0'); print(v == None, v != None, v == 'unknown')\""
    old_eq = "        if isinstance(other, str):\n            other = parse(other)\n        return self._key() == other._key()"
    old_lt = "        if isinstance(other, str):\n            other = parse(other)\n        return self._key() < other._key()"
    guard = "        other = _as_version(other)\n        if other is None:\n            return NotImplemented\n"
    helper = (
        "def _as_version(other):\n"
        '    """Convert the other operand of a comparison, or return None."""\n'
        "    if isinstance(other, Version):\n"
        "        return other\n"
        "    if isinstance(other, str):\n"
        "        try:\n"
        "            return parse(other)\n"
        "        except InvalidVersion:\n"
        "            return None\n"
        "    return None\n"
        "\n"
        "\n"
    )
    base_lines = sandbox.read_file(path).split("\n")
    before_parse = base_lines.index("def parse(text):") + 2  # after the two edits above add a line each
    replies = [
        "I'll look at the repository first.\n" + render_tool_call(edit("view", sandbox.workdir)),
        render_tool_call(bash("grep -n '_key()' tinyver/version.py")),
        "Reproducing.\n" + render_tool_call(bash(reproduce)),
        render_tool_call(edit("str_replace", path, old_str=old_eq, new_str=guard + "        return self._key() == other._key()")),
        render_tool_call(edit("str_replace", path, old_str=old_lt, new_str=guard + "        return self._key() < other._key()")),
        render_tool_call(edit("insert", path, insert_line=str(before_parse), new_str=helper)),
        render_tool_call(bash(reproduce)),
        render_tool_call(bash("python -m pytest -q tests/test_version.py 2>&1 | tail -1")),
        "The comparisons now return NotImplemented for foreign objects.\n" + render_tool_call(FINISH),
    ]
    result, _ = play(instance, sandbox, replies)
    assert result.stop_reason is StopReason.FINISHED, observations(result)
    outputs = observations(result)
    assert "AttributeError" in outputs[2] and "exit code 1" in outputs[2]
    assert outputs[6].endswith("False True False\n[Command finished with exit code 0]")
    assert re.search(r"\d+ passed", outputs[7])
    assert not any("ERROR" in output for output in outputs)

    gold = checkout(instance, tmp_path / "gold")
    (gold / "fix.patch").write_text(instance.patch)
    git(gold, "apply", "fix.patch")
    assert sandbox.read_file(path) == (gold / "tinyver" / "version.py").read_text()
    assert _hunks(sandbox.diff()) == _hunks(instance.patch)
    assert result.info["assistant_turns"] == 9
    assert [turn.role for turn in result.turns].count("user") == 1 + 8


def _hunks(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if not line.startswith("index ")]


# -- the plugin ------------------------------------------------------------------------


def test_registered_with_validated_options():
    agents = Components(get_plugin_manager(entry_points=False, extra=[openhands_plugin]))["agents"]
    agent = agents.create("openhands", {"max_turns": "7", "tool_mode": "text", "bash_timeout": "5"})
    assert (agent.max_turns, agent.tool_mode, agent.bash_timeout) == (7, "text", 5.0)
    with pytest.raises(OptionError, match="max_turns"):
        agents.create("openhands", {"max_turns": "abc"})
    with pytest.raises(OptionError, match="tool_mode"):
        agents.create("openhands", {"tool_mode": "xml"})
    with pytest.raises(OptionError, match="accepted"):
        agents.create("openhands", {"turns": "3"})
