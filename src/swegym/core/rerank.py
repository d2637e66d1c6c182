"""Pass@k and Best@k: how much a verifier gains by picking one of k rollouts per instance.

Per instance the candidates are its samples. As in the paper, sample 0 (the greedy run) is
always in the subset and the other k-1 are drawn uniformly without replacement from the
rest (all of them when an instance has fewer than k samples). Pass@k: any candidate in the
subset is resolved. Best@k: the candidate with the highest verifier score is resolved; a
candidate without a score ranks below every scored one, and candidates tied for the top are
one pick at random among them (so the expected value over ties counts, and no sample is
favoured by its index). Beside the greedy-fixed Pass@k, the standard unbiased estimator of
Chen et al. (2021) over all n samples: 1 - C(n-c, k) / C(n, k), with k capped at n.

All three are exact: the expectation over every subset, counted by combinatorics, not
sampled (the paper averaged 100 random shuffles). ``mean`` is that expectation in percent,
over instances; ``sd`` is the exact standard deviation of the rate that one random draw of
subsets (one "shuffle") would give, which is what the paper's error bars estimated.
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
TIES = "a uniformly random pick among the candidates tied for the top score (expected value over ties)"


@attrs.frozen
class Rate:
    """A percentage over instances: the exact expectation, and the sd of one random draw of subsets."""

    mean: float
    sd: float

    def __str__(self) -> str:
        return f"{self.mean:.1f}"

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "sd": self.sd}


@attrs.frozen
class RerankRow:
    """Pass@k (greedy fixed and unbiased) and Best@k for one k."""

    k: int
    pass_at_k: Rate  #: greedy sample fixed, as in the paper
    best_at_k: Rate  #: greedy sample fixed; the verifier's top pick
    instances: int  #: instances averaged over (all of them, whatever their sample count)
    full: int  #: instances with at least k samples (the rest use all they have)
    pass_at_k_unbiased: Rate = Rate(0.0, 0.0)  #: Chen et al.'s estimator over all samples


@attrs.frozen
class RerankResult:
    """The curves over k, and what they were computed from."""

    rows: tuple[RerankRow, ...]
    instances: int
    candidates: int
    unscored: int  #: candidates the scores file had no score for (ranked last)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "exact",
            "ties": TIES,
            "instances": self.instances,
            "candidates": self.candidates,
            "unscored": self.unscored,
            "rows": [
                {
                    "k": row.k,
                    "pass_at_k": row.pass_at_k.to_dict(),
                    "pass_at_k_unbiased": row.pass_at_k_unbiased.to_dict(),
                    "best_at_k": row.best_at_k.to_dict(),
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


def rerank(candidates: Mapping[str, Sequence[Candidate]], ks: Sequence[int]) -> RerankResult:
    """Exact Pass@k (greedy fixed and unbiased) and Best@k for each k.

    The lowest sample_index of an instance (0, the greedy run) is its greedy candidate.
    """
    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 1:
        raise UsageError("k must be positive integers")
    if not candidates:
        raise UsageError("no trajectories to rerank")
    groups = [sorted(candidates[instance_id]) for instance_id in sorted(candidates)]
    count = len(groups)
    rows = []
    for k in ks:
        per_instance = [instance_expectations(group, k) for group in groups]
        rates = [_rate([p[j] for p in per_instance]) for j in range(3)]
        rows.append(RerankRow(
            k=k, pass_at_k=rates[0], best_at_k=rates[2], instances=count,
            full=sum(1 for group in groups if len(group) >= k), pass_at_k_unbiased=rates[1],
        ))
    total = sum(len(group) for group in groups)
    unscored = sum(1 for group in groups for _, _, score in group if _no_score(score))
    return RerankResult(tuple(rows), count, total, unscored)


def instance_expectations(group: Sequence[Candidate], k: int) -> tuple[float, float, float]:
    """One instance's probabilities over subsets: (Pass@k greedy fixed, Pass@k unbiased, Best@k).

    ``group`` is sorted by sample_index; subsets are sample 0 plus k-1 of the other n-1
    (capped at n), each equally likely.
    """
    n = len(group)
    size = min(k, n)
    others, drawn = n - 1, size - 1  # the subset is the greedy sample + `drawn` of `others`
    subsets = math.comb(others, drawn)
    greedy_resolved = bool(group[0][1])
    resolved_others = sum(1 for _, resolved, _ in group[1:] if resolved)
    if greedy_resolved:
        pass_fixed = 1.0
    else:
        pass_fixed = 1.0 - math.comb(others - resolved_others, drawn) / subsets
    resolved = resolved_others + greedy_resolved
    pass_unbiased = 1.0 - math.comb(n - resolved, size) / math.comb(n, size)
    return pass_fixed, pass_unbiased, _best_expectation(group, drawn, subsets)


def _best_expectation(group: Sequence[Candidate], drawn: int, subsets: int) -> float:
    """P(the top-scored candidate of a subset is resolved), ties picked uniformly at random.

    Candidates fall into levels of equal score (unscored ones: one level below all). A
    level above the greedy sample's is the top when the subset draws none above it and at
    least one of it; the pick is then uniform over that level's members. At the greedy
    sample's level, t drawn members tie with it: the pick is resolved with probability
    (greedy + t * r/o) / (1 + t).
    """
    def level(candidate: Candidate) -> float:
        return -math.inf if _no_score(candidate[2]) else float(candidate[2])

    others = group[1:]
    greedy_level = level(group[0])
    members: dict[float, list[bool]] = {}
    for candidate in others:
        members.setdefault(level(candidate), []).append(bool(candidate[1]))
    pool, above, expected = len(others), 0, 0.0
    for value in sorted(members, reverse=True):
        if value <= greedy_level:
            break
        size, hits = len(members[value]), sum(members[value])
        top = math.comb(pool - above, drawn) - math.comb(pool - above - size, drawn)
        expected += top / subsets * hits / size
        above += size
    tied = members.get(greedy_level, [])
    size, hits = len(tied), sum(tied)
    below = pool - above - size
    for t in range(min(size, drawn) + 1):
        ways = math.comb(size, t) * math.comb(below, drawn - t)
        if ways:
            share = hits / size if size else 0.0
            expected += ways / subsets * (bool(group[0][1]) + t * share) / (1 + t)
    return expected


def _rate(probabilities: Sequence[float]) -> Rate:
    """Percent over instances; sd of one draw: each instance is a Bernoulli with its probability."""
    count = len(probabilities)
    mean = 100 * sum(probabilities) / count
    sd = 100 * math.sqrt(sum(p * (1 - p) for p in probabilities)) / count
    return Rate(mean, sd)


def _no_score(score: float | None) -> bool:
    return score is None or math.isnan(score)


def plot(result: RerankResult, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write the Pass@k and Best@k curves against k (log2 axis) as a PNG.

    Values are exact, so there are no error bars; each curve has its own marker and line
    style, so one that coincides with another stays visible.
    """
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
    curves = (  # drawn widest first, so a coinciding narrower one stays on top
        ("Best@k (verifier)", "best_at_k", dict(marker="s", markersize=9, linestyle="-", linewidth=3, alpha=0.6)),
        ("Pass@k (oracle, greedy fixed)", "pass_at_k", dict(marker="o", markersize=6, linestyle="--", linewidth=1.8)),
        ("Pass@k (unbiased)", "pass_at_k_unbiased",
         dict(marker="^", markersize=5, markerfacecolor="none", linestyle=":", linewidth=1.5)),
    )
    for label, field, style in curves:
        axes.plot(ks, [getattr(row, field).mean for row in result.rows], label=label, **style)
    axes.set_xscale("log", base=2)
    axes.xaxis.set_major_locator(FixedLocator(ks))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([str(k) for k in ks])
    axes.set_ylim(0, 102)
    axes.set_xlabel("k (rollouts per instance)")
    axes.set_ylabel("resolved (%)")
    axes.set_title(title or f"Pass@k and Best@k ({result.instances} instances, exact)")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
