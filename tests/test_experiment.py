"""Experiments: TOML stages composed into swegym command lines, a manifest, resume at the stage
reached; pooling runs; the shipped demo experiment's command lines are valid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from swegym import get_plugin_manager
from swegym.cli import build_cli
from swegym.core.errors import UsageError
from swegym.core.experiment_plan import Experiment, command_line
from swegym.core.experiment_runner import ExperimentRunner, StageFailed
from swegym.core.pooling import pool_runs
from swegym.core.store import TrajectoryStore
from swegym.experiments import bundled
from swegym.plugins.repos.demo import DATA

EXPERT = DATA / "expert"


def plan(text: str) -> Experiment:
    import tomllib

    return Experiment.from_dict(tomllib.loads(text), source="exp.toml")


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[stage]]\ntype = "rollot"\ndataset = "demo"', "unknown stage type 'rollot'"),
        ('[[stage]]\ntype = "rollout"\ndataset = "demo"\nagnet = "x"', "a rollout stage has no key 'agnet'"),
        ('[[stage]]\ntype = "filter"\nfilters = ["resolved"]', "a filter stage needs 'input'"),
        ('[[stage]]\ntype = "filter"\ninput = "${nope}"\nfilters = ["cap"]', "${nope} names no earlier stage"),
        ('[[stage]]\nname = "a"\ntype = "pool"\nruns = ["x"]\n[[stage]]\nname = "a"\ntype = "pool"\nruns = ["y"]', "two stages are named 'a'"),
        ('[[stage]]\ntype = "rollout"\ndataset = "demo"\nmodel = "${policy}"', "sets no policy"),
        ('[experiment]\nnmae = "x"\n[[stage]]\ntype = "pool"\nruns = ["x"]', "[experiment] has no key 'nmae'"),
        ('[experiment]\nname = "x"', "no [[stage]] to run"),
        ('[[stage]]\nname = "it"\ntype = "iterate"\ntimes = 0\n[[stage.stages]]\ntype = "pool"\nruns = ["x"]', "times must be a positive integer"),
    ],
)
def test_bad_experiment_files_are_one_clear_error(text, message):
    with pytest.raises(UsageError) as error:
        experiment = plan(text)
        ExperimentRunner(experiment, "/nonexistent-never-created", invoke=lambda argv: None)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_stage_command_lines():
    experiment = plan(
        """
        [[stage]]
        name = "r"
        type = "rollout"
        dataset = "demo"
        instances = ["a", "b"]
        first_greedy = true
        samples = 4
        options = { "agent.max_turns" = 3, "llm.device" = "cpu" }
        [[stage]]
        name = "f"
        type = "filter"
        input = "${r}"
        filters = ["resolved", "cap"]
        options = { "cap.n" = 2 }
        [[stage]]
        name = "x"
        type = "export"
        input = "${f}"
        only_resolved = false
        """
    )
    r, f, x = experiment.stages
    out = Path("/e")
    assert command_line(r, r.params, out / "r") == [
        "rollout", "--dataset", "demo", "--instance-ids", "a", "--instance-ids", "b", "--first-greedy", "--samples", "4",
        "--option", "agent.max_turns=3", "--option", "llm.device=cpu", "--out", "/e/r",
    ]
    assert command_line(f, {**f.params, "input": "/e/r"}, out / "f") == [
        "filter", "--filter", "resolved", "--filter", "cap", "--option", "cap.n=2", "--out", "/e/f/trajectories.jsonl", "/e/r",
    ]
    assert command_line(x, {**x.params, "input": "/e/f/trajectories.jsonl"}, out / "x") == [
        "export-sft", "--all", "--out", "/e/x/sft.jsonl", "/e/f/trajectories.jsonl",
    ]


def test_a_command_stage_runs_any_plugins_command_with_references(tmp_path):
    experiment = plan(
        """
        [experiment]
        vars = { who = "world" }
        [[stage]]
        name = "r"
        type = "rollout"
        dataset = "demo"
        [[stage]]
        name = "custom"
        type = "command"
        args = ["my-plugin-command", "${r}", "--greeting", "hello ${who}", 3]
        """
    )
    recorder = []
    ExperimentRunner(experiment, tmp_path, invoke=recorder.append).run()
    assert recorder[1] == ["my-plugin-command", str(tmp_path / "r"), "--greeting", "hello world", "3"]


# -- the runner: iterations, ${policy}, resume ----------------------------------------------

SELF_IMPROVE = """
[experiment]
name = "si"
policy = "${base}"
vars = { base = "/models/base" }

