"""``swegym serve``: start a vLLM OpenAI-compatible server for a policy or verifier checkpoint.

Rollouts then reach it with ``--llm openai -o llm.base_url=http://HOST:PORT/v1``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import click


def vllm_executable() -> str | None:
    """The ``vllm`` command of this environment (next to this Python first), or None."""
    beside = Path(sys.executable).parent / "vllm"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("vllm")


def serve_command(
    model: str,
    *,
    executable: str = "vllm",
    host: str = "127.0.0.1",
    port: int = 8000,
    tensor_parallel_size: int = 1,
    max_model_len: int | None = None,
    gpu_memory_utilization: float | None = None,
    served_model_name: str | None = None,
    tool_call_parser: str = "hermes",
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The ``vllm serve`` argument vector: tool calling parsed by the server, prefix caching on.

    A LoRA adapter directory (``adapter_config.json``) is served as its base model with the
    adapter loaded by vLLM (``--enable-lora``), under the name clients ask for: the adapter's
    path, or ``served_model_name``.
    """
    adapter = _adapter_base(model)
    command = [
        executable, "serve", adapter or model,
        "--host", host,
        "--port", str(port),
        "--tensor-parallel-size", str(tensor_parallel_size),
        "--enable-prefix-caching",  # agent turns share a long, growing prefix
    ]
    if tool_call_parser:
        command += ["--enable-auto-tool-choice", "--tool-call-parser", tool_call_parser]
    if max_model_len is not None:
        command += ["--max-model-len", str(max_model_len)]
    if gpu_memory_utilization is not None:
        command += ["--gpu-memory-utilization", str(gpu_memory_utilization)]
    if adapter:
        config = json.loads((Path(model) / "adapter_config.json").read_text())
        command += ["--enable-lora", "--max-lora-rank", str(config.get("r", 16)),
                    "--lora-modules", f"{served_model_name or model}={model}"]
    elif served_model_name:
        command += ["--served-model-name", served_model_name]
    return command + list(extra)


def _adapter_base(model: str) -> str | None:
    """The base model of a LoRA adapter directory, or None for a full checkpoint."""
    config = Path(model) / "adapter_config.json"
    if not config.is_file():
        return None
    base = json.loads(config.read_text()).get("base_model_name_or_path")
    if not base:
        raise click.ClickException(f"{config}: no base_model_name_or_path: cannot serve the adapter")
    return str(base)


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--model", "-m", required=True, help="Checkpoint directory (or Hub id) to serve.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for other machines).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--tensor-parallel-size", "-tp", default=1, show_default=True, type=click.IntRange(min=1), help="GPUs to split the model over.")
@click.option("--max-model-len", type=click.IntRange(min=1), help="Context length (default: the model config's).")
@click.option("--gpu-memory-utilization", type=click.FloatRange(0, 1, min_open=True), help="Share of GPU memory vLLM may take (vLLM's default: 0.9).")
@click.option("--served-model-name", help="Model name clients send (default: the --model value).")
@click.option(
    "--tool-call-parser", default="hermes", show_default=True,
    help="vLLM tool-call parser for native tool calls (hermes suits Qwen2.5; '' to turn tool calling off).",
)
@click.option("--dry-run", is_flag=True, help="Print the vllm command instead of running it.")
@click.argument("vllm_args", nargs=-1, type=click.UNPROCESSED)
def serve(
    model: str,
    host: str,
    port: int,
    tensor_parallel_size: int,
    max_model_len: int | None,
    gpu_memory_utilization: float | None,
    served_model_name: str | None,
    tool_call_parser: str,
    dry_run: bool,
    vllm_args: tuple[str, ...],
) -> None:
    """Serve a checkpoint with vLLM's OpenAI-compatible server (needs a GPU and swegym[vllm]).

    Further arguments (after --) go to `vllm serve` unchanged. Use the server with
    --llm openai -o llm.base_url=http://HOST:PORT/v1 -o llm.model=NAME.
    """
    executable = vllm_executable()
    command = serve_command(
        model,
        executable=executable or "vllm",
        host=host,
        port=port,
        tensor_parallel_size=tensor_parallel_size,
        max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization,
        served_model_name=served_model_name,
        tool_call_parser=tool_call_parser,
        extra=vllm_args,
    )
    if dry_run:
        click.echo(shlex.join(command))
        return
    if executable is None:
        raise click.ClickException(
            f"vLLM is not installed: pip install 'swegym[vllm]' (needs a GPU); to serve on CPU for testing: transformers serve {model}"
        )
    click.echo(f"exec: {shlex.join(command)}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(command[0], command)


COMMANDS = [serve]
