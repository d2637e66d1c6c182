"""``swegym rerank``: Pass@k / Best@k on small constructed runs with hand-computed answers."""

from __future__ import annotations

import itertools
import json
import math
import random
import struct
import sys

import pytest
from click.testing import CliRunner

import swegym
from swegym.cli import App, build_cli
from swegym.commands.rerank import rerank as rerank_command
from swegym.core.errors import UsageError
from swegym.core.rerank import collect_candidates, plot, read_scores, rerank
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.store import TrajectoryStore
from swegym.core.trajectory import Trajectory

# Per instance, (resolved, score) per sample_index; sample 0 is the greedy run.
#   k=1: greedy resolved in B and D -> 2/4 = 50.
#   k>=2 (every instance uses all its samples): Pass: A, B, D -> 75; Best: A picks 1 (resolved),
#   B picks 1 (not), C has only sample 0 (not), D picks 0 (resolved) -> 50.
SMALL = {
    "A": [(False, 0.1), (True, 0.9)],
    "B": [(True, 0.3), (False, 0.8)],
    "C": [(False, 0.5)],
    "D": [(True, 0.6), (True, 0.2)],
}

# One instance, five samples. For k=3 the subset is sample 0 plus 2 of {1, 2, 3, 4} (6 subsets):
#   {1,2} pass, pick 1 (0.9, not)   {1,3} fail, pick 1 (not)     {1,4} pass, pick 1 (not)
#   {2,3} pass, pick 0 (0.5, not)   {2,4} pass, pick 4 (0.7, yes) {3,4} pass, pick 4 (yes)
# Sample 3 has no score, so it ranks below sample 2's 0.4. Pass@3 = 5/6, Best@3 = 2/6.
RANDOM = {"R": [(False, 0.5), (False, 0.9), (True, 0.4), (False, None), (True, 0.7)]}


def candidates(spec):
    return {iid: [(i, resolved, score) for i, (resolved, score) in enumerate(samples)] for iid, samples in spec.items()}


def rows(result):
    return {row.k: row for row in result.rows}


def brute_force(group, k):
    """(Pass@k greedy fixed, Pass@k unbiased, Best@k) by enumerating every subset."""
    n = len(group)
    size = min(k, n)

    def top_pick(subset):  # the verifier's pick, ties: the mean over the tied candidates
        def value(c):
            return -math.inf if c[2] is None or math.isnan(c[2]) else c[2]

        best = max(value(c) for c in subset)
        tied = [c for c in subset if value(c) == best]
        return sum(c[1] for c in tied) / len(tied)

    fixed = [(group[0], *rest) for rest in itertools.combinations(group[1:], size - 1)]
    pass_fixed = sum(any(c[1] for c in s) for s in fixed) / len(fixed)
    best = sum(top_pick(s) for s in fixed) / len(fixed)
    every = list(itertools.combinations(group, size))
    pass_unbiased = sum(any(c[1] for c in s) for s in every) / len(every)
    return pass_fixed, pass_unbiased, best


def random_instances(seed, count):
    rng = random.Random(seed)
    spec = {}
    for n in range(count):
        size = rng.randint(1, 9)
        scores = [rng.choice([None, math.nan, 0.1, 0.5, 0.5, 0.9, rng.random()]) for _ in range(size)]
        spec[f"I{n}"] = [(rng.random() < 0.4, score) for score in scores]
    return spec


def test_exact_values_equal_brute_force_over_all_subsets():
    spec = random_instances(seed=1, count=60)
    given = candidates(spec)
    ks = [1, 2, 3, 4, 6, 9, 12]
    result = rows(rerank(given, ks))
    for k in ks:
        expected = [brute_force(given[iid], k) for iid in sorted(given)]
        for field, j in (("pass_at_k", 0), ("pass_at_k_unbiased", 1), ("best_at_k", 2)):
            probabilities = [e[j] for e in expected]
            rate = getattr(result[k], field)
            assert rate.mean == pytest.approx(100 * sum(probabilities) / len(probabilities), abs=1e-9), (k, field)
            sd = 100 * math.sqrt(sum(p * (1 - p) for p in probabilities)) / len(probabilities)
            assert rate.sd == pytest.approx(sd, abs=1e-9)
    assert result[1].pass_at_k.mean == result[1].best_at_k.mean  # k=1 is the greedy sample alone


def test_unbiased_pass_at_k_is_chen_et_al():
    # n=5, c=2: 1 - C(3, k) / C(5, k)
    result = rows(rerank(candidates({"X": [(False, 0.1), (True, 0.2), (False, 0.3), (True, 0.4), (False, 0.5)]}), [1, 2, 3, 4]))
    for k in (1, 2, 3, 4):
        assert result[k].pass_at_k_unbiased.mean == pytest.approx(100 * (1 - math.comb(3, k) / math.comb(5, k)))
    assert result[1].pass_at_k.mean == 0.0  # the greedy-fixed one starts from the greedy sample


