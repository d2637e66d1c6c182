"""The ``vllm`` LLM backend: a vLLM engine in this process, for batched sampling on GPUs.

``complete_batch`` sends many conversations at once (vLLM schedules them together);
``complete`` is a batch of one. Tool calls come back as text (``native_tools`` is False):
agents use the ``<function=...>`` text form, or use ``swegym serve`` with ``--llm openai``
for native tool calls parsed by vLLM's server.
"""

from __future__ import annotations

import gc
import importlib.util
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from swegym import hookimpl
from swegym.core.errors import MissingDependencyError, SwegymError
from swegym.core.llm import LLM, Completion, ContextLimitError, SamplingParams, ToolSpec
from swegym.core.trajectory import Turn
from swegym.plugins.llms.openai_compat import to_openai_messages


def require_vllm() -> None:
    """Fail with one clear line unless vLLM is installed and a CUDA GPU is visible."""
    if importlib.util.find_spec("vllm") is None:
        raise MissingDependencyError("vLLM", "vllm")
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("vLLM (with torch)", "vllm") from None
    if not torch.cuda.is_available():
        raise SwegymError(
            "vLLM needs a CUDA GPU and none is visible: use --llm transformers on CPU, "
            "or run a vLLM server on a GPU machine (swegym serve) and use --llm openai"
        )


@attrs.define
class VLLMEngineLLM(LLM):
    """An in-process vLLM engine (GPU): batched sampling without a server."""

    name: ClassVar[str] = "vllm"

    model: str = attrs.field(metadata={"help": "checkpoint directory or Hub id"})
    tensor_parallel_size: int = attrs.field(default=1, validator=attrs.validators.ge(1), metadata={"help": "GPUs the model is split over"})
    max_model_len: int | None = attrs.field(default=None, metadata={"help": "context length (default: the model config's)"})
    gpu_memory_utilization: float = attrs.field(
        default=0.9, validator=[attrs.validators.gt(0), attrs.validators.le(1)], metadata={"help": "share of GPU memory for weights and KV cache"}
    )
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = attrs.field(default="auto", metadata={"help": "weights and activations"})
    chat_template: str | None = attrs.field(default=None, metadata={"help": "jinja file replacing the tokenizer's chat template"})
    trust_remote_code: bool = attrs.field(default=False, metadata={"help": "run modelling code shipped with the checkpoint"})
    _engine: Any = attrs.field(default=None, init=False, repr=False, eq=False)
    _tokenizer: Any = attrs.field(default=None, init=False, repr=False, eq=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False, eq=False)

    def __getstate__(self) -> dict[str, Any]:  # a worker starts its own engine
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def engine(self) -> Any:
        """The ``vllm.LLM`` (started by the first call)."""
        with self._lock:
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
                    max_model_len=self.max_model_len,
                    gpu_memory_utilization=self.gpu_memory_utilization,
                    dtype=self.dtype,
                    trust_remote_code=self.trust_remote_code,
                )
        return self._engine

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer, loaded with transformers (counting tokens needs no GPU)."""
        if self._tokenizer is None:
            from swegym.plugins.llms.hf_transformers import load_tokenizer

            self._tokenizer = load_tokenizer(self.model, chat_template=self.chat_template, trust_remote_code=self.trust_remote_code)
        return self._tokenizer

    def count_tokens(self, messages: Sequence[Turn]) -> int:
        from swegym.plugins.llms.hf_transformers import prompt_ids

        return len(prompt_ids(self.tokenizer, messages))

    def complete(self, messages: Sequence[Turn], *, tools: Sequence[ToolSpec] | None = None, params: SamplingParams = SamplingParams()) -> Completion:
        return self.complete_batch([messages], params, tools=tools)[0]

    def complete_batch(
        self,
        conversations: Sequence[Sequence[Turn]],
        params: SamplingParams = SamplingParams(),
        *,
        tools: Sequence[ToolSpec] | None = None,
    ) -> list[Completion]:
        """One completion per conversation, generated together; raises ``ContextLimitError``
        (naming the conversation) before generating if any prompt does not fit."""
        from swegym.plugins.llms.hf_transformers import prompt_ids, template_takes_tools

        engine = self.engine
        import vllm

        limit = self._context_length(engine)
        tokenizer = self.tokenizer
        for index, messages in enumerate(conversations):
            size = len(prompt_ids(tokenizer, messages, tools))
            if limit and size >= limit:
                raise ContextLimitError(f"conversation {index}: the prompt has {size} tokens; {self.model} takes at most {limit}")
        sampling = vllm.SamplingParams(
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=list(params.stop) or None,
            seed=params.seed,
            logprobs=1 if params.logprobs else None,
        )
        template = Path(self.chat_template).expanduser().read_text() if self.chat_template else None
        started = time.monotonic()
        outputs = engine.chat(
            [to_openai_messages(messages) for messages in conversations],
            sampling_params=sampling,
            use_tqdm=False,
            chat_template=template,
            tools=[tool.to_openai() for tool in tools] if tools and template_takes_tools(tokenizer) else None,
        )
        elapsed = round(time.monotonic() - started, 3)
        return [_completion(output, elapsed, params.logprobs) for output in outputs]

    @staticmethod
    def _context_length(engine: Any) -> int | None:
        try:
            return int(engine.llm_engine.model_config.max_model_len)
        except (AttributeError, TypeError, ValueError):
            return None

    def close(self) -> None:
        with self._lock:
            if self._engine is None:
                return
            self._engine = None
        gc.collect()
        import torch

        torch.cuda.empty_cache()


def _completion(output: Any, elapsed: float, want_logprobs: bool) -> Completion:
    sample = output.outputs[0]
    token_ids = list(sample.token_ids)
    prompt_tokens = len(output.prompt_token_ids or ())
    logprobs = None
    if want_logprobs and sample.logprobs is not None:
        logprobs = tuple(float(step[token].logprob) for step, token in zip(sample.logprobs, token_ids))
    message = Turn(
        role="assistant", content=sample.text, elapsed_s=elapsed, prompt_tokens=prompt_tokens, completion_tokens=len(token_ids)
    )
    return Completion(
        message=message,
        prompt_tokens=prompt_tokens,
        completion_tokens=len(token_ids),
        finish_reason=sample.finish_reason or "stop",
        logprobs=logprobs,
    )


@hookimpl
def swegym_register_llms(register):
    register(VLLMEngineLLM)
