"""The ORM verifier plugin: its data, its three scoring backends, its commands, and a
verifier trained through the ``sft`` trainer that separates a toy set."""

from __future__ import annotations

import json
import math
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from swegym import Components, GradingResult, ToolCall, Trajectory, Turn, get_plugin_manager
from swegym.cli import App, build_cli
from swegym.core.errors import MissingDependencyError, OptionError, SwegymError
from swegym.core.rerank import read_scores
from swegym.core.store import TrajectoryStore
from swegym.plugins import orm_verifier
from swegym.plugins.orm_verifier.data import (
    SYSTEM_PROMPT,
    build_verifier_examples,
    verifier_messages,
    write_examples,
)
from swegym.plugins.orm_verifier.scoring import continuations, encode, yes_probability
from swegym.plugins.orm_verifier.verifier import OrmVerifier

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_tiny_llama  # noqa: E402

NAMES = ("add", "mul", "div", "sub", "pow", "mod", "neg", "inc", "dec", "abs", "max", "min", "avg", "sum")


def trajectory(instance_id: str, sample: int, status: str | None, *, issue: str = "Fix add: it is wrong.",
               steps: int = 1, patch: str = "--- a/x.py\n+++ b/x.py\n+fixed\n") -> Trajectory:
    turns = [Turn("system", "You fix bugs."), Turn("user", issue)]
    for step in range(steps):
        call = ToolCall("execute_bash", {"command": f"pytest -k case{step}"}, id=f"c{step}")
        turns += [Turn("assistant", f"Step {step}: run the tests.", tool_calls=(call,)),
                  Turn("tool", f"output of step {step}", tool_call_id=f"c{step}")]
    turns.append(Turn("assistant", "Done."))
    outcome = GradingResult(instance_id, status) if status else None
    return Trajectory(instance_id, sample, "openhands", "m", tuple(turns), patch=patch, outcome=outcome)


def keys(examples):
    return [(e["instance_id"], e["sample_index"]) for e in examples]


# -- data --------------------------------------------------------------------------------


def test_examples_hold_issue_turns_diff_and_targets_and_skip_ungraded():
    trajectories = [
        trajectory("a", 0, "resolved", issue="ISSUE-A", patch="+good line\n"),
        trajectory("a", 1, "unresolved", issue="ISSUE-A"),
        trajectory("b", 0, None),  # never graded
        trajectory("b", 1, "error"),  # the harness failed: nothing was judged
        trajectory("b", 2, "empty_patch", patch=""),
    ]
    examples, counts = build_verifier_examples(trajectories, balance=False)
    assert (counts.read, counts.skipped_ungraded, counts.yes, counts.no) == (5, 2, 1, 2)
    assert keys(examples) == [("a", 0), ("a", 1), ("b", 2)]
    assert [e["completion"] for e in examples] == [
        [{"role": "assistant", "content": f"<judgement>{label}</judgement>"}] for label in ("YES", "NO", "NO")
    ]
    system, user = examples[0]["prompt"]
    assert system["role"] == "system" and "<judgement>YES</judgement>" in system["content"]
    assert user["role"] == "user"
    text = user["content"]
    assert "<issue>\nISSUE-A\n</issue>" in text and "<diff>\n+good line\n</diff>" in text
    assert "[assistant]\nStep 0: run the tests.\n<function=execute_bash>\n<parameter=command>pytest -k case0</parameter>" in text
    assert "[tool execute_bash]\noutput of step 0" in text  # the result is named by its call's id
    assert "You fix bugs." not in text  # the agent's system prompt is not the judge's business
    assert text.index("<issue>") < text.index("<trajectory>") < text.index("<diff>")
    assert "(empty: the agent changed nothing)" in examples[2]["prompt"][1]["content"]


def _mixed():
    # instance a: 4 resolved, 1 not; b: 1 resolved, 2 not -> 5 YES, 3 NO
    return [trajectory("a", i, "resolved") for i in range(4)] + [trajectory("a", 4, "unresolved")] + [
        trajectory("b", 0, "resolved"), trajectory("b", 1, "unresolved"), trajectory("b", 2, "unresolved")]


