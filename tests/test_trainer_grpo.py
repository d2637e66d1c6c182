"""GRPO with TRL on live episodes: a tiny real policy writes the turns in real sandboxes of the
demo repository, the scaffold executes them, grading by running the tests gives the rewards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import swegym
from demo_support import demo_instances, repository
from swegym import Components, get_plugin_manager
from swegym.plugins.openhands_agent import OpenHandsAgent
from swegym.plugins.runtimes.local import LocalRuntime
from swegym.plugins.trainers.grpo import EpisodeSource

pytest.importorskip("trl")

EXPERT = Path(swegym.__file__).parent / "plugins" / "repos" / "demo" / "data" / "expert" / "openhands.jsonl"


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    from tiny_models import build_tiny_llama

    texts = [line[:20000] for line in EXPERT.read_text().splitlines()[:4]]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "policy", texts=texts, vocab_size=1000,
                            max_position_embeddings=16384, initializer_range=0.02)


@pytest.mark.slow
def test_grpo_trains_on_groups_of_graded_episodes_and_resumes(tiny_policy, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    components = Components(get_plugin_manager())
    instance = demo_instances(components)["swegym__tinyver-18"]
    source = EpisodeSource([instance], lambda _: repository(), LocalRuntime(), OpenHandsAgent(max_turns=2))
    options = {"max_steps": 2, "num_generations": 2, "max_new_tokens": 8, "max_completion_length": 256,
               "save_steps": 1, "learning_rate": 1e-3}
    trainer = components["trainers"].create("grpo", options)
    out = tmp_path / "grpo"
    result = trainer.train(data=source, model=str(tiny_policy), out=out)

    assert result.steps == 2 and result.adapter
    assert len(result.metrics["reward_per_step"]) == 2 and len(result.metrics["kl_per_step"]) == 2
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 4 and {e["instance_id"] for e in episodes} == {instance.instance_id}
    # every reward is a grading outcome: a random tiny policy resolves nothing
    assert all(e["reward"] == 0.0 and e["status"] in ("empty_patch", "unresolved", "error") for e in episodes)
    assert all(1 <= e["assistant_turns"] <= 2 for e in episodes)
    assert not [p for p in (tmp_path / "sandboxes").glob("*/*") if not p.name.startswith(".trash-")]  # every episode's sandbox is gone
    assert (out / "adapter_config.json").is_file() and not (out / "model.safetensors").exists()
    saved = json.loads((out / "train_result.json").read_text())
    assert saved["peak_rss_mb"] > 100 and saved["disk_mb"] > 0

    # the trained adapter rolls out like any policy
    from swegym.plugins.llms.hf_transformers import load_causal_lm

    policy, _ = load_causal_lm(str(out), device="cpu")
    assert policy.config.vocab_size > 0

    # resumable like train sft: two more steps continue from checkpoint-2
    more = components["trainers"].create("grpo", {**options, "max_steps": 3})
    resumed = more.train(data=source, model=str(tiny_policy), out=out)
    assert resumed.resumed_from == str(out / "checkpoint-2") and resumed.steps == 3


@pytest.mark.slow
def test_the_loss_mask_covers_only_the_policys_tokens(tiny_policy, tmp_path, monkeypatch):
    """An episode's completion: the policy's turns (mask 1) and the scaffold's observations (mask 0)."""
    import transformers

    from swegym.plugins.trainers.grpo import EpisodeLog, EpisodeRollout, GRPOTrainer

    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    components = Components(get_plugin_manager())
    instance = demo_instances(components)["swegym__tinyver-18"]
    source = EpisodeSource([instance], lambda _: repository(), LocalRuntime(), OpenHandsAgent(max_turns=2))
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_policy)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_policy)
    config = GRPOTrainer(max_new_tokens=6, max_completion_length=512, num_generations=2)
    rollout = EpisodeRollout(config, source, {instance.instance_id: instance}, tokenizer, EpisodeLog(tmp_path / "e.jsonl"))
    played = rollout.play(model, instance, sample_index=0, step=0)
    mask, ids = played["env_mask"], played["completion_ids"]
    assert len(mask) == len(ids) == len(played["logprobs"])
    observation = tokenizer.decode([t for t, m in zip(ids, mask) if m == 0])
    policy = [t for t, m in zip(ids, mask) if m == 1]
    assert 0 < len(policy) <= 2 * 6  # two turns of at most 6 tokens
    assert "<|im_start|>user" in observation  # the scaffold's answer is in the completion, masked
    assert all(lp == 0.0 for lp, m in zip(played["logprobs"], mask) if m == 0)
    assert all(lp <= 0.0 for lp in played["logprobs"]) and any(lp < 0.0 for lp in played["logprobs"])
    assert played["episode_reward"] == 0.0


def test_the_demos_optional_grpo_stage_is_a_valid_command_line_and_reports_its_reward_curve(tmp_path):
    import tomllib

    from click.testing import CliRunner

    from swegym.cli import build_cli
    from swegym.commands.demo_report import _grpo_lines
    from swegym.core.experiment_plan import Experiment, command_line
    from swegym.experiments import bundled

    # the stage is shipped commented out: uncommented, it is a train grpo command line
    text = bundled("demo").read_text()
    stage = "\n".join(line[2:] for line in text.split("# 6. Optional")[1].splitlines() if line.startswith("# ") and "=" in line or line.startswith("# [["))
    experiment = Experiment.from_dict(tomllib.loads(stage.replace("${smollm2}", "/models/smollm2")), source="demo.toml")
    (grpo,) = experiment.stages
    argv = command_line(grpo, grpo.params, tmp_path / "grpo")
    assert argv[:6] == ["train", "grpo", "--dataset", "demo", "--instance-ids", "swegym__tinyver-18"]
    assert "trainer.num_generations=2" in argv and argv[-2:] == ["--out", str(tmp_path / "grpo")]
    cli = build_cli(get_plugin_manager())
    assert cli.commands["train"].commands["grpo"].make_context("grpo", argv[2:]).params["model"] == "/models/smollm2"
    # an adapter is refused with the way out
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    result = CliRunner().invoke(cli, ["train", "grpo", "--dataset", "demo", "--model", str(adapter), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "is a LoRA adapter: GRPO starts from a full checkpoint" in result.output

    # the report: reward mean (std) and KL per step, and the curve
    (tmp_path / "grpo").mkdir()
    (tmp_path / "grpo" / "train_result.json").write_text(json.dumps({
        "steps": 2, "peak_rss_mb": 2048.0, "disk_mb": 20.0,
        "metrics": {"episodes": 4, "reward_per_step": [0.0, 0.5], "reward_std_per_step": [0.0, 0.7071], "kl_per_step": [0.0, 0.0012]},
    }))
    lines = _grpo_lines(tmp_path / "grpo", 61.0)
    assert lines[0] == "2 steps, 4 episodes in 61s"
    assert lines[1] == "reward mean (std) per step: 0.00 (0.00), 0.50 (0.71)" and lines[2] == "KL per step: 0.0000, 0.0012"
    assert lines[3] == "peak memory 2.00 GB, disk 20 MB"
    if (tmp_path / "grpo" / "reward.png").exists():
        assert lines[4] == f"reward curve: {tmp_path / 'grpo' / 'reward.png'}"
