"""OpenHands' evaluation output imported, replayed through the openhands scaffold, exported for SFT.

The fixture is an ``output.jsonl`` record in OpenHands 0.14's format (its ``history`` of
events with ``tool_call_metadata``, ``test_result.git_patch``, ``report.resolved``) of an
episode on the demo repository (a fix that does not pass the instance's tests: graded
unresolved), with a SWE-Gym-like interpreter path.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from swegym.core.sft_data import sft_example
from swegym.core.store import TrajectoryStore
from swegym.core.trajectory import StopReason

original = pytest.importorskip("swegym.plugins.openhands_agent.original")
try:
    original.load()
except original.OriginalMissing as exc:  # pragma: no cover
    pytest.skip(str(exc), allow_module_level=True)

from swegym.plugins.openhands_agent import OpenHandsAgent  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "openhands" / "output.jsonl"
INTERPRETER = re.compile(r"\[Python Interpreter: [^\]]*\]\n[^\n]*@openhands-workspace:(\S*) [#$] ")


def imported():
    [trajectory] = list(OpenHandsAgent.import_trajectories(FIXTURE))
    return trajectory


def test_import_keeps_thoughts_calls_observations_patch_and_grading():
    trajectory = imported()
    assert trajectory.instance_id == "swegym__tinyver-18" and trajectory.model == "openai/SWE-Gym/OpenHands-32B-Agent"
    assert trajectory.stop_reason is StopReason.FINISHED and trajectory.outcome.status.value == "unresolved"
    assert trajectory.patch.startswith("diff --git a/tinyver/version.py")
    roles = [turn.role for turn in trajectory.turns]
    assert roles[:2] == ["system", "user"] and roles.count("assistant") == 7 and roles.count("tool") == 6
    assistant = [turn for turn in trajectory.turns if turn.role == "assistant"]
    assert assistant[0].content == "Let me look at the repository first."
    assert assistant[1].tool_calls[0].arguments["view_range"] == [105, 125]
    assert assistant[-1].tool_calls[0].name == "finish"
    tools = [turn for turn in trajectory.turns if turn.role == "tool"]
    assert tools[2].content.startswith("OBSERVATION:\ncd /workspace/") and tools[2].content.endswith("[Command finished with exit code 1]")
    assert all(tool.tool_call_id == call.id for tool, call in zip(tools, [t.tool_calls[0] for t in assistant]))


def test_sft_export_has_swegym_released_layout():
    example = sft_example(imported())
    messages = example["messages"]
    assert [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
    assert set(messages[0]) == {"role", "content"} and all(set(m) == {"role", "content"} for m in messages)
    assert "You have access to the following functions:" in messages[0]["content"]
    assert "--------------------- START OF EXAMPLE ---------------------" in messages[1]["content"]
    assert "<pr_description>" in messages[1]["content"]
    roles = [m["role"] for m in messages[1:]]
    assert roles == ["user", "assistant"] * (len(roles) // 2)  # strictly alternating, ending with the model
    assert messages[2]["content"].startswith("Let me look at the repository first.\n\n<function=str_replace_editor>\n")
    assert messages[3]["content"].startswith("EXECUTION RESULT of [str_replace_editor]:\nOBSERVATION:\n")
    assert messages[-1]["content"].endswith("<function=finish>\n</function>")
    native = sft_example(imported(), format="native")
    assert [t["function"]["name"] for t in native["tools"]] == ["execute_bash", "finish", "str_replace_editor"]
    assert any(m["role"] == "tool" for m in native["messages"])


def _comparable(text: str) -> str:
    """An observation without what depends on the machine: the interpreter path, the user (root or not)."""
    text = INTERPRETER.sub(r"[Python Interpreter: PYTHON]\nUSER@openhands-workspace:\1 PROMPT ", text)
    if "up to 2 levels deep" in text:  # find lists in the directory's own order
        text = "\n".join(sorted(text.split("\n")))
    return text


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_imported_trajectory_replays_with_the_same_observations(tmp_path, runtime):
    if runtime == "docker":
        from conftest import skip_without_docker

        skip_without_docker()
    store = tmp_path / "imported.jsonl"
    result = subprocess.run([sys.executable, "-m", "swegym", "import", "openhands", str(FIXTURE), "--out", str(store)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported 1 openhands trajectories (0 resolved)" in result.stdout
    run = subprocess.run([sys.executable, "-m", "swegym", "rollout", "--dataset", "demo", "-i", "swegym__tinyver-18",
                          "--agent", "openhands", "--llm", "replay", "--option", f"llm.path={store}", "--runtime", runtime,
                          "--out", "run"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    [replayed] = list(TrajectoryStore(tmp_path / "run" / "trajectories.jsonl"))
    original_turns = imported().turns
    expected = [_comparable(t.content) for t in original_turns if t.role == "tool"]
    got = [_comparable(t.content) for t in replayed.turns if t.role == "tool"]
    assert got == expected
    assert replayed.patch == imported().patch and replayed.outcome.status.value == "unresolved" and replayed.stop_reason is StopReason.FINISHED
    assert json.loads(json.dumps(replayed.config["info"]))["scaffold"] == "codeact"


def test_completion_logs_give_the_exact_texts_the_model_read(tmp_path):
    from swegym.plugins.openhands_agent.codeact import messages_from_turns

    trajectory = imported()
    messages = messages_from_turns(trajectory.turns)
    for message in messages:
        if message["role"] == "tool":
            message["content"] = [{"type": "text", "text": "LOGGED " + message["content"]}]
    logs = tmp_path / "llm_completions" / trajectory.instance_id
    logs.mkdir(parents=True)
    (logs / "model-1.json").write_text(json.dumps({"messages": [], "fncall_messages": messages, "response": {}}))
    (tmp_path / "output.jsonl").write_text(FIXTURE.read_text())
    [from_logs] = list(OpenHandsAgent.import_trajectories(tmp_path / "output.jsonl"))
    tools = [t.content for t in from_logs.turns if t.role == "tool"]
    assert len(tools) == 6 and all(text.startswith("LOGGED OBSERVATION:\n") for text in tools)
    with pytest.raises(Exception, match="unknown import option 'colour'"):
        OpenHandsAgent.import_trajectories(FIXTURE, colour="red")
