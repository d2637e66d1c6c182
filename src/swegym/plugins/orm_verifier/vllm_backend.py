"""The ``vllm`` scoring backend: an in-process vLLM engine on GPUs, for scoring many
trajectories fast.

Each trajectory is two prompts, its prompt followed by the YES label and by the NO label,
sent as token ids with ``SamplingParams(max_tokens=1, prompt_logprobs=1)``: vLLM returns the
log probability of every prompt token (the actual token is always among them, whatever its
rank), and a label's log probability is the sum over its tokens. All prompts of a call go to
the engine at once; vLLM schedules them itself.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from swegym.core.errors import SwegymError
from swegym.plugins.llms.vllm_engine import require_vllm
from swegym.plugins.orm_verifier.scoring import LabelPrompt


@attrs.define
class VLLMScorer:
    model: str
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    dtype: str = "auto"
    trust_remote_code: bool = False
    _engine: Any = attrs.field(default=None, init=False)

    def load(self) -> int | None:
        if self._engine is None:
            if (Path(self.model) / "adapter_config.json").is_file():
                raise SwegymError(
                    f"{self.model} is a LoRA adapter: the in-process vLLM backend takes full checkpoints; serve it with "
                    f"swegym serve --model {self.model} (vLLM's LoRA support) and use the openai backend, or train with "
                    "-o trainer.merge_lora=true and use OUT/merged"
                )
            require_vllm()
            import vllm

            self._engine = vllm.LLM(
                model=self.model,
                tensor_parallel_size=self.tensor_parallel_size,
                gpu_memory_utilization=self.gpu_memory_utilization,
                max_model_len=self.max_model_len,
                dtype=self.dtype,
                trust_remote_code=self.trust_remote_code,
            )
        try:
            return int(self._engine.llm_engine.model_config.max_model_len)
        except (AttributeError, TypeError, ValueError):
            return None

    def label_logprobs(self, prompts: Sequence[LabelPrompt], batch_size: int) -> list[tuple[float, float]]:
        self.load()
        import vllm

        rows = [(list(p.prefix + label), len(label)) for p in prompts for label in (p.yes, p.no)]
        params = vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        outputs = self._engine.generate([{"prompt_token_ids": ids} for ids, _ in rows], params, use_tqdm=False)
        values = [_sum_logprobs(output.prompt_logprobs, ids, length) for (ids, length), output in zip(rows, outputs, strict=True)]
        return [(values[2 * i], values[2 * i + 1]) for i in range(len(prompts))]

    def close(self) -> None:
        if self._engine is None:
            return
        self._engine = None
        gc.collect()
        import torch

        torch.cuda.empty_cache()


def _sum_logprobs(prompt_logprobs: Any, ids: Sequence[int], label_length: int) -> float:
    """The sum of the last ``label_length`` prompt tokens' log probabilities."""
    if prompt_logprobs is None or len(prompt_logprobs) != len(ids):
        raise SwegymError("vLLM returned no prompt log probabilities (SamplingParams.prompt_logprobs)")
    total = 0.0
    for position in range(len(ids) - label_length, len(ids)):
        entry = prompt_logprobs[position][ids[position]]
        total += float(getattr(entry, "logprob", entry))
    return total
