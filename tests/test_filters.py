"""Trajectory filters and ``swegym filter``: hand-computed expectations on small runs."""

import json
import random

import orjson
import pytest
from click.testing import CliRunner

import swegym.plugins.filters
from swegym import GradeStatus, GradingResult, StopReason, ToolCall, Trajectory, Turn, get_plugin_manager
from swegym.cli import App, build_cli
from swegym.commands.filter import filter_command
from swegym.core.errors import OptionError, UnknownComponentError, UsageError
from swegym.core.filtering import FilterPipeline, apply_filters, patch_digest
from swegym.core.registry import Components
from swegym.core.store import TrajectoryStore


def record(instance_id, sample, *, turns=1, resolved=True, patch=None, stop="finished", content="do it"):
    """A stored trajectory record with ``turns`` assistant messages (each followed by a tool result)."""
    messages = [Turn("system", "sys"), Turn("user", "fix")]
    for t in range(turns):
        messages += [Turn("assistant", content, tool_calls=(ToolCall("execute_bash", {"command": "ls"}, f"c{t}"),)),
                     Turn("tool", "out", tool_call_id=f"c{t}")]
    status = GradeStatus.RESOLVED if resolved else GradeStatus.UNRESOLVED
    return Trajectory(
        instance_id, sample, "openhands", "m", tuple(messages),
        patch=f"diff {instance_id} {sample}\n" if patch is None else patch,
        stop_reason=StopReason(stop),
        outcome=GradingResult(instance_id, status, patch_exists=True, patch_applied=True),
    ).to_dict()


@pytest.fixture
def components():
    return Components(get_plugin_manager(entry_points=False, extra=[swegym.plugins.filters]))


def run(components, records, *names, **options):
    filters = [components["filters"].create(name, options.get(name.replace("-", "_"), {})) for name in names]
    kept, report = apply_filters(filters, records)
    return [(r["instance_id"], r["sample_index"]) for r in kept], report


def test_the_builtin_filters_are_registered(components):
    assert components["filters"].names() == ["cap", "dedupe", "max-tokens", "no-loop", "resolved"]
    assert components["filters"].entry("cap").plugin.endswith("filters")


def test_resolved_keeps_only_resolved(components):
    records = [record("a", 0), record("a", 1, resolved=False), record("b", 0, resolved=False), {**record("c", 0), "outcome": None}]
    kept, report = run(components, records, "resolved")
    assert kept == [("a", 0)]
    assert (report.records_in, report.steps[0].removed, report.records_out, report.instances_out) == (4, 3, 1, 1)


def test_no_resolved_trajectories_leaves_nothing(components):
    kept, report = run(components, [record("a", 0, resolved=False), record("b", 1, resolved=False)], "resolved", "cap")
    assert kept == []
    assert [(s.name, s.removed) for s in report.steps] == [("resolved", 2), ("cap", 0)]
    assert (report.records_out, report.instances_out) == (0, 0)


def test_cap_prefers_fewest_turns_then_lowest_sample_index(components):
    records = [
        record("a", 0, turns=5), record("a", 1, turns=3), record("a", 2, turns=3), record("a", 3, turns=7),
        record("b", 2, turns=4), record("b", 0, turns=4), record("b", 1, turns=4),  # a three-way tie
        record("c", 3, turns=9),  # fewer than n samples: kept as they are
    ]
    kept, report = run(components, records, "cap")
    assert kept == [("a", 1), ("a", 2), ("b", 0), ("b", 1), ("c", 3)]
    assert report.steps[0].removed == 3 and report.instances_out == 3
    # The choice does not depend on the order records arrive in.
    for seed in range(5):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert sorted(run(components, shuffled, "cap")[0]) == sorted(kept)
    kept_one, _ = run(components, records, "cap", cap={"n": "1"})
    assert kept_one == [("a", 1), ("b", 0), ("c", 3)]


def test_cap_breaks_a_full_tie_by_the_patch_hash(components):
    # Two runs merged: same instance, same sample index, same number of turns.
    first, second = record("a", 0, patch="diff one\n"), record("a", 0, patch="diff two\n")
    winner = min((first, second), key=lambda r: patch_digest(r["patch"])[:8])
    for order in ([first, second], [second, first]):
        kept, _ = apply_filters([components["filters"].create("cap", {"n": "1"})], order)
        assert [r["patch"] for r in kept] == [winner["patch"]]


