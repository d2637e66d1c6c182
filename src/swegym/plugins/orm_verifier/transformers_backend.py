"""The ``transformers`` scoring backend: the verifier in this process, on CPU or one GPU.

Prompts are batched with left padding (explicit position ids, so a padded row scores as it
would alone) and sorted by length to waste little on padding; only the last few positions'
logits are computed (``logits_to_keep``), never the whole vocabulary at every position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from swegym.core.errors import MissingDependencyError
from swegym.plugins.llms.hf_transformers import free_memory, load_causal_lm
from swegym.plugins.orm_verifier.scoring import LabelPrompt, continuations


def import_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError:
        raise MissingDependencyError("transformers (with torch)", "train") from None
    return torch, transformers


@attrs.define
class _Row:
    """One sequence to run: a prompt and a continuation, and the labels read off it."""

    prompt: int  #: index of the prompt in the call
    ids: list[int]
    run: int  #: tokens after the prompt's prefix
    labels: list[tuple[int, tuple[int, ...]]]  #: (0 for YES or 1 for NO, the label's ids)


@attrs.define
class TransformersScorer:
    model: str
    tokenizer: Any
    device: str = "auto"
    dtype: str = "auto"
    trust_remote_code: bool = False
    _model: Any = attrs.field(default=None, init=False)
    _device: str = attrs.field(default="cpu", init=False)

    def load(self) -> int | None:
        if self._model is None:
            model, device = load_causal_lm(self.model, device=self.device, dtype=self.dtype,
                                           trust_remote_code=self.trust_remote_code, what="orm verifier")
            self._model, self._device = model, device
        positions = getattr(self._model.config, "max_position_embeddings", None)
        return positions if isinstance(positions, int) and positions > 0 else None

    def label_logprobs(self, prompts: Sequence[LabelPrompt], batch_size: int) -> list[tuple[float, float]]:
        torch, _ = import_torch()
        self.load()
        rows: list[_Row] = []
        for index, prompt in enumerate(prompts):
            runs, used = continuations([prompt.yes, prompt.no])
            for position, run in enumerate(runs):
                labels = [(slot, label) for slot, label in enumerate((prompt.yes, prompt.no)) if used[slot] == position]
                rows.append(_Row(index, list(prompt.prefix + run), len(run), labels))
        rows.sort(key=lambda row: len(row.ids), reverse=True)
        results = [[0.0, 0.0] for _ in prompts]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id or 0
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                batch = rows[start : start + batch_size]
                width = max(len(row.ids) for row in batch)
                keep = max(row.run for row in batch) + 1
                input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for i, row in enumerate(batch):
                    input_ids[i, width - len(row.ids) :] = torch.tensor(row.ids)
                    mask[i, width - len(row.ids) :] = 1
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                logits = self._model(
                    input_ids=input_ids.to(self._device),
                    attention_mask=mask.to(self._device),
                    position_ids=positions.to(self._device),
                    logits_to_keep=keep,
                    use_cache=False,
                ).logits
                logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
                for i, row in enumerate(batch):
                    # logits_to_keep keeps the last `keep` positions; the prompt's last token
                    # (which predicts the label's first) is `row.run` before the row's end
                    first = keep - row.run - 1
                    for slot, label in row.labels:
                        results[row.prompt][slot] = float(sum(logprobs[i, first + j, token] for j, token in enumerate(label)))
        return [(yes, no) for yes, no in results]

    def close(self) -> None:
        if self._model is not None:
            self._model = None
            free_memory(self._device)
