"""The ``openai`` scoring backend: a verifier served behind an OpenAI-compatible server.

It uses the *completions* endpoint, not chat completions: the prompt is chat-templated here
(with the checkpoint's tokenizer) and sent as token ids followed by a label's tokens, with
``echo=True, logprobs=1, max_tokens=1``, so the server returns the log probability of every
prompt token, the label's included whatever their rank. Chat completions only return top-k
log probabilities of *generated* tokens, which cannot score a label of several tokens (nor a
label outside the top k). vLLM's ``vllm serve`` (and ``swegym serve``) answer such requests;
a server that does not return prompt log probabilities gets one clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from swegym.core.errors import SwegymError
from swegym.plugins.llms.openai_compat import openai_client
from swegym.plugins.orm_verifier.scoring import LabelPrompt


@attrs.define
class OpenAIScorer:
    model_name: str  #: the name the server knows the verifier by
    base_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    timeout_s: float = 600.0
    max_retries: int = 3
    _client: Any = attrs.field(default=None, init=False, repr=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = openai_client(self.base_url, self.api_key, timeout_s=self.timeout_s, max_retries=self.max_retries)
        return self._client

    def load(self) -> int | None:
        self.client  # noqa: B018 - fails early without the openai package
        return None

    def label_logprobs(self, prompts: Sequence[LabelPrompt], batch_size: int) -> list[tuple[float, float]]:
        import openai

        rows = [(list(p.prefix + label), len(label)) for p in prompts for label in (p.yes, p.no)]
        values: list[float] = []
        step = 2 * batch_size  # two rows per trajectory, one request per batch of trajectories
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            try:
                response = self.client.completions.create(
                    model=self.model_name,
                    prompt=[ids for ids, _ in chunk],
                    max_tokens=1,
                    temperature=0.0,
                    echo=True,
                    logprobs=1,
                )
            except openai.APIError as exc:
                raise SwegymError(f"verifier server {self.base_url}: {exc}") from None
            choices = sorted(response.choices, key=lambda choice: choice.index)
            if len(choices) != len(chunk):
                raise SwegymError(f"verifier server {self.base_url}: {len(choices)} answers to {len(chunk)} prompts")
            for (ids, label_length), choice in zip(chunk, choices):
                values.append(_label_logprob(choice, len(ids), label_length, self.base_url))
        return [(values[2 * i], values[2 * i + 1]) for i in range(len(prompts))]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _label_logprob(choice: Any, prompt_length: int, label_length: int, base_url: str) -> float:
    logprobs = getattr(choice, "logprobs", None)
    token_logprobs = getattr(logprobs, "token_logprobs", None) if logprobs is not None else None
    if not token_logprobs or len(token_logprobs) < prompt_length:
        raise SwegymError(
            f"verifier server {base_url} returned no log probabilities for the prompt tokens "
            "(completions with echo=true and logprobs): serve the verifier with vLLM (swegym serve)"
        )
    values = token_logprobs[prompt_length - label_length : prompt_length]
    if any(value is None for value in values):
        raise SwegymError(f"verifier server {base_url} returned no log probability for a label token")
    return float(sum(values))