def test_balance_downsamples_the_majority_reproducibly():
    examples, counts = build_verifier_examples(_mixed(), seed=3)
    assert (counts.yes, counts.no, counts.dropped_balance, counts.dropped_cap) == (3, 3, 2, 0)
    kept = set(keys(examples))
    assert {("a", 4), ("b", 1), ("b", 2)} <= kept  # the minority class is kept whole
    assert len(kept & {("a", 0), ("a", 1), ("a", 2), ("a", 3), ("b", 0)}) == 3
    assert keys(examples) == sorted(kept)
    again, _ = build_verifier_examples(list(reversed(_mixed())), seed=3)
    assert keys(again) == keys(examples)  # the input order does not matter
    chosen = {seed: tuple(keys(build_verifier_examples(_mixed(), seed=seed)[0])) for seed in range(8)}
    assert len(set(chosen.values())) > 1  # the seed does


def test_per_instance_cap_is_per_outcome_and_comes_before_balance():
    examples, counts = build_verifier_examples(_mixed(), per_instance_cap=1, seed=0)
    # a: 4 YES -> 1, 1 NO; b: 1 YES, 2 NO -> 1
    assert (counts.dropped_cap, counts.dropped_balance, counts.yes, counts.no) == (4, 0, 2, 2)
    assert [key[0] for key in keys(examples)] == ["a", "a", "b", "b"]
    unbalanced, counts = build_verifier_examples(_mixed(), per_instance_cap=2, balance=False)
    assert (counts.dropped_cap, counts.yes, counts.no) == (2, 3, 3) and len(unbalanced) == 6


def test_length_limit_in_characters_cuts_the_middle_of_the_trajectory():
    long = trajectory("a", 0, "resolved", issue="ISSUE " * 20, steps=60, patch="+the fix\n" * 10)
    whole, cut = verifier_messages(long)
    assert not cut
    size = sum(len(m["content"]) for m in whole) + len("<judgement>YES</judgement>")
    messages, cut = verifier_messages(long, max_length=size // 3)
    assert cut
    text = messages[1]["content"]
    assert sum(len(m["content"]) for m in messages) + len("<judgement>YES</judgement>") <= size // 3
    assert ("ISSUE " * 20).strip() in text and "+the fix\n" * 9 + "+the fix" in text  # whole
    assert "Step 0: run" in text and "Step 59: run" in text  # the head and the tail of the trajectory
    assert "Step 30: run" not in text
    assert "characters of the trajectory cut ...]" in text


def test_length_limit_in_tokens_and_when_issue_and_diff_alone_are_too_long(tiny_llama):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)

    def length(messages):
        conversation = [*messages, {"role": "assistant", "content": "<judgement>YES</judgement>"}]
        return len(tokenizer(tokenizer.apply_chat_template(conversation, tokenize=False), add_special_tokens=False)["input_ids"])

    long = trajectory("a", 0, "resolved", issue="Fix add: it is wrong.", steps=40, patch="+    return good\n" * 3)
    full = length(verifier_messages(long)[0])
    messages, cut = verifier_messages(long, max_length=full // 2, tokenizer=tokenizer)
    assert cut and full // 2 - 8 <= length(messages) <= full // 2
    text = messages[1]["content"]
    assert "<issue>\nFix add: it is wrong.\n</issue>" in text and "+    return good\n" * 2 + "+    return good\n</diff>" in text
    assert "tokens of the trajectory cut ...]" in text and "Step 0:" in text and "Step 39:" in text

    huge = trajectory("a", 0, "resolved", issue="the issue " * 200, steps=5, patch="+    return good\n" * 200)
    base = length(verifier_messages(trajectory("a", 0, "resolved", issue="", steps=0, patch=""))[0])
    messages, cut = verifier_messages(huge, max_length=base + 120, tokenizer=tokenizer)
    text = messages[1]["content"]
    assert cut and length(messages) <= base + 120
    assert "Step 0" not in text and text.count("of the trajectory cut ...]") == 3  # the trajectory, the issue, the diff
    assert "<issue>\nthe issue" in text and "+    return good\n</diff>" in text


def test_write_examples_is_the_sft_trainers_prompt_completion_jsonl(tmp_path):
    examples, _ = build_verifier_examples(_mixed())
    path = write_examples(examples, tmp_path / "d" / "verifier_data.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows == examples and all(set(row) >= {"prompt", "completion"} for row in rows)


# -- scoring -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    texts = [SYSTEM_PROMPT, "<judgement>YES</judgement> <judgement>NO</judgement> [assistant] [tool execute_bash]",
             "Did the agent resolve this issue? <issue> </issue> <trajectory> </trajectory> <diff> </diff>",
             "<function=execute_bash>\n<parameter=command>pytest -k case</parameter>\n</function>"]
    texts += [f"Fix {name}: it is wrong. tests pass tests fail +    return good +    return bad" for name in NAMES]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-orm"), texts=texts, vocab_size=600,
                            max_position_embeddings=1024, initializer_range=0.02)


