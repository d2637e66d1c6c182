"""``swegym env``: build environments (and the Docker base image) ahead of runs."""

from __future__ import annotations

import click

from swegym.commands.common import build_components, dataset_options, execution_options, repository_of, select_instances
from swegym.core.runtime import Environment


@click.group()
def env():
    """Build and inspect environments."""


def _build(job) -> Environment:
    runtime, repo, instance = job
    return runtime.environment(repo, instance, build=True)


@env.command()
@dataset_options
@execution_options
@click.pass_obj
def build(app, dataset, instance_ids, runtime, executor, workers, git_mirror, options):
    """Build the environments the dataset's instances need (one per repository version)."""
    instances = select_instances(app, dataset, instance_ids)
    runtime_obj, executor_obj = build_components(app, runtime=runtime, executor=executor, workers=workers, git_mirror=git_mirror, options=options)
    jobs, seen = [], set()
    for instance in instances:
        repo = repository_of(app, instance)
        key = runtime_obj.environment_key(repo, instance.version)
        if key not in seen:
            seen.add(key)
            jobs.append((runtime_obj, repo, instance))
    from rich.table import Table

    from swegym.commands.evaluate import _progress

    table = Table(title=f"{len(jobs)} environments ({runtime})")
    for column in ("environment", "python", "status", "log"):
        table.add_column(column, overflow="fold")
    failures = 0
    with _progress(app) as progress:
        task = progress.add_task("env build", total=len(jobs), status="")
        for outcome in executor_obj.run(_build, jobs):
            _, repo, instance = outcome.job
            key = runtime_obj.environment_key(repo, instance.version)
            if outcome.error:
                failures += 1
                table.add_row(key, "-", f"[red]failed[/]: {outcome.error}", "")
            else:
                environment = outcome.result
                notes = "; ".join(environment.notes)
                table.add_row(key, environment.python, "[green]ready[/]" + (f" ({notes})" if notes else ""), environment.log_path)
            progress.update(task, advance=1)
    app.console.print(table)
    if failures:
        raise click.ClickException(f"{failures} environment build(s) failed; see the logs above")


@env.command()
@click.option("--runtime", "-r", default="docker", show_default=True, help="The runtime whose base image to build.")
@click.option("--force", is_flag=True, help="Rebuild even if the image exists.")
@click.option("--option", "-o", "options", multiple=True, metavar="runtime.KEY=VALUE", help="Runtime option.")
@click.pass_obj
def base(app, runtime, force, options):
    """Build (or pull) the base image that environment images start from."""
    runtime_obj, _ = build_components(app, runtime=runtime, executor="local", workers=1, git_mirror=None, options=options)
    if not hasattr(runtime_obj, "build_base"):
        raise click.UsageError(f"runtime {runtime!r} has no base image")
    image = runtime_obj.build_base(force=force, console_log=app.console.print)
    app.console.print(f"base image ready: {image}")


@env.command()
@click.option("--runtime", "-r", "runtimes", multiple=True, help="Only these runtimes (default: every registered one).")
@click.pass_obj
def gc(app, runtimes):
    """Remove what killed runs left: sandboxes, containers, cgroups and processes whose owner is gone."""
    from swegym.core.runtime import SandboxError

    registry = app.components["runtimes"]
    unknown = [name for name in runtimes if name not in registry]
    if unknown:
        raise click.UsageError(f"unknown runtime {unknown[0]!r}; available: {', '.join(registry.names())}")
    removed = []
    for name in runtimes or registry.names():
        try:
            removed += registry.create(name).collect_garbage()
        except SandboxError as exc:
            if runtimes:
                raise click.ClickException(f"{name}: {exc}") from None
            app.console.print(f"[yellow]{name}: {exc}[/]")
    for item in removed:
        app.console.print(f"removed {item}")
    app.console.print(f"{len(removed)} leftover(s) removed")


COMMANDS = [env]
