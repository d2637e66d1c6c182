"""The ``sft`` trainer: supervised fine-tuning with TRL's ``SFTTrainer``.

The defaults are the SWE-Gym paper's policy fine-tuning: learning rate 1e-4, 5 epochs, 32k
context, global batch 8 (per-device batch 1; gradient accumulation makes up the rest over the
processes of an ``accelerate launch``). ``messages`` examples train on the assistant's tokens
only, ``prompt``/``completion`` examples on the completion only.

Hardware-dependent settings default to ``auto``: bf16 only on CUDA (TRL turns it on by default,
and bf16 on a CPU without bf16 instructions makes each step about 13 times slower), padding-free
packing only with an attention implementation that supports it (FlashAttention).

Memory: gradient checkpointing is on (also on CPU: without it the demo's 2,560-token examples
keep every layer's activations, 11 GB for a 135M model), TRL's fused LM head scores the labels
in tiles without the full-vocabulary logits (narrow tiles on CPU, ``lm_head_tile``), and glibc's allocator is told to hand freed
tensors back to the system (see ``malloc_tuning``). LoRA runs save the adapter only; a merged
full model only with ``merge_lora=true``. ``train_result.json`` records the peak resident
memory and the disk the run left behind.

torch, transformers, trl and peft are imported when ``train`` runs, not with this module.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import orjson

from swegym.core.errors import MissingDependencyError, SwegymError, UsageError
from swegym.core.training import ProgressCallback, Trainer, TrainResult
from swegym.plugins.trainers.reporting import report_to

#: ChatML with ``{% generation %}`` markers, used when the model's template has none
CHATML_TEMPLATE = Path(__file__).with_name("chatml_training.jinja")
#: attention implementations that take padding-free (flattened) batches
PADDING_FREE_ATTENTION = (
    "flash_attention_2", "flash_attention_3", "kernels-community/flash-attn", "kernels-community/flash-attn3"
)
#: pad tokens to prefer over eos when a tokenizer has none
_PAD_CANDIDATES = ("<|endoftext|>", "<|pad|>", "<pad>", "[PAD]", "<|finetune_right_pad_id|>")
#: the columns a training example may have; everything else (instance_id, ...) is dropped
_EXAMPLE_COLUMNS = ("messages", "prompt", "completion", "tools")
_MESSAGE_LISTS = ("messages", "prompt", "completion")

Scheduler = Literal[
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
    "inverse_sqrt", "cosine_with_min_lr", "warmup_stable_decay",
]

_positive = attrs.validators.gt(0)
_non_negative = attrs.validators.ge(0)
_at_least_one = attrs.validators.ge(1)


def _option(default: Any, help: str, validator: Any = None) -> Any:
    """A trainer option: an attrs field with its ``swegym components`` help."""
    return attrs.field(default=default, validator=validator, metadata={"help": help})


def _import_training() -> tuple[Any, Any, Any, Any]:
    """(torch, transformers, datasets, trl), or the extra to install."""
    try:
        import torch
        import transformers
    except ImportError:
        raise MissingDependencyError("transformers (with torch)", "train") from None
    try:
        import datasets
    except ImportError:
        raise MissingDependencyError("datasets", "train") from None
    try:
        import trl
    except ImportError:
        raise MissingDependencyError("trl", "train") from None
    return torch, transformers, datasets, trl


def world_size() -> int:
    """The number of training processes (``accelerate launch`` and ``torchrun`` set WORLD_SIZE)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def latest_checkpoint(out: str | os.PathLike[str]) -> Path | None:
    """The ``checkpoint-N`` directory of ``out`` with the highest N, if any."""
    steps = []
    for path in Path(out).glob("checkpoint-*"):
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and path.is_dir() and (path / "trainer_state.json").is_file():
            steps.append((int(match.group(1)), path))
    return max(steps)[1] if steps else None


