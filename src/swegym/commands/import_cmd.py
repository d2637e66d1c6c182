"""``swegym import``: trajectories written by the original scaffolds, as swegym trajectories."""

from __future__ import annotations

from pathlib import Path

import click

from swegym.core.errors import UsageError
from swegym.core.store import TrajectoryStore


@click.command("import")
@click.argument("agent", metavar="SCAFFOLD")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="trajectories JSONL to append to")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="reading option of the scaffold, e.g. completions=DIR (openhands)")
@click.pass_obj
def import_(app, agent: str, source: Path, out: Path, options: tuple[str, ...]) -> None:
    """Read SCAFFOLD's original output at SOURCE (openhands: output.jsonl) into trajectories.

    The trajectories replay through the matching scaffold (``swegym rollout --llm replay
    -o llm.path=OUT``) and export to SFT data (``swegym export-sft OUT``).
    """
    cls = app.components["agents"].get(agent)
    reading = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep:
            raise UsageError(f"--option {option!r}: write KEY=VALUE")
        reading[key.strip()] = value
    store = TrajectoryStore(out)
    count = resolved = 0
    for trajectory in cls.import_trajectories(source, **reading):
        store.append(trajectory)
        count += 1
        resolved += trajectory.resolved
    app.console.print(f"imported {count} {agent} trajectories ({resolved} resolved) -> {out}")


COMMANDS = [import_]
