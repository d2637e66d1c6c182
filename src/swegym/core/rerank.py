"""Pass@k and Best@k: how much a verifier gains by picking one of k rollouts per instance.

Per instance the candidates are its samples; sample 0 (the greedy run) is always in the
subset, and the other k-1 are drawn uniformly without replacement from the rest (all of them
when an instance has fewer than k samples). Pass@k: any candidate in the subset is resolved.
Best@k: the candidate with the highest verifier score is resolved (ties go to the lower
sample_index; a candidate without a score ranks below every scored one). Each shuffle gives a
rate over instances; the result is the mean and standard deviation over shuffles, in percent.

A shuffle draws one random order of the non-greedy samples per instance, and the subset for k
is its first k-1: every prefix of a uniform random order is a uniform random subset, and the
curves of one shuffle are then nested, as in the paper's scaling figure.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from swegym.core.errors import MissingDependencyError, UsageError
from swegym.core.filtering import is_resolved

#: (sample_index, resolved, score); score is None when the verifier gave none.
Candidate = tuple[int, bool, "float | None"]


@attrs.frozen
class Rate:
    """A percentage over instances: mean and standard deviation over shuffles."""

    mean: float
    sd: float

    def __str__(self) -> str:
        return f"{self.mean:.1f} ± {self.sd:.1f}"


@attrs.frozen
class RerankRow:
    """Pass@k and Best@k for one k."""

    k: int
    pass_at_k: Rate
    best_at_k: Rate
    instances: int  #: instances averaged over (all of them, whatever their sample count)
    full: int  #: instances with at least k samples (the rest use all they have)


@attrs.frozen
class RerankResult:
    """The curves over k, and what they were computed from."""

    rows: tuple[RerankRow, ...]
    shuffles: int
    seed: int
    instances: int
    candidates: int
    unscored: int  #: candidates the scores file had no score for (ranked last)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shuffles": self.shuffles,
            "seed": self.seed,
            "instances": self.instances,
            "candidates": self.candidates,
            "unscored": self.unscored,
            "rows": [
                {
                    "k": row.k,
                    "pass_at_k": {"mean": row.pass_at_k.mean, "sd": row.pass_at_k.sd},
                    "best_at_k": {"mean": row.best_at_k.mean, "sd": row.best_at_k.sd},
                    "instances": row.instances,
                    "instances_with_k_samples": row.full,
                }
                for row in self.rows
            ],
        }


def read_scores(path: str | os.PathLike[str]) -> dict[tuple[str, int], float]:
    """The verifier's scores: JSONL of ``{"instance_id", "sample_index", "score"}`` (a later line wins)."""
    scores: dict[tuple[str, int], float] = {}
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                key = (str(record["instance_id"]), int(record["sample_index"]))
                score = float(record["score"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise UsageError(
                    f"{path}:{number}: expected {{\"instance_id\", \"sample_index\", \"score\"}} ({exc})"
                ) from None
            scores[key] = score
    return scores


def collect_candidates(
    records: Iterable[Mapping[str, Any]], scores: Mapping[tuple[str, int], float]
) -> dict[str, list[Candidate]]:
    """Per instance, its candidates sorted by sample_index, from streamed trajectory records.

    Only (sample_index, resolved, score) is kept per record; a record repeated for the same
    (instance, sample) keeps the last one.
    """
    by_instance: dict[str, dict[int, Candidate]] = {}
    for record in records:
        instance_id = str(record["instance_id"])
        index = int(record["sample_index"])
        by_instance.setdefault(instance_id, {})[index] = (index, is_resolved(record), scores.get((instance_id, index)))
    return {iid: [c[i] for i in sorted(c)] for iid, c in by_instance.items()}


def rerank(
    candidates: Mapping[str, Sequence[Candidate]], ks: Sequence[int], *, shuffles: int = 100, seed: int = 0
) -> RerankResult:
    """Pass@k and Best@k for each k, averaged over ``shuffles`` random subsets (deterministic in ``seed``).

    The lowest sample_index of an instance (0, the greedy run) is always the first candidate.
    """
    import numpy as np

    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 1:
        raise UsageError("k must be positive integers")
    if shuffles < 1:
        raise UsageError("shuffles must be at least 1")
    if not candidates:
        raise UsageError("no trajectories to rerank")
    rng = np.random.default_rng(seed)
    passed = np.zeros((shuffles, len(ks)))
    best = np.zeros((shuffles, len(ks)))
    total = unscored = 0
    for instance_id in sorted(candidates):  # sorted: the draws do not depend on file order
        group = sorted(candidates[instance_id])
        n = len(group)
        total += n
        unscored += sum(1 for _, _, score in group if _no_score(score))
        resolved = np.array([r for _, r, _ in group], dtype=bool)
        # rank 0 = the verifier's pick among all candidates: highest score, then lowest sample_index
        order = sorted(range(n), key=lambda i: (math.inf if _no_score(group[i][2]) else -group[i][2], group[i][0]))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        others = rng.permuted(np.tile(np.arange(1, n), (shuffles, 1)), axis=1)
        drawn = np.concatenate([np.zeros((shuffles, 1), dtype=np.int64), others], axis=1)  # greedy first
        pass_prefix = np.maximum.accumulate(resolved[drawn], axis=1)
        pick = np.argsort(rank)[np.minimum.accumulate(rank[drawn], axis=1)]
        best_prefix = resolved[pick]
        columns = [min(k, n) - 1 for k in ks]
        passed += pass_prefix[:, columns]
        best += best_prefix[:, columns]
    count = len(candidates)
    sizes = [len(group) for group in candidates.values()]
    rows = []
    for j, k in enumerate(ks):
        pass_rates = 100 * passed[:, j] / count
        best_rates = 100 * best[:, j] / count
        rows.append(RerankRow(
            k=k,
            pass_at_k=Rate(float(pass_rates.mean()), float(pass_rates.std())),
            best_at_k=Rate(float(best_rates.mean()), float(best_rates.std())),
            instances=count,
            full=sum(1 for size in sizes if size >= k),
        ))
    return RerankResult(tuple(rows), shuffles, seed, count, total, unscored)


def _no_score(score: float | None) -> bool:
    return score is None or math.isnan(score)


def plot(result: RerankResult, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write the Pass@k and Best@k curves against k (log2 axis, ± sd error bars) as a PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FixedLocator, NullLocator
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot") from None

    ks = [row.k for row in result.rows]
    figure = Figure(figsize=(6, 4.5), dpi=120)
    FigureCanvasAgg(figure)  # Agg without pyplot's global state
    axes = figure.add_subplot()
    for label, rates, marker in (
        ("Pass@k (oracle)", [row.pass_at_k for row in result.rows], "o"),
        ("Best@k (verifier)", [row.best_at_k for row in result.rows], "s"),
    ):
        axes.errorbar(ks, [r.mean for r in rates], yerr=[r.sd for r in rates], marker=marker, capsize=3, label=label)
    axes.set_xscale("log", base=2)
    axes.xaxis.set_major_locator(FixedLocator(ks))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([str(k) for k in ks])
    axes.set_xlabel("k (rollouts per instance)")
    axes.set_ylabel("resolved (%)")
    axes.set_title(title or f"Pass@k and Best@k ({result.instances} instances, {result.shuffles} shuffles)")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