def tune_malloc() -> None:
    """Make glibc give freed memory back to the system (Linux, glibc only; else nothing).

    Training frees and reallocates activation-sized blocks at every step. With glibc's
    defaults each thread gets its own arena and the mmap threshold grows to 32 MB, so freed
    blocks stay in the process and its resident memory climbs to several times what is live.
    Two arenas and a fixed 1 MB threshold (large tensors are mmapped and unmapped when freed)
    keep it near the live size. Variables the user set (MALLOC_ARENA_MAX,
    MALLOC_MMAP_THRESHOLD_) win.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(m_arena_max, 2)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(m_mmap_threshold, MMAP_THRESHOLD)
        mallopt(m_trim_threshold, 2 * MMAP_THRESHOLD)


#: blocks from this size up are mmapped (and unmapped when freed) after ``tune_malloc``
MMAP_THRESHOLD = 1 << 20


def set_lm_head_tile(columns: int) -> int | None:
    """Set how many vocabulary columns TRL's fused LM head (``add_fused_lm_head``) projects at
    once; returns the value set, or None for a TRL without that tile.

    Without Triton (CPU), TRL scores every position of the batch against a tile of 32,768
    vocabulary columns and its backward keeps several fp32 copies of the tile: about 335 MB
    each at 2,560 tokens. 4,096 columns cut that eightfold at a small cost in speed.
    """
    from trl.trainer import utils

    if not hasattr(utils, "_CHUNKED_LOGPROB_CHUNK_SIZE"):
        return None
    utils._CHUNKED_LOGPROB_CHUNK_SIZE = columns  # read by the fused head at each call
    return columns


def peak_rss_mb() -> float:
    """The peak resident memory of this process and of its finished children, in MB."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # Linux reports kB


def disk_mb(path: str | os.PathLike[str]) -> float:
    """The size of the files under ``path``, in MB."""
    return round(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20, 1)


def _json_arguments(message: dict[str, Any]) -> dict[str, Any]:
    """Tool-call arguments as JSON strings (OpenAI's form): one Arrow type however they vary."""
    calls = message.get("tool_calls")
    if not calls:
        return message
    fixed = []
    for call in calls:
        function = dict(call.get("function") or {})
        if "arguments" in function and not isinstance(function["arguments"], str):
            function["arguments"] = json.dumps(function["arguments"])
        fixed.append({**call, "function": function} if "function" in call else call)
    return {**message, "tool_calls": fixed}


def _example_kind(example: Mapping[str, Any]) -> str | None:
    if "messages" in example:
        return "messages"
    if "prompt" in example and "completion" in example:
        return "prompt-completion"
    return None


def read_examples(path: Path) -> list[dict[str, Any]]:
    """The examples of a JSONL file, reduced to their training columns; errors name file:line."""
    rows: list[dict[str, Any]] = []
    kind = None
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise UsageError(f"{path}:{number}: not valid JSON ({exc})") from None
            if not isinstance(record, dict):
                raise UsageError(f"{path}:{number}: an example must be a JSON object")
            this = _example_kind(record)
            if this is None:
                raise UsageError(f"{path}:{number}: an example needs 'messages', or 'prompt' and 'completion'")
            if kind is not None and this != kind:
                raise UsageError(f"{path}:{number}: a {this} example in a file of {kind} examples")
            kind = this
            row = {key: record[key] for key in _EXAMPLE_COLUMNS if key in record}
            for key in _MESSAGE_LISTS:
                if isinstance(row.get(key), list):
                    if not all(isinstance(m, dict) and "role" in m for m in row[key]):
                        raise UsageError(f"{path}:{number}: {key!r} must be a list of messages with a 'role'")
                    row[key] = [_json_arguments(m) for m in row[key]]
            if "tools" in row and not isinstance(row["tools"], str):
                row["tools"] = json.dumps(row["tools"])  # TRL decodes it; Arrow keeps one type
            rows.append(row)
    if not rows:
        raise UsageError(f"{path}: no examples")
    return _uniform_messages(rows)


