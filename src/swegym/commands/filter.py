"""``swegym filter``: cut a training set from a rollout run with a chain of filters."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import orjson

from swegym.core.errors import UsageError
from swegym.core.filtering import FilterPipeline, FilterReport
from swegym.core.options import parse_assignments
from swegym.core.store import TrajectoryStore


@click.command("filter")
@click.argument("source", metavar="RUN_OR_FILE", type=click.Path(exists=True, path_type=Path))
@click.option("--filter", "-f", "names", multiple=True, metavar="NAME",
              help="Filter to apply, in order; repeat for a chain (swegym components filters).")
@click.option("--option", "-o", "options", multiple=True, metavar="FILTER.KEY=VALUE", help="Filter option, e.g. -o cap.n=2.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JSONL of the kept records.")
@click.pass_obj
def filter_command(app, source: Path, names: tuple[str, ...], options: tuple[str, ...], out: Path) -> None:
    """Keep the trajectories of RUN_OR_FILE (a rollout directory or a JSONL file) that pass every filter."""
    registry = app.components["filters"]
    if not names:
        raise UsageError(f"give at least one --filter; available: {', '.join(registry.names())}")
    assignments = {target.lower(): values for target, values in parse_assignments(options).items()}
    chosen = {name.lower() for name in names}
    stray = sorted(set(assignments) - chosen)
    if stray:
        raise UsageError(f"-o {stray[0]}.…: no --filter {stray[0]} to take it")
    filters = [registry.create(name, assignments.get(name.lower(), {})) for name in names]

    path = source / "trajectories.jsonl" if source.is_dir() else source
    if not path.is_file():
        raise UsageError(f"{source}: no trajectories.jsonl in this run directory")
    pipeline = FilterPipeline(filters)
    _write_jsonl(out, pipeline.run(TrajectoryStore(path).records()))
    _print_report(app, pipeline.report, out)
    report = pipeline.report
    summary = {"records_in": report.records_in, "records_out": report.records_out, "instances_out": report.instances_out,
               "removed": {step.name: step.removed for step in report.steps}}
    out.with_name(out.stem + ".report.json").write_text(json.dumps(summary, indent=2) + "\n")


def _write_jsonl(out: Path, records) -> None:
    """Write records to ``out`` atomically: a reader sees the old file or the whole new one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            for record in records:
                handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _print_report(app, report: FilterReport, out: Path) -> None:
    from rich.table import Table

    table = Table(title="filter")
    table.add_column("step")
    table.add_column("records", justify="right")
    table.add_row("records in", str(report.records_in))
    for step in report.steps:
        table.add_row(f"{step.name}: removed", str(step.removed))
    table.add_row("records out", str(report.records_out))
    table.add_row("instances out", str(report.instances_out))
    app.console.print(table)
    app.console.print(f"kept {report.records_out} of {report.records_in} -> {out}")


COMMANDS = [filter_command]
