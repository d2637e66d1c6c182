"""``swegym train``: fine-tune a model with a registered trainer (``train sft``), and the
accelerate configs for multi-GPU runs (``train configs``).

``train`` is a plain click group: plugins add their own training commands to it with
``cli.commands["train"].add_command(...)`` in ``swegym_register_commands``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click

from swegym.commands.common import dataset_options, repository_of, select_instances
from swegym.core.errors import UsageError
from swegym.core.options import parse_assignments
from swegym.core.training import Trainer, TrainResult


@click.group("train")
def train() -> None:
    """Fine-tune models: the policy on SFT examples (swegym export-sft), verifiers, ..."""


@train.command("sft")
@click.option("--data", "-d", required=True, type=click.Path(exists=True, path_type=Path),
              help="JSONL of chat examples (swegym export-sft) or a dataset directory saved with save_to_disk.")
@click.option("--model", "-m", required=True, help="Base model: a local checkpoint directory or a hub id.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for checkpoints and the trained model.")
@click.option("--trainer", "trainer_name", default="sft", show_default=True, help="Trainer (swegym components trainers).")
@click.option("--option", "-o", "options", multiple=True, metavar="trainer.KEY=VALUE",
              help="Trainer option, e.g. -o trainer.lora=true -o trainer.epochs=3.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue from the newest checkpoint in --out, if there is one.")
@click.pass_obj
def sft(app, data: Path, model: str, out: Path, trainer_name: str, options: tuple[str, ...], resume: bool) -> None:
    """Supervised fine-tuning of MODEL on DATA; the model is saved in OUT."""
    assignments = parse_assignments(options)
    stray = sorted(set(assignments) - {"trainer"})
    if stray:
        raise UsageError(f"-o {stray[0]}.…: this command takes trainer.* options")
    trainer = app.components["trainers"].create(trainer_name, assignments.get("trainer", {}))
    if not isinstance(trainer, Trainer):
        raise UsageError(f"trainer {trainer_name!r} trains on live episodes, not on a dataset: use swegym train {trainer_name}")
    _quiet_libraries()
    if os.environ.get("RANK", "0") != "0":  # one of several processes of accelerate launch: rank 0 reports
        trainer.train(data=data, model=model, out=out, resume=resume)
        return
    with _ProgressDisplay(app.console) as display:
        result = trainer.train(data=data, model=model, out=out, resume=resume, progress=display.update)
    _print_summary(app.console, result)


@train.command("grpo")
@dataset_options
@click.option("--model", "-m", required=True, help="Policy to start from: a checkpoint directory or a hub id.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for checkpoints, episodes.jsonl and the trained adapter (or model).")
@click.option("--agent", "-a", default="openhands", show_default=True, help="Scaffold the policy acts through (swegym components agents).")
@click.option("--runtime", "-r", default="local", show_default=True, help="Sandbox runtime (swegym components runtimes).")
@click.option("--git-mirror", type=click.Path(file_okay=False), help="Directory of local repository clones (else SWEGYM_GIT_MIRROR).")
@click.option("--timeout", type=float, default=1800, show_default=True, help="Seconds the grading tests may run.")
@click.option("--option", "-o", "options", multiple=True, metavar="COMPONENT.KEY=VALUE",
              help="trainer.*, agent.* or runtime.* option, e.g. -o trainer.num_generations=4 -o agent.max_turns=10.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue from the newest checkpoint in --out, if there is one.")
@click.pass_obj
def grpo(app, dataset: str, instance_ids: tuple[str, ...], model: str, out: Path, agent: str, runtime: str,
         git_mirror: str | None, timeout: float, options: tuple[str, ...], resume: bool) -> None:
    """Online RL (GRPO, TRL): groups of episodes per instance, rewards from running the tests."""
    from swegym.plugins.trainers.grpo import EpisodeSource

    assignments = parse_assignments(options)
    stray = sorted(set(assignments) - {"trainer", "agent", "runtime"})
    if stray:
        raise UsageError(f"-o {stray[0]}.…: this command takes trainer.*, agent.* and runtime.* options")
    trainer = app.components["trainers"].create("grpo", assignments.get("trainer", {}))
    runtime_options = dict(assignments.get("runtime", {}))
    if git_mirror:
        runtime_options["git_mirror"] = git_mirror
    source = EpisodeSource(
        instances=select_instances(app, dataset, instance_ids),
        repository=lambda instance: repository_of(app, instance),
        runtime=app.components["runtimes"].create(runtime, runtime_options),
        agent=app.components["agents"].create(agent, assignments.get("agent", {})),
        grade_timeout=timeout,
    )
    _quiet_libraries()
    with _ProgressDisplay(app.console) as display:
        result = trainer.train(data=source, model=model, out=out, resume=resume, progress=display.update)
    _print_summary(app.console, result, title="train grpo")
    rewards = result.metrics.get("reward_per_step") or []
    if rewards:
        app.console.print("reward per step: " + " ".join(f"{r:.2f}" for r in rewards), soft_wrap=True)


@train.command("configs")
@click.pass_obj
def configs(app) -> None:
    """Print the shipped accelerate configs and the multi-GPU launch line."""
    from swegym.plugins.trainers import ACCELERATE_CONFIGS

    for name, path in ACCELERATE_CONFIGS.items():
        app.console.print(f"{name}: {path}", soft_wrap=True)
    app.console.print("\nlaunch on the GPUs of one machine (set --num_processes to their number):")
    for path in ACCELERATE_CONFIGS.values():
        app.console.print(
            f"  accelerate launch --config_file {path} --num_processes 8 "
            "-m swegym train sft --data DATA --model MODEL --out OUT",
            soft_wrap=True,
        )


class _ProgressDisplay:
    """A rich progress bar fed by the trainer's progress callback: step/total and the loss."""

    def __init__(self, console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task("train", total=None, loss="-")

    def __enter__(self) -> _ProgressDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.progress.stop()

    def update(self, step: int, total: int, logs: Mapping[str, float]) -> None:
        loss = logs.get("loss")
        self.progress.update(self.task, completed=step, total=total, loss=f"{loss:.4f}" if loss is not None else "-")


def _quiet_libraries() -> None:
    """The progress bar replaces the bars datasets and transformers draw while preparing."""
    try:
        import datasets
        import transformers
    except ImportError:
        return  # the trainer raises the missing-dependency error
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()


def _print_summary(console, result: TrainResult, *, title: str = "train sft") -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("")
    table.add_column("value")
    table.add_row("steps", str(result.steps))
    if result.resumed_from:
        table.add_row("resumed from", result.resumed_from)
    if result.losses:
        table.add_row("loss first -> last", f"{result.losses[0]:.4f} -> {result.losses[-1]:.4f}")
    rewards = result.metrics.get("reward_per_step") or []
    if rewards:
        table.add_row("reward mean first -> last", f"{rewards[0]:.3f} -> {rewards[-1]:.3f}")
    table.add_row("runtime", f"{result.runtime_s:.1f} s")
    table.add_row("base model", result.model)
    if result.peak_rss_mb is not None:
        table.add_row("peak memory", f"{result.peak_rss_mb / 1024:.2f} GB")
    if result.disk_mb is not None:
        table.add_row("disk", f"{result.disk_mb:.0f} MB")
    if result.adapter:
        table.add_row("LoRA adapter", str(result.output_dir))
    model = result.loadable_model()
    if model != result.output_dir:
        table.add_row("merged model", str(model))
    console.print(table)
    console.print(f"model: {model}", soft_wrap=True)


COMMANDS = [train]
