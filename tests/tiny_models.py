"""A tiny Llama checkpoint built from a config in about a second, for fast real-model tests.

A byte-level BPE tokenizer is trained with ``tokenizers`` on a few lines of text and a
2-layer ``LlamaForCausalLM`` is initialised from a seed and saved with it (keep Llama: Qwen2's
tokenizer class re-splits text differently). Training and scoring code runs on it for real.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

#: ChatML with TRL's ``{% generation %}`` markers around assistant content (assistant-only loss).
CHATML_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
    "{% if m.role == 'assistant' %}{% generation %}{{ m.content }}<|im_end|>{% endgeneration %}"
    "{% else %}{{ m.content }}<|im_end|>{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

DEFAULT_TEXTS = ("def add(x, y):\n    return x + y  # fix the bug in the repository",)


def build_tiny_llama(
    path: Path,
    *,
    texts: Sequence[str] = DEFAULT_TEXTS,
    vocab_size: int = 300,
    max_position_embeddings: int = 96,
    chat_template: str = CHATML_TEMPLATE,
    initializer_range: float = 0.5,
    seed: int = 0,
) -> Path:
    """Save a tiny Llama and its tokenizer at ``path`` and return ``path``.

    ``initializer_range=0.5`` spreads the logits so greedy text varies; pass 0.02 (the usual
    value) for a model that trains smoothly.
    """
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(list(texts) * 10, trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = chat_template
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=max_position_embeddings, eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id, bos_token_id=None, initializer_range=initializer_range,
    )
    path.mkdir(parents=True, exist_ok=True)
    transformers.LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path
