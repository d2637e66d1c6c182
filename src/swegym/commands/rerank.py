"""``swegym rerank``: Pass@k and Best@k curves from a rollout run and the verifier's scores."""

from __future__ import annotations

import json
from pathlib import Path

import click

from swegym.core.errors import MissingDependencyError, UsageError
from swegym.core.rerank import RerankResult, collect_candidates, plot, read_scores
from swegym.core.rerank import rerank as compute_rerank
from swegym.core.store import TrajectoryStore


def _ks(ctx, param, value: str) -> list[int]:
    try:
        ks = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected positive integers separated by commas, e.g. 1,2,4,8") from None
    if not ks or ks[0] < 1:
        raise click.BadParameter(f"{value!r}: expected positive integers separated by commas, e.g. 1,2,4,8")
    return ks


@click.command()
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("--scores", "scores_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help='Verifier scores: JSONL of {"instance_id", "sample_index", "score"}.')
@click.option("--k", "ks", default="1,2,4,8,16", show_default=True, callback=_ks, help="Subset sizes, comma-separated.")
@click.option("--shuffles", type=click.IntRange(min=1), default=None, hidden=True,
              help="Ignored: the values are exact (kept so existing commands still run).")
@click.option("--seed", type=int, default=None, hidden=True, help="Ignored: the values are exact.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Where rerank.json and rerank.png go [default: RUN].")
@click.pass_obj
def rerank(app, run: Path, scores_path: Path, ks: list[int], shuffles: int | None, seed: int | None, out: Path | None) -> None:
    """Pass@k and Best@k (pick the verifier's highest score) over k rollouts per instance.

    RUN is a rollout directory (its trajectories.jsonl) or a JSONL file of trajectory records.
    Sample 0, the greedy run, is in every subset; the other k-1 are any of the rest, and the
    values are exact expectations over all such subsets (ties for the top score: expected
    value over a random pick). The unbiased Pass@k of Chen et al. is reported beside them.
    """
    path = run / "trajectories.jsonl" if run.is_dir() else run
    if not path.is_file():
        raise UsageError(f"{run}: no trajectories.jsonl in this directory")
    candidates = collect_candidates(TrajectoryStore(path).records(), read_scores(scores_path))
    if not candidates:
        raise UsageError(f"{path}: no trajectory records")
    result = compute_rerank(candidates, ks)
    out = out or (run if run.is_dir() else run.parent)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rerank.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    _print_table(app, result)
    if result.unscored:
        app.console.print(f"[yellow]{result.unscored} of {result.candidates} trajectories have no score (ranked last)[/]")
    if shuffles is not None or seed is not None:
        app.console.print("[yellow]--shuffles and --seed are ignored: the values are exact[/]")
    app.console.print(f"numbers: {out / 'rerank.json'}")
    try:
        app.console.print(f"plot: {plot(result, out / 'rerank.png')}")
    except MissingDependencyError as exc:
        from rich.markup import escape

        app.console.print(f"[yellow]no plot: {escape(str(exc))}[/]")


def _print_table(app, result: RerankResult) -> None:
    from rich.table import Table

    table = Table(title="Pass@k and Best@k (%, exact over all subsets; greedy sample in every subset)")
    table.add_column("k", justify="right")
    table.add_column("Pass@k", justify="right")
    table.add_column("Pass@k unbiased", justify="right")
    table.add_column("Best@k", justify="right")
    table.add_column("instances", justify="right")
    table.add_column("with ≥k samples", justify="right")
    for row in result.rows:
        table.add_row(
            str(row.k), str(row.pass_at_k), str(row.pass_at_k_unbiased), str(row.best_at_k), str(row.instances), str(row.full)
        )
    app.console.print(table)


COMMANDS = [rerank]