[[stage]]
name = "loop"
type = "iterate"
times = 2
  [[stage.stages]]
  name = "roll"
  type = "rollout"
  dataset = "demo"
  model = "${policy}"
  [[stage.stages]]
  name = "data"
  type = "export"
  input = "${roll}"
  [[stage.stages]]
  name = "train"
  type = "train"
  data = "${data}"
  model = "${policy}"
  options = { "trainer.lora" = true }

[[stage]]
name = "final"
type = "rollout"
dataset = "demo"
model = "${policy}"
"""


class Recorder:
    """Runs nothing: records each command line and leaves what a train command leaves."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, argv: list[str]) -> None:
        self.calls.append(argv)
        out = Path(argv[argv.index("--out") + 1])
        if self.fail_on and self.fail_on in str(out):
            raise UsageError(f"boom in {out.relative_to(out.parents[1]) if out.suffix else out.name}")
        if argv[:2] == ["train", "sft"]:
            (out / "merged").mkdir(parents=True, exist_ok=True)
            (out / "train_result.json").write_text(json.dumps({"adapter": True, "steps": 1}))


def test_iterations_unroll_and_each_train_stage_becomes_the_policy(tmp_path):
    experiment = plan(SELF_IMPROVE)
    assert [s.name for s in experiment.stages] == [
        "loop.1.roll", "loop.1.data", "loop.1.train", "loop.2.roll", "loop.2.data", "loop.2.train", "final",
    ]
    recorder = Recorder()
    ExperimentRunner(experiment, tmp_path, invoke=recorder).run()
    models = [argv[argv.index("--model") + 1] for argv in recorder.calls if "--model" in argv]
    first, second = tmp_path / "loop.1.train" / "merged", tmp_path / "loop.2.train" / "merged"
    # rollout 1 and train 1 start from the base; iteration 2 from iteration 1's merged LoRA model
    assert models == ["/models/base", "/models/base", str(first), str(first), str(second)]
    # ${data} inside iteration 2 is iteration 2's export
    train2 = recorder.calls[5]
    assert train2[train2.index("--data") + 1] == str(tmp_path / "loop.2.data" / "sft.jsonl")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["vars"] == {"base": "/models/base"}
    assert [s["status"] for s in manifest["stages"]] == ["done"] * 7


def test_a_failed_stage_resumes_there_and_a_changed_stage_reruns_what_follows(tmp_path):
    experiment = plan(SELF_IMPROVE)
    with pytest.raises(StageFailed, match="stage loop.2.data failed: boom in loop.2.data/sft.jsonl"):
        ExperimentRunner(experiment, tmp_path, invoke=Recorder(fail_on="loop.2.data")).run()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["status"] for s in manifest["stages"]] == ["done", "done", "done", "done", "failed"]
    assert manifest["stages"][-1]["error"] == "boom in loop.2.data/sft.jsonl"

    recorder = Recorder()
    skipped = []
    ExperimentRunner(experiment, tmp_path, invoke=recorder, announce=lambda s, a, state: state == "skipped" and skipped.append(s.name)).run()
    assert skipped == ["loop.1.roll", "loop.1.data", "loop.1.train", "loop.2.roll"]
    assert [argv[0] for argv in recorder.calls] == ["export-sft", "train", "rollout"]

    again = Recorder()
    ExperimentRunner(experiment, tmp_path, invoke=again).run()
    assert again.calls == []  # everything done with the same command lines

    stale = tmp_path / "loop.2.data" / "stale-output"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("from the old input")
    changed = plan(SELF_IMPROVE.replace('"trainer.lora" = true', '"trainer.lora" = false'))
    rerun = Recorder()
    ExperimentRunner(changed, tmp_path, invoke=rerun).run()
    # loop.1.train changed: it and everything after it run again, from empty directories;
    # the stages before it do not
    assert [argv[:2] for argv in rerun.calls][0] == ["train", "sft"] and len(rerun.calls) == 5
    assert not stale.exists()


