"""LLM backends: Turn <-> OpenAI message conversion, the ``openai`` backend against a real
``transformers serve`` and a scripted endpoint, the ``transformers`` backend on a tiny Llama
and on SmolLM2, the ``vllm`` backend's errors, and ``swegym serve``."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from swegym import Components, ToolCall, Turn, get_plugin_manager
from swegym.core.errors import MissingDependencyError, OptionError, SwegymError
from swegym.core.llm import ContextLimitError, SamplingParams, ToolSpec
from swegym.plugins.llms import hf_transformers, openai_compat, vllm_engine
from swegym.plugins.llms.openai_compat import (
    OpenAICompatibleLLM,
    from_openai_message,
    parse_arguments,
    to_openai_messages,
)

sys.path.insert(0, str(Path(__file__).parent))
from smollm import smollm2_checkpoint  # noqa: E402
from tiny_models import build_tiny_llama  # noqa: E402

CONVERSATION = (
    Turn(role="system", content="You fix bugs."),
    Turn(role="user", content="Fix it."),
    Turn(
        role="assistant",
        content="Looking.",
        tool_calls=(
            ToolCall(name="execute_bash", arguments={"command": "ls"}, id="call_a"),
            ToolCall(name="str_replace_editor", arguments={"command": "view", "path": "/repo/x.py"}, id="call_b"),
        ),
    ),
    Turn(role="tool", content="x.py", tool_call_id="call_a", name="execute_bash"),
    Turn(role="tool", content="1 print()", tool_call_id="call_b", name="str_replace_editor"),
)


# -- conversion --------------------------------------------------------------------------


def test_turns_to_openai_messages():
    messages = to_openai_messages(CONVERSATION)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool"]
    assert messages[0] == {"role": "system", "content": "You fix bugs."}
    calls = messages[2]["tool_calls"]
    assert calls[0] == {"id": "call_a", "type": "function", "function": {"name": "execute_bash", "arguments": '{"command": "ls"}'}}
    assert json.loads(calls[1]["function"]["arguments"]) == {"command": "view", "path": "/repo/x.py"}
    assert messages[3] == {"role": "tool", "content": "x.py", "tool_call_id": "call_a"}
    assert messages[4]["tool_call_id"] == "call_b"
    # chat templates take the arguments as a mapping
    assert to_openai_messages(CONVERSATION, arguments="dict")[2]["tool_calls"][1]["function"]["arguments"] == {"command": "view", "path": "/repo/x.py"}


def test_calls_without_ids_get_ids_that_their_results_answer():
    turns = [
        Turn(role="assistant", tool_calls=(ToolCall(name="a"), ToolCall(name="b"))),
        Turn(role="tool", content="A"),
        Turn(role="tool", content="B"),
    ]
    messages = to_openai_messages(turns)
    ids = [call["id"] for call in messages[0]["tool_calls"]]
    assert len(set(ids)) == 2 and all(ids)
    assert [messages[1]["tool_call_id"], messages[2]["tool_call_id"]] == ids


def test_openai_message_to_turn_parses_arguments():
    turn = from_openai_message(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "execute_bash", "arguments": '{"command": "pytest -x"}'}},
                {"id": "c2", "type": "function", "function": {"name": "finish", "arguments": "{'oops': 1"}},
                {"id": "c3", "type": "function", "function": {"name": "finish", "arguments": ""}},
            ],
        }
    )
    assert turn.role == "assistant" and turn.content == ""
    assert turn.tool_calls[0] == ToolCall(name="execute_bash", arguments={"command": "pytest -x"}, id="c1")
    assert turn.tool_calls[1].arguments == {"_raw": "{'oops': 1"}
    assert turn.tool_calls[2].arguments == {}
    assert parse_arguments('["not", "an", "object"]') == {"_raw": '["not", "an", "object"]'}
    # what did not parse goes back to the server as valid JSON
    again = to_openai_messages([turn])[0]["tool_calls"][1]["function"]["arguments"]
    assert json.loads(again) == {"_raw": "{'oops': 1"}


def test_round_trip_through_openai_format():
    wire = to_openai_messages(CONVERSATION)[2]
    back = from_openai_message(wire)
    assert back.content == CONVERSATION[2].content
    assert back.tool_calls == CONVERSATION[2].tool_calls


# -- registration and options ----------------------------------------------------------


def test_backends_register_with_options():
    pm = get_plugin_manager(entry_points=False, extra=[openai_compat, hf_transformers, vllm_engine])
    llms = Components(pm)["llms"]
    assert {"openai", "transformers", "vllm"} <= set(llms.names())
    llm = llms.create("openai", {"model": "m", "base_url": "http://127.0.0.1:9/v1", "max_concurrency": "4", "tool_calling": "off"})
    assert (llm.model, llm.max_concurrency, llm.native_tools) == ("m", 4, False)
    assert llms.create("transformers", {"model": "/x", "max_context": "128"}).max_context == 128
    with pytest.raises(OptionError, match="device"):
        llms.create("transformers", {"model": "/x", "device": "tpu"})
    with pytest.raises(OptionError, match="gpu_memory_utilization"):
        llms.create("vllm", {"model": "/x", "gpu_memory_utilization": "1.5"})


def test_importing_backends_stays_light():
    code = (
        "import sys; import swegym.plugins.llms.openai_compat, swegym.plugins.llms.hf_transformers, "
        "swegym.plugins.llms.vllm_engine, swegym.commands.serve; "
        "print(sorted(m for m in ('openai', 'torch', 'transformers', 'vllm') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- openai backend against a scripted endpoint ----------------------------------------


class _Endpoint(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions the way vLLM's server does, including its errors."""

    server: _EndpointServer

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        state = self.server
        with state.lock:
            state.requests.append(body)
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
        try:
            time.sleep(state.delay)
            if state.reject_tools and "tools" in body:
                self._reply(400, _error('"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'))
            elif "x" * 50 in body["messages"][-1]["content"]:
                self._reply(400, _error("This model's maximum context length is 32 tokens. However, you requested 90 tokens (80 in the messages, 10 in the completion)."))
            else:
                self._reply(200, _answer(body))
        finally:
            with state.lock:
                state.in_flight -= 1

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _EndpointServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, reject_tools=False, delay=0.0):
        super().__init__(("127.0.0.1", 0), _Endpoint)
        self.reject_tools = reject_tools
        self.delay = delay
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.in_flight = 0
        self.peak = 0

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def _error(message):
    return {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400}


