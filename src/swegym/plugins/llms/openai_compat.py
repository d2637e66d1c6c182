"""The ``openai`` LLM backend: any OpenAI-compatible chat endpoint (vLLM, SGLang,
``transformers serve``, hosted APIs) through the ``openai`` client.

Also the conversion between swegym ``Turn`` objects and OpenAI chat messages, which the
local backends reuse to feed their chat templates.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs

from swegym import hookimpl
from swegym.core.errors import MissingDependencyError, SwegymError
from swegym.core.llm import LLM, Completion, ContextLimitError, SamplingParams, ToolSpec
from swegym.core.trajectory import ToolCall, Turn

# -- Turns <-> OpenAI messages ---------------------------------------------------------


def to_openai_messages(turns: Sequence[Turn], *, arguments: Literal["json", "dict"] = "json") -> list[dict[str, Any]]:
    """OpenAI chat messages for ``turns``.

    :param arguments: ``"json"`` encodes tool-call arguments as a JSON string (the wire
        format); ``"dict"`` keeps them a mapping (what Hugging Face chat templates expect).
    Tool calls without an id get one, and tool results without a ``tool_call_id`` answer
    the pending calls of the last assistant message in order.
    """
    messages: list[dict[str, Any]] = []
    pending: list[str] = []
    for index, turn in enumerate(turns):
        message: dict[str, Any] = {"role": turn.role, "content": turn.content}
        if turn.role == "assistant" and turn.tool_calls:
            calls = []
            pending = []
            for position, call in enumerate(turn.tool_calls):
                call_id = call.id or f"call_{index}_{position}"
                pending.append(call_id)
                calls.append({"id": call_id, "type": "function", "function": {"name": call.name, "arguments": _encode_arguments(call.arguments, arguments)}})
            message["tool_calls"] = calls
        elif turn.role == "tool":
            call_id = turn.tool_call_id or (pending.pop(0) if pending else "")
            if turn.tool_call_id in pending:
                pending.remove(turn.tool_call_id)
            message["tool_call_id"] = call_id
        messages.append(message)
    return messages


def _encode_arguments(values: Mapping[str, Any], mode: str) -> Any:
    # Always valid JSON, ``{"_raw": ...}`` included: vLLM's servers and chat templates
    # json-decode the arguments of earlier calls and reject the request otherwise.
    return json.dumps(dict(values)) if mode == "json" else dict(values)


def parse_arguments(text: str | None) -> dict[str, Any]:
    """Tool-call arguments from the model's JSON; malformed JSON is kept as ``{"_raw": text}``."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": text}


def from_openai_message(message: Any) -> Turn:
    """An assistant ``Turn`` from an OpenAI response message (object or dict)."""
    get = message.get if isinstance(message, Mapping) else lambda key, default=None: getattr(message, key, default)
    calls = []
    for call in get("tool_calls") or ():
        function = call["function"] if isinstance(call, Mapping) else call.function
        name = function["name"] if isinstance(function, Mapping) else function.name
        raw = function.get("arguments") if isinstance(function, Mapping) else function.arguments
        call_id = call.get("id", "") if isinstance(call, Mapping) else call.id
        arguments = dict(raw) if isinstance(raw, Mapping) else parse_arguments(raw)
        calls.append(ToolCall(name=name, arguments=arguments, id=call_id or ""))
    return Turn(role="assistant", content=get("content") or "", tool_calls=tuple(calls))


# -- errors ----------------------------------------------------------------------------

# What servers say when the prompt (plus max_tokens) does not fit: OpenAI, vLLM, SGLang, TGI.
_CONTEXT_PATTERNS = re.compile(
    r"context_length_exceeded|maximum context length|context length|context window|"
    r"longer than the maximum model length|maximum model length|prompt is too long|"
    r"too many tokens|input tokens exceed|reduce the length",
    re.IGNORECASE,
)


def is_context_error(text: str) -> bool:
    return bool(_CONTEXT_PATTERNS.search(text))


def _is_tools_rejection(text: str) -> bool:
    return "tool" in text.lower()


def _error_text(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    return f"{exc} {json.dumps(body) if isinstance(body, (dict, list)) else body or ''}"


# -- process-wide state ----------------------------------------------------------------

_state_lock = threading.Lock()
_semaphores: dict[str, threading.BoundedSemaphore] = {}
_native_support: dict[tuple[str, str], bool] = {}


def _semaphore(base_url: str, limit: int) -> threading.BoundedSemaphore | None:
    """One semaphore per endpoint for the whole process (the first backend sets its size)."""
    if limit <= 0:
        return None
    with _state_lock:
        if base_url not in _semaphores:
            _semaphores[base_url] = threading.BoundedSemaphore(limit)
        return _semaphores[base_url]


class _NoLimit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# -- the backend -----------------------------------------------------------------------


def _default_base_url() -> str:
    return os.environ.get("OPENAI_BASE_URL") or "http://127.0.0.1:8000/v1"



def openai_client(base_url: str, api_key: str | None, *, timeout_s: float, max_retries: int) -> Any:
    """An ``openai.OpenAI`` client; the key defaults to $OPENAI_API_KEY (read late: never listed as a default)."""
    try:
        import openai
    except ImportError:
        raise MissingDependencyError("the openai client", "openai") from None
    api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries)