def test_k1_is_the_greedy_resolve_rate_and_full_subsets_are_exact():
    result = rows(rerank(candidates(SMALL), [1, 2, 4]))
    for k in (1, 2, 4):
        assert result[k].instances == 4
    assert (result[1].pass_at_k.mean, result[1].pass_at_k.sd) == (50.0, 0.0)
    assert (result[1].best_at_k.mean, result[1].best_at_k.sd) == (50.0, 0.0)
    # every instance has at most 2 samples: k=2 and k=4 use all of them
    for k in (2, 4):
        assert (result[k].pass_at_k.mean, result[k].pass_at_k.sd) == (75.0, 0.0)
        assert (result[k].best_at_k.mean, result[k].best_at_k.sd) == (50.0, 0.0)
        assert result[k].pass_at_k_unbiased.mean == 75.0
    assert [result[k].full for k in (1, 2, 4)] == [4, 3, 0]


def test_hand_computed_subsets():
    result = rows(rerank(candidates(RANDOM), [1, 3, 5, 8]))
    assert (result[1].pass_at_k.mean, result[1].best_at_k.mean) == (0.0, 0.0)
    assert result[3].pass_at_k.mean == pytest.approx(100 * 5 / 6)
    assert result[3].best_at_k.mean == pytest.approx(100 * 2 / 6)
    # one instance: one draw scores 0 or 100, so its sd is 100 * sqrt(p (1 - p))
    assert result[3].pass_at_k.sd == pytest.approx(100 * math.sqrt(5 / 6 * 1 / 6))
    # k=5 and k=8 use all five samples: Pass = 100, Best picks sample 1 (0.9, not resolved)
    for k in (5, 8):
        assert (result[k].pass_at_k.mean, result[k].pass_at_k.sd) == (100.0, 0.0)
        assert (result[k].best_at_k.mean, result[k].best_at_k.sd) == (0.0, 0.0)
    assert [result[k].full for k in (1, 3, 5, 8)] == [1, 1, 1, 0]


def test_best_at_k_below_pass_at_k_when_the_verifier_prefers_a_failure():
    spec = {"X": [(True, 0.2), (False, 0.8)], "Y": [(False, 0.9), (True, 0.1)]}
    result = rows(rerank(candidates(spec), [1, 2]))
    assert result[1].pass_at_k.mean == result[1].best_at_k.mean == 50.0
    assert result[2].pass_at_k.mean == 100.0
    assert result[2].best_at_k.mean == 0.0


@pytest.mark.parametrize(
    ("samples", "expected_best"),
    [
        ([(False, 0.7), (True, 0.7)], 50.0),  # a tie: the expected value of a random pick
        ([(True, 0.7), (False, 0.7), (False, 0.7)], 100 / 3),
        ([(True, None), (False, 0.0)], 0.0),  # no score ranks below any score, even 0
        ([(False, None), (True, None)], 50.0),  # neither scored: a tie
        ([(False, math.nan), (True, -5.0)], 100.0),  # NaN counts as no score
    ],
)
def test_ties_and_missing_scores(samples, expected_best):
    k = len(samples)
    result = rows(rerank(candidates({"X": samples}), [k]))
    assert result[k].best_at_k.mean == pytest.approx(expected_best)


def test_independent_of_record_order():
    given = candidates(random_instances(seed=4, count=12))
    first = rerank(given, [1, 2, 3, 4]).to_dict()
    reordered = {iid: list(reversed(group)) for iid, group in reversed(list(given.items()))}
    assert rerank(reordered, [4, 2, 3, 1]).to_dict() == first
    assert first["method"] == "exact" and "ties" in first


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError):
        rerank(candidates(SMALL), [0, 2])
    with pytest.raises(UsageError):
        rerank({}, [1])


def write_run(directory, spec, *, scored=True):
    """A real trajectory store and a scores file for ``spec``; returns (store path, scores path)."""
    store = TrajectoryStore(directory / "trajectories.jsonl")
    scores = []
    for iid, samples in spec.items():
        for index, (resolved, score) in enumerate(samples):
            status = GradeStatus.RESOLVED if resolved else GradeStatus.UNRESOLVED
            outcome = GradingResult(iid, status, patch_exists=True, patch_applied=True)
            store.append(Trajectory(iid, index, "openhands", "tiny", patch="diff", outcome=outcome))
            if scored and score is not None:
                scores.append({"instance_id": iid, "sample_index": index, "score": score})
    scores_path = directory / "scores.jsonl"
    scores_path.write_text("".join(json.dumps(s) + "\n" for s in scores))
    return store.path, scores_path


