"""``swegym pool``: several runs as one candidate pool (for reranking and verifier data)."""

from __future__ import annotations

from pathlib import Path

import click

from swegym.core.errors import UsageError
from swegym.core.pooling import instance_counts, pool_runs, trajectories_file
from swegym.core.store import TrajectoryStore


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run directory of the pool.")
@click.option("--instance-ids", "-i", multiple=True, help="Only these instances (repeatable or comma-separated).")
@click.pass_obj
def pool(app, runs: tuple[Path, ...], out: Path, instance_ids: tuple[str, ...]) -> None:
    """Pool the trajectories of RUNS into one run, renumbering each instance's samples.

    Samples are numbered in the order RUNS are given: the first run's sample 0 (its greedy
    run) stays sample 0. Each record notes its source run and sample in config.pooled_from.
    """
    wanted = [i for part in instance_ids for i in part.split(",") if i]
    count = pool_runs(runs, out, wanted)
    if not count:
        raise UsageError("the pool is empty: no trajectory of the given instances in these runs")
    counts = instance_counts(TrajectoryStore(trajectories_file(out)).records())
    sizes = sorted(set(counts.values()))
    span = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
    app.console.print(f"{count} trajectories from {len(runs)} runs, {len(counts)} instances, {span} samples each -> {out / 'trajectories.jsonl'}")


COMMANDS = [pool]
