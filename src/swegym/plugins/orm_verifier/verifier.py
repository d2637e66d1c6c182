"""``OrmVerifier``: the outcome-reward model as a ``swegym_register_verifiers`` component."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import attrs

from swegym.core.errors import SwegymError
from swegym.core.trajectory import Trajectory
from swegym.core.verification import Verifier
from swegym.plugins.orm_verifier.data import verifier_messages
from swegym.plugins.orm_verifier.scoring import LabelPrompt, Scorer, encode, yes_probability


def _label(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not value.strip() or "<" in value or ">" in value:
        raise ValueError(f"{attribute.name} must be a word without '<' or '>' (got {value!r})")


def _default_base_url() -> str:
    return os.environ.get("OPENAI_BASE_URL") or "http://127.0.0.1:8000/v1"


@attrs.define
class OrmVerifier(Verifier):
    """SWE-Gym's outcome-reward model: p(YES) / (p(YES) + p(NO)) after ``<judgement>``.

    ``model`` is a checkpoint trained with ``swegym train verifier`` (a LoRA adapter directory is loaded on its base model).
    """

    name: ClassVar[str] = "orm"

    model: str = attrs.field(metadata={"help": "verifier checkpoint (for backend=openai: its tokenizer and chat template)"})
    backend: Literal["transformers", "vllm", "openai"] = attrs.field(
        default="transformers", metadata={"help": "transformers (CPU or one GPU), vllm (in-process, GPUs) or openai (a server)"}
    )
    batch_size: int = attrs.field(default=8, validator=attrs.validators.ge(1), metadata={"help": "trajectories per forward pass or request"})
    max_length: int = attrs.field(
        default=32768, validator=attrs.validators.ge(64),
        metadata={"help": "prompt tokens (capped at the model's context); the trajectory's middle is cut to fit"},
    )
    device: Literal["auto", "cpu", "cuda"] = attrs.field(default="auto", metadata={"help": "transformers: auto is cuda when visible"})
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = attrs.field(
        default="auto", metadata={"help": "auto: bfloat16 on a GPU that has it, else float32"}
    )
    base_url: str = attrs.field(factory=_default_base_url, metadata={"help": "openai: endpoint (else OPENAI_BASE_URL)"})
    api_key: str | None = attrs.field(default=None, repr=False, metadata={"help": "openai: API key (default: OPENAI_API_KEY, else EMPTY)"})
    model_name: str | None = attrs.field(default=None, metadata={"help": "openai: the name the server knows the model by (default: model)"})
    yes_label: str = attrs.field(default="YES", validator=_label, metadata={"help": "the label trained for resolved trajectories"})
    no_label: str = attrs.field(default="NO", validator=_label, metadata={"help": "the label trained for unresolved trajectories"})
    chat_template: str | None = attrs.field(default=None, metadata={"help": "jinja file replacing the tokenizer's chat template"})
    tensor_parallel_size: int = attrs.field(default=1, validator=attrs.validators.ge(1), metadata={"help": "vllm: GPUs the model is split over"})
    gpu_memory_utilization: float = attrs.field(default=0.9, metadata={"help": "vllm: share of GPU memory for weights and KV cache"})
    trust_remote_code: bool = attrs.field(default=False, metadata={"help": "run modelling code shipped with the checkpoint"})
    _tokenizer: Any = attrs.field(default=None, init=False, repr=False, eq=False)
    _scorer: Any = attrs.field(default=None, init=False, repr=False, eq=False)
    _limit: int = attrs.field(default=0, init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.yes_label == self.no_label:
            raise ValueError(f"yes_label and no_label are both {self.yes_label!r}")

    @property
    def tokenizer(self) -> Any:
        """The checkpoint's tokenizer: every backend gets token ids from it."""
        if self._tokenizer is None:
            from swegym.plugins.llms.hf_transformers import load_tokenizer

            self._tokenizer = load_tokenizer(self.model, chat_template=self.chat_template, trust_remote_code=self.trust_remote_code)
        return self._tokenizer

    def load(self) -> None:
        if self._scorer is not None:
            return
        scorer = self._make_scorer()
        context = scorer.load()
        self._scorer = scorer
        self._limit = min(self.max_length, context) if context else self.max_length

    def _make_scorer(self) -> Scorer:
        if self.backend == "transformers":
            from swegym.plugins.orm_verifier.transformers_backend import TransformersScorer

            return TransformersScorer(self.model, self.tokenizer, self.device, self.dtype, self.trust_remote_code)
        if self.backend == "vllm":
            from swegym.plugins.orm_verifier.vllm_backend import VLLMScorer

            return VLLMScorer(self.model, self.tensor_parallel_size, self.gpu_memory_utilization, None, self.dtype, self.trust_remote_code)
        from swegym.plugins.orm_verifier.openai_backend import OpenAIScorer

        self.tokenizer  # noqa: B018 - fail on a missing tokenizer before any request
        return OpenAIScorer(self.model_name or self.model, self.base_url, self.api_key)

    def prompts(self, trajectories: Sequence[Trajectory]) -> list[LabelPrompt]:
        """Each trajectory's prompt and label token ids, cut to ``max_length`` tokens."""
        self.load()
        prompts = []
        for trajectory in trajectories:
            messages, _ = verifier_messages(
                trajectory, max_length=self._limit, tokenizer=self.tokenizer, yes_label=self.yes_label, no_label=self.no_label
            )
            prompt = encode(self.tokenizer, messages, self.yes_label, self.no_label)
            needed = len(prompt.prefix) + max(len(prompt.yes), len(prompt.no))
            if needed > self._limit:  # the instructions and markup alone do not fit
                raise SwegymError(
                    f"orm verifier: the judge prompt takes at least {needed} tokens, more than "
                    f"max_length={self._limit} (or the model's context)"
                )
            prompts.append(prompt)
        return prompts

    def score(self, trajectories: Sequence[Trajectory]) -> list[float]:
        if not trajectories:
            return []
        prompts = self.prompts(trajectories)
        pairs = self._scorer.label_logprobs(prompts, self.batch_size)
        return [yes_probability(yes, no) for yes, no in pairs]

    def close(self) -> None:
        if self._scorer is not None:
            self._scorer.close()
            self._scorer = None

    def __getstate__(self) -> dict[str, Any]:  # a worker loads its own model
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