def test_collect_candidates_from_store_records(tmp_path):
    path, scores_path = write_run(tmp_path, SMALL)
    store = TrajectoryStore(path)
    # an ungraded record and an erroring one are not resolved; a repeated record keeps the last
    store.append(Trajectory("E", 0, "openhands", "tiny", stop_reason="error"))
    store.append(Trajectory("E", 1, "openhands", "tiny", outcome=GradingResult("E", GradeStatus.ERROR)))
    store.append(Trajectory("D", 1, "openhands", "tiny", outcome=GradingResult("D", GradeStatus.UNRESOLVED)))
    found = collect_candidates(store.records(), read_scores(scores_path))
    assert found["A"] == [(0, False, 0.1), (1, True, 0.9)]
    assert found["C"] == [(0, False, 0.5)]
    assert found["D"] == [(0, True, 0.6), (1, False, 0.2)]
    assert found["E"] == [(0, False, None), (1, False, None)]


def test_read_scores_rejects_a_bad_line(tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text('{"instance_id": "A", "sample_index": 0, "score": 0.5}\n\n{"instance_id": "A", "score": 0.1}\n')
    with pytest.raises(UsageError, match=r"scores.jsonl:3"):
        read_scores(path)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_png(tmp_path):
    result = rerank(candidates(RANDOM), [1, 2, 4, 8])
    path = plot(result, tmp_path / "sub" / "rerank.png")
    width, height = png_size(path)
    assert width > 300 and height > 200


def invoke(*args):
    pm = swegym.get_plugin_manager()
    cli = build_cli(pm)
    cli.add_command(rerank_command)
    return CliRunner().invoke(cli, ["rerank", *map(str, args)], obj=App(pm), env={"COLUMNS": "400"})


def test_cli_writes_the_table_json_and_plot(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _, scores_path = write_run(run, SMALL)
    result = invoke(run, "--scores", scores_path, "--k", "4,1,2")
    assert result.exit_code == 0, result.output
    report = json.loads((run / "rerank.json").read_text())
    assert (report["method"], report["instances"], report["candidates"]) == ("exact", 4, 7)
    assert [row["k"] for row in report["rows"]] == [1, 2, 4]
    assert [row["pass_at_k"]["mean"] for row in report["rows"]] == [50.0, 75.0, 75.0]
    assert [row["pass_at_k_unbiased"]["mean"] for row in report["rows"]] == [50.0, 75.0, 75.0]
    assert [row["best_at_k"]["mean"] for row in report["rows"]] == [50.0, 50.0, 50.0]
    assert "75.0" in result.output and "Pass@k unbiased" in result.output
    assert f"plot: {run / 'rerank.png'}" in result.output
    png_size(run / "rerank.png")


def test_cli_takes_a_jsonl_file_and_out(tmp_path):
    path, scores_path = write_run(tmp_path, SMALL, scored=False)
    out = tmp_path / "figures"
    result = invoke(path, "--scores", scores_path, "--k", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert "7 of 7 trajectories have no score" in result.output
    report = json.loads((out / "rerank.json").read_text())
    # unscored everywhere: every pick is a tie, so Best@2 is the mean resolve rate of the pairs
    assert report["rows"][0]["best_at_k"]["mean"] == pytest.approx(100 * (0.5 + 0.5 + 0 + 1) / 4)
    png_size(out / "rerank.png")


def test_cli_without_matplotlib_still_writes_the_numbers(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import fails as if not installed
    run = tmp_path / "run"
    run.mkdir()
    _, scores_path = write_run(run, SMALL)
    result = invoke(run, "--scores", scores_path, "--k", "1,2", "--shuffles", "100", "--seed", "0")
    assert result.exit_code == 0, result.output
    assert json.loads((run / "rerank.json").read_text())["rows"][1]["pass_at_k"]["mean"] == 75.0
    assert not (run / "rerank.png").exists()
    notes = [line for line in result.output.splitlines() if line.startswith("no plot")]
    assert notes == ["no plot: matplotlib is not installed: pip install 'swegym[plot]'"]
    assert "--shuffles and --seed are ignored" in result.output


def test_cli_errors_are_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    scores_path = tmp_path / "scores.jsonl"
    scores_path.write_text("not json\n")
    result = invoke(run, "--scores", scores_path)
    assert result.exit_code == 2
    assert "no trajectories.jsonl" in result.output and "Traceback" not in result.output
    write_run(run, SMALL, scored=False)
    result = invoke(run, "--scores", scores_path)
    assert result.exit_code == 2 and "scores.jsonl:1" in result.output
    result = invoke(run, "--scores", scores_path, "--k", "0,2")
    assert result.exit_code == 2 and "positive integers" in result.output
