"""Options and helpers shared by the commands that run sandboxes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import click

from swegym.core.datasets import load_instances
from swegym.core.errors import UsageError
from swegym.core.instance import TaskInstance
from swegym.core.options import parse_assignments
from swegym.core.repository import RepositorySpec


def execution_options(command: Callable) -> Callable:
    """--runtime, --executor, --workers, --git-mirror and -o COMPONENT.KEY=VALUE."""
    decorators = [
        click.option("--runtime", "-r", default="local", show_default=True, help="Sandbox runtime (swegym components runtimes)."),
        click.option("--executor", "-e", default="local", show_default=True, help="Executor that runs jobs in parallel."),
        click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel workers."),
        click.option("--git-mirror", type=click.Path(file_okay=False), help="Directory of local repository clones (else SWEGYM_GIT_MIRROR)."),
        click.option("--option", "-o", "options", multiple=True, metavar="COMPONENT.KEY=VALUE", help="Component option, e.g. -o runtime.isolation=none."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def build_components(app, *, runtime: str, executor: str, workers: int, git_mirror: str | None, options: Iterable[str]):
    """The runtime and executor, with their options validated before anything runs."""
    assignments = parse_assignments(options)
    unknown = sorted(set(assignments) - {"runtime", "executor"})
    if unknown:
        raise UsageError(f"-o {unknown[0]}.…: this command takes runtime.* and executor.* options")
    runtime_options = dict(assignments.get("runtime", {}))
    if git_mirror:
        runtime_options["git_mirror"] = git_mirror
    executor_options = {"workers": str(workers), **assignments.get("executor", {})}
    return (
        app.components["runtimes"].create(runtime, runtime_options),
        app.components["executors"].create(executor, executor_options),
    )


def positive_seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A --timeout callback: a positive number of seconds, else one line and exit 2."""
    if value is not None and not value > 0:
        raise UsageError(f"--{param.name} {value:g}: out of range: a positive number of seconds (> 0) is required")
    return value


def select_instances(
    app, dataset: str, instance_ids: Iterable[str] = (), repos: Iterable[str] = (), *, loaded: list[TaskInstance] | None = None
) -> list[TaskInstance]:
    """The dataset's instances (``loaded`` when given), narrowed to ``instance_ids`` and ``repos``."""
    instances = load_instances(dataset, app.components) if loaded is None else loaded
    wanted = [i for part in instance_ids for i in part.split(",") if i]
    if wanted:
        known = {i.instance_id for i in instances}
        missing = [i for i in wanted if i not in known]
        if missing:
            raise UsageError(f"instance {missing[0]!r} is not in dataset {dataset!r}")
        instances = [i for i in instances if i.instance_id in set(wanted)]
    if repos:
        names = {r.lower() for r in repos}
        instances = [i for i in instances if i.repo.lower() in names]
    return instances


def repository_of(app, instance: TaskInstance) -> RepositorySpec:
    return app.components["repositories"].get(instance.repo)


def dataset_options(command: Callable) -> Callable:
    decorators = [
        click.option("--dataset", "-d", required=True, help="Registered dataset name or instance file (.jsonl/.json/.parquet)."),
        click.option("--instance-ids", "-i", multiple=True, help="Only these instances (repeatable or comma-separated)."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command
