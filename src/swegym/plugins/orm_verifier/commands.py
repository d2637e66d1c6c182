"""``swegym verify`` (score a rollout run) and ``swegym train verifier`` (train the ORM)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import attrs
import click
import orjson

from swegym.core.errors import UsageError
from swegym.core.options import build_component, option_fields, parse_assignments
from swegym.core.rerank import read_scores
from swegym.core.sft_data import read_trajectories
from swegym.core.store import TrajectoryStore

#: ChatML, to count tokens with a tokenizer that has no chat template of its own
_MEASURE_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _assignments(options: tuple[str, ...], accepted: tuple[str, ...]) -> dict[str, dict[str, str]]:
    assignments = parse_assignments(options)
    unknown = sorted(set(assignments) - set(accepted))
    if unknown:
        raise UsageError(f"-o {unknown[0]}.…: this command takes {' and '.join(f'{a}.*' for a in accepted)} options")
    return assignments


# -- swegym verify -----------------------------------------------------------------------


@click.command()
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("--verifier", "verifier_name", default="orm", show_default=True, help="Verifier component (swegym components verifiers).")
@click.option("--option", "-o", "options", multiple=True, metavar="verifier.KEY=VALUE",
              help="Verifier option, e.g. -o verifier.model=PATH -o verifier.backend=vllm.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help='Scores JSONL ({"instance_id", "sample_index", "score"}); appended to, pairs already in it are skipped.')
@click.option("--batch-size", type=click.IntRange(min=1), help="Trajectories scored together [default: the verifier's].")
@click.pass_obj
def verify(app, run: Path, verifier_name: str, options: tuple[str, ...], out: Path, batch_size: int | None) -> None:
    """Score every trajectory of RUN with a verifier, for swegym rerank (Best@k).

    RUN is a rollout directory (its trajectories.jsonl) or a JSONL file of trajectory records.
    Run it again after an interruption: it scores only what the out file lacks.
    """
    verifier_options = dict(_assignments(options, ("verifier",)).get("verifier", {}))
    cls = app.components["verifiers"].get(verifier_name)
    if batch_size and "batch_size" in {f.name for f in option_fields(cls)}:
        verifier_options["batch_size"] = str(batch_size)
    verifier = app.components["verifiers"].create(verifier_name, verifier_options)
    batch = batch_size or getattr(verifier, "batch_size", 8)

    if out.exists():
        TrajectoryStore(out).repair()  # an interrupted append leaves a torn last line
        done = set(read_scores(out))
    else:
        done = set()
    pending_keys = set()
    for trajectory_key in _keys(run):
        if trajectory_key not in done:
            pending_keys.add(trajectory_key)
    if not pending_keys:
        app.console.print(f"all {len(done)} trajectories already scored: {out}")
        return

    def pending():
        seen = set()
        for trajectory in read_trajectories(run):
            key = (trajectory.instance_id, trajectory.sample_index)
            if key in pending_keys and key not in seen:
                seen.add(key)
                yield trajectory

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with app.console.status(f"loading verifier {verifier_name}"):
            loading = time.monotonic()
            verifier.load()
            load_s = time.monotonic() - loading
        started = time.monotonic()
        scored = 0
        with open(out, "ab") as handle, Progress(
            TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=app.console, transient=True,
        ) as progress:
            task = progress.add_task("scoring", total=len(pending_keys))
            for score in verifier.score_all(pending(), batch_size=batch):
                handle.write(orjson.dumps(score.to_dict()) + b"\n")
                handle.flush()
                scored += 1
                progress.advance(task)
        elapsed = time.monotonic() - started
    finally:
        verifier.close()
    rate = scored / elapsed if elapsed > 0 else float("inf")
    skipped = f"; {len(done)} already scored, skipped" if done else ""
    app.console.print(
        f"scored {scored} trajectories in {elapsed:.1f} s: {rate:.2f} trajectories/s "
        f"(batch size {batch}, model loaded in {load_s:.1f} s){skipped}"
    )
    app.console.print(f"scores: {out}")


def _keys(run: Path):
    path = run / "trajectories.jsonl" if run.is_dir() else run
    if not path.is_file():
        raise UsageError(f"{run}: no trajectories.jsonl in this directory")
    for record in TrajectoryStore(path).records():
        try:
            yield str(record["instance_id"]), int(record["sample_index"])
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"{path}: a record without instance_id and sample_index") from None


# -- swegym train verifier ---------------------------------------------------------------


@attrs.frozen
class VerifierDataOptions:
    """How ``swegym train verifier`` builds its examples (``-o data.KEY=VALUE``)."""

    balance: bool = attrs.field(default=True, metadata={"help": "downsample the majority class to as many YES as NO"})
    per_instance_cap: int | None = attrs.field(default=None, metadata={"help": "at most N trajectories per instance and outcome"})
    max_tokens: int | None = attrs.field(
        default=32768, metadata={"help": "tokens per example; the trajectory's middle is cut (none: no limit)"}
    )
    seed: int = attrs.field(default=0, metadata={"help": "seed of the cap's and the balance's random choices"})
    yes_label: str = attrs.field(default="YES", metadata={"help": "target label of resolved trajectories"})
    no_label: str = attrs.field(default="NO", metadata={"help": "target label of unresolved trajectories"})


@click.command("verifier")
@click.option("--data", "runs", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="A graded rollout run (directory or trajectories JSONL); repeatable.")
@click.option("--model", required=True, help="Base model: a checkpoint directory or hub id.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory: verifier_data.jsonl and the trained verifier.")
@click.option("--trainer", "trainer_name", default="sft", show_default=True, help="Trainer component.")
@click.option("--option", "-o", "options", multiple=True, metavar="data.KEY=VALUE | trainer.KEY=VALUE",
              help="e.g. -o data.per_instance_cap=2 -o trainer.max_steps=100 -o trainer.lora=false.")
@click.pass_obj
def train_verifier(app, runs: tuple[Path, ...], model: str, out: Path, trainer_name: str, options: tuple[str, ...]) -> None:
    """Train an outcome-reward verifier (ORM) on graded trajectories.

    Each trajectory becomes a judge prompt (issue, agent turns, final diff) with the target
    <judgement>YES</judgement> (resolved) or <judgement>NO</judgement>; the classes are
    balanced and the model is fine-tuned on the answer (LoRA unless -o trainer.lora=false).
    """
    from swegym.plugins.orm_verifier.data import build_verifier_examples, write_examples

    assignments = _assignments(options, ("data", "trainer"))
    data = build_component(VerifierDataOptions, assignments.get("data", {}), label="verifier data")
    trainer_options: dict[str, Any] = {"lora": "true", **assignments.get("trainer", {})}
    trainer_fields = {f.name for f in option_fields(app.components["trainers"].get(trainer_name))}
    if data.max_tokens and "max_length" in trainer_fields and "max_length" not in trainer_options:
        trainer_options["max_length"] = str(data.max_tokens)  # the examples already fit: cut nothing more
    if "lora" not in trainer_fields:
        trainer_options.pop("lora")
    trainer = app.components["trainers"].create(trainer_name, trainer_options)

    tokenizer = _measuring_tokenizer(model, trainer_options.get("chat_template")) if data.max_tokens else None
    trajectories = itertools.chain.from_iterable(read_trajectories(run) for run in runs)
    with app.console.status("building the verifier's examples"):
        examples, counts = build_verifier_examples(
            trajectories, balance=data.balance, per_instance_cap=data.per_instance_cap, max_length=data.max_tokens,
            tokenizer=tokenizer, seed=data.seed, yes_label=data.yes_label, no_label=data.no_label,
        )
    out.mkdir(parents=True, exist_ok=True)
    path = write_examples(examples, out / "verifier_data.jsonl")
    (out / "verifier_data.json").write_text(json.dumps({"runs": [str(r) for r in runs], **counts.to_dict()}, indent=2) + "\n")
    _print_counts(app, counts)
    app.console.print(f"examples: {path}")
    if not counts.yes or not counts.no:
        raise UsageError(f"the verifier needs resolved and unresolved trajectories: {counts.yes} YES, {counts.no} NO")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"), TimeRemainingColumn(),
        console=app.console, transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def report(step: int, total: int, logs) -> None:
            loss = logs.get("loss")
            progress.update(task, completed=step, total=total, description=f"loss {loss:.4f}" if loss is not None else "")

        result = trainer.train(data=path, model=model, out=out, progress=report)
    final = f", final loss {result.losses[-1]:.4f}" if result.losses else ""
    app.console.print(f"trained {result.steps} steps in {result.runtime_s:.0f} s{final}")
    app.console.print(f"verifier: {result.loadable_model()}")
    app.console.print(f"score a run with: swegym verify RUN -o verifier.model={result.loadable_model()} --out scores.jsonl")


def _measuring_tokenizer(model: str, chat_template: str | None) -> Any:
    """The base model's tokenizer, to count tokens of the examples (ChatML without a template)."""
    from swegym.core.errors import SwegymError
    from swegym.plugins.llms.hf_transformers import load_tokenizer

    template = chat_template if chat_template and chat_template != "auto" else None
    try:
        return load_tokenizer(model, chat_template=template)
    except SwegymError as exc:
        if "no chat template" not in str(exc):
            raise
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = _MEASURE_TEMPLATE
    return tokenizer


def _print_counts(app, counts) -> None:
    from rich.table import Table

    table = Table(title="verifier data")
    table.add_column("")
    table.add_column("trajectories", justify="right")
    table.add_row("read", str(counts.read))
    table.add_row("skipped (ungraded)", str(counts.skipped_ungraded))
    table.add_row("dropped (per-instance cap)", str(counts.dropped_cap))
    table.add_row("dropped (balance)", str(counts.dropped_balance))
    table.add_row("YES examples", str(counts.yes))
    table.add_row("NO examples", str(counts.no))
    table.add_row("cut to max_tokens", str(counts.truncated))
    app.console.print(table)
