"""The default openhands scaffold (CodeActAgent v2.1 as SWE-Gym ran it) against OpenHands itself.

OpenHands' own StuckDetector, converter and openhands-aci's OHEditor come from the installed
packages (the ``openhands`` extra); the editor is compared with OHEditor on real files, the
bash session runs in a real local sandbox of the demo repository, driven by a scripted model.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from swegym.core.llm import LLM, Completion, ContextLimitError, SamplingParams
from swegym.core.runtime import CommandResult, Sandbox
from swegym.core.trajectory import StopReason, ToolCall, Turn

original = pytest.importorskip("swegym.plugins.openhands_agent.original")
try:
    ORIGINALS = original.load()
except original.OriginalMissing as exc:  # pragma: no cover - the openhands extra is missing
    pytest.skip(str(exc), allow_module_level=True)

from swegym.plugins.openhands_agent import OpenHandsAgent  # noqa: E402
from swegym.plugins.openhands_agent import events as ev  # noqa: E402
from swegym.plugins.openhands_agent.aci_editor import ACIEditor  # noqa: E402
from swegym.plugins.openhands_agent.bash import PathView  # noqa: E402
from swegym.plugins.openhands_agent.codeact import conversation_window, workspace_name  # noqa: E402


# -- OpenHands' four stuck rules (controller/stuck.py, run on this plugin's events) ------------


def detector(history):
    return ORIGINALS.stuck_detector(ev.State(history=[ev.MessageAction("task", source=ev.EventSource.USER), *history]))


def run(command, output="out", code=0, thought=""):
    return [ev.CmdRunAction(command=command, thought=thought), ev.CmdOutputObservation(content=output, command=command, exit_code=code)]


def test_stuck_rule_1_same_action_same_observation_four_times():
    assert not detector(run("ls") * 3).is_stuck()
    assert detector(run("ls") * 4).is_stuck()
    # the pid-free comparison: only the command and exit code of an observation count
    assert detector(run("ls", "a") + run("ls", "b") + run("ls", "c") + run("ls", "d")).is_stuck()
    assert not detector(run("ls") * 3 + run("ls", code=1)).is_stuck()
    # a different thought makes a different action
    assert not detector(run("ls") * 3 + run("ls", thought="again")).is_stuck()


def test_stuck_rule_2_same_action_three_errors():
    edit = ev.IPythonRunCellAction(code=ev.editor_code({"command": "view", "path": "/x"}))
    errors = [x for i in range(3) for x in (edit, ev.ErrorObservation(content=f"error {i}"))]
    assert not detector(errors).is_stuck()  # it needs a fourth action and observation before them
    assert detector(run("pwd") + errors).is_stuck()
    outputs = [x for i in range(3) for x in (edit, ev.IPythonRunCellObservation(content=f"ok {i}", code=edit.code))]
    assert not detector(run("pwd") + outputs).is_stuck()


def test_stuck_rule_3_monologue():
    said = ev.MessageAction(content="I think it is done.")
    nudge = ev.MessageAction(content="Please continue", source=ev.EventSource.USER)
    assert not detector([said, nudge, said]).is_stuck()
    assert detector([said, nudge, said, nudge, said]).is_stuck()  # the fake user's replies do not count
    assert not detector([said, nudge, *run("ls"), said, nudge, said]).is_stuck()  # an observation between


def test_stuck_rule_4_alternating_pattern_over_six_steps():
    pattern = run("ls") + run("cat a.py")
    assert not detector(pattern * 2 + run("ls")).is_stuck()
    assert detector(pattern * 3).is_stuck()
    assert not detector(pattern * 2 + run("ls") + run("cat b.py")).is_stuck()


def test_conversation_window_keeps_the_first_user_message_and_whole_pairs():
    task = ev.MessageAction("task", source=ev.EventSource.USER)
    history = [task]
    for i in range(5):
        call = ToolCall("execute_bash", {"command": f"echo {i}"}, f"c{i}")
        history += [ev.CmdRunAction(command=f"echo {i}", call=call),
                    ev.CmdOutputObservation(content=str(i), command=f"echo {i}", tool_call_id=f"c{i}")]
    kept = conversation_window(history)
    assert kept[0] is task and len(kept) < len(history)
    # no observation without its action
    for index, event in enumerate(kept):
        if isinstance(event, ev.Observation):
            assert isinstance(kept[index - 1], ev.Action) and kept[index - 1].call.id == event.tool_call_id


# -- the editor, side by side with openhands-aci 0.1.0's OHEditor --------------------------------


class HostSandbox(Sandbox):
    """A directory on this machine, commands run by a real bash: enough for the editor."""

    def __init__(self, root: Path) -> None:
        self.workdir = str(root)
        self.state_dir = str(root)

    def exec(self, command, *, timeout=None, env=None, network=False):
        done = subprocess.run(["bash", "-c", command], cwd=self.workdir, capture_output=True, text=True, timeout=timeout)
        return CommandResult(done.returncode, done.stdout + done.stderr)

    def read_file(self, path):
        return Path(self.path(path)).read_text()

    def write_file(self, path, text):
        Path(self.path(path)).parent.mkdir(parents=True, exist_ok=True)
        Path(self.path(path)).write_text(text)

    def close(self):
        pass


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("def f(x):\n\treturn x + 1\n\n\ndef g():\n    return f(1)\n")
    (root / ".hidden").write_text("secret\n")
    (root / "big.txt").write_text("".join(f"line {i} " + "x" * 40 + "\n" for i in range(600)))
    return root


SCRIPT = [
    {"command": "view", "path": "{root}"},
    {"command": "view", "path": "{root}/pkg/mod.py"},
    {"command": "view", "path": "{root}/big.txt"},
    {"command": "view", "path": "{root}/pkg/mod.py", "view_range": [2, 4]},
    {"command": "view", "path": "{root}/pkg/mod.py", "view_range": [2, -1]},
    {"command": "view", "path": "{root}/pkg/mod.py", "view_range": [5, 99]},
    {"command": "view", "path": "{root}/pkg", "view_range": [1, 2]},
    {"command": "view", "path": "pkg/mod.py"},
    {"command": "view", "path": "{root}/missing.py"},
    {"command": "str_replace", "path": "{root}/pkg/mod.py", "old_str": "return", "new_str": "yield"},
    {"command": "str_replace", "path": "{root}/pkg/mod.py", "old_str": "    return f(1)", "new_str": "    return f(2)\n    # two"},
    {"command": "str_replace", "path": "{root}/pkg/mod.py", "old_str": "nothing like this", "new_str": "x"},
    {"command": "insert", "path": "{root}/pkg/mod.py", "insert_line": 1, "new_str": "\t# tab\n    y = 2"},
    {"command": "insert", "path": "{root}/pkg/mod.py", "insert_line": 99, "new_str": "z"},
    {"command": "undo_edit", "path": "{root}/pkg/mod.py"},
    {"command": "undo_edit", "path": "{root}/pkg/mod.py"},
    {"command": "undo_edit", "path": "{root}/pkg/mod.py"},
    {"command": "create", "path": "{root}/new/file.py", "file_text": "print('hi')\n"},
    {"command": "create", "path": "{root}/pkg/new.py", "file_text": "print('hi')\n"},
    {"command": "create", "path": "{root}/pkg/new.py", "file_text": "again\n"},
    {"command": "undo_edit", "path": "{root}/pkg/new.py"},  # after create: the created text again
    {"command": "view", "path": "{root}/pkg/new.py"},
    {"command": "create", "path": "{outside}/elsewhere.txt", "file_text": "outside the repository\n"},
    {"command": "view", "path": "{outside}/elsewhere.txt"},
    {"command": "str_replace", "path": "{root}/pkg", "old_str": "a", "new_str": "b"},
    {"command": "str_replace", "path": "{root}/pkg/mod.py", "new_str": "b"},
    {"command": "frobnicate", "path": "{root}/pkg/mod.py"},
]


def test_editor_matches_openhands_aci(tmp_path):
    from openhands_aci.editor import OHEditor, ToolError
    from openhands_aci.editor import _make_api_tool_result as api_result

    theirs_root, ours_root = _tree(tmp_path / "theirs" / "repo"), _tree(tmp_path / "ours" / "repo")
    (tmp_path / "theirs" / "out").mkdir()
    (tmp_path / "ours" / "out").mkdir()
    oh = OHEditor()
    # the model sees the same /workspace path; each editor maps it onto its own directory
    ours = ACIEditor(HostSandbox(ours_root), PathView("/workspace/repo", str(ours_root)), max_chars=ORIGINALS.editor_max_chars,
                     notice=ORIGINALS.editor_notice, snippet_lines=ORIGINALS.editor_snippet_lines)
    outside_ours = str(tmp_path / "ours" / "out")
    for step in SCRIPT:
        mine = {k: v.format(root="/workspace/repo", outside=outside_ours) if isinstance(v, str) else v for k, v in step.items()}
        theirs_args = {k: v.format(root=str(theirs_root), outside=str(tmp_path / "theirs" / "out")) if isinstance(v, str) else v
                       for k, v in step.items()}
        try:
            expected = api_result(oh(**theirs_args))
        except ToolError as exc:
            expected = f"ERROR:\n{exc.message}"
        expected = expected.replace(str(theirs_root), "/workspace/repo").replace(str(tmp_path / "theirs" / "out"), outside_ours)
        got = ours(mine)
        if step["command"] == "view" and step["path"] == "{root}":  # find's order is the directory's own
            expected, got = sorted(expected.splitlines()), sorted(got.splitlines())
        assert got == expected, step
    assert not (ours_root / "new").exists()
    assert (ours_root / "pkg" / "new.py").read_text() == "print('hi')\n"  # undo after create kept the file
    assert (tmp_path / "ours" / "out" / "elsewhere.txt").is_file()  # any absolute path


def test_editor_clips_views_at_16000_characters(tmp_path):
    root = _tree(tmp_path / "repo")
    editor = ACIEditor(HostSandbox(root), PathView(str(root), str(root)), max_chars=ORIGINALS.editor_max_chars,
                       notice=ORIGINALS.editor_notice, snippet_lines=ORIGINALS.editor_snippet_lines)
    shown = editor({"command": "view", "path": f"{root}/big.txt"})
    assert ORIGINALS.editor_max_chars == 16000 and "<response clipped>" in shown
    assert "line 300 " in shown and "line 599 " not in shown


# -- episodes in a real sandbox -------------------------------------------------------------------


class ScriptedLLM(LLM):
    """Answers with queued replies (text, a Turn, or an exception) and records every request."""

    name = "scripted"

    def __init__(self, replies, *, native=False, model="scripted"):
        self.native_tools = native
        self.model = model
        self.replies = list(replies)
        self.requests = []

    def complete(self, messages, *, tools=None, params=SamplingParams()):
        self.requests.append({"messages": list(messages), "tools": tools, "params": params})
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        message = reply if isinstance(reply, Turn) else Turn("assistant", reply)
        return Completion(message, prompt_tokens=self.count_tokens(messages), completion_tokens=5)


def call(name, **arguments):
    lines = [f"<function={name}>"] + [f"<parameter={k}>{v}</parameter>" for k, v in arguments.items()] + ["</function>"]
    return "\n".join(lines)


FINISH = "Done.\n<function=finish>\n</function>"


@pytest.fixture(scope="module")
def instance(components):
    from demo_support import demo_instances

    return demo_instances(components)["swegym__tinyver-18"]


@pytest.fixture()
def sandbox(instance, tmp_path, monkeypatch):
    from swegym.plugins.repos.demo import repository
    from swegym.plugins.runtimes.local import LocalRuntime

    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    runtime = LocalRuntime()
    runtime.environment(repository(), instance)
    with runtime.sandbox(repository(), instance) as sandbox:
        yield sandbox


def play(instance, sandbox, replies, *, native=False, model="scripted", **options):
    llm = ScriptedLLM(replies, native=native, model=model)
    return OpenHandsAgent(**options).run(instance, sandbox, llm, params=SamplingParams()), llm


def tool_texts(result):
    return [turn.content for turn in result.turns if turn.role == "tool"]


@pytest.mark.slow
def test_text_mode_prompt_is_openhands_with_the_in_context_example(instance, sandbox):
    result, llm = play(instance, sandbox, [FINISH])
    assert result.stop_reason is StopReason.FINISHED and result.info["tool_mode"] == "text"
    system, user = llm.requests[0]["messages"][:2]
    assert system.content.startswith(ORIGINALS.system_prompt) and "---- BEGIN FUNCTION #1: execute_bash ----" in system.content
    assert user.content.startswith(ORIGINALS.example_prefix) and user.content.endswith(ORIGINALS.example_suffix)
    assert "<pr_description>\nComparing a Version with None" in user.content
    assert f"<uploaded_files>\n/workspace/{workspace_name(instance)}\n</uploaded_files>" in user.content
    assert llm.requests[0]["tools"] is None and "</function" in llm.requests[0]["params"].stop
    # the recorded trajectory keeps the function-calling form; the example is not in it
    assert result.turns[1].content.startswith("<uploaded_files>") and result.turns[2].tool_calls[0].name == "finish"


@pytest.mark.slow
def test_auto_mode_uses_native_calls_only_for_models_openhands_did(instance, sandbox):
    _, llm = play(instance, sandbox, [FINISH], native=True, model="my-open-model")
    assert llm.requests[0]["tools"] is None
    native_finish = Turn("assistant", "", tool_calls=(ToolCall("finish", {}, "c1"),))
    result, llm = play(instance, sandbox, [native_finish], native=True, model="gpt-4o")
    assert result.info["tool_mode"] == "native" and [t.name for t in llm.requests[0]["tools"]] == ["execute_bash", "finish", "str_replace_editor"]


@pytest.mark.slow
def test_bash_is_one_persistent_shell_with_openhands_output(instance, sandbox):
    root = f"/workspace/{workspace_name(instance)}"
    replies = [
        call("execute_bash", command=f"cd {root}/tinyver && export MARK=42 && f() {{ echo fn$1; }}"),
        call("execute_bash", command="pwd; echo $MARK; f 7"),
        call("execute_bash", command="false"),
        FINISH,
    ]
    result, _ = play(instance, sandbox, replies)
    first, second, third = tool_texts(result)
    assert first.startswith(f"OBSERVATION:\ncd {root}/tinyver && export MARK=42")
    assert first.endswith("[Command finished with exit code 0]")
    assert f"@openhands-workspace:{root}/tinyver " in first
    assert "[Python Interpreter: " in first
    assert f"pwd; echo $MARK; f 7\r\n{root}/tinyver\r\n42\r\nfn7" in second
    assert third.endswith("\n[Command finished with exit code 1]")


@pytest.mark.slow
def test_bash_timeout_sends_sigint_and_continuing_and_ctrl_c(instance, sandbox):
    replies = [
        call("execute_bash", command="echo start; sleep 30; echo never"),
        call("execute_bash", command="echo $((1+1))"),
        call("execute_bash", command=""),
        call("execute_bash", command="ctrl+c"),
        FINISH,
    ]
    result, _ = play(instance, sandbox, replies, bash_timeout=2)
    timed_out, after, empty, interrupt = tool_texts(result)
    assert "\r\nstart\r\n" in timed_out and "\r\nnever" not in timed_out
    assert "[Command timed out after 2 seconds. SIGINT was sent to interrupt the command.]" in timed_out
    assert timed_out.endswith("[Command finished with exit code 130]")
    assert "\r\n2" in after and after.endswith("exit code 0]")  # the shell survived the interrupt
    assert empty.endswith("[Command finished with exit code -1]")
    assert "SIGINT was sent to interrupt the command.]" in interrupt and interrupt.endswith("exit code 130]")


@pytest.mark.slow
def test_long_output_is_cut_in_the_middle_with_openhands_marker(instance, sandbox):
    replies = [call("execute_bash", command="seq 1 20000"), FINISH]
    result, _ = play(instance, sandbox, replies)
    [text] = tool_texts(result)
    assert "\n[... Observation truncated due to length ...]\n" in text
    assert "\r\n1\r\n2\r\n" in text and "19999\r\n20000" in text and "\r\n10000\r\n" not in text
    assert len(text) < 30_200


@pytest.mark.slow
def test_malformed_calls_no_calls_and_several_calls(instance, sandbox):
    two = Turn("assistant", "Two.", tool_calls=(ToolCall("execute_bash", {"command": "echo one"}, "a"),
                                                  ToolCall("execute_bash", {"command": "echo two"}, "b")))
    replies = [
        call("str_replace_editor", command="fly", path="/x"),  # not in the enum: an error observation
        "I am thinking without acting.",
        two,
        Turn("assistant", "", tool_calls=(ToolCall("finish", {}, "f"),)),
    ]
    result, llm = play(instance, sandbox, replies, native=True, tool_mode="native")
    assert result.stop_reason is StopReason.FINISHED
    # native mode: a text call is no call at all; the model gets the fake user's reply
    assert "Please continue working on the task" in llm.requests[1]["messages"][-1].content
    first, second = tool_texts(result)
    assert "echo one\r\none[Python Interpreter: " in first and "echo two\r\ntwo[Python Interpreter: " in second
    text_result, text_llm = play(instance, sandbox, [call("str_replace_editor", command="fly", path="/x"), FINISH])
    error = text_llm.requests[1]["messages"][-1].content
    # merged into the task message, as OpenHands merges consecutive user messages
    assert "</pr_description>" in error
    assert "Parameter 'command' is expected to be one of" in error and "[Error occurred in processing last action]" in error
    assert not any("fly" in m.content for m in text_llm.requests[1]["messages"] if m.role == "assistant")
    assert text_result.info["hidden_turns"] == [2] and text_result.info["parse_errors"] == 1


@pytest.mark.slow
def test_stuck_and_limits_end_the_episode(instance, sandbox):
    same = call("execute_bash", command="ls")
    result, _ = play(instance, sandbox, [same] * 6)
    assert result.stop_reason is StopReason.STUCK and len(tool_texts(result)) == 4
    result, _ = play(instance, sandbox, [call("execute_bash", command=f"echo {i}") for i in range(3)], max_turns=3)
    assert result.stop_reason is StopReason.MAX_TURNS


@pytest.mark.slow
def test_context_overflow_drops_the_older_half(instance, sandbox):
    replies = [call("execute_bash", command=f"echo {i}") for i in range(6)] + [ContextLimitError("too long"), FINISH]
    result, llm = play(instance, sandbox, replies)
    assert result.stop_reason is StopReason.FINISHED and result.info["truncations"] == 1
    last = llm.requests[-1]["messages"]
    assert "<pr_description>" in last[1].content and "echo 0" not in "\n".join(m.content for m in last[2:])
    result, _ = play(instance, sandbox, [ContextLimitError("too long")], on_context_overflow="stop")
    assert result.stop_reason is StopReason.CONTEXT


def test_missing_packages_name_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openhands" else real(name, *a))
    original.load.cache_clear()
    try:
        with pytest.raises(original.OriginalMissing, match="pip install --no-deps --ignore-requires-python openhands-ai==0.14.0"):
            original.load()
    finally:
        original.load.cache_clear()
        os.environ.get("PATH")


@pytest.mark.slow
def test_swegym_options_sandbox_path_and_repeat_rule(instance, sandbox):
    same = call("execute_bash", command="pwd")
    result, llm = play(instance, sandbox, [same] * 5, workspace="sandbox", stuck_rules="repeats", max_repeats=2)
    assert f"<uploaded_files>\n{sandbox.workdir}\n</uploaded_files>" in result.turns[1].content
    assert result.stop_reason is StopReason.STUCK and len(tool_texts(result)) == 3  # a 3rd identical action is one too many
    assert f"\r\n{sandbox.workdir}" in tool_texts(result)[0]
