"""The ``grpo`` trainer: online RL on swegym episodes with TRL's ``GRPOTrainer``.

Each optimizer step takes one instance and plays a group of ``num_generations`` episodes on
it (``swegym.core.episode.Episode``: a fresh sandbox at the base commit, the scaffold
executing the policy's messages, the patch graded by running FAIL_TO_PASS and PASS_TO_PASS).
The policy being trained writes every assistant turn (transformers ``generate``, sampling at
``temperature``); the reward is the episode's: 1.0 resolved, else 0.0. GRPO's advantage is
the reward minus the group's mean (over its std), so a group where every episode got the same
reward teaches nothing: use instances the policy sometimes solves.

TRL's multi-turn support does the rest through its ``rollout_func``: the episode's tokens are
returned as one completion (assistant turns, then the scaffold's observations), with
``env_mask`` 0 on the observation tokens so that the loss is on the assistant's tokens only.
TRL's ``environment_factory`` needs a chat template whose tool calls it can parse (Qwen,
Llama 3); swegym's scaffolds parse their own actions, so every model works here.

TRL's dataset ``prompt`` column holds the instance id: the real prompt is the scaffold's
(system prompt and task), written in the sandbox at ``reset``. The optional shaped reward (the
fraction of FAIL_TO_PASS passing) is logged (``rewards/shaped_reward``) with weight 0 unless
``shaped_weight`` says otherwise.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from swegym.core.agent import Agent
from swegym.core.episode import Episode
from swegym.core.errors import SwegymError, UsageError
from swegym.core.instance import TaskInstance
from swegym.core.repository import RepositorySpec
from swegym.core.runtime import Runtime
from swegym.core.training import ProgressCallback, TrainResult
from swegym.core.trajectory import Turn
from swegym.plugins.trainers.reporting import report_to
from swegym.plugins.trainers.sft import (
    _import_training,
    _option,
    _progress_callback,
    disk_mb,
    latest_checkpoint,
    peak_rss_mb,
    set_lm_head_tile,
    tune_malloc,
)

_positive = attrs.validators.gt(0)
_at_least_one = attrs.validators.ge(1)


@attrs.frozen
class EpisodeSource:
    """What GRPO trains on: instances, where their repositories come from, the runtime that
    makes sandboxes and the scaffold the policy acts through."""

    instances: Sequence[TaskInstance]
    repository: Callable[[TaskInstance], RepositorySpec]
    runtime: Runtime
    agent: Agent
    grade_timeout: float = 1800.0


@attrs.frozen
class GRPOTrainer:
    """GRPO (TRL) on live swegym episodes: groups of k episodes per instance, sandbox rewards."""

    name: ClassVar[str] = "grpo"

    learning_rate: float = _option(1e-5, "peak learning rate", _positive)
    max_steps: int = _option(10, "optimizer steps (one instance's group each)", _at_least_one)
    num_generations: int = _option(4, "episodes per instance in a group (k)", attrs.validators.ge(2))
    max_new_tokens: int = _option(256, "tokens the policy writes per turn", _at_least_one)
    max_completion_length: int = _option(4096, "tokens of one episode after the prompt (turns and observations)", _at_least_one)
    temperature: float = _option(1.0, "sampling temperature of the policy", _positive)
    beta: float = _option(0.04, "KL coefficient against the reference model (0: no reference model kept)", attrs.validators.ge(0))
    shaped_weight: float = _option(0.0, "weight of the shaped reward (fraction of FAIL_TO_PASS passing); 0: logged only", attrs.validators.ge(0))
    lora: bool = _option(True, "train a LoRA adapter instead of all weights")
    lora_r: int = _option(16, "LoRA rank", _at_least_one)
    lora_alpha: int = _option(32, "LoRA scaling alpha", _at_least_one)
    lora_target_modules: str = _option("all-linear", "modules LoRA adapts: all-linear or a list (q_proj,v_proj)")
    gradient_checkpointing: bool = _option(True, "recompute activations to save memory")
    save_steps: int = _option(50, "checkpoint every N steps (0: none; the model is saved at the end)")
    save_total_limit: int = _option(2, "checkpoints kept in OUT", _at_least_one)
    logging_steps: int = _option(1, "log reward, KL and loss every N steps", _at_least_one)
    seed: int = _option(42, "random seed (instance order, sampling, LoRA init)")
    device: Literal["auto", "cpu", "cuda"] = _option("auto", "auto (CUDA if available), cpu or cuda")
    lm_head_tile: int = _option(4096, "vocabulary columns per tile of TRL's fused LM head on CPU", _at_least_one)
    report_to: str = _option("auto", "trackers for TRL's report_to (auto: $SWEGYM_REPORT_TO, else none)")

    def train(
        self,
        data: EpisodeSource,
        model: str,
        out: str | os.PathLike[str],
        *,
        resume: bool = True,
        progress: ProgressCallback | None = None,
    ) -> TrainResult:
        """Train ``model`` on episodes of ``data``'s instances; the adapter (or model) in ``out``."""
        if not data.instances:
            raise UsageError("grpo: no instances to train on")
        if (Path(model) / "adapter_config.json").is_file():
            raise UsageError(
                f"{model} is a LoRA adapter: GRPO starts from a full checkpoint (train sft with "
                "-o trainer.merge_lora=true and pass its OUT/merged)"
            )
        started = time.monotonic()
        out = Path(out)
        tune_malloc()
        torch, transformers, datasets, trl = _import_training()
        use_cuda = torch.cuda.is_available() if self.device == "auto" else self.device == "cuda"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise SwegymError("device=cuda, but torch sees no CUDA GPU (use device=cpu or device=auto)")
        if not use_cuda:
            set_lm_head_tile(self.lm_head_tile)
        tokenizer = transformers.AutoTokenizer.from_pretrained(model, padding_side="left")
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if not tokenizer.chat_template:
            raise UsageError(f"{model} has no chat template: the policy's turns are rendered with it")
        by_id = {instance.instance_id: instance for instance in data.instances}
        dataset = datasets.Dataset.from_list([{"prompt": instance_id} for instance_id in by_id])
        log = EpisodeLog(out / "episodes.jsonl")
        rollout = EpisodeRollout(self, data, by_id, tokenizer, log)
        config = trl.GRPOConfig(
            output_dir=str(out),
            learning_rate=self.learning_rate,
            max_steps=self.max_steps,
            per_device_train_batch_size=self.num_generations,  # one group per step
            gradient_accumulation_steps=1,
            num_generations=self.num_generations,
            max_completion_length=self.max_completion_length,
            temperature=self.temperature,
            beta=self.beta,
            reward_weights=[1.0, self.shaped_weight],
            use_cpu=not use_cuda,
            bf16=bool(use_cuda and torch.cuda.is_bf16_supported()),
            gradient_checkpointing=self.gradient_checkpointing,
            model_init_kwargs={"dtype": "auto" if use_cuda else "float32"},
            logging_steps=self.logging_steps,
            save_strategy="steps" if self.save_steps > 0 else "no",
            save_steps=max(self.save_steps, 1),
            save_total_limit=self.save_total_limit,
            seed=self.seed,
            report_to=report_to(self.report_to, out) or "none",
            disable_tqdm=progress is not None,
        )
        os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is marked experimental
        trainer = trl.GRPOTrainer(
            model=model,
            reward_funcs=[episode_reward, shaped_reward],
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=self._peft_config() if self.lora else None,
            rollout_func=rollout,
            callbacks=[_progress_callback(transformers, progress)] if progress else [],
        )
        if progress is not None:
            trainer.remove_callback(transformers.PrinterCallback)
        checkpoint = latest_checkpoint(out) if resume else None
        output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        trainer.save_model(str(out))
        history = trainer.state.log_history
        result = TrainResult(
            output_dir=out,
            model=model,
            steps=trainer.state.global_step,
            losses=[float(entry["loss"]) for entry in history if "loss" in entry],
            runtime_s=round(time.monotonic() - started, 3),
            resumed_from=str(checkpoint) if checkpoint else None,
            adapter=self.lora,
            peak_rss_mb=peak_rss_mb(),
            disk_mb=disk_mb(out),
            metrics={
                **{key: value for key, value in output.metrics.items() if isinstance(value, (int, float))},
                "episodes": log.count,
                "reward_per_step": [entry["reward"] for entry in history if "reward" in entry],
                "reward_std_per_step": [entry["reward_std"] for entry in history if "reward_std" in entry],
                "kl_per_step": [entry["kl"] for entry in history if "kl" in entry],
            },
        )
        if trainer.is_world_process_zero():
            (out / "train_result.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        return result

    def _peft_config(self) -> Any:
        import peft

        targets = self.lora_target_modules.strip()
        return peft.LoraConfig(
            r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
            target_modules=targets if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()],
        )


