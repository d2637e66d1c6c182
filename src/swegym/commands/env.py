"""``swegym env``: plan and build environments (and the Docker base images) ahead of runs."""

from __future__ import annotations

import click

from swegym.commands.common import (
    build_components,
    dataset_options,
    execution_options,
    repository_of,
    select_instances,
)
from swegym.core.envrecipe import DEFAULT_SUITE, SUITES
from swegym.core.runtime import Environment


@click.group()
def env():
    """Plan, build and inspect environments."""


def _reach(probe: bool, conda: str) -> tuple[bool, bool, str]:
    """Whether conda channels and uv's interpreter downloads answer from here, and in words."""
    from swegym.core.conda_env import channels_reachable
    from swegym.core.git_source import cache_dir
    from swegym.core.uv_tool import downloads_reachable

    if not probe:
        return False, False, "not probed: conda channels and uv downloads taken as unreachable"
    cache = cache_dir()
    conda_ok = conda != "translate" and channels_reachable(cache)[0]
    uv_ok = downloads_reachable(cache)
    words = (f"conda channels {'reachable' if conda_ok else 'unreachable'}, "
             f"uv interpreter downloads {'reachable' if uv_ok else 'unreachable'}")
    return conda_ok, uv_ok, words


def _print_plans(app, plans, reach: str, as_json: bool) -> None:
    import json

    from rich.table import Table

    if as_json:
        click.echo(json.dumps([p.to_dict() for p in plans], indent=1))
        return
    table = Table(title=f"{len(plans)} environment plans ({reach})")
    for column in ("repository", "version", "base suite", "python requested", "python used", "install"):
        table.add_column(column)
    for plan in plans:
        python = plan.python
        requested = python.requested or "-"
        if python.origin not in ("spec", "default"):
            requested += f" ({python.origin})"
        used = f"{python.used} ({'exact' if python.exact else 'nearest'}, {python.source})"
        install = plan.install
        if plan.env_file:
            files = plan.env_file.split(", ")
            install += f" ({files[0]}" + (f" or {len(files) - 1} more" if len(files) > 1 else "") + ")"
        table.add_row(plan.repo, plan.version, plan.suite, requested, used, install)
    app.console.print(table)
    by_install: dict[str, int] = {}
    for plan in plans:
        by_install[plan.install] = by_install.get(plan.install, 0) + 1
    app.console.print(
        f"{len(plans)} planned, none unsupported; install paths: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_install.items()))
        + f"; {sum(not p.python.exact for p in plans)} with the nearest Python (recorded in each environment and report)"
    )


@env.command()
@click.option("--repo", "repos", multiple=True, help="Only these repositories (default: every registered one).")
@click.option("--json", "as_json", is_flag=True, help="Print the plans as JSON.")
@click.option("--no-probe", is_flag=True, help="Do not check whether conda channels and uv downloads answer.")
@click.option("--conda", type=click.Choice(["auto", "translate", "require"]), default="auto", show_default=True,
              help="environment.yml specs: conda when channels answer, else translated to pip.")
@click.pass_obj
def plan(app, repos, as_json, no_probe, conda):
    """For every spec version: base suite, Python requested and used, install path."""
    from swegym.core.envplan import plan_repositories

    registry = app.components["repositories"]
    selected = [registry.get(name) for name in repos] if repos else [r.component for r in registry]
    selected = [r for r in selected if r.environments]
    conda_ok, uv_ok, reach = _reach(not no_probe, conda)
    plans = plan_repositories(selected, conda_reachable=conda_ok, uv_python=uv_ok, conda=conda)
    _print_plans(app, plans, reach, as_json)


def _build(job) -> Environment:
    runtime, repo, instance = job
    return runtime.environment(repo, instance, build=True)


@env.command()
@dataset_options
@execution_options
@click.option("--dry-run", is_flag=True, help="Only print each environment's plan (suite, Python, install path).")
@click.pass_obj
def build(app, dataset, instance_ids, runtime, executor, workers, git_mirror, options, dry_run):
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
    if dry_run:
        from swegym.core.envplan import plan_environment

        conda = getattr(runtime_obj, "conda", "auto")
        conda_ok, uv_ok, reach = _reach(True, conda)
        plans = [
            plan_environment(repo, instance.version, conda_reachable=conda_ok, uv_python=uv_ok, conda=conda)
            for _, repo, instance in jobs
        ]
        _print_plans(app, plans, reach, as_json=False)
        return
    from rich.table import Table

    from swegym.commands.evaluate import _progress

    table = Table(title=f"{len(jobs)} environments ({runtime})")
    for column in ("environment", "python", "install", "status", "log / failure"):
        table.add_column(column, overflow="fold")
    failures = 0
    with _progress(app) as progress:
        task = progress.add_task("env build", total=len(jobs), status="")
        for outcome in executor_obj.run(_build, jobs):
            _, repo, instance = outcome.job
            key = runtime_obj.environment_key(repo, instance.version)
            if outcome.error:
                failures += 1
                table.add_row(key, repo.environment(instance.version).python or "-", "-", "[red]failed[/]", outcome.error)
            else:
                environment = outcome.result
                python = environment.python
                if environment.python_requested and environment.python_requested != environment.python:
                    python = f"{environment.python_requested}->{environment.python} (nearest)"
                notes = "; ".join(environment.notes)
                table.add_row(
                    key, python, environment.install, "[green]ready[/]", environment.log_path + (f"\n{notes}" if notes else "")
                )
            progress.update(task, advance=1)
    app.console.print(table)
    if failures:
        raise click.ClickException(
            f"{failures} of {len(jobs)} environment build(s) failed: the failing step and its last output are in the table"
        )


@env.command()
@click.option("--runtime", "-r", default="docker", show_default=True, help="The runtime whose base images to build.")
@click.option("--suite", "suites", multiple=True, type=click.Choice(list(SUITES)), help="Debian suite(s) to build.")
@click.option("--python", "pythons", multiple=True, metavar="X.Y", help="Build the suite(s) these Python versions use.")
@click.option("--all", "all_suites", is_flag=True, help="Every suite: " + ", ".join(f"{s} ({p})" for s, p in SUITES.items()) + ".")
@click.option("--force", is_flag=True, help="Rebuild even if the image exists.")
@click.option("--option", "-o", "options", multiple=True, metavar="runtime.KEY=VALUE", help="Runtime option.")
@click.pass_obj
def base(app, runtime, suites, pythons, all_suites, force, options):
    """Build (or pull) the base images environments start from (default: the default suite)."""
    from swegym.core.envrecipe import suite_for

    runtime_obj, _ = build_components(app, runtime=runtime, executor="local", workers=1, git_mirror=None, options=options)
    if not hasattr(runtime_obj, "build_base"):
        raise click.UsageError(f"runtime {runtime!r} has no base image")
    wanted = list(SUITES) if all_suites else list(suites) + [suite_for(p).suite for p in pythons]
    for suite in dict.fromkeys(wanted or [DEFAULT_SUITE]):
        image = runtime_obj.build_base(force=force, console_log=app.console.print, suite=suite)
        client = runtime_obj.client()
        size = client.images.get(image).attrs.get("Size", 0)
        client.close()
        app.console.print(f"base image ready: {runtime_obj.base_image_for(suite)} (python {SUITES[suite]}, {size / 1e6:.0f} MB)")


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