def _answer(body):
    message = {"role": "assistant", "content": "I will look."}
    if "tools" in body:
        message["tool_calls"] = [{"id": "call_1", "type": "function", "function": {"name": "execute_bash", "arguments": '{"command": "ls -la"}'}}]
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if "tools" in body else "stop"}
    if body.get("logprobs"):
        choice["logprobs"] = {"content": [{"token": "I", "logprob": -0.5, "bytes": None, "top_logprobs": []}, {"token": " will", "logprob": -0.25, "bytes": None, "top_logprobs": []}]}
    return {
        "id": "c", "object": "chat.completion", "created": 0, "model": body["model"], "choices": [choice],
        "usage": {"prompt_tokens": 17, "completion_tokens": 5, "total_tokens": 22},
    }


@pytest.fixture
def endpoint_factory():
    servers = []

    def start(**kwargs):
        server = _EndpointServer(**kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


BASH = ToolSpec("execute_bash", "Run a command.", {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]})


def test_openai_native_tool_calls_usage_and_logprobs(endpoint_factory):
    server = endpoint_factory()
    llm = OpenAICompatibleLLM(model="policy", base_url=server.base_url, max_retries=0)
    assert llm.native_tools is True  # auto: the server took the probe's tools
    params = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=64, stop=("</x>",), seed=3, logprobs=True)
    completion = llm.complete(CONVERSATION, tools=[BASH], params=params)
    assert completion.message.tool_calls == (ToolCall(name="execute_bash", arguments={"command": "ls -la"}, id="call_1"),)
    assert (completion.prompt_tokens, completion.completion_tokens) == (17, 5)
    assert (completion.message.prompt_tokens, completion.message.completion_tokens) == (17, 5)
    assert completion.finish_reason == "tool_calls"
    assert completion.logprobs == (-0.5, -0.25)
    sent = server.requests[-1]
    assert sent["tools"] == [BASH.to_openai()]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"], sent["stop"], sent["seed"]) == (0.7, 0.9, 64, ["</x>"], 3)
    assert sent["messages"] == to_openai_messages(CONVERSATION)