def test_cap_grouped_matches_ungrouped_and_rejects_interleaved_input(components):
    grouped = [record("a", k, turns=4 - k) for k in range(4)] + [record("b", k, turns=2) for k in range(3)]
    assert run(components, grouped, "cap", cap={"grouped": "true"})[0] == run(components, grouped, "cap")[0]
    assert run(components, grouped, "cap", cap={"grouped": "true"})[0] == [("a", 3), ("a", 2), ("b", 0), ("b", 1)]
    interleaved = [record("a", 0), record("b", 0), record("a", 1)]
    with pytest.raises(UsageError, match="appears again"):
        run(components, interleaved, "cap", cap={"grouped": "true"})


def test_no_loop_drops_stuck_trajectories(components):
    records = [record("a", 0, stop="stuck"), record("a", 1, stop="max_turns"), record("b", 0), {**record("b", 1), "stop_reason": None}]
    kept, report = run(components, records, "no-loop")
    assert kept == [("a", 1), ("b", 0), ("b", 1)]
    assert report.steps[0].removed == 1


def test_dedupe_drops_whitespace_variants_of_a_kept_patch(components):
    patch = "diff --git a/x.py b/x.py\n+x = 1\n"
    records = [
        record("a", 0, patch=patch),
        record("a", 1, patch="diff --git a/x.py  b/x.py\r\n+x = 1   \n\n"),  # same patch, reformatted
        record("a", 2, patch="diff --git a/x.py b/x.py\n+x = 2\n"),
        record("b", 0, patch=patch),  # the same patch on another instance is kept
        record("b", 1, patch="diff --git a/x.py b/x.py\n+x=1\n"),  # whitespace inside a token matters
    ]
    kept, report = run(components, records, "dedupe")
    assert kept == [("a", 0), ("a", 2), ("b", 0), ("b", 1)]
    assert report.steps[0].removed == 1


def test_max_tokens_estimates_four_characters_per_token(components):
    def sized(instance_id, characters):
        data = record(instance_id, 0)
        data["messages"] = [{"role": "user", "content": "u" * 7}, {"role": "assistant", "content": "a" * (characters - 8)}]
        return data  # 7 + newline + the rest = ``characters``

    records = [sized("fits", 40), sized("rounds-up", 41), sized("long", 100)]
    # 40 chars -> 10 tokens; 41 -> 11 (rounded up); 100 -> 25
    kept, report = run(components, records, "max-tokens", max_tokens={"max_tokens": "10"})
    assert kept == [("fits", 0)]
    assert report.steps[0].removed == 2
    assert run(components, records, "max-tokens", max_tokens={"max_tokens": "25"})[0] == [("fits", 0), ("rounds-up", 0), ("long", 0)]
    # Tool calls count: one call {"name":"execute_bash","arguments":{"command":"ls"}} is 52 characters.
    with_call = record("call", 0, turns=1, content="")
    # sys, fix, "", call json, out -> 3 + 3 + 0 + 52 + 3 + 4 newlines = 65 chars -> 17 tokens
    assert run(components, [with_call], "max-tokens", max_tokens={"max_tokens": "17"})[0] == [("call", 0)]
    assert run(components, [with_call], "max-tokens", max_tokens={"max_tokens": "16"})[0] == []


def test_max_tokens_counts_with_a_real_tokenizer(components, tmp_path):
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "fix": 1, "the": 2, "bug": 3}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]"}))
    data = record("a", 0)
    data["messages"] = [{"role": "user", "content": "fix the bug"}, {"role": "assistant", "content": "a long sentence here"}]
    # 3 + 4 whitespace-separated words = 7 tokens (the estimate would say 32 chars -> 8)
    options = {"tokenizer": str(tmp_path)}
    assert run(components, [data], "max-tokens", max_tokens={**options, "max_tokens": "7"})[0] == [("a", 0)]
    assert run(components, [data], "max-tokens", max_tokens={**options, "max_tokens": "6"})[0] == []


def test_pipeline_counts_each_filter_in_order(components):
    records = [
        record("a", 0, turns=2), record("a", 1, turns=1, stop="stuck"), record("a", 2, turns=3),
        record("a", 3, turns=4, patch="diff a 0\n"),  # the same patch as sample 0
        record("a", 4, resolved=False), record("a", 5, turns=5),
        record("b", 0, resolved=False), record("b", 1, turns=2), record("b", 2, turns=2, patch=" diff  b 1 \n"),
        record("c", 0, resolved=False),
    ]
    names = ("resolved", "no-loop", "dedupe", "cap")
    kept, report = run(components, records, *names)
    # resolved drops a4, b0, c0; no-loop drops a1; dedupe drops a3 and b2; cap (n=2) keeps a0, a2 of a0, a2, a5
    assert [(s.name, s.removed) for s in report.steps] == [("resolved", 3), ("no-loop", 1), ("dedupe", 2), ("cap", 1)]
    assert kept == [("a", 0), ("a", 2), ("b", 1)]
    assert (report.records_in, report.records_out, report.instances_out) == (10, 3, 2)


