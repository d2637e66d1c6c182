"""Scoring: p(YES) / (p(YES) + p(NO)) right after ``<judgement>``, whatever the backend.

A label is scored by its *full* token sequence: log p(label) is the sum of the log
probabilities of its tokens, each given the prompt and the label's tokens before it. "YES"
is two tokens in SmolLM2's vocabulary and "Yes" one; both work. The label's tokens are read
off the tokenization of the prompt text followed by the label, so they are exactly the tokens
the model saw in training (where the completion ``<judgement>YES</judgement>`` follows the
same prompt). Backends only differ in how they get those log probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from swegym.core.errors import SwegymError
from swegym.plugins.orm_verifier.data import JUDGEMENT_CLOSE, JUDGEMENT_OPEN


@attrs.frozen
class LabelPrompt:
    """One trajectory to score: the prompt's token ids (ending with ``<judgement>``) and the
    token ids of the YES and NO labels that would follow it."""

    prefix: tuple[int, ...]
    yes: tuple[int, ...]
    no: tuple[int, ...]


class Scorer(Protocol):
    """What a backend does: log p(YES) and log p(NO) after each prompt."""

    def load(self) -> int | None:
        """Start the model; returns its context length in tokens when known."""

    def label_logprobs(self, prompts: Sequence[LabelPrompt], batch_size: int) -> list[tuple[float, float]]:
        """(log p(YES), log p(NO)) for each prompt, in order."""

    def close(self) -> None:
        """Release the model."""


def prompt_text(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The chat-templated prompt, the assistant's header and ``<judgement>``."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True) + JUDGEMENT_OPEN


def encode(tokenizer: Any, messages: Sequence[dict[str, str]], yes_label: str, no_label: str) -> LabelPrompt:
    """The prompt's token ids and each label's, as the tokenizer splits the whole text."""
    text = prompt_text(tokenizer, messages)
    prefix = _ids(tokenizer, text)
    labels = []
    for label in (yes_label, no_label):
        full = _ids(tokenizer, text + label)
        closed = _ids(tokenizer, text + label + JUDGEMENT_CLOSE)
        # a label that merges with "<judgement>" or "</judgement>" around it has no tokens
        # of its own: the model never saw them as such in training
        if full[: len(prefix)] != prefix or closed[: len(full)] != full or len(full) == len(prefix):
            raise SwegymError(
                f"the label {label!r} does not tokenize on its own after {JUDGEMENT_OPEN!r} with this "
                "tokenizer: choose another yes_label/no_label"
            )
        labels.append(tuple(full[len(prefix) :]))
    if labels[0] == labels[1]:
        raise SwegymError(f"yes_label {yes_label!r} and no_label {no_label!r} are the same tokens")
    return LabelPrompt(tuple(prefix), labels[0], labels[1])


def _ids(tokenizer: Any, text: str) -> list[int]:
    # the template already holds the special tokens (bos, role markers)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def yes_probability(yes_logprob: float, no_logprob: float) -> float:
    """p(YES) / (p(YES) + p(NO)) from the two log probabilities, without overflow."""
    difference = no_logprob - yes_logprob
    if difference > 0:
        return math.exp(-difference) / (1.0 + math.exp(-difference))
    return 1.0 / (1.0 + math.exp(difference))


def continuations(labels: Sequence[tuple[int, ...]]) -> tuple[list[tuple[int, ...]], list[int]]:
    """The token runs to append to the prompt so one forward pass predicts every label token.

    Label ``L`` needs the prompt followed by ``L[:-1]``; a run that begins another needs no
    forward pass of its own. Returns the runs and, per label, the index of the run it uses:
    single-token labels share one run (the prompt alone), and YES = two tokens with NO = one
    needs one run (the prompt and YES's first token).
    """
    needed = [label[:-1] for label in labels]
    runs: list[tuple[int, ...]] = []
    for need in sorted(set(needed), key=len, reverse=True):
        if not any(run[: len(need)] == need for run in runs):
            runs.append(need)
    return runs, [next(i for i, run in enumerate(runs) if run[: len(need)] == need) for need in needed]