def test_an_interrupted_stage_keeps_its_partial_work(tmp_path):
    experiment = plan(SELF_IMPROVE)
    with pytest.raises(StageFailed):
        ExperimentRunner(experiment, tmp_path, invoke=Recorder(fail_on="loop.1.train")).run()
    partial = tmp_path / "loop.1.train" / "checkpoint-1"
    partial.mkdir(parents=True)
    ExperimentRunner(experiment, tmp_path, invoke=Recorder()).run()
    assert partial.exists()  # the trainer resumes from it


def test_another_experiment_in_the_same_directory_is_refused(tmp_path):
    ExperimentRunner(plan(SELF_IMPROVE), tmp_path, invoke=Recorder()).run()
    other = plan(SELF_IMPROVE.replace('name = "si"', 'name = "other"'))
    with pytest.raises(UsageError, match="holds experiment 'si', not 'other'"):
        ExperimentRunner(other, tmp_path, invoke=Recorder())


# -- pooling --------------------------------------------------------------------------------


def _write_run(path: Path, records: list[tuple[str, int, bool]]) -> Path:
    path.mkdir(parents=True)
    with open(path / "trajectories.jsonl", "w") as handle:
        for instance_id, sample, resolved in records:
            outcome = {"status": "resolved" if resolved else "unresolved"}
            handle.write(json.dumps({"instance_id": instance_id, "sample_index": sample, "agent": "a", "model": "m",
                                     "messages": [], "outcome": outcome, "config": {}}) + "\n")
    return path


def test_pool_numbers_samples_in_input_order_and_keeps_the_source(tmp_path):
    a = _write_run(tmp_path / "a", [("x", 1, False), ("x", 0, False), ("y", 0, True)])
    b = _write_run(tmp_path / "b", [("x", 0, True), ("z", 0, True)])
    assert pool_runs([a, b], tmp_path / "p", ["x", "y"]) == 4
    records = list(TrajectoryStore(tmp_path / "p" / "trajectories.jsonl").records())
    got = [(r["instance_id"], r["sample_index"], r["config"]["pooled_from"]["run"][-1], r["config"]["pooled_from"]["sample_index"]) for r in records]
    assert got == [("x", 0, "a", 0), ("x", 1, "a", 1), ("y", 0, "a", 0), ("x", 2, "b", 0)]


# -- end to end through the CLI -------------------------------------------------------------

E2E = """
[experiment]
name = "e2e"
vars = {{ expert = "{expert}" }}

[[stage]]
name = "moatless"
type = "rollout"
dataset = "demo"
instances = ["swegym__tinyver-3", "swegym__tinyver-5", "swegym__tinyver-7", "swegym__tinyver-8", "swegym__tinyver-11", "swegym__tinyver-14"]
agent = "moatless"
llm = "replay"
model = "expert-demo"
options = {{ "llm.path" = "${{expert}}/moatless.jsonl" }}

[[stage]]
name = "pool"
type = "pool"
runs = ["${{moatless}}"]
instances = ["swegym__tinyver-3", "swegym__tinyver-5"]

[[stage]]
name = "sft-filter"
type = "filter"
input = "${{pool}}"
filters = ["resolved", "cap"]
options = {{ "cap.n" = 1 }}

[[stage]]
name = "sft-data"
type = "export"
input = "${{sft-filter}}"
"""