@attrs.define
class OpenAICompatibleLLM(LLM):
    """A model behind an OpenAI-compatible chat-completions endpoint (vLLM, SGLang, transformers serve, APIs)."""

    name: ClassVar[str] = "openai"

    model: str = attrs.field(metadata={"help": "model name the server knows (vLLM: the path or --served-model-name)"})
    base_url: str = attrs.field(factory=_default_base_url, metadata={"help": "endpoint (else OPENAI_BASE_URL, else http://127.0.0.1:8000/v1)"})
    api_key: str | None = attrs.field(default=None, repr=False, metadata={"help": "API key (default: OPENAI_API_KEY, else EMPTY)"})
    timeout_s: float = attrs.field(default=600.0, metadata={"help": "seconds one request may take"})
    max_retries: int = attrs.field(default=3, metadata={"help": "retries with backoff on connection errors, 408/409/429 and 5xx"})
    max_concurrency: int = attrs.field(default=32, metadata={"help": "requests in flight per endpoint in this process; the first backend of an endpoint sets it (0: no limit)"})
    tool_calling: Literal["auto", "on", "off"] = attrs.field(
        default="auto",
        metadata={"help": "native tool calls: on, off (agents use the text form), auto: on unless the server rejects tools"},
    )
    _client: Any = attrs.field(default=None, init=False, repr=False, eq=False)

    def __getstate__(self) -> dict[str, Any]:  # the client stays behind; workers make their own
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self._client = None

    @property
    def native_tools(self) -> bool:  # type: ignore[override]
        """Whether ``complete(tools=...)`` returns native tool calls (``auto`` asks the server once)."""
        if self.tool_calling != "auto":
            return self.tool_calling == "on"
        key = (self.base_url, self.model)
        if key not in _native_support:
            self._probe_tools()
        return _native_support[key]

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = openai_client(self.base_url, self.api_key, timeout_s=self.timeout_s, max_retries=self.max_retries)
        return self._client

    def complete(self, messages: Sequence[Turn], *, tools: Sequence[ToolSpec] | None = None, params: SamplingParams = SamplingParams()) -> Completion:
        if self.tool_calling == "auto":
            send_tools = bool(tools) and _native_support.get((self.base_url, self.model), True)
        else:
            send_tools = bool(tools) and self.tool_calling == "on"
        request: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(messages),
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            request["stop"] = list(params.stop)
        if params.seed is not None:
            request["seed"] = params.seed
        if params.logprobs:
            request["logprobs"] = True
        if send_tools:
            request["tools"] = [tool.to_openai() for tool in tools or ()]
        started = time.monotonic()
        try:
            response = self._create(request)
        except _ToolsRejected:  # auto: remembered, and this request goes again without tools
            request.pop("tools")
            response = self._create(request)
        choice = response.choices[0]
        turn = from_openai_message(choice.message)
        usage = response.usage
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        turn = attrs.evolve(turn, elapsed_s=round(time.monotonic() - started, 3), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        logprobs = None
        if params.logprobs and getattr(choice, "logprobs", None) is not None and choice.logprobs.content is not None:
            logprobs = tuple(float(item.logprob) for item in choice.logprobs.content)
        return Completion(
            message=turn,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=choice.finish_reason or "stop",
            logprobs=logprobs,
        )

    def _create(self, request: dict[str, Any]) -> Any:
        import openai

        limit = _semaphore(self.base_url, self.max_concurrency) or _NoLimit()
        try:
            with limit:
                return self.client.chat.completions.create(**request)
        except openai.APIStatusError as exc:
            text = _error_text(exc)
            status = getattr(exc, "status_code", 0)
            if status in (400, 413, 422) and is_context_error(text):
                raise ContextLimitError(f"{self.model}: {exc}") from exc
            if status in (400, 422) and "tools" in request and _is_tools_rejection(text):
                if self.tool_calling == "on":
                    raise SwegymError(
                        f"{self.base_url} rejected tools ({exc}): start vLLM with --enable-auto-tool-choice "
                        "--tool-call-parser NAME (swegym serve does), or set tool_calling=off"
                    ) from exc
                with _state_lock:
                    _native_support[(self.base_url, self.model)] = False
                raise _ToolsRejected(text) from exc
            raise

    def _probe_tools(self) -> None:
        """Ask the server once whether it takes ``tools`` (a one-token request)."""
        probe = ToolSpec("probe", "A tool that does nothing.")
        request = {
            "model": self.model,
            "messages": [{"role": "user", "content": "Say OK."}],
            "max_tokens": 1,
            "temperature": 0.0,
            "tools": [probe.to_openai()],
        }
        try:
            self._create(request)
        except _ToolsRejected:
            return  # remembered by _create
        except ContextLimitError:
            pass
        with _state_lock:
            _native_support.setdefault((self.base_url, self.model), True)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class _ToolsRejected(Exception):
    """The server refused the ``tools`` field (no tool parser configured)."""


@hookimpl
def swegym_register_llms(register):
    register(OpenAICompatibleLLM)