def episode_reward(prompts: list, completions: list, episode_reward: list[float], **kwargs: Any) -> list[float]:
    """The sandbox's reward of each episode: 1.0 resolved, else 0.0."""
    return list(episode_reward)


def shaped_reward(prompts: list, completions: list, episode_shaped_reward: list[float], **kwargs: Any) -> list[float]:
    """The fraction of the instance's FAIL_TO_PASS tests that pass with the episode's patch."""
    return list(episode_shaped_reward)


@attrs.define
class EpisodeLog:
    """Every episode of the run, one JSON line each (instance, step, reward, stop reason, patch)."""

    path: Path
    count: int = 0

    def write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        self.count += 1


@attrs.define
class EpisodeRollout:
    """TRL's ``rollout_func``: one episode per prompt (the sampler repeats each instance k times)."""

    config: GRPOTrainer
    data: EpisodeSource
    instances: dict[str, TaskInstance]
    tokenizer: Any
    log: EpisodeLog

    def __call__(self, prompts: list[str], trainer: Any) -> dict[str, list]:
        import torch
        from trl.models import unwrap_model_for_generation

        columns: dict[str, list] = {key: [] for key in ("prompt_ids", "completion_ids", "logprobs", "env_mask",
                                                         "episode_reward", "episode_shaped_reward")}
        with unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator,
                                         gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs) as model, torch.no_grad():
            for index, prompt in enumerate(prompts):
                instance = self.instances[_instance_id(prompt)]
                played = self.play(model, instance, sample_index=index, step=trainer.state.global_step)
                for key, value in played.items():
                    columns[key].append(value)
        return columns

    def play(self, model: Any, instance: TaskInstance, *, sample_index: int, step: int) -> dict[str, Any]:
        """One episode written by ``model``: its token ids, masks and rewards."""
        import torch

        tokenizer = self.tokenizer
        eos = tokenizer.eos_token_id
        episode = Episode(instance, self.data.repository(instance), self.data.runtime, self.data.agent,
                          model="policy", sample_index=sample_index, grade_timeout=self.data.grade_timeout)
        began = time.monotonic()
        with episode:
            first = episode.reset()
            turns: list[Turn] = list(first.observation)
            prompt_ids = self._render_ids(turns, generation_prompt=True)
            completion: list[int] = []
            logprobs: list[float] = []
            mask: list[int] = []
            result = first
            while not result.done:
                budget = self.config.max_completion_length - len(completion)
                if budget <= 1:
                    result = episode.end("the episode used max_completion_length tokens")
                    break
                inputs = torch.tensor([prompt_ids + completion], device=model.device)
                generated = model.generate(
                    input_ids=inputs, attention_mask=torch.ones_like(inputs),
                    max_new_tokens=min(self.config.max_new_tokens, budget - 1), do_sample=True,
                    temperature=self.config.temperature, top_k=0, top_p=1.0, eos_token_id=eos,
                    pad_token_id=tokenizer.pad_token_id, output_scores=True, return_dict_in_generate=True,
                    use_cache=True,  # the trainer turns the cache off for gradient checkpointing
                )
                new = generated.sequences[0, inputs.shape[1]:].tolist()
                scores = [torch.log_softmax(s[0].float(), dim=-1) for s in generated.scores]
                new_logprobs = [float(scores[i][token]) for i, token in enumerate(new)]
                if not new or new[-1] != eos:  # cut at max_new_tokens: close the turn as the template would
                    new, new_logprobs, closed = new + [eos], new_logprobs + [0.0], False
                else:
                    closed = True
                completion += new
                logprobs += new_logprobs
                mask += [1] * (len(new) - (0 if closed else 1)) + ([] if closed else [0])
                text = tokenizer.decode(new, skip_special_tokens=True)
                turns.append(Turn("assistant", text))
                before = self._render(turns, generation_prompt=False)
                result = episode.step(text)
                if result.done:
                    break
                turns += result.observation
                observed = self._render(turns, generation_prompt=True)
                delta = observed[len(before):] if observed.startswith(before) else observed
                ids = tokenizer(delta, add_special_tokens=False)["input_ids"]
                completion += ids
                logprobs += [0.0] * len(ids)
                mask += [0] * len(ids)
            trajectory = episode.trajectory
        completion, logprobs, mask = (completion[: self.config.max_completion_length], logprobs[: self.config.max_completion_length],
                                      mask[: self.config.max_completion_length])
        self.log.write({
            "step": step, "instance_id": instance.instance_id, "sample_index": sample_index,
            "reward": episode.reward, "shaped_reward": episode.shaped_reward,
            "stop_reason": trajectory.stop_reason.value if trajectory else None,
            "status": trajectory.outcome.status.value if trajectory and trajectory.outcome else None,
            "assistant_turns": sum(1 for t in turns if t.role == "assistant"), "completion_tokens": len(completion),
            "seconds": round(time.monotonic() - began, 2), "patch": trajectory.patch if trajectory else "",
        })
        return {"prompt_ids": prompt_ids, "completion_ids": completion, "logprobs": logprobs, "env_mask": mask,
                "episode_reward": episode.reward, "episode_shaped_reward": episode.shaped_reward}

    def _render(self, turns: Sequence[Turn], *, generation_prompt: bool) -> str:
        messages = [{"role": "user" if t.role == "tool" else t.role, "content": t.content} for t in turns]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)

    def _render_ids(self, turns: Sequence[Turn], *, generation_prompt: bool) -> list[int]:
        return self.tokenizer(self._render(turns, generation_prompt=generation_prompt), add_special_tokens=False)["input_ids"]


def _instance_id(prompt: Any) -> str:
    """The instance id a dataset prompt carries (plain text, or a one-message conversation)."""
    if isinstance(prompt, list):
        prompt = prompt[-1]["content"]
    return str(prompt).strip()


__all__ = ["EpisodeRollout", "EpisodeSource", "GRPOTrainer", "episode_reward", "shaped_reward"]
