"""The ``transformers`` LLM backend: a local checkpoint run with Hugging Face transformers.

For CPU runs, tests and small models; one generation at a time. The prompt is the
tokenizer's chat template (or ``chat_template=PATH``) over the conversation. Tool calls come
back as text (``native_tools`` is False): agents use the ``<function=...>`` text form.
"""

from __future__ import annotations

import gc
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


def _import_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError:
        raise MissingDependencyError("transformers (with torch)", "train") from None
    return torch, transformers


def load_causal_lm(model: str, *, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False,
                   what: str = "model") -> tuple[Any, str]:
    """``(model, device)``: a causal LM in eval mode on ``device`` (``auto``: CUDA if visible).

    ``dtype=auto`` is bfloat16 on a CUDA GPU that supports it, else float32 (bfloat16 on CPUs
    without bf16 instructions is many times slower).
    """
    torch, transformers = _import_transformers()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise SwegymError(f"{what}: device=cuda but no CUDA GPU is visible; use device=cpu")
    if dtype != "auto":
        torch_dtype = getattr(torch, dtype)
    elif device == "cuda" and torch.cuda.is_bf16_supported():
        torch_dtype = torch.bfloat16
    else:
        torch_dtype = torch.float32
    try:
        if is_adapter(model):
            loaded = _load_adapter(model, torch_dtype, trust_remote_code)
        else:
            loaded = transformers.AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise SwegymError(f"cannot load the {what} model {model}: {exc}") from None
    loaded.to(device)
    loaded.eval()
    return loaded, device



def is_adapter(model: str | Path) -> bool:
    """``model`` is a directory holding a LoRA adapter (``adapter_config.json``), not full weights."""
    return (Path(model) / "adapter_config.json").is_file()


def _load_adapter(model: str, torch_dtype: Any, trust_remote_code: bool) -> Any:
    """The adapter's base model with the adapter merged in memory: generation runs as fast as
    with a full checkpoint, and nothing but the adapter is stored."""
    try:
        import peft
    except ImportError:
        raise MissingDependencyError("peft (to load the LoRA adapter)", "train") from None
    with_adapter = peft.AutoPeftModelForCausalLM.from_pretrained(
        model, dtype=torch_dtype, trust_remote_code=trust_remote_code
    )
    return with_adapter.merge_and_unload()


def free_memory(device: str) -> None:
    """Collect a dropped model now, and return its CUDA memory to the driver."""
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()

def load_tokenizer(model: str, *, chat_template: str | None = None, trust_remote_code: bool = False) -> Any:
    """The model's tokenizer, with ``chat_template`` (a jinja file) replacing its own template."""
    _, transformers = _import_transformers()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise SwegymError(f"cannot load the tokenizer of {model}: {exc}") from None
    if chat_template:
        path = Path(chat_template).expanduser()
        if not path.is_file():
            raise SwegymError(f"chat_template {chat_template}: no such file")
        tokenizer.chat_template = path.read_text()
    if not tokenizer.chat_template:
        raise SwegymError(f"{model} has no chat template: pass a jinja file with chat_template=PATH")
    return tokenizer


def template_takes_tools(tokenizer: Any) -> bool:
    template = tokenizer.chat_template
    text = template if isinstance(template, str) else " ".join(map(str, dict(template).values()))
    return "tools" in text


