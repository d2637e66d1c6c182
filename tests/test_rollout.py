"""`swegym rollout` end to end: replayed expert trajectories through the real scaffolds
(sandbox, tools, grading, store), export to predictions, and resuming after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from swegym.core.store import TrajectoryStore
from swegym.plugins.repos.demo import DATA

pytestmark = pytest.mark.slow


def swegym(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "swegym", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("agent", ["openhands", "moatless"])
def test_expert_trajectories_replay_and_resolve(tmp_path, agent):
    recording = DATA / "expert" / f"{agent}.jsonl"
    if not recording.exists():
        pytest.skip(f"no expert recording for {agent}")
    out = swegym("rollout", "--dataset", "demo", "--agent", agent, "--llm", "replay", "--option", f"llm.path={recording}",
                 "--model", "expert-demo", "--workers", "2", "--out", "run", cwd=tmp_path)
    assert "resolved %" in out
    trajectories = list(TrajectoryStore(tmp_path / "run" / "trajectories.jsonl"))
    recorded = list(TrajectoryStore(recording))
    assert len(trajectories) == len(recorded) >= 8
    assert all(t.resolved for t in trajectories), [(t.instance_id, t.stop_reason, t.outcome) for t in trajectories if not t.resolved]
    assert all(t.expert for t in trajectories)  # replaying an expert recording keeps the label
    first = trajectories[0]
    assert [t.role for t in first.turns[:2]] == ["system", "user"]
    calls = [call.name for turn in first.turns for call in turn.tool_calls]
    assert calls[-1] == "finish" and first.stop_reason.value == "finished"
    assert first.patch.startswith("diff --git") and first.agent == agent and first.model == "expert-demo"
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["config"]["agent"] == agent and "agents." + agent in manifest["plugins"]

    swegym("export-predictions", "run", "--out", "preds.jsonl", cwd=tmp_path)
    swegym("eval", "--dataset", "demo", "--predictions", "preds.jsonl", "--run-id", "again", "-w", "2", cwd=tmp_path)
    summary = json.loads((tmp_path / f"expert-demo__{agent}.again.json").read_text())
    assert summary["resolved_instances"] == len(trajectories)


def test_kill_9_then_rerun_stores_every_pair_exactly_once(tmp_path):
    recording = DATA / "expert" / "openhands.jsonl"
    command = [sys.executable, "-m", "swegym", "rollout", "--dataset", "demo", "--agent", "openhands", "--llm", "replay",
               "--option", f"llm.path={recording}", "--samples", "2", "--workers", "2", "--out", "run",
               "-i", "swegym__tinyver-3,swegym__tinyver-5,swegym__tinyver-7,swegym__tinyver-8"]
    env = {**os.environ, "SWEGYM_SANDBOX_DIR": str(tmp_path / "sandboxes")}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    store = tmp_path / "run" / "trajectories.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not store.exists() or store.read_bytes().count(b"\n") < 3):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the command and its workers, mid-run
    process.wait()
    before = store.read_bytes().count(b"\n")
    assert 3 <= before < 8
    swegym(*command[3:], cwd=tmp_path)
    pairs = Counter((r["instance_id"], r["sample_index"]) for r in TrajectoryStore(store).records())
    assert len(pairs) == 8 and set(pairs.values()) == {1}
