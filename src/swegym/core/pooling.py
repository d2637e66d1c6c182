"""Pooling runs: the trajectories of several runs as one run of more samples per instance.

Best@k reranks among the candidates of one run; a candidate pool can come from several
rollouts (two scaffolds, two models, an expert recording and policy samples). Each instance's
samples are renumbered in input order, so the first run's sample 0 (its greedy run) stays
sample 0. Each pooled record keeps where it came from in ``config["pooled_from"]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from swegym.core.errors import UsageError
from swegym.core.store import TrajectoryStore


def trajectories_file(source: str | os.PathLike[str]) -> Path:
    """A run directory's trajectories.jsonl, or ``source`` itself when it is a file."""
    path = Path(source)
    path = path / "trajectories.jsonl" if path.is_dir() else path
    if not path.is_file():
        raise UsageError(f"{source}: no trajectories (give a run directory or a trajectories JSONL)")
    return path


def pooled_records(sources: Sequence[str | os.PathLike[str]], instance_ids: Iterable[str] = ()) -> Iterator[dict]:
    """The records of ``sources`` in order, each instance's samples numbered 0, 1, 2, ...

    :param instance_ids: keep only these instances (all when empty).
    """
    paths = [trajectories_file(source) for source in sources]
    wanted = set(instance_ids)
    next_index: dict[str, int] = {}
    for path in paths:
        # within one run, keep its own sample order per instance
        for record in sorted(TrajectoryStore(path).records(), key=lambda r: (r["instance_id"], int(r["sample_index"]))):
            instance_id = record["instance_id"]
            if wanted and instance_id not in wanted:
                continue
            index = next_index.get(instance_id, 0)
            next_index[instance_id] = index + 1
            config = dict(record.get("config") or {})
            config["pooled_from"] = {"run": str(path.parent if path.name == "trajectories.jsonl" else path),
                                     "sample_index": int(record["sample_index"])}
            yield {**record, "sample_index": index, "config": config}


def pool_runs(sources: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], instance_ids: Iterable[str] = ()) -> int:
    """Write the pooled run to ``out``/trajectories.jsonl (replacing it); returns the record count."""
    import orjson

    if not sources:
        raise UsageError("nothing to pool: give at least one run")
    target = Path(out) / "trajectories.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    count = 0
    with open(tmp, "wb") as handle:
        for record in pooled_records(sources, instance_ids):
            handle.write(orjson.dumps(record) + b"\n")
            count += 1
    tmp.replace(target)
    return count


def instance_counts(records: Iterable[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["instance_id"]] = counts.get(record["instance_id"], 0) + 1
    return counts
