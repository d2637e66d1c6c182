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
pytestmark = pytest.mark.slow

EXPERT = Path(swegym.__file__).parent / "plugins" / "repos" / "demo" / "data" / "expert" / "openhands.jsonl"


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    from tiny_models import build_tiny_llama

    texts = [line[:20000] for line in EXPERT.read_text().splitlines()[:4]]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "policy", texts=texts, vocab_size=1000,
                            max_position_embeddings=16384, initializer_range=0.02)


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
    assert not list((tmp_path / "sandboxes").glob("*/*"))  # every episode's sandbox is gone
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