def test_openai_falls_back_to_text_when_the_server_rejects_tools(endpoint_factory):
    server = endpoint_factory(reject_tools=True)
    llm = OpenAICompatibleLLM(model="policy", base_url=server.base_url, max_retries=0)
    completion = llm.complete(CONVERSATION[:2], tools=[BASH])
    assert completion.message.content == "I will look." and completion.message.tool_calls == ()
    assert ["tools" in r for r in server.requests] == [True, False]
    assert llm.native_tools is False  # remembered: no probe, no second try
    llm.complete(CONVERSATION[:2], tools=[BASH])
    assert ["tools" in r for r in server.requests] == [True, False, False]
    # a new backend for the same endpoint knows it too
    assert OpenAICompatibleLLM(model="policy", base_url=server.base_url).native_tools is False


def test_openai_tool_calling_on_fails_where_tools_are_rejected(endpoint_factory):
    server = endpoint_factory(reject_tools=True)
    llm = OpenAICompatibleLLM(model="policy", base_url=server.base_url, max_retries=0, tool_calling="on")
    assert llm.native_tools is True
    with pytest.raises(SwegymError, match="rejected tools.*--enable-auto-tool-choice.*tool_calling=off"):
        llm.complete(CONVERSATION[:2], tools=[BASH])
    assert len(server.requests) == 1  # no silent retry without tools


def test_openai_context_overflow_is_a_context_limit_error(endpoint_factory):
    server = endpoint_factory()
    llm = OpenAICompatibleLLM(model="policy", base_url=server.base_url, max_retries=0, tool_calling="off")
    with pytest.raises(ContextLimitError, match="maximum context length"):
        llm.complete([Turn(role="user", content="x" * 60)])


