"""The ``sft`` trainer and ``swegym train``: real TRL training runs on a tiny Llama (seconds)
and one on SmolLM2-135M (marked slow)."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

import swegym
from swegym import Components, get_plugin_manager
from swegym.cli import App, build_cli
from swegym.core.errors import OptionError, UsageError
from swegym.core.sft_data import read_trajectories, sft_examples
from swegym.plugins.trainers import ACCELERATE_CONFIGS
from swegym.plugins.trainers.sft import CHATML_TEMPLATE, SFTTrainer, latest_checkpoint
from smollm import smollm2_checkpoint
from tiny_models import build_tiny_llama

pytest.importorskip("trl")

EXPERT = Path(swegym.__file__).parent / "plugins" / "repos" / "demo" / "data" / "expert" / "openhands.jsonl"

SYSTEM = "You are a software engineer. Fix the bug in the repository."
ISSUES = [f"add({a}, {b}) returns {a - b} instead of {a + b}." for a, b in ((1, 2), (3, 4), (5, 6), (7, 8))]
FIX = "def add(x, y):\n    return x + y"


def conversation(issue: str) -> list[dict]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": issue},
        {"role": "assistant", "content": "Let me read the code."},
        {"role": "user", "content": "EXECUTION RESULT of [execute_bash]:\ndef add(x, y):\n    return x - y"},
        {"role": "assistant", "content": FIX},
    ]


def messages_examples() -> list[dict]:
    # the metadata export-sft writes, which the trainer must drop
    return [
        {"messages": conversation(issue), "instance_id": f"demo__add-{n}", "sample_index": 0, "agent": "openhands",
         "model": "expert", "resolved": True}
        for n, issue in enumerate(ISSUES)
    ]


def verifier_examples() -> list[dict]:
    """Conversational prompt/completion examples, as the verifier trainer writes them."""
    examples = []
    for n, issue in enumerate(ISSUES):
        answer = "YES" if n % 2 == 0 else "NO"
        examples.append({
            "prompt": [{"role": "system", "content": "Judge the patch."}, {"role": "user", "content": f"{issue}\n{FIX}"}],
            "completion": [{"role": "assistant", "content": answer}],
            "instance_id": f"demo__add-{n}",
        })
    return examples


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    texts = [SYSTEM, FIX, *ISSUES, "Judge the patch. YES NO", "Let me read the code. EXECUTION RESULT of [execute_bash]:",
             "system user assistant"]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", texts=texts, vocab_size=400,
                            max_position_embeddings=1024, initializer_range=0.02)


@pytest.fixture(scope="module")
def components() -> Components:
    return Components(get_plugin_manager())


def sft(components: Components, **options) -> SFTTrainer:
    defaults = {"max_length": 256, "global_batch_size": 2, "learning_rate": 3e-3, "save_steps": 0}
    return components["trainers"].create("sft", {**defaults, **options})


def test_full_finetune_lowers_the_loss_and_saves_a_loadable_model(components, tiny_model, tmp_path):
    transformers = pytest.importorskip("transformers")
    data = write_jsonl(tmp_path / "sft.jsonl", messages_examples())
    steps = []
    result = sft(components, max_steps=12).train(
        data=data, model=str(tiny_model), out=tmp_path / "out", progress=lambda step, total, logs: steps.append((step, total))
    )
    assert result.steps == 12 and len(result.losses) == 12
    assert steps == [(n, 12) for n in range(1, 13)]
    assert sum(result.losses[-3:]) < 0.8 * sum(result.losses[:3]), result.losses
    # CPU: no bf16, gradient checkpointing (memory), narrow LM-head tiles, no packing; batch 2 = 2 accumulated examples
    assert result.metrics["bf16"] is False and result.metrics["gradient_checkpointing"] is True
    assert result.metrics["lm_head_tile"] == 4096
    assert result.metrics["packing"] is False and result.metrics["gradient_accumulation_steps"] == 2
    assert result.metrics["loss_on"] == "assistant" and result.metrics["chat_template"] == "model"
    saved = json.loads((tmp_path / "out" / "train_result.json").read_text())
    assert saved["steps"] == 12 and saved["losses"] == list(result.losses)

    tokenizer = transformers.AutoTokenizer.from_pretrained(result.loadable_model())
    model = transformers.AutoModelForCausalLM.from_pretrained(result.loadable_model())
    prompt = tokenizer.apply_chat_template(conversation(ISSUES[0])[:2], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    generated = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]


def labeled_text(tokenizer, input_ids, labels) -> str:
    return tokenizer.decode([token for token, label in zip(input_ids, labels) if label != -100])


def test_only_assistant_tokens_carry_labels(components, tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", messages_examples())
    run = sft(components).prepare(data, str(tiny_model), tmp_path / "out")
    trainer = run.trainer
    assert {"input_ids", "labels"} <= set(trainer.train_dataset.column_names)
    assert not {"instance_id", "agent", "resolved"} & set(trainer.train_dataset.column_names)  # metadata dropped
    examples = [trainer.train_dataset[0], trainer.train_dataset[2]]
    batch = trainer.data_collator(examples)
    tokenizer = trainer.processing_class
    expected = "".join(f"{m['content']}<|im_end|>" for m in conversation(ISSUES[0]) if m["role"] == "assistant")
    for row, example in zip(range(2), examples):
        input_ids, labels = batch["input_ids"][row].tolist(), batch["labels"][row].tolist()
        trained = labeled_text(tokenizer, input_ids, labels)
        assert trained == expected, trained
        untrained = tokenizer.decode([t for t, label in zip(input_ids, labels) if label == -100])
        assert SYSTEM in untrained and "EXECUTION RESULT" in untrained and FIX not in untrained
        # every labeled position is the token itself (shifted inside the model), padding is -100
        assert all(label in (-100, token) for token, label in zip(input_ids, labels))
        assert labels[len(example["input_ids"]):] == [-100] * (len(labels) - len(example["input_ids"]))


def test_prompt_completion_examples_train_on_the_completion_with_lora(components, tiny_model, tmp_path):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    data = write_jsonl(tmp_path / "verifier.jsonl", verifier_examples())
    trainer = components["trainers"].create(
        "sft", {"lora": True, "lora_r": 4, "max_steps": 6, "learning_rate": 1e-2, "global_batch_size": 2, "max_length": 256}
    )
    run = trainer.prepare(data, str(tiny_model), tmp_path / "out")
    first = run.trainer.train_dataset[0]
    assert labeled_text(run.trainer.processing_class, first["input_ids"], first["labels"]).strip() == "YES<|im_end|>"
    assert run.settings["loss_on"] == "completion"

    out = tmp_path / "out"
    result = trainer.train(data=data, model=str(tiny_model), out=out)
    assert result.steps == 6 and result.adapter and result.losses[-1] < result.losses[0]
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert not (out / "model.safetensors").exists()  # the adapter only, not a full copy
    assert not (out / "merged").exists() and result.loadable_model() == out  # merge_lora is off by default
    assert result.peak_rss_mb > 100 and 0 < result.disk_mb < 50
    saved = json.loads((out / "train_result.json").read_text())
    assert saved["peak_rss_mb"] == result.peak_rss_mb and saved["disk_mb"] == result.disk_mb
    # swegym's loader takes the adapter on its base model, as rollouts and the verifier do
    from swegym.plugins.llms.hf_transformers import load_causal_lm

    with_adapter, _ = load_causal_lm(str(out), device="cpu")
    base = transformers.AutoModelForCausalLM.from_pretrained(tiny_model)
    changed = [
        name for name, weight in with_adapter.state_dict().items()
        if "proj" in name and not weight.equal(base.state_dict()[name])
    ]
    assert changed, "the adapter changed no weight"
    # merged only when asked for: the same weights as a full checkpoint
    merged_out = tmp_path / "merged-run"
    merged_result = attrs.evolve(trainer, merge_lora=True).train(data=data, model=str(tiny_model), out=merged_out)
    assert merged_result.loadable_model() == merged_out / "merged"
    merged = transformers.AutoModelForCausalLM.from_pretrained(merged_out / "merged")
    in_memory = load_causal_lm(str(merged_out), device="cpu")[0].state_dict()
    assert all(torch.allclose(weight, in_memory[name]) for name, weight in merged.state_dict().items())
    tokenizer = transformers.AutoTokenizer.from_pretrained(merged_out / "merged")
    prompt = tokenizer.apply_chat_template(verifier_examples()[0]["prompt"], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert merged.generate(**prompt, max_new_tokens=3, do_sample=False).shape[1] > prompt["input_ids"].shape[1]


def test_resume_continues_from_the_newest_checkpoint(components, tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", messages_examples())
    out = tmp_path / "out"
    first = sft(components, max_steps=3, save_steps=3).train(data=data, model=str(tiny_model), out=out)
    assert first.resumed_from is None and latest_checkpoint(out) == out / "checkpoint-3"
    second = sft(components, max_steps=6, save_steps=3).train(data=data, model=str(tiny_model), out=out)
    assert second.resumed_from == str(out / "checkpoint-3")
    assert second.steps == 6 and latest_checkpoint(out) == out / "checkpoint-6"
    assert second.losses[:3] == first.losses  # the log history comes back with the checkpoint
    assert len(second.losses) == 6
    fresh = sft(components, max_steps=2, save_steps=0).train(data=data, model=str(tiny_model), out=out, resume=False)
    assert fresh.resumed_from is None and fresh.steps == 2


def native_examples() -> list[dict]:
    """Examples in export-sft's native form: OpenAI tool calls, tool messages and a tools list."""
    tools = [{"type": "function", "function": {
        "name": "execute_bash", "description": "Run a command.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    }}]
    call = {"id": "call_1", "type": "function", "function": {"name": "execute_bash", "arguments": '{"command": "cat add.py"}'}}
    return [
        {"messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": issue},
            {"role": "assistant", "content": "Let me read the code.", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "name": "execute_bash", "content": "def add(x, y):\n    return x - y"},
            {"role": "assistant", "content": FIX},
        ], "tools": tools, "instance_id": f"demo__add-{n}"}
        for n, issue in enumerate(ISSUES)
    ]


def test_native_tool_calls_from_a_dataset_directory_with_the_chatml_fallback(components, tiny_model, tmp_path):
    """A save_to_disk dataset (export-sft --format native --as hf) on a model whose template has
    no generation markers: the shipped ChatML template renders the tool calls, marks them as
    the assistant's, and is saved with the model."""
    transformers = pytest.importorskip("transformers")
    from swegym.core.sft_data import write_hf

    plain = tmp_path / "plain-model"
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    tokenizer.save_pretrained(plain)
    transformers.AutoModelForCausalLM.from_pretrained(tiny_model).save_pretrained(plain)
    write_hf(native_examples(), tmp_path / "hf")
    result = sft(components, max_steps=2, max_length=1024).train(data=tmp_path / "hf", model=str(plain), out=tmp_path / "out")
    assert result.steps == 2 and result.metrics["chat_template"] == "swegym chatml"

    saved = transformers.AutoTokenizer.from_pretrained(tmp_path / "out")
    assert saved.chat_template == CHATML_TEMPLATE.read_text()
    example = native_examples()[0]
    rendered = saved.apply_chat_template(
        example["messages"], tools=example["tools"], return_dict=True, return_assistant_tokens_mask=True
    )
    assert "execute_bash" in saved.decode(rendered["input_ids"][:200])  # the tools are in the system turn
    trained = labeled_text(saved, rendered["input_ids"], [1 if m else -100 for m in rendered["assistant_masks"]])
    assert trained == (
        'Let me read the code.\n<tool_call>\n{"name": "execute_bash", "arguments": {"command": "cat add.py"}}\n'
        f"</tool_call><|im_end|>{FIX}<|im_end|>"
    )


def test_option_errors(components, tiny_model, tmp_path):
    with pytest.raises(OptionError, match=r"option learning_rate='abc': expected a number"):
        components["trainers"].create("sft", {"learning_rate": "abc"})
    with pytest.raises(OptionError, match=r"has no option 'lr'; accepted: .*learning_rate"):
        components["trainers"].create("sft", {"lr": "1e-4"})
    with pytest.raises(OptionError, match=r"bf16='maybe'"):
        components["trainers"].create("sft", {"bf16": "maybe"})
    data = write_jsonl(tmp_path / "sft.jsonl", messages_examples())
    with pytest.raises(UsageError, match=r"not a multiple of per_device_batch_size=2 x 1 process"):
        sft(components, global_batch_size=3, per_device_batch_size=2).train(data=data, model=str(tiny_model), out=tmp_path / "o")
    with pytest.raises(UsageError, match=r"packing=true needs .*flash_attention_2"):
        sft(components, packing=True).train(data=data, model=str(tiny_model), out=tmp_path / "o")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(messages_examples()[0]) + "\n\n{not json\n")
    with pytest.raises(UsageError, match=rf"{bad}:3: not valid JSON"):
        sft(components).train(data=bad, model=str(tiny_model), out=tmp_path / "o")
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [messages_examples()[0], verifier_examples()[0]])
    with pytest.raises(UsageError, match=r"mixed.jsonl:2: a prompt-completion example in a file of messages"):
        sft(components).train(data=mixed, model=str(tiny_model), out=tmp_path / "o")
    other = write_jsonl(tmp_path / "other.jsonl", [{"text": "hello"}])
    with pytest.raises(UsageError, match=r"other.jsonl:1: an example needs 'messages'"):
        sft(components).train(data=other, model=str(tiny_model), out=tmp_path / "o")