def test_label_probability_and_continuations():
    assert yes_probability(math.log(0.3), math.log(0.1)) == pytest.approx(0.75)
    assert yes_probability(0.0, -1000.0) == pytest.approx(1.0) and yes_probability(-1000.0, 0.0) == pytest.approx(0.0)
    assert continuations([(5,), (6,)]) == ([()], [0, 0])  # single tokens: the prompt alone
    assert continuations([(5, 7), (6,)]) == ([(5,)], [0, 0])  # YES = two tokens, NO = one
    assert continuations([(5, 7, 8), (6, 9)]) == ([(5, 7), (6,)], [0, 1])


def test_transformers_scores_are_probabilities_and_the_same_batched(tiny_llama):
    trajectories = [trajectory(f"i{n}", n, "resolved", steps=n % 4, patch="+x\n" * n) for n in range(6)]
    one = OrmVerifier(model=str(tiny_llama), device="cpu", batch_size=1, max_length=1024)
    four = OrmVerifier(model=str(tiny_llama), device="cpu", batch_size=4, max_length=1024)
    alone, batched = one.score(trajectories), four.score(trajectories)
    assert all(0.0 < s < 1.0 for s in alone)
    assert max(abs(a - b) for a, b in zip(alone, batched)) < 1e-4
    assert len(set(round(s, 6) for s in alone)) > 1  # the prompts differ, so do the scores
    assert four.score(list(reversed(trajectories))) == pytest.approx(list(reversed(batched)), abs=1e-4)
    assert four.score([]) == []