def swegym(*args, cwd, check=True):
    result = subprocess.run([sys.executable, "-m", "swegym", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.slow
def test_experiment_killed_mid_rollout_resumes_without_losing_or_duplicating(tmp_path):
    (tmp_path / "e2e.toml").write_text(E2E.format(expert=EXPERT))
    command = [sys.executable, "-m", "swegym", "experiment", "run", "e2e.toml", "--out", "exp"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    store = tmp_path / "exp" / "moatless" / "trajectories.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if store.exists() and len(store.read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    assert process.poll() is None, "the rollout finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert manifest["stages"][0]["status"] == "running" and manifest["status"] == "incomplete"
    before = len(store.read_text().splitlines())
    assert 2 <= before < 6

    result = swegym("experiment", "run", "e2e.toml", "--out", "exp", cwd=tmp_path)
    records = list(TrajectoryStore(store).records())
    keys = [(r["instance_id"], r["sample_index"]) for r in records]
    assert len(keys) == 6 == len(set(keys)) and all(r["expert"] for r in records)
    assert f"{before} from an earlier run" in " ".join(result.stdout.split())  # rich wraps lines
    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert manifest["status"] == "done" and "agents.moatless" in manifest["plugins"] and manifest["swegym"]
    assert "/" in manifest["plugins"]["agents.moatless"]  # distribution/version
    sft = [json.loads(line) for line in (tmp_path / "exp" / "sft-data" / "sft.jsonl").read_text().splitlines()]
    assert sorted(e["instance_id"] for e in sft) == ["swegym__tinyver-3", "swegym__tinyver-5"]
    report = json.loads((tmp_path / "exp" / "sft-filter" / "trajectories.report.json").read_text())
    assert report["records_in"] == 2 and report["records_out"] == 2

    again = swegym("experiment", "run", "e2e.toml", "--out", "exp", cwd=tmp_path)
    assert again.stdout.count("done in an earlier run, skipped") == 4
    status = swegym("experiment", "status", "exp", cwd=tmp_path)
    assert "e2e (done)" in status.stdout


def test_experiment_errors_are_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text('[[stage]]\ntype = "rollout"\n')
    result = swegym("experiment", "run", "bad.toml", cwd=tmp_path, check=False)
    assert result.returncode != 0 and "a rollout stage needs 'dataset'" in result.stderr
    assert "Traceback" not in result.stderr
    result = swegym("experiment", "run", "nope", cwd=tmp_path, check=False)
    assert "no such experiment file (shipped experiments: demo)" in result.stderr
    # a shipped name is found even where a directory has that name; its variables are filled in
    (tmp_path / "demo").mkdir()
    result = swegym("experiment", "run", "demo", "--dry-run", cwd=tmp_path)
    assert "expert-openhands: swegym rollout" in result.stdout and str(EXPERT / "openhands.jsonl") in result.stdout
    assert not (tmp_path / "runs").exists()


# -- the shipped demo experiment --------------------------------------------------------------


def _parse(cli: click.Group, argv: list[str]) -> None:
    """Parse ``argv`` as the CLI would, without running it (paths need not exist yet)."""
    command: click.Command = cli
    args = list(argv)
    while isinstance(command, click.Group):
        name = args.pop(0)
        assert name in command.commands, f"no command {name!r} for {argv}"
        command = command.commands[name]
    try:
        command.make_context(name, args)
    except click.BadParameter as exc:
        assert "does not exist" in str(exc), (argv, exc)


def test_demo_experiment_stages_are_valid_command_lines(tmp_path):
    pm = get_plugin_manager()
    cli = build_cli(pm)
    experiment = Experiment.from_toml(bundled("demo")).with_vars({"smollm2": "/models/smollm2", "expert": str(EXPERT)})
    runner = ExperimentRunner(experiment, tmp_path / "demo", invoke=lambda argv: None)
    records = runner.run(dry_run=True)
    assert not (tmp_path / "demo").exists()  # a dry run writes nothing
    from swegym.core.options import parse_assignments
    from swegym.core.registry import Components

    components = Components(pm)
    for record in records.values():
        _parse(cli, record.argv)
        options = parse_assignments([a.split("=", 1)[0] + "=" + a.split("=", 1)[1] for a in record.argv[1:] if "=" in a and "." in a.split("=", 1)[0]])
        if record.argv[:2] == ["train", "sft"]:
            components["trainers"].create("sft", options.get("trainer", {}))
        if record.argv[0] == "verify":
            components["verifiers"].create("orm", options.get("verifier", {}))
    assert [r.type for r in records.values()].count("rollout") == 5
    # the last rollout runs the fine-tuned policy (its LoRA adapter, loaded on the base model)
    last = records["sft-policy-heldout"].argv
    assert last[last.index("--model") + 1] == str(tmp_path / "demo" / "sft")


# -- self-improvement for real: a tiny policy rolls out, is fine-tuned, rolls out again ------

SELF_IMPROVE_REAL = """
[experiment]
name = "si-real"
policy = "${{tiny}}"
vars = {{ tiny = "{tiny}", recordings = "{expert}" }}

[[stage]]
name = "expert"
type = "rollout"
dataset = "demo"
instances = ["swegym__tinyver-3", "swegym__tinyver-5"]
agent = "openhands"
llm = "replay"
model = "expert-demo"
options = {{ "llm.path" = "${{recordings}}/openhands.jsonl" }}

[[stage]]
name = "improve"
type = "iterate"
times = 2
  [[stage.stages]]
  name = "rollout"
  type = "rollout"
  dataset = "demo"
  instances = ["swegym__tinyver-3"]
  agent = "openhands"
  llm = "transformers"
  model = "${{policy}}"
  max_tokens = 8
  options = {{ "agent.max_turns" = 1, "llm.device" = "cpu" }}
  [[stage.stages]]
  name = "pool"
  type = "pool"
  runs = ["${{rollout}}", "${{expert}}"]
  [[stage.stages]]
  name = "keep"
  type = "filter"
  input = "${{pool}}"
  filters = ["resolved", "cap"]
  [[stage.stages]]
  name = "data"
  type = "export"
  input = "${{keep}}"
  [[stage.stages]]
  name = "train"
  type = "train"
  data = "${{data}}"
  model = "${{policy}}"
  options = {{ "trainer.max_steps" = 2, "trainer.global_batch_size" = 1, "trainer.max_length" = 16384, "trainer.learning_rate" = 1e-3 }}
"""


@pytest.mark.slow
def test_self_improvement_iterations_train_and_roll_out_the_new_policy(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("trl")
    from tiny_models import build_tiny_llama

    texts = [line[:20000] for line in (EXPERT / "openhands.jsonl").read_text().splitlines()[:4]]
    tiny = build_tiny_llama(tmp_path / "tiny", texts=texts, vocab_size=1000, max_position_embeddings=16384, initializer_range=0.02)
    (tmp_path / "si.toml").write_text(SELF_IMPROVE_REAL.format(tiny=tiny, expert=EXPERT))
    swegym("experiment", "run", "si.toml", "--out", "exp", cwd=tmp_path)

    exp = tmp_path / "exp"
    manifest = json.loads((exp / "manifest.json").read_text())
    assert manifest["status"] == "done" and len(manifest["stages"]) == 11
    first, second = exp / "improve.1.train", exp / "improve.2.train"
    # iteration 1 trains the base policy; iteration 2 rolls out and trains what iteration 1 made
    assert [json.loads((d / "train_result.json").read_text())["model"] for d in (first, second)] == [str(tiny), str(first)]
    rolled = [next(TrajectoryStore(exp / f"improve.{i}.rollout" / "trajectories.jsonl").records()) for i in (1, 2)]
    assert [r["model"] for r in rolled] == [str(tiny), str(first)]
    assert all(any(m["role"] == "assistant" for m in r["messages"]) and not r["expert"] for r in rolled)  # real generations
    # the policy really changed: SFT moved the weights
    from safetensors.torch import load_file

    before, after = load_file(tiny / "model.safetensors"), load_file(first / "model.safetensors")
    assert any(not torch.equal(before[name], after[name]) for name in before)