def invoke(args: list[str]):
    pm = get_plugin_manager()
    return CliRunner().invoke(build_cli(pm), args, obj=App(pm))


def test_cli_train_sft(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", messages_examples())
    out = tmp_path / "out"
    options = ["-o", "trainer.max_steps=4", "-o", "trainer.global_batch_size=2", "-o", "trainer.max_length=256",
               "-o", "trainer.learning_rate=3e-3", "-o", "trainer.save_steps=0"]
    result = invoke(["train", "sft", "--data", str(data), "--model", str(tiny_model), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    assert "loss first -> last" in result.output and f"model: {out}" in result.output
    assert json.loads((out / "train_result.json").read_text())["steps"] == 4


def test_cli_errors_are_one_line(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", messages_examples())
    base = ["train", "sft", "--data", str(data), "--model", str(tiny_model), "--out", str(tmp_path / "out")]
    for options, message in [
        (["-o", "trainer.learning_rate=abc"], "trainer 'sft' option learning_rate='abc': expected a number"),
        (["-o", "trainer.lr=1"], "trainer 'sft' has no option 'lr'"),
        (["-o", "runtime.isolation=none"], "this command takes trainer.* options"),
        (["--trainer", "dpo"], "unknown trainer 'dpo'; available: grpo, sft"),
        (["--trainer", "grpo"], "trainer 'grpo' trains on live episodes, not on a dataset: use swegym train grpo"),
    ]:
        result = invoke(base + options)
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    result = invoke(["train", "sft", "--data", str(bad), "--model", str(tiny_model), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and f"{bad}:1: not valid JSON" in result.output, result.output


def test_cli_configs_prints_the_shipped_accelerate_configs():
    from accelerate.commands.config.config_args import load_config_from_file

    result = invoke(["train", "configs"])
    assert result.exit_code == 0, result.output
    for name, path in ACCELERATE_CONFIGS.items():
        assert path.is_file() and str(path) in result.output
        assert f"accelerate launch --config_file {path}" in result.output
        config = load_config_from_file(str(path))  # accelerate itself reads them
        assert config.mixed_precision == "bf16" and config.num_processes > 1
    assert "-m swegym train sft --data" in result.output
    assert load_config_from_file(str(ACCELERATE_CONFIGS["fsdp"])).fsdp_config["fsdp_reshard_after_forward"] == "FULL_SHARD"
    assert load_config_from_file(str(ACCELERATE_CONFIGS["deepspeed_zero3"])).deepspeed_config["zero_stage"] == 3


@pytest.mark.slow
def test_smollm2_sft_on_expert_trajectories(components, tmp_path):
    """SmolLM2-135M-Instruct, whose template has no generation markers, on three expert
    trajectories of the demo in the text tool-call form. A short system prompt, the start of
    the issue and the trainer's own truncation to 192 tokens keep the CPU steps short."""
    transformers = pytest.importorskip("transformers")
    model = smollm2_checkpoint()
    examples = list(sft_examples(read_trajectories(EXPERT), format="text"))[:3]
    for example in examples:
        system, user = example["messages"][:2]
        system["content"] = "You are a coding agent. Call one tool per message as <function=NAME>."
        user["content"] = user["content"][:300] + "\n</issue_description>"
    data = write_jsonl(tmp_path / "sft.jsonl", examples)
    steps = []
    trainer = components["trainers"].create(
        "sft", {"max_steps": 4, "global_batch_size": 1, "max_length": 192, "learning_rate": 1e-4, "save_steps": 0}
    )
    result = trainer.train(data=data, model=str(model), out=tmp_path / "out", progress=lambda *args: steps.append(args[0]))
    assert result.steps == 4 and steps == [1, 2, 3, 4]
    assert result.metrics["chat_template"] == "swegym chatml" and result.metrics["bf16"] is False
    assert result.losses[3] < result.losses[0], result.losses  # step 4 sees example 1 again
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "out")
    loaded = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.chat_template == CHATML_TEMPLATE.read_text()
    prompt = tokenizer.apply_chat_template(examples[0]["messages"][:2], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    generated = loaded.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert tokenizer.decode(generated[0, prompt["input_ids"].shape[1]:]).strip()


def test_an_adapter_is_served_by_vllm_with_lora_and_refused_by_in_process_vllm(tmp_path):
    from swegym.commands.serve import serve_command
    from swegym.core.errors import SwegymError
    from swegym.plugins.llms.vllm_engine import VLLMEngineLLM
    from swegym.plugins.orm_verifier.vllm_backend import VLLMScorer

    adapter = tmp_path / "sft"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/models/base", "r": 64}))
    command = serve_command(str(adapter))
    assert command[:3] == ["vllm", "serve", "/models/base"]
    assert command[command.index("--lora-modules") + 1] == f"{adapter}={adapter}"  # clients ask for the adapter's path
    assert "--enable-lora" in command and command[command.index("--max-lora-rank") + 1] == "64"
    assert serve_command("/models/full")[:3] == ["vllm", "serve", "/models/full"] and "--enable-lora" not in serve_command("/models/full")
    with pytest.raises(SwegymError, match="is a LoRA adapter: the in-process vLLM backend takes full checkpoints"):
        VLLMEngineLLM(model=str(adapter)).engine
    with pytest.raises(SwegymError, match="is a LoRA adapter"):
        VLLMScorer(model=str(adapter)).load()