def test_multi_token_labels_are_scored_by_their_full_sequence(tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM

    verifier = OrmVerifier(model=str(tiny_llama), device="cpu", batch_size=2, max_length=1024, yes_label="CORRECTLY", no_label="WRONGLY")
    trajectories = [trajectory("a", 0, "resolved"), trajectory("b", 0, "unresolved", steps=3)]
    prompts = verifier.prompts(trajectories)
    assert all(len(p.yes) > 1 and len(p.no) > 1 for p in prompts)  # labels the tokenizer never merged
    scores = verifier.score(trajectories)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()

    def logprob(prefix, label):  # one unpadded pass over the prompt and the whole label
        with torch.no_grad():
            logits = model(torch.tensor([list(prefix + label)])).logits[0]
        steps = torch.log_softmax(logits.float(), -1)
        return sum(float(steps[len(prefix) - 1 + i, token]) for i, token in enumerate(label))

    expected = [yes_probability(logprob(p.prefix, p.yes), logprob(p.prefix, p.no)) for p in prompts]
    assert scores == pytest.approx(expected, abs=1e-5)


def test_the_prompt_ends_with_the_assistant_header_and_judgement(tiny_llama):
    verifier = OrmVerifier(model=str(tiny_llama), device="cpu", max_length=1024)
    prompt = verifier.prompts([trajectory("a", 0, "resolved")])[0]
    text = verifier.tokenizer.decode(prompt.prefix + prompt.yes)
    assert text.endswith("<|im_start|>assistant\n<judgement>YES")
    messages = verifier_messages(trajectory("a", 0, "resolved"))[0]
    assert encode(verifier.tokenizer, messages, "YES", "NO") == prompt
    small = OrmVerifier(model=str(tiny_llama), device="cpu", max_length=64)
    with pytest.raises(SwegymError, match="judge prompt takes at least .* tokens, more than max_length=64"):
        small.score([trajectory("a", 0, "resolved")])


def test_options_are_validated_when_the_verifier_is_created(components):
    with pytest.raises(OptionError, match="needs option 'model'"):
        components["verifiers"].create("orm", {})
    with pytest.raises(OptionError, match="backend.*expected one of transformers, vllm, openai"):
        components["verifiers"].create("orm", {"model": "m", "backend": "tgi"})
    with pytest.raises(OptionError, match="yes_label and no_label are both 'YES'"):
        components["verifiers"].create("orm", {"model": "m", "no_label": "YES"})
    with pytest.raises(OptionError, match="without '<' or '>'"):
        components["verifiers"].create("orm", {"model": "m", "yes_label": "<YES>"})


def test_vllm_backend_without_vllm_is_one_clear_error(tiny_llama, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    verifier = OrmVerifier(model=str(tiny_llama), backend="vllm")
    with pytest.raises(MissingDependencyError, match=r"^vLLM is not installed: pip install 'swegym\[vllm\]'$"):
        verifier.score([trajectory("a", 0, "resolved")])


def test_vllm_backend_reads_prompt_logprobs_as_vllm_returns_them(tiny_llama, monkeypatch):
    """Against a stand-in for vLLM's offline API (the GPU path cannot run here): prompts as
    token ids, ``prompt_logprobs`` as one {token_id: Logprob} per position (None first)."""
    import importlib.machinery
    import types

    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    calls = []

    class LLM:
        def __init__(self, **kwargs):
            calls.append(("init", kwargs))

        def generate(self, prompts, params, use_tqdm=True):
            calls.append(("generate", params))
            outputs = []
            for prompt in prompts:
                ids = prompt["prompt_token_ids"]
                with torch.no_grad():
                    steps = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
                logprobs = [None] + [{ids[i]: types.SimpleNamespace(logprob=float(steps[i - 1, ids[i]]))} for i in range(1, len(ids))]
                outputs.append(types.SimpleNamespace(prompt_logprobs=logprobs))
            return outputs

    fake = types.ModuleType("vllm")
    fake.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    fake.LLM, fake.SamplingParams = LLM, lambda **kwargs: kwargs
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    trajectories = [trajectory(f"i{n}", n, "resolved", steps=n) for n in range(3)]
    on_vllm = OrmVerifier(model=str(tiny_llama), backend="vllm", max_length=1024).score(trajectories)
    local = OrmVerifier(model=str(tiny_llama), device="cpu", max_length=1024).score(trajectories)
    assert on_vllm == pytest.approx(local, abs=1e-4)
    assert calls[0][1]["model"] == str(tiny_llama)
    assert calls[1][1] == {"max_tokens": 1, "temperature": 0.0, "prompt_logprobs": 1}


# -- the openai backend against a fake completions server ---------------------------------


class _Completions(BaseHTTPRequestHandler):
    """/v1/completions with token-id prompts, echo and logprobs, answered by a real model."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        import torch

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if self.path != "/v1/completions" or not body.get("echo") or not body.get("logprobs"):
            return self._reply(400, {"object": "error", "message": "expected completions with echo and logprobs"})
        choices = []
        for index, ids in enumerate(body["prompt"]):
            with torch.no_grad():
                steps = torch.log_softmax(self.server.model(torch.tensor([ids])).logits[0].float(), -1)
            logprobs = [None] + [float(steps[i - 1, ids[i]]) for i in range(1, len(ids))]
            if self.server.without_logprobs:
                logprobs = None
            choices.append({"index": index, "text": "x", "finish_reason": "length",
                            "logprobs": {"tokens": ["t"] * (len(ids) + 1), "token_logprobs": None if logprobs is None else logprobs + [-0.1],
                                         "top_logprobs": None, "text_offset": [0] * (len(ids) + 1)}})
        self._reply(200, {"id": "c", "object": "text_completion", "created": 0, "model": body["model"],
                          "choices": list(reversed(choices)),  # any order: answers carry their index
                          "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def completions_server(tiny_llama):
    from transformers import AutoModelForCausalLM

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Completions)
    server.daemon_threads = True
    server.model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    server.requests, server.without_logprobs = [], False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield server
    server.shutdown()
    server.server_close()


def test_openai_backend_scores_as_the_local_model_does(tiny_llama, completions_server):
    trajectories = [trajectory(f"i{n}", n, "resolved", steps=n) for n in range(3)]
    remote = OrmVerifier(model=str(tiny_llama), backend="openai", base_url=completions_server.base_url,
                         model_name="verifier", batch_size=2, max_length=1024)
    local = OrmVerifier(model=str(tiny_llama), device="cpu", max_length=1024)
    assert remote.score(trajectories) == pytest.approx(local.score(trajectories), abs=1e-4)
    first, second = completions_server.requests
    assert (len(first["prompt"]), len(second["prompt"])) == (4, 2)  # two labels per trajectory, 2 per request
    prompt = remote.prompts(trajectories[:1])[0]
    assert first["prompt"][:2] == [list(prompt.prefix + prompt.yes), list(prompt.prefix + prompt.no)]
    assert (first["model"], first["echo"], first["logprobs"], first["max_tokens"]) == ("verifier", True, 1, 1)

    completions_server.without_logprobs = True
    with pytest.raises(SwegymError, match="no log probabilities for the prompt tokens"):
        remote.score(trajectories[:1])


# -- plugin and commands -------------------------------------------------------------------


def invoke(args, pm=None):
    pm = pm or get_plugin_manager()
    return CliRunner().invoke(build_cli(pm), args, obj=App(pm))


def test_registered_through_its_entry_point_with_both_commands():
    pm = get_plugin_manager()
    assert pm.get_plugin("orm_verifier") is orm_verifier
    assert Components(pm)["verifiers"].entry("orm").plugin == "orm_verifier"
    cli = build_cli(pm)
    assert "verify" in cli.commands
    assert "verifier" in cli.commands["train"].commands


def test_without_a_train_group_only_verify_is_added():
    cli = click.Group("swegym")
    orm_verifier.swegym_register_commands(cli=cli)
    assert sorted(cli.commands) == ["verify"]


def _run(path: Path, trajectories) -> Path:
    store = TrajectoryStore(path / "trajectories.jsonl")
    for item in trajectories:
        store.append(item)
    return path


def test_verify_writes_scores_rerank_reads_and_resumes(tiny_llama, tmp_path):
    run = _run(tmp_path / "run", [trajectory(f"i{n // 2}", n % 2, "resolved" if n % 2 else "unresolved") for n in range(4)])
    out = tmp_path / "scores.jsonl"
    args = ["verify", str(run), "-o", f"verifier.model={tiny_llama}", "-o", "verifier.device=cpu",
            "-o", "verifier.max_length=1024", "--out", str(out), "--batch-size", "3"]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert "scored 4 trajectories in" in result.output and "trajectories/s (batch size 3" in result.output
    assert f"scores: {out}" in result.output.replace("\n", "")
    scores = read_scores(out)
    assert set(scores) == {("i0", 0), ("i0", 1), ("i1", 0), ("i1", 1)} and all(0 < s < 1 for s in scores.values())

    _run(run, [trajectory("i2", 0, "resolved"), trajectory("i2", 1, "unresolved")])
    with open(out, "ab") as handle:
        handle.write(b'{"instance_id": "i9", "sam')  # a torn line from an interrupted run
    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert "scored 2 trajectories" in result.output and "4 already scored, skipped" in result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 6 and [json.loads(line)["instance_id"] for line in lines[4:]] == ["i2", "i2"]
    assert read_scores(out) == pytest.approx({**scores, **{k: v for k, v in read_scores(out).items() if k[0] == "i2"}})
    result = invoke(args)
    assert result.exit_code == 0 and "all 6 trajectories already scored" in result.output

    bad = invoke(["verify", str(run), "-o", "verifier.model=m", "-o", "verifier.backend=tgi", "--out", str(out)])
    assert bad.exit_code == 2 and "expected one of transformers, vllm, openai" in bad.output
    bad = invoke(["verify", str(run), "-o", "trainer.model=m", "--out", str(out)])
    assert bad.exit_code == 2 and "this command takes verifier.* options" in bad.output


# -- the key one: a trained verifier separates a toy set --------------------------------------


def toy(name: str, sample: int, resolved: bool) -> Trajectory:
    """Resolved trajectories see passing tests and return good; unresolved ones, failing and bad."""
    word = "pass" if resolved else "fail"
    patch = f"--- a/{name}.py\n+++ b/{name}.py\n" + ("+    return good\n" if resolved else "+    return bad\n") * 20
    turns = (Turn("system", "You fix bugs."), Turn("user", f"Fix {name}: it is wrong."),
             Turn("assistant", "I run the tests.", tool_calls=(ToolCall("execute_bash", {"command": f"pytest -k {name}"}, id="c"),)),
             Turn("tool", f"tests {word} " * 20, tool_call_id="c"), Turn("assistant", "Done."))
    status = "resolved" if resolved else "unresolved"
    return Trajectory(f"toy-{name}", sample, "openhands", "m", turns, patch=patch, outcome=GradingResult(f"toy-{name}", status))


def test_a_trained_verifier_ranks_every_resolved_trajectory_above_every_unresolved_one(tiny_llama, tmp_path):
    pytest.importorskip("trl")
    if "sft" not in Components(get_plugin_manager())["trainers"]:
        pytest.skip("the sft trainer is not installed")
    train = _run(tmp_path / "train", [toy(name, i, resolved) for name in NAMES[:10] for i, resolved in enumerate((True, False))]
                 + [trajectory("ungraded", 0, None)])
    held_out = _run(tmp_path / "held", [toy(name, i, resolved) for name in NAMES[10:] for i, resolved in enumerate((True, False))])
    out = tmp_path / "verifier"
    # full fine-tuning learns this in 50 small steps (LoRA on a 2-layer model needs many more)
    result = invoke(["train", "verifier", "--data", str(train), "--model", str(tiny_llama), "--out", str(out),
                     "-o", "data.max_tokens=1000", "-o", "trainer.lora=false", "-o", "trainer.max_steps=50",
                     "-o", "trainer.learning_rate=5e-3", "-o", "trainer.lr_scheduler=constant",
                     "-o", "trainer.global_batch_size=2", "-o", "trainer.per_device_batch_size=2", "-o", "trainer.save_steps=0"])
    assert result.exit_code == 0, result.output
    counts = json.loads((out / "verifier_data.json").read_text())
    assert (counts["yes"], counts["no"], counts["skipped_ungraded"]) == (10, 10, 1)
    assert "YES examples" in result.output and f"verifier: {out}" in result.output.replace("\n", "")

    scores_path = tmp_path / "scores.jsonl"
    result = invoke(["verify", str(held_out), "-o", f"verifier.model={out}", "-o", "verifier.device=cpu", "--out", str(scores_path)])
    assert result.exit_code == 0, result.output
    scores = read_scores(scores_path)
    resolved = [scores[(f"toy-{name}", 0)] for name in NAMES[10:]]
    unresolved = [scores[(f"toy-{name}", 1)] for name in NAMES[10:]]
    assert min(resolved) > max(unresolved), (resolved, unresolved)


# -- a real small model --------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_scores_real_trajectories_batched_as_alone():
    from smollm import smollm2_checkpoint

    from swegym.core.sft_data import read_trajectories

    model = smollm2_checkpoint()
    expert = Path(orm_verifier.__file__).parent.parent / "repos" / "demo" / "data" / "expert" / "openhands.jsonl"
    trajectories = list(read_trajectories(expert))[:2]
    verifier = OrmVerifier(model=str(model), device="cpu", batch_size=2, max_length=768)
    prompts = verifier.prompts(trajectories)
    assert all(len(p.yes) == 2 and len(p.no) == 1 for p in prompts)  # "YES" is two tokens in SmolLM2
    whole = OrmVerifier(model=str(model), device="cpu", max_length=8192).prompts(trajectories)
    for cut, full in zip(prompts, whole):  # cut to fit only when too long, and then close to the limit
        assert len(cut.prefix) == len(full.prefix) if len(full.prefix) < 766 else 700 < len(cut.prefix) < 768
    assert all(len(full.prefix) >= 766 for full in whole)  # both needed cutting
    batched = verifier.score(trajectories)
    assert all(0 < s < 1 for s in batched)
    assert verifier.score(trajectories[1:]) == pytest.approx(batched[1:], abs=1e-4)