def test_pipeline_streams(components):
    """A streaming filter pulls one record at a time: nothing is read ahead of what is kept."""
    pulled = []

    def source():
        for k in range(1000):
            pulled.append(k)
            yield record("a", k, resolved=k % 2 == 0)

    filters = [components["filters"].create(name) for name in ("resolved", "no-loop", "dedupe")]
    stream = FilterPipeline(filters).run(source())
    assert next(stream)["sample_index"] == 0 and len(pulled) == 1
    assert next(stream)["sample_index"] == 2 and len(pulled) == 3


def test_unknown_filter_and_option_are_errors(components):
    with pytest.raises(UnknownComponentError, match="available: cap, dedupe"):
        components["filters"].create("resolve")
    with pytest.raises(OptionError, match="accepted: grouped, n"):
        components["filters"].create("cap", {"size": "2"})
    with pytest.raises(OptionError, match="n"):
        components["filters"].create("cap", {"n": "0"})


# The command ------------------------------------------------------------------------------


@pytest.fixture
def cli():
    pm = get_plugin_manager(entry_points=False, extra=[swegym.plugins.filters])
    command = build_cli(pm)
    command.add_command(filter_command)
    return lambda *args: CliRunner().invoke(command, list(args), obj=App(pm), terminal_width=200)


@pytest.fixture
def run_dir(tmp_path):
    store = TrajectoryStore(tmp_path / "run" / "trajectories.jsonl")
    for data in [record("a", 0, turns=3), record("a", 1, turns=1), record("a", 2, turns=2), record("a", 3, resolved=False),
                 record("b", 0, resolved=False), record("b", 1, stop="stuck"), record("c", 0, turns=2)]:
        store.append(Trajectory.from_dict(data))
    return tmp_path / "run"


def rows(output):
    return {line.split("│")[1].strip(): line.split("│")[2].strip() for line in output.splitlines() if line.count("│") == 3 and "step" not in line}


def test_cli_filters_a_run_directory(cli, run_dir, tmp_path):
    out = tmp_path / "sft" / "cap.jsonl"
    result = cli("filter", str(run_dir), "--filter", "resolved", "--filter", "no-loop", "--filter", "cap", "-o", "cap.n=1", "--out", str(out))
    assert result.exit_code == 0, result.output
    kept = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [(r["instance_id"], r["sample_index"]) for r in kept] == [("a", 1), ("c", 0)]
    assert kept[0] == record("a", 1, turns=1)  # records pass through whole
    assert rows(result.output) == {
        "records in": "7", "resolved: removed": "2", "no-loop: removed": "1", "cap: removed": "2",
        "records out": "2", "instances out": "2",
    }
    assert sorted(out.parent.iterdir()) == sorted([out, out.with_name("cap.report.json")])  # the counts beside it; no temporary file left
    report = json.loads(out.with_name("cap.report.json").read_text())
    assert report["records_out"] == len(out.read_text().splitlines()) and report["removed"] == {"resolved": 2, "no-loop": 1, "cap": 2}


def test_cli_reads_a_jsonl_file(cli, run_dir, tmp_path):
    out = tmp_path / "resolved.jsonl"
    result = cli("filter", str(run_dir / "trajectories.jsonl"), "-f", "resolved", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(out.read_bytes().splitlines()) == 5
    assert rows(result.output)["instances out"] == "3"


@pytest.mark.parametrize(("args", "message"), [
    (["--filter", "resolve"], "unknown filter 'resolve'; available: cap, dedupe, max-tokens, no-loop, resolved"),
    (["--filter", "cap", "-o", "cap.size=2"], "filter 'cap' has no option 'size'; accepted: grouped, n"),
    (["--filter", "cap", "-o", "cap.n=two"], "expected an integer"),
    (["--filter", "resolved", "-o", "cap.n=2"], "no --filter cap"),
    (["-o", "cap.n=2"], "give at least one --filter"),
    (["--filter", "cap", "-o", "capn=2"], "COMPONENT.KEY=VALUE"),
])
def test_cli_user_errors_are_one_line(cli, run_dir, tmp_path, args, message):
    out = tmp_path / "out.jsonl"
    result = cli("filter", str(run_dir), *args, "--out", str(out))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_run_directory_without_trajectories(cli, tmp_path):
    result = cli("filter", str(tmp_path), "-f", "resolved", "--out", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2 and "no trajectories.jsonl" in result.output