def prompt_ids(tokenizer: Any, messages: Sequence[Turn], tools: Sequence[ToolSpec] | None = None) -> list[int]:
    """The token ids of the chat-templated conversation, ending with the assistant's header."""
    kwargs: dict[str, Any] = {}
    if tools and template_takes_tools(tokenizer):
        kwargs["tools"] = [tool.to_openai() for tool in tools]
    text = tokenizer.apply_chat_template(
        to_openai_messages(messages, arguments="dict"), tokenize=False, add_generation_prompt=True, **kwargs
    )
    # the template already holds the special tokens (bos, role markers)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop string (excluded, as OpenAI servers do)."""
    cut = min((index for index in (text.find(s) for s in stop if s) if index >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


@attrs.define
class TransformersLLM(LLM):
    """A local checkpoint run in this process with transformers (CPU or one GPU)."""

    name: ClassVar[str] = "transformers"

    model: str = attrs.field(metadata={"help": "checkpoint directory (or Hub id, with the Hub reachable)"})
    device: Literal["auto", "cpu", "cuda"] = attrs.field(default="auto", metadata={"help": "auto: cuda when visible, else cpu"})
    dtype: Literal["auto", "float32", "bfloat16"] = attrs.field(
        default="auto", metadata={"help": "auto: bfloat16 on a GPU that has it, else float32"}
    )
    max_context: int | None = attrs.field(default=None, metadata={"help": "prompt + completion tokens (default: the model config's)"})
    chat_template: str | None = attrs.field(default=None, metadata={"help": "jinja file replacing the tokenizer's chat template"})
    trust_remote_code: bool = attrs.field(default=False, metadata={"help": "run modelling code shipped with the checkpoint"})
    _tokenizer: Any = attrs.field(default=None, init=False, repr=False, eq=False)
    _model: Any = attrs.field(default=None, init=False, repr=False, eq=False)
    _device: str = attrs.field(default="cpu", init=False, repr=False, eq=False)
    _context: int = attrs.field(default=0, init=False, repr=False, eq=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False, eq=False)

    def __getstate__(self) -> dict[str, Any]:  # a worker loads its own copy
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    # -- loading -----------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model, chat_template=self.chat_template, trust_remote_code=self.trust_remote_code)
        return self._tokenizer

    def load(self) -> Any:
        """Load the model (done by the first ``complete``); returns it."""
        with self._lock:
            if self._model is None:
                self._load()
        return self._model

    def _load(self) -> None:
        tokenizer = self.tokenizer
        model, device = load_causal_lm(self.model, device=self.device, dtype=self.dtype,
                                       trust_remote_code=self.trust_remote_code, what="transformers backend")
        self._device = device
        self._context = self.max_context or _context_of(model.config, tokenizer)
        self._model = model

    # -- the protocol --------------------------------------------------------------------

    def count_tokens(self, messages: Sequence[Turn]) -> int:
        return len(prompt_ids(self.tokenizer, messages))

    def complete(self, messages: Sequence[Turn], *, tools: Sequence[ToolSpec] | None = None, params: SamplingParams = SamplingParams()) -> Completion:
        torch, _ = _import_transformers()
        model = self.load()
        tokenizer = self.tokenizer
        ids = prompt_ids(tokenizer, messages, tools)
        if len(ids) >= self._context:
            raise ContextLimitError(f"the prompt has {len(ids)} tokens; {self.model} takes at most {self._context}")
        max_new = max(1, min(params.max_tokens, self._context - len(ids)))
        eos = _eos_ids(model, tokenizer)
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new,
            "eos_token_id": eos,
            "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0],
            "return_dict_in_generate": True,
            "output_logits": params.logprobs,
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=None)
        else:  # greedy; clear sampling defaults from the checkpoint's generation config
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=tokenizer)
        started = time.monotonic()
        with self._lock, torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            input_ids = torch.tensor([ids], device=self._device)
            output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
        new = output.sequences[0, len(ids):].tolist()
        text, stopped = _truncate_at_stop(tokenizer.decode(new, skip_special_tokens=True, clean_up_tokenization_spaces=False), params.stop)
        if stopped or (new and new[-1] in eos):
            finish = "stop"
        else:
            finish = "length" if len(new) >= max_new else "stop"
        logprobs = None
        if params.logprobs:
            logprobs = tuple(
                float(torch.log_softmax(step[0].float(), dim=-1)[token]) for step, token in zip(output.logits, new)
            )
        message = Turn(
            role="assistant",
            content=text,
            elapsed_s=round(time.monotonic() - started, 3),
            prompt_tokens=len(ids),
            completion_tokens=len(new),
        )
        return Completion(message=message, prompt_tokens=len(ids), completion_tokens=len(new), finish_reason=finish, logprobs=logprobs)

    def close(self) -> None:
        if self._model is not None:
            self._model = None
            free_memory(self._device)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    found = model.generation_config.eos_token_id
    ids = list(found) if isinstance(found, (list, tuple)) else ([found] if found is not None else [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    if not ids:
        raise SwegymError("the model has no end-of-sequence token (generation_config.eos_token_id)")
    return ids


def _context_of(config: Any, tokenizer: Any) -> int:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    if 0 < tokenizer.model_max_length < 10_000_000:  # tokenizers without a limit say 1e30
        return int(tokenizer.model_max_length)
    raise SwegymError("the model config does not say its context length: set max_context")


@hookimpl
def swegym_register_llms(register):
    register(TransformersLLM)
