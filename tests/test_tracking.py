"""Experiment tracking: trainers report to TRL's report_to, rollouts log resolve rates and stop
reasons to the same tracker; tensorboard event files written locally and read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swegym.core.errors import UsageError
from swegym.plugins.repos.demo import DATA
from swegym.plugins.tracking import RunTracker
from swegym.plugins.trainers.reporting import report_to

pytest.importorskip("tensorboard")


def scalars(directory: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the event files under ``directory``: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found: dict[str, list[tuple[int, float]]] = {}
    for events in sorted(directory.rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            found.setdefault(tag, []).extend((e.step, e.value) for e in accumulator.Scalars(tag))
    return found


def test_report_to_reads_the_environment_and_names_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("SWEGYM_REPORT_TO", raising=False)
    assert report_to("auto", tmp_path) == []
    monkeypatch.setenv("SWEGYM_REPORT_TO", "tensorboard")
    assert report_to("auto", tmp_path) == ["tensorboard"]
    assert report_to("none", tmp_path) == []
    with pytest.raises(UsageError, match="report_to=comet: not a tracker"):
        report_to("comet", tmp_path)
    if not any(__import__("importlib").util.find_spec(m) for m in ("wandb",)):
        with pytest.raises(UsageError, match="wandb is not installed: pip install wandb"):
            report_to("wandb", tmp_path)


def test_run_tracker_logs_resolve_rate_and_stop_reasons_to_tensorboard(tmp_path):
    tracker = RunTracker.open("rollout-run", "rollout", ["tensorboard"], tmp_path)
    tracker.add(True, "finished")
    tracker.add(False, "max_turns")
    tracker.add(True, "finished")
    tracker.close()
    found = scalars(tmp_path / "rollout-run")
    assert found["rollout/resolve_rate"] == [(1, 1.0), (2, 0.5), (3, pytest.approx(2 / 3))]
    assert found["rollout/stop_reason/finished"][-1] == (3, 2.0)
    assert found["rollout/stop_reason/max_turns"] == [(2, 1.0), (3, 1.0)]


def test_sft_trainer_reports_loss_to_tensorboard(tmp_path, monkeypatch):
    pytest.importorskip("trl")
    from swegym import Components, get_plugin_manager
    from tiny_models import build_tiny_llama

    model = build_tiny_llama(tmp_path / "tiny", texts=["Fix the bug. def add(x, y): return x + y"], vocab_size=300,
                             max_position_embeddings=256, initializer_range=0.02)
    data = tmp_path / "sft.jsonl"
    example = {"messages": [{"role": "user", "content": "Fix the bug."}, {"role": "assistant", "content": "def add(x, y): return x + y"}]}
    data.write_text(json.dumps(example) + "\n")
    monkeypatch.setenv("SWEGYM_REPORT_TO", "tensorboard")
    trainer = Components(get_plugin_manager())["trainers"].create(
        "sft", {"max_steps": 3, "global_batch_size": 1, "max_length": 64, "save_steps": 0, "learning_rate": 1e-2})
    trainer.train(data=data, model=str(model), out=tmp_path / "out")
    losses = scalars(tmp_path / "out" / "runs")["train/loss"]
    assert [step for step, _ in losses] == [1, 2, 3] and all(value > 0 for _, value in losses)


@pytest.mark.slow
def test_a_rollout_logs_its_resolve_rate_to_tensorboard(tmp_path):
    recording = DATA / "expert" / "openhands.jsonl"
    env = {**os.environ, "SWEGYM_REPORT_TO": "tensorboard", "SWEGYM_TRACKING_DIR": str(tmp_path / "tb")}
    result = subprocess.run(
        [sys.executable, "-m", "swegym", "rollout", "--dataset", "demo", "--instance-ids", "swegym__tinyver-3",
         "--instance-ids", "swegym__tinyver-5", "--agent", "openhands", "--llm", "replay", "--option", f"llm.path={recording}",
         "--model", "expert-demo", "--out", "run"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = scalars(tmp_path / "tb" / "rollout-run")
    assert found["rollout/resolve_rate"] == [(1, 1.0), (2, 1.0)]
    assert found["rollout/stop_reason/finished"][-1] == (2, 2.0)
