"""Strict inputs to `swegym eval`: each bad input is one line naming the file, line and field
(or the option and its range), exit code 2, and nothing is graded (no run directory, no summary)."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from swegym import get_plugin_manager
from swegym.cli import App, build_cli
from swegym.core.errors import UsageError
from swegym.core.predictions import load_predictions

ID = "swegym__tinyver-3"
OTHER = "swegym__tinyver-5"
PATCH = "diff --git a/x b/x\n"


def line(instance_id=ID, patch=PATCH, **extra):
    return json.dumps({"instance_id": instance_id, "model_name_or_path": "m", "model_patch": patch, **extra})


def eval_cli(tmp_path, *args, predictions=None):
    pm = get_plugin_manager()
    command = ["eval", "--dataset", "demo", "--run-id", "r", "--out", str(tmp_path / "out")]
    if predictions is not None:
        command += ["--predictions", str(predictions)]
    return CliRunner().invoke(build_cli(pm), [*command, *args], obj=App(pm))


def write(tmp_path, content, name="preds.jsonl"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def assert_one_line_error(result, tmp_path, *fragments):
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not (tmp_path / "out").exists()  # refused before any grading started


BAD_FILES = [
    pytest.param(line() + "\n" + json.dumps({"instance_id": OTHER, "model_name_or_path": "m"}) + "\n",
                 ["preds.jsonl:2:", "'model_patch' is missing"], id="no-model_patch"),
    pytest.param(line(patch=42) + "\n", ["preds.jsonl:1:", "'model_patch' must be a string", "a number"], id="patch-number"),
    pytest.param(line() + "\n" + line("swegym__nope-1") + "\n", ["preds.jsonl:2:", "'swegym__nope-1' is not in the dataset"],
                 id="unknown-id"),
    pytest.param(line(instance_id=7) + "\n", ["preds.jsonl:1:", "'instance_id' must be a non-empty string", "a number"],
                 id="id-not-string"),
    pytest.param(line() + "\n" + line(OTHER) + "\n" + line(patch="") + "\n",
                 ["preds.jsonl:3:", f"{ID!r} repeats", "preds.jsonl:1", "--on-duplicate"], id="duplicate"),
    pytest.param("", ["preds.jsonl", "no predictions (the file is empty)"], id="empty-file"),
    pytest.param("\n  \n", ["preds.jsonl", "no predictions"], id="blank-lines"),
    pytest.param(line().encode() + b"\n" + line(OTHER, "cafe").encode().replace(b"cafe", b"caf\xe9") + b"\n",
                 ["preds.jsonl:2:", "not valid UTF-8", "0xe9"], id="invalid-utf8"),
    pytest.param(line() + "\n" + line()[:-5] + "\n", ["preds.jsonl:2:", "invalid JSON"], id="malformed-json"),
]


@pytest.mark.parametrize("content, fragments", BAD_FILES)
def test_bad_predictions_file_is_one_line_exit_2(tmp_path, content, fragments):
    result = eval_cli(tmp_path, predictions=write(tmp_path, content))
    assert_one_line_error(result, tmp_path, *fragments)


@pytest.mark.parametrize("runtime", ["local", "docker"])
@pytest.mark.parametrize("value", ["-5", "0"])
def test_nonpositive_memory_limit_is_refused_by_both_runtimes(tmp_path, runtime, value):
    result = eval_cli(tmp_path, "--runtime", runtime, "-o", f"runtime.memory_mb={value}", predictions="empty")
    assert_one_line_error(result, tmp_path, f"memory_mb={value}", "positive integer (1 or more)")


@pytest.mark.parametrize("value", ["-1", "0"])
def test_nonpositive_timeout_is_refused(tmp_path, value):
    result = eval_cli(tmp_path, "--timeout", value, predictions="gold")
    assert_one_line_error(result, tmp_path, f"--timeout {value}", "positive number of seconds")


def test_the_console_script_prints_the_same_line(tmp_path):
    path = write(tmp_path, b"\xff\xfe" + line().encode() + b"\n")
    result = subprocess.run(
        [sys.executable, "-m", "swegym", "eval", "-d", "demo", "-p", str(path), "--run-id", "r", "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"Error: {path}:1: not valid UTF-8 (byte 0xff at column 1)"]


def test_on_duplicate_picks_first_or_last(components, tmp_path):
    from swegym.core.datasets import load_instances

    instances = load_instances("demo", components)
    path = write(tmp_path, line(patch="first\n") + "\n" + line(patch="last\n") + "\n")
    assert load_predictions(str(path), instances, on_duplicate="first")[1] == {ID: "first\n"}
    assert load_predictions(str(path), instances, on_duplicate="last")[1] == {ID: "last\n"}
    with pytest.raises(UsageError, match="repeats"):
        load_predictions(str(path), instances)


def test_valid_forms_are_read(components, tmp_path):
    from swegym.core.datasets import load_instances

    everything = load_instances("demo", components)
    selected = [i for i in everything if i.instance_id == ID]
    # null patch = no patch (SWE-bench's patch_is_None); an id of the dataset outside the selection is left out
    path = write(tmp_path, line(patch=None) + "\n\n" + line(OTHER) + "\n")
    model, patches = load_predictions(str(path), selected, known_ids={i.instance_id for i in everything})
    assert (model, patches) == ("m", {ID: ""})
    keyed = write(tmp_path, json.dumps({ID: {"model_name_or_path": "m", "model_patch": PATCH}}), name="preds.json")
    assert load_predictions(str(keyed), selected) == ("m", {ID: PATCH})
    listed = write(tmp_path, json.dumps([{"instance_id": ID, "model_patch": 3}]), name="list.json")
    with pytest.raises(UsageError, match=r"list.json: item 0: field 'model_patch' must be a string"):
        load_predictions(str(listed), selected)


def test_a_timeout_is_final_only_for_the_limit_it_was_graded_under(tmp_path):
    from swegym.core.evaluation import read_report
    from swegym.core.harness import Grading, write_artifacts
    from swegym.core.results import GradeStatus, GradingResult

    def graded(status, timeout_s):
        directory = tmp_path / f"{status}-{timeout_s}"
        result = GradingResult(ID, status, patch_exists=True, patch_applied=True, timeout_s=timeout_s)
        write_artifacts(Grading(result, PATCH), directory)
        return directory

    short = graded("timeout", 5.0)
    assert read_report(short, ID, timeout=5.0).timeout_s == 5.0  # the same limit: final
    assert read_report(short, ID, timeout=60.0) is None  # a longer limit now: graded again
    assert read_report(graded("timeout", None), ID, timeout=60.0) is None  # limit unknown (an older run)
    assert read_report(graded("unresolved", 5.0), ID, timeout=60.0).status is GradeStatus.UNRESOLVED