def _uniform_messages(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every message with the same keys (None where unused), so Arrow infers one schema."""
    keys: dict[str, None] = {}
    for row in rows:
        for name in _MESSAGE_LISTS:
            if isinstance(row.get(name), list):
                for message in row[name]:
                    keys.update(dict.fromkeys(message))
    for row in rows:
        for name in _MESSAGE_LISTS:
            if isinstance(row.get(name), list):
                row[name] = [{key: message.get(key) for key in keys} for message in row[name]]
    return rows


def load_examples(data: str | os.PathLike[str], datasets: Any) -> tuple[Any, str]:
    """``data`` (JSONL, or a ``save_to_disk`` directory) as a ``datasets.Dataset`` of training
    columns only, and its kind: ``messages`` or ``prompt-completion``."""
    path = Path(data)
    if path.is_dir():
        try:
            dataset = datasets.load_from_disk(str(path), keep_in_memory=True)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"{path}: not a dataset saved with save_to_disk ({exc})") from None
        if isinstance(dataset, datasets.DatasetDict):
            if "train" not in dataset:
                raise UsageError(f"{path}: a dataset dict without a 'train' split (splits: {', '.join(dataset)})")
            dataset = dataset["train"]
        kind = _example_kind(dict.fromkeys(dataset.column_names))
        if kind is None:
            raise UsageError(
                f"{path}: examples need a 'messages' column, or 'prompt' and 'completion' "
                f"(columns: {', '.join(dataset.column_names)})"
            )
        if len(dataset) == 0:
            raise UsageError(f"{path}: no examples")
        return dataset.select_columns([c for c in _EXAMPLE_COLUMNS if c in dataset.column_names]), kind
    if not path.is_file():
        raise UsageError(f"{path}: no such file or dataset directory")
    rows = read_examples(path)
    return datasets.Dataset.from_list(rows), _example_kind(rows[0]) or "messages"


def _has_generation_markers(template: Any) -> bool:
    text = template if isinstance(template, str) else " ".join(map(str, dict(template or {}).values()))
    return bool(re.search(r"\{%-?\s*generation\s*-?%\}", text))


def _progress_callback(transformers: Any, progress: ProgressCallback) -> Any:
    class Progress(transformers.TrainerCallback):
        """Reports each training logging step (not the end-of-run summary) to ``progress``."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs and state.is_world_process_zero:
                progress(state.global_step, state.max_steps, dict(logs))

    return Progress()


@attrs.define
class PreparedRun:
    """A training run ready to start."""

    trainer: Any  #: the configured ``trl.SFTTrainer``
    kind: str  #: ``messages`` (loss on assistant turns) or ``prompt-completion``
    settings: dict[str, Any]  #: the resolved ``auto`` options and other facts of the run


@attrs.frozen
class SFTTrainer(Trainer):
    """Supervised fine-tuning with TRL (full or LoRA), on CPU, one GPU or many via accelerate."""

    name: ClassVar[str] = "sft"

    learning_rate: float = _option(1e-4, "peak learning rate", _positive)
    epochs: float = _option(5.0, "passes over the data", _positive)
    max_steps: int = _option(-1, "stop after this many optimizer steps (-1: run the epochs)")
    max_length: int = _option(32768, "tokens per example; longer ones are cut at the end", _at_least_one)
    global_batch_size: int = _option(8, "examples per optimizer step over all processes", _at_least_one)
    per_device_batch_size: int = _option(1, "examples per forward pass on each process", _at_least_one)
    lora: bool = _option(False, "train a LoRA adapter instead of all weights")
    lora_r: int = _option(16, "LoRA rank", _at_least_one)
    lora_alpha: int = _option(32, "LoRA scaling alpha", _at_least_one)
    lora_dropout: float = _option(0.05, "LoRA dropout", _non_negative)
    lora_target_modules: str = _option("all-linear", "modules LoRA adapts: all-linear or a list (q_proj,v_proj)")
    merge_lora: bool = _option(False, "with lora, also save the merged full model in OUT/merged (loaders take the adapter)")
    bf16: bool | Literal["auto"] = _option("auto", "bf16 mixed precision (auto: where CUDA supports it, never on CPU)")
    gradient_checkpointing: bool | Literal["auto"] = _option("auto", "recompute activations to save memory (auto: on)")
    packing: bool | Literal["auto"] = _option("auto", "padding-free packing (auto: with a FlashAttention attn_implementation)")
    chat_template: str = _option("auto", "a jinja file, or auto: the model's if it has {% generation %} markers, else ChatML")
    logging_steps: int = _option(1, "log the loss every N steps", _at_least_one)
    save_steps: int = _option(200, "checkpoint every N steps (0: none; the model is saved at the end)")
    save_total_limit: int = _option(2, "checkpoints kept in OUT", _at_least_one)
    seed: int = _option(42, "random seed (data order, LoRA init)")
    warmup_ratio: float = _option(0.0, "fraction of the steps with linear warmup", [_non_negative, attrs.validators.lt(1)])
    lr_scheduler: Scheduler = _option("cosine", "learning-rate schedule")
    weight_decay: float = _option(0.0, "AdamW weight decay", _non_negative)
    device: Literal["auto", "cpu", "cuda"] = _option("auto", "auto (CUDA if available), cpu or cuda")
    attn_implementation: str | None = _option(None, "sdpa, eager, flash_attention_2, ... (default: transformers')")
    torch_dtype: Literal["auto", "float32", "bfloat16", "float16"] = _option(
        "auto", "weights' dtype (auto: the checkpoint's on CUDA, float32 on CPU)"
    )
    lm_head_tile: int = _option(
        4096, "vocabulary columns per tile of TRL's fused LM-head loss on CPU (TRL's default, 32768, holds several 335 MB tiles at 2,560 tokens)", _at_least_one
    )
    malloc_tuning: bool = _option(True, "make glibc return freed memory to the system (fewer arenas, mmap for large blocks)")
    report_to: str = _option(
        "auto", "trackers for TRL's report_to: none, tensorboard, wandb, trackio, mlflow, comma-separated (auto: $SWEGYM_REPORT_TO, else none)"
    )

    def train(
        self,
        data: str | os.PathLike[str],
        model: str,
        out: str | os.PathLike[str],
        *,
        resume: bool = True,
        progress: ProgressCallback | None = None,
    ) -> TrainResult:
        """Fine-tune ``model`` on ``data`` and save it (and ``train_result.json``) in ``out``."""
        started = time.monotonic()
        out = Path(out)
        if self.malloc_tuning:
            tune_malloc()
        run = self.prepare(data, model, out, progress=progress)
        trainer = run.trainer
        checkpoint = latest_checkpoint(out) if resume else None
        output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        trainer.save_model(str(out))  # gathers sharded (FSDP, ZeRO-3) weights; saves the tokenizer too

        if trainer.is_world_process_zero() and self.lora and self.merge_lora:
            self._merge_adapter(out, trainer.processing_class, run.settings["torch_dtype"])
        result = TrainResult(
            output_dir=out,
            model=model,
            steps=trainer.state.global_step,
            losses=[float(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry],
            runtime_s=round(time.monotonic() - started, 3),
            resumed_from=str(checkpoint) if checkpoint else None,
            adapter=self.lora,
            peak_rss_mb=peak_rss_mb(),
            disk_mb=disk_mb(out),
            metrics={
                **{key: value for key, value in output.metrics.items() if isinstance(value, (int, float))},
                **run.settings,
            },
        )
        if trainer.is_world_process_zero():
            (out / "train_result.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        trainer.accelerator.wait_for_everyone()
        return result

    def prepare(
        self,
        data: str | os.PathLike[str],
        model: str,
        out: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
    ) -> PreparedRun:
        """Everything up to the first step: the data read and tokenized, the model loaded, and
        TRL's trainer built (``train`` runs it; tests inspect its collated batches)."""
        torch, transformers, datasets, trl = _import_training()
        dataset, kind = load_examples(data, datasets)
        use_cuda = self._use_cuda(torch)
        tokenizer = self._tokenizer(model, transformers)
        template, template_source = self._chat_template(tokenizer, needs_markers=kind == "messages")
        tokenizer.chat_template = template
        eos_token = self._eos_token(tokenizer, template_source)
        self._set_pad_token(tokenizer)
        settings = self._settings(torch, use_cuda)
        if not use_cuda:
            settings["lm_head_tile"] = set_lm_head_tile(self.lm_head_tile)
        config = self._config(trl, Path(out), kind, settings, eos_token=eos_token, quiet=progress is not None)
        callbacks = [_progress_callback(transformers, progress)] if progress else []
        try:
            trainer = trl.SFTTrainer(
                model=model,
                args=config,
                train_dataset=dataset,
                processing_class=tokenizer,
                peft_config=self._peft_config() if self.lora else None,
                callbacks=callbacks,
            )
        except OSError as exc:
            raise SwegymError(f"cannot load the model {model}: {exc}") from None
        if progress is not None:
            trainer.remove_callback(transformers.PrinterCallback)  # progress replaces its log lines
        if len(trainer.train_dataset) == 0:
            raise UsageError(f"{data}: no example has a trained token within max_length={self.max_length} tokens")
        settings.update(
            examples=len(dataset),
            loss_on="assistant" if kind == "messages" else "completion",
            chat_template=template_source,
        )
        return PreparedRun(trainer=trainer, kind=kind, settings=settings)

    # -- settings -------------------------------------------------------------------------

    def _use_cuda(self, torch: Any) -> bool:
        available = torch.cuda.is_available()
        if self.device == "cuda" and not available:
            raise SwegymError("device=cuda, but torch sees no CUDA GPU (use device=cpu or device=auto)")
        return available if self.device == "auto" else self.device == "cuda"

    def _settings(self, torch: Any, use_cuda: bool) -> dict[str, Any]:
        """The resolved ``auto`` options and the gradient accumulation, as they will be used."""
        processes = world_size()
        per_step = self.per_device_batch_size * processes
        if self.global_batch_size % per_step:
            raise UsageError(
                f"global_batch_size={self.global_batch_size} is not a multiple of per_device_batch_size="
                f"{self.per_device_batch_size} x {processes} process(es)"
            )
        bf16 = use_cuda and torch.cuda.is_bf16_supported() if self.bf16 == "auto" else self.bf16
        packing = self.attn_implementation in PADDING_FREE_ATTENTION if self.packing == "auto" else self.packing
        if packing and self.attn_implementation not in PADDING_FREE_ATTENTION:
            raise UsageError(
                "packing=true needs an attention implementation that takes padding-free batches: "
                "set attn_implementation=flash_attention_2 (pip install flash-attn)"
            )
        dtype = ("auto" if use_cuda else "float32") if self.torch_dtype == "auto" else self.torch_dtype
        return {
            "device": "cuda" if use_cuda else "cpu",
            "processes": processes,
            "gradient_accumulation_steps": self.global_batch_size // per_step,
            "bf16": bool(bf16),
            "gradient_checkpointing": self.gradient_checkpointing in ("auto", True),
            "packing": bool(packing),
            "torch_dtype": dtype,
        }

    def _config(
        self, trl: Any, out: Path, kind: str, settings: Mapping[str, Any], *, eos_token: str | None, quiet: bool
    ) -> Any:
        model_init_kwargs: dict[str, Any] = {"dtype": settings["torch_dtype"], "device_map": None}
        if self.attn_implementation:
            model_init_kwargs["attn_implementation"] = self.attn_implementation
        try:
            return trl.SFTConfig(
                output_dir=str(out),
                learning_rate=self.learning_rate,
                num_train_epochs=self.epochs,
                max_steps=self.max_steps,
                per_device_train_batch_size=self.per_device_batch_size,
                gradient_accumulation_steps=settings["gradient_accumulation_steps"],
                max_length=self.max_length,
                packing=settings["packing"],
                packing_strategy="bfd",  # padding-free: FlashAttention keeps the packed examples apart
                assistant_only_loss=kind == "messages",
                completion_only_loss=True if kind == "prompt-completion" else None,
                eos_token=eos_token,
                bf16=settings["bf16"],
                fp16=False,
                use_cpu=settings["device"] == "cpu",
                gradient_checkpointing=settings["gradient_checkpointing"],
                model_init_kwargs=model_init_kwargs,
                logging_steps=self.logging_steps,
                save_strategy="steps" if self.save_steps > 0 else "no",
                save_steps=max(self.save_steps, 1),
                save_total_limit=self.save_total_limit,
                seed=self.seed,
                warmup_steps=self.warmup_ratio,  # a float below 1 is a fraction of the steps
                lr_scheduler_type=self.lr_scheduler,
                weight_decay=self.weight_decay,
                report_to=report_to(self.report_to, out) or "none",
                disable_tqdm=quiet,
            )
        except ValueError as exc:
            raise UsageError(f"trainer {self.name!r}: {exc}") from None

    def _peft_config(self) -> Any:
        try:
            import peft
        except ImportError:
            raise MissingDependencyError("peft", "train") from None
        targets = self.lora_target_modules.strip()
        return peft.LoraConfig(
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=targets if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()],
            task_type="CAUSAL_LM",
        )

    # -- tokenizer and chat template ------------------------------------------------------

    def _tokenizer(self, model: str, transformers: Any) -> Any:
        try:
            return transformers.AutoTokenizer.from_pretrained(model)
        except (OSError, ValueError) as exc:
            raise SwegymError(f"cannot load the tokenizer of {model}: {exc}") from None

    def _chat_template(self, tokenizer: Any, *, needs_markers: bool) -> tuple[str, str]:
        """The template to train with and where it came from.

        ``auto``: the model's own template if it marks the assistant's tokens with
        ``{% generation %}``; else TRL's training variant of it, for the templates TRL knows
        (Qwen2.5, Qwen3, Llama 3, ...); else swegym's ChatML.
        """
        if self.chat_template != "auto":
            path = Path(self.chat_template).expanduser()
            if not path.is_file():
                raise UsageError(f"chat_template={self.chat_template}: no such file")
            text = path.read_text()
            if needs_markers and not _has_generation_markers(text):
                raise UsageError(
                    f"chat_template={path} has no {{% generation %}} markers, which the loss on the "
                    "assistant's turns needs (see swegym/plugins/trainers/chatml_training.jinja)"
                )
            return text, str(path)
        own = tokenizer.chat_template
        if own and _has_generation_markers(own):
            return own if isinstance(own, str) else own["default"], "model"
        if own:
            from trl.chat_template_utils import get_training_chat_template

            try:
                training = get_training_chat_template(tokenizer)
            except (ValueError, TypeError, KeyError):
                training = None  # a template TRL has no training variant of
            if training:
                return training, "trl training variant of the model's"
        vocab = tokenizer.get_vocab()
        missing = [token for token in ("<|im_start|>", "<|im_end|>") if token not in vocab]
        if missing:
            raise SwegymError(
                f"the model's chat template has no {{% generation %}} markers and its tokenizer lacks "
                f"{', '.join(missing)} for swegym's ChatML: pass chat_template=PATH, a jinja template "
                "in the model's own format with the markers"
            )
        return CHATML_TEMPLATE.read_text(), "swegym chatml"

    @staticmethod
    def _eos_token(tokenizer: Any, template_source: str) -> str | None:
        """ChatML ends a turn with <|im_end|>: make it the eos token so that generation stops."""
        if template_source == "swegym chatml" and tokenizer.eos_token != "<|im_end|>":
            return "<|im_end|>"
        return None

    @staticmethod
    def _set_pad_token(tokenizer: Any) -> None:
        """A tokenizer without a pad token gets a known pad token of its vocabulary, else eos."""
        if tokenizer.pad_token is not None:
            return
        vocab = tokenizer.get_vocab()
        pad = next((t for t in _PAD_CANDIDATES if t in vocab and t != tokenizer.eos_token), tokenizer.eos_token)
        if pad is None:
            raise SwegymError("the tokenizer has neither a pad nor an eos token")
        tokenizer.pad_token = pad

    # -- LoRA merge -----------------------------------------------------------------------

    @staticmethod
    def _merge_adapter(out: Path, tokenizer: Any, dtype: str) -> None:
        """Base model + the adapter saved in ``out``, merged into ``out/merged`` (on CPU, so it
        works the same after a sharded multi-GPU run)."""
        import peft
        import torch

        model = peft.AutoPeftModelForCausalLM.from_pretrained(
            str(out), dtype="auto" if dtype == "auto" else getattr(torch, dtype), device_map=None
        )
        merged = model.merge_and_unload()
        # as TRL set them on the trained model: the tokenizer's pad, and its eos among the stop tokens
        for config in (merged.config, merged.generation_config):
            config.pad_token_id = tokenizer.pad_token_id
            eos = config.eos_token_id
            eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
            if tokenizer.eos_token_id not in eos:
                config.eos_token_id = [tokenizer.eos_token_id, *eos] if eos else tokenizer.eos_token_id
        merged.save_pretrained(str(out / "merged"))
        tokenizer.save_pretrained(str(out / "merged"))


__all__ = [
    "CHATML_TEMPLATE",
    "PreparedRun",
    "SFTTrainer",
    "latest_checkpoint",
    "load_examples",
    "read_examples",
    "world_size",
]