def test_openai_max_concurrency_bounds_requests_per_endpoint(endpoint_factory):
    server = endpoint_factory(delay=0.2)
    backends = [OpenAICompatibleLLM(model="p", base_url=server.base_url, max_concurrency=2, tool_calling="off") for _ in range(2)]
    threads = [threading.Thread(target=backends[i % 2].complete, args=([Turn(role="user", content="hi")],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.requests) == 6
    assert server.peak == 2  # two backends, one endpoint, one process-wide limit


def test_openai_backend_pickles_without_its_client(endpoint_factory):
    server = endpoint_factory()
    llm = OpenAICompatibleLLM(model="p", base_url=server.base_url, api_key="secret", tool_calling="off")
    llm.complete([Turn(role="user", content="hi")])
    copy = pickle.loads(pickle.dumps(llm))
    assert copy == llm and "secret" not in repr(copy)
    assert copy.complete([Turn(role="user", content="hi")]).message.content == "I will look."
    llm.close()


# -- transformers backend on a tiny Llama ------------------------------------------------

TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained on a few lines (about a second)."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), chat_template=TEMPLATE)


def test_transformers_greedy_stop_logprobs_and_counts(tiny_llama):
    llm = hf_transformers.TransformersLLM(model=str(tiny_llama), device="cpu")
    messages = [Turn(role="user", content="fix the bug")]
    greedy = SamplingParams(max_tokens=12, logprobs=True)
    first, second = llm.complete(messages, params=greedy), llm.complete(messages, params=greedy)
    assert first.message.content == second.message.content
    assert first.logprobs == second.logprobs and len(first.logprobs) == first.completion_tokens
    assert all(lp <= 0 for lp in first.logprobs)
    text = llm.tokenizer.apply_chat_template([{"role": "user", "content": "fix the bug"}], tokenize=False, add_generation_prompt=True)
    assert llm.count_tokens(messages) == len(llm.tokenizer(text, add_special_tokens=False)["input_ids"]) == first.prompt_tokens
    assert 1 <= first.completion_tokens <= 12 and first.finish_reason in ("stop", "length")

    visible = first.message.content.strip()
    assert len(visible) >= 2, f"the tiny model said too little to test stop strings: {first.message.content!r}"
    stop = visible[len(visible) // 2 :][:2]
    stopped = llm.complete(messages, params=SamplingParams(max_tokens=12, stop=(stop,)))
    assert stopped.message.content == first.message.content[: first.message.content.find(stop)]
    assert stopped.finish_reason == "stop"

    sampled = [llm.complete(messages, params=SamplingParams(temperature=1.0, max_tokens=8, seed=7)).message.content for _ in range(2)]
    assert sampled[0] == sampled[1]  # same seed, same sample


def test_transformers_context_limit_tools_and_close(tiny_llama):
    llm = hf_transformers.TransformersLLM(model=str(tiny_llama), device="cpu", max_context=40)
    with pytest.raises(ContextLimitError, match="at most 40"):
        llm.complete([Turn(role="user", content="def add(x, y): return x + y " * 10)])
    short = [Turn(role="user", content="fix")]
    completion = llm.complete(short, params=SamplingParams(max_tokens=100))
    assert completion.prompt_tokens + completion.completion_tokens <= 40  # clamped to the context
    # a template that takes tools gets them; the prompt grows by their schema
    with_tools = hf_transformers.prompt_ids(llm.tokenizer, short, [BASH])
    assert len(with_tools) > len(hf_transformers.prompt_ids(llm.tokenizer, short))
    assert "execute_bash" in llm.tokenizer.decode(with_tools)
    assert llm.native_tools is False
    copy = pickle.loads(pickle.dumps(llm))
    assert copy == llm and copy._model is None
    llm.close()
    assert llm._model is None
    assert llm.complete(short, params=SamplingParams(max_tokens=2)).completion_tokens >= 1  # loads again


def test_transformers_chat_template_file_and_missing_model(tiny_llama, tmp_path):
    template = tmp_path / "plain.jinja"
    template.write_text("{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}")
    llm = hf_transformers.TransformersLLM(model=str(tiny_llama), device="cpu", chat_template=str(template))
    ids = hf_transformers.prompt_ids(llm.tokenizer, [Turn(role="user", content="hi")])
    assert llm.tokenizer.decode(ids) == "[user] hi\n[assistant] "
    with pytest.raises(SwegymError, match="no such file"):
        hf_transformers.TransformersLLM(model=str(tiny_llama), chat_template=str(tmp_path / "missing.jinja")).count_tokens([])
    with pytest.raises(SwegymError, match="cannot load"):
        hf_transformers.TransformersLLM(model=str(tmp_path / "no-model")).complete([Turn(role="user", content="hi")])


# -- SmolLM2: a real chat model ----------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2() -> Path:
    return smollm2_checkpoint()


@pytest.mark.slow
def test_transformers_smollm2_greedy_is_deterministic(smollm2):
    llm = hf_transformers.TransformersLLM(model=str(smollm2), device="cpu")
    messages = [Turn(role="user", content="What is 2+2? Answer with one number.")]
    params = SamplingParams(max_tokens=8)
    first, second = llm.complete(messages, params=params), llm.complete(messages, params=params)
    assert first.message.content == second.message.content
    assert "4" in first.message.content
    assert first.prompt_tokens == llm.count_tokens(messages) > 10
    with pytest.raises(ContextLimitError, match="8192"):
        llm.complete([Turn(role="user", content="hello " * 9000)])
    llm.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def transformers_server(smollm2, tmp_path_factory):
    """``transformers serve`` on a loopback port with the SmolLM2 checkpoint, offline."""
    pytest.importorskip("fastapi", reason="pip install 'transformers[serving]'")
    pytest.importorskip("uvicorn", reason="pip install 'transformers[serving]'")
    executable = Path(sys.executable).parent / "transformers"
    if not executable.exists():
        pytest.skip("the transformers command is not installed")
    port = _free_port()
    hub_cache = tmp_path_factory.mktemp("hf-hub")  # /v1/models lists this (empty) cache
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_cache)}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(executable), "serve", str(smollm2), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 150
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not answer in 150 s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.mark.slow
def test_openai_backend_against_transformers_serve(transformers_server, smollm2):
    llm = OpenAICompatibleLLM(model=str(smollm2), base_url=transformers_server, tool_calling="off", max_retries=0)
    completion = llm.complete([Turn(role="user", content="Say hello.")], params=SamplingParams(max_tokens=6))
    assert completion.message.role == "assistant" and completion.message.content.strip()
    assert completion.prompt_tokens > 5
    assert 1 <= completion.completion_tokens <= 6
    assert completion.finish_reason in ("stop", "length")
    assert completion.message.elapsed_s > 0
    llm.close()


# -- vllm backend: what it says where it cannot run ----------------------------------------


def test_vllm_backend_without_vllm():
    if vllm_engine.importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    llm = vllm_engine.VLLMEngineLLM(model="/models/policy")
    with pytest.raises(MissingDependencyError, match=r"vLLM is not installed: pip install 'swegym\[vllm\]'"):
        llm.complete([Turn(role="user", content="hi")])
    with pytest.raises(MissingDependencyError):
        llm.complete_batch([[Turn(role="user", content="hi")]] * 2)


def test_vllm_backend_without_a_gpu(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible")
    (tmp_path / "vllm").mkdir()  # an importable vllm, so the GPU check is what fails
    (tmp_path / "vllm" / "__init__.py").write_text("raise RuntimeError('must not be imported without a GPU')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    llm = vllm_engine.VLLMEngineLLM(model="/models/policy")
    with pytest.raises(SwegymError, match="vLLM needs a CUDA GPU.*--llm transformers.*--llm openai") as caught:
        llm.complete([Turn(role="user", content="hi")])
    assert not isinstance(caught.value, MissingDependencyError)


# -- swegym serve ------------------------------------------------------------------------


@pytest.fixture
def cli():
    from swegym.cli import build_cli
    from swegym.commands.serve import serve

    group = build_cli(get_plugin_manager())
    group.add_command(serve)
    return group


def test_serve_dry_run_prints_the_vllm_command(cli):
    result = CliRunner().invoke(
        cli,
        ["serve", "--model", "/models/Qwen 7B", "--port", "8123", "--tensor-parallel-size", "4", "--max-model-len", "32768",
         "--gpu-memory-utilization", "0.85", "--served-model-name", "policy", "--dry-run", "--", "--max-num-seqs", "64"],
    )
    assert result.exit_code == 0, result.output
    line = result.output.strip()
    assert "\n" not in line
    words = shlex.split(line)
    assert Path(words[0]).name == "vllm" and words[1:3] == ["serve", "/models/Qwen 7B"]
    flags = " ".join(words[3:])
    for expected in (
        "--host 127.0.0.1", "--port 8123", "--tensor-parallel-size 4", "--enable-prefix-caching",
        "--enable-auto-tool-choice --tool-call-parser hermes", "--max-model-len 32768",
        "--gpu-memory-utilization 0.85", "--served-model-name policy",
    ):
        assert expected in flags
    assert words[-2:] == ["--max-num-seqs", "64"]


def test_serve_without_vllm_is_one_line(cli):
    from swegym.commands.serve import vllm_executable

    if vllm_executable() is not None:
        pytest.skip("vLLM is installed here")
    result = CliRunner().invoke(cli, ["serve", "--model", "/models/policy"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "pip install 'swegym[vllm]'" in result.output and "transformers serve /models/policy" in result.output
