"""The RL episode over one demo instance: a real local sandbox, the real openhands scaffold
parsing and executing the policy's messages, and grading by running the instance's tests."""

from __future__ import annotations

import pytest

from demo_support import demo_instances, repository
from swegym import Components, get_plugin_manager
from swegym.core.episode import Episode, EpisodeError
from swegym.core.toolcalls import render_tool_call
from swegym.core.trajectory import ToolCall
from swegym.plugins.openhands_agent import OpenHandsAgent
from swegym.plugins.runtimes.local import LocalRuntime

pytestmark = pytest.mark.slow

FINISH = render_tool_call(ToolCall("finish"))


@pytest.fixture(scope="module")
def instance():
    return demo_instances(Components(get_plugin_manager()))["swegym__tinyver-18"]


@pytest.fixture()
def episode(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    with Episode(instance, repository(), LocalRuntime(), OpenHandsAgent(max_turns=5), model="scripted") as episode:
        yield episode


def test_a_gold_patch_episode_earns_reward_1(episode, instance, tmp_path):
    first = episode.reset()
    assert not first.done and [t.role for t in first.observation] == ["system", "user"]
    assert "Comparing a Version with None" in first.observation[1].content  # the task prompt
    apply = render_tool_call(ToolCall("execute_bash", {"command": f"git apply <<'PATCH'\n{instance.patch}PATCH"}))
    step = episode.step(apply)
    assert not step.done and len(step.observation) == 1 and step.observation[0].role in ("user", "tool")
    assert "exit code 0" in step.observation[0].content  # the scaffold ran the command in the sandbox
    end = episode.step(FINISH)
    assert end.done and end.reward == 1.0 and episode.reward == 1.0
    assert end.info["status"] == "resolved" and end.info["shaped_reward"] == 1.0
    assert episode.trajectory.resolved and episode.trajectory.patch.startswith("diff --git")
    roles = [t.role for t in episode.trajectory.turns]  # the scaffold's record (a result may be a tool turn)
    assert roles[:3] == ["system", "user", "assistant"] and roles[3] in ("user", "tool") and roles[4:] == ["assistant"]
    with pytest.raises(EpisodeError, match="call reset"):
        episode.step(FINISH)


def test_an_empty_episode_earns_0_and_reset_starts_afresh(episode, tmp_path):
    episode.reset()
    episode.step(render_tool_call(ToolCall("execute_bash", {"command": "echo broken > tinyver/version.py"})))
    again = episode.reset()  # a fresh sandbox at the base commit: the edit is gone
    assert [t.role for t in again.observation] == ["system", "user"]
    end = episode.step(FINISH)
    assert end.done and end.reward == 0.0 and end.info["status"] == "empty_patch" and end.info["shaped_reward"] == 0.0
    assert not [p for p in (tmp_path / "sandboxes").glob("*/*") if not p.name.startswith(".trash-")]  # every sandbox removed (or being)


def test_a_wrong_patch_is_graded_0_with_its_shaped_part(episode):
    episode.reset()
    episode.step(render_tool_call(ToolCall("execute_bash", {"command": "echo '# no fix' >> tinyver/version.py"})))
    end = episode.step(FINISH)
    assert end.done and end.reward == 0.0 and end.info["status"] != "resolved"
    assert end.info["shaped_reward"] == 0.0
