"""Where swegym's grading must agree with SWE-bench 5: ids cut at a space, the run report's
counts and failure reasons, the id form validate writes."""

import json
import subprocess
import sys

import pytest

from swegym import TaskInstance
from swegym.core.evaluation import run_summary
from swegym.core.failure_reasons import HARNESS_ERROR
from swegym.core.harness import EvalRun, grade_run, status_of
from swegym.core.logparsers import parse_log_pytest
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.test_ids import FULL, SWEBENCH, form_of, split_by_outcome, swebench_id

F2P = "t.py::test_fix"
CUT = "t.py::test_x[v"  # SWE-bench's id for both t.py::test_x[v 1] and t.py::test_x[v 2]


def instance(instance_id="o__r-1", fail_to_pass=(F2P,), pass_to_pass=(CUT,)):
    return TaskInstance(
        instance_id=instance_id, repo="o/r", base_commit="abc", patch="", test_patch="", problem_statement="p",
        FAIL_TO_PASS=fail_to_pass, PASS_TO_PASS=pass_to_pass,
    )


def graded(statuses, exit_code=1, timed_out=False, inst=None):
    return grade_run(inst or instance(), EvalRun(statuses, exit_code, "", timed_out, 1.0, ""))


def test_a_cut_id_passes_only_if_every_test_it_names_passes():
    # pytest -rA prints PASSED lines before FAILED ones: the first match must not decide
    statuses = {F2P: "PASSED", "t.py::test_x[v 1]": "PASSED", "t.py::test_x[v 2]": "FAILED"}
    result = graded(statuses)
    assert result.status is GradeStatus.UNRESOLVED
    assert result.tests_status["PASS_TO_PASS"]["failure"] == [CUT]
    statuses["t.py::test_x[v 2]"] = "XFAIL"
    assert graded(statuses, exit_code=0).status is GradeStatus.RESOLVED


def test_cut_ids_match_only_their_own_tests():
    statuses = {"t.py::test_x[v 1]": "PASSED", "t.py::test_x[va]": "FAILED", "t.py::test_x[v": "SKIPPED"}
    assert status_of(statuses, CUT) == "SKIPPED"  # an exact id wins
    del statuses["t.py::test_x[v"]
    assert status_of(statuses, CUT) == "PASSED"  # test_x[va] is not one of its tests
    assert status_of(statuses, "t.py::test_x[v 1]") == "PASSED"
    assert status_of(statuses, "t.py::test_x[v 3]") is None
    assert status_of({"t.py::test_x[v 1]": "SKIPPED", "t.py::test_x[v 2]": "ERROR"}, CUT) == "ERROR"


def test_both_forms_grade_the_same_real_pytest_run(tmp_path):
    (tmp_path / "test_p.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('v', ['v 1', 'v 2', 'w 1'])\ndef test_x(v):\n    assert v != 'v 2'\n"
    )
    log = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "--color=no", "-p", "no:cacheprovider", "test_p.py"],
        cwd=tmp_path, capture_output=True, text=True,
    ).stdout
    statuses = parse_log_pytest(log)
    assert statuses["test_p.py::test_x[v 2]"] == "FAILED"
    assert status_of(statuses, "test_p.py::test_x[v") == "FAILED"
    assert status_of(statuses, "test_p.py::test_x[w") == "PASSED"
    assert status_of(statuses, "test_p.py::test_x[v 1]") == "PASSED"


def test_validate_writes_swebench_ids_and_drops_groups_that_cannot_pass():
    before = {"a.py::t[x 1]": "FAILED", "a.py::t[x 2]": "PASSED", "a.py::u": "PASSED", "a.py::w[k 1]": "PASSED",
              "a.py::s[q 1]": "FAILED"}
    after = {"a.py::t[x 1]": "PASSED", "a.py::t[x 2]": "PASSED", "a.py::u": "PASSED", "a.py::w[k 1]": "PASSED",
             "a.py::s[q 1]": "PASSED", "a.py::s[q 2]": "FAILED"}
    f2p, p2p, dropped = split_by_outcome(before, after, form=SWEBENCH)
    assert f2p == ("a.py::t[x",) and p2p == ("a.py::u", "a.py::w[k")
    assert dropped == ("a.py::s[q 1]",)
    full = split_by_outcome(before, after, form=FULL)
    assert full == (("a.py::t[x 1]", "a.py::s[q 1]"), ("a.py::t[x 2]", "a.py::u", "a.py::w[k 1]"), ())
    assert form_of(full[0]) == FULL and form_of(f2p) == SWEBENCH
    assert swebench_id("a.py::t[x 1]") == "a.py::t[x" == swebench_id("a.py::t[x")
    with pytest.raises(ValueError, match="expected one of"):
        split_by_outcome(before, after, form="short")


def result(instance_id, status, **kwargs):
    return GradingResult(instance_id, status, patch_exists=True, patch_applied=status != "patch_failed", **kwargs)


def test_run_report_counts_as_swebench_5_does(tmp_path):
    ids = [f"o__r-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 11, 20)]
    instances = [instance(i) for i in ids]
    predictions = {i: "diff" for i in ids[:-1]}
    predictions["o__r-7"] = "  \n"
    results = {
        "o__r-1": result("o__r-1", "resolved"),
        "o__r-2": result("o__r-2", "unresolved"),
        "o__r-3": graded({}, exit_code=4, inst=instance("o__r-3")),  # no test output
        "o__r-4": graded({}, exit_code=124, timed_out=True, inst=instance("o__r-4")),
        "o__r-5": result("o__r-5", "error", flags=(HARNESS_ERROR,), reason="environment build failed"),
        "o__r-11": result("o__r-11", "patch_failed"),
        "o__r-7": GradingResult("o__r-7", "empty_patch"),
        # o__r-6 was never graded (an interrupted run); o__r-20 has no prediction
    }
    (tmp_path / "o__r-2").mkdir()
    (tmp_path / "o__r-2" / "test_output.txt").write_text("E   ModuleNotFoundError: No module named 'numpy'\n")
    summary = run_summary(instances, predictions, results, run_dir=tmp_path)
    assert summary["completed_ids"] == ["o__r-1", "o__r-2", "o__r-3", "o__r-4", "o__r-11"]  # natural order
    assert summary["resolved_ids"] == ["o__r-1"]
    assert summary["unresolved_ids"] == ["o__r-2", "o__r-3", "o__r-4", "o__r-11"]
    assert summary["error_ids"] == ["o__r-5", "o__r-6"]
    assert summary["empty_patch_ids"] == ["o__r-7"]
    assert summary["incomplete_ids"] == ["o__r-20"]
    assert summary["failure_reasons"] == {
        "o__r-2": "missing_module", "o__r-3": "no_test_output", "o__r-4": "tests_timed_out", "o__r-5": HARNESS_ERROR,
    }
    assert summary["infra_failure_ids"] == ["o__r-5"]
    assert summary["ambiguous_failure_ids"] == ["o__r-2", "o__r-3", "o__r-4"]
    counts = {k: summary[k] for k in ("total_instances", "submitted_instances", "completed_instances", "resolved_instances",
                                       "unresolved_instances", "empty_patch_instances", "error_instances",
                                       "infra_failure_instances", "ambiguous_failure_instances")}
    assert counts == {"total_instances": 9, "submitted_instances": 8, "completed_instances": 5, "resolved_instances": 1,
                      "unresolved_instances": 4, "empty_patch_instances": 1, "error_instances": 2,
                      "infra_failure_instances": 1, "ambiguous_failure_instances": 3}
    assert summary["swegym"]["not_graded_ids"] == ["o__r-6"] and summary["swegym"]["timeout_ids"] == ["o__r-4"]
    json.dumps(summary)  # plain JSON


@pytest.mark.slow
def test_validate_writes_swebench_ids_that_eval_grades(tmp_path):
    """validate (default form) then eval gold on a demo instance whose parametrized ids hold spaces."""
    def swegym(*args):
        done = subprocess.run([sys.executable, "-m", "swegym", *args], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    instance_id = "swegym__tinyver-22"
    swegym("validate", "-d", "demo", "-i", instance_id, "--out", "swebench.jsonl")
    swegym("validate", "-d", "demo", "-i", instance_id, "--out", "full.jsonl", "--test-ids", "full")
    cut, whole = (json.loads((tmp_path / name).read_text()) for name in ("swebench.jsonl", "full.jsonl"))
    assert (cut["test_id_form"], whole["test_id_form"]) == (SWEBENCH, FULL)
    assert form_of(cut["FAIL_TO_PASS"] + cut["PASS_TO_PASS"]) == SWEBENCH
    assert any(" " in t for t in whole["FAIL_TO_PASS"])
    assert sorted(cut["FAIL_TO_PASS"]) == sorted({swebench_id(t) for t in whole["FAIL_TO_PASS"]})
    for name in ("swebench", "full"):
        swegym("eval", "-d", f"{name}.jsonl", "-p", "gold", "--run-id", name)
        summary = json.loads((tmp_path / f"gold.{name}.json").read_text())
        assert summary["resolved_ids"] == [instance_id], summary


@pytest.mark.slow
def test_a_timeout_is_completed_unresolved_and_regraded_only_under_a_longer_limit(components, tmp_path):
    from demo_support import checkout, demo_instances, make_patch

    instance_id = "swegym__tinyver-18"
    demo = demo_instances(components)[instance_id]
    repo = checkout(demo, tmp_path / "tinyver")
    hang = make_patch(repo, {"tinyver/errors.py": ('"""', 'import time\ntime.sleep(3600)\n"""')}, base_patch=demo.patch)
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps({"instance_id": instance_id, "model_name_or_path": "m", "model_patch": hang}) + "\n")

    def evaluate(timeout):
        args = ["eval", "-d", "demo", "-i", instance_id, "-p", str(predictions), "--run-id", "t", "--timeout", timeout]
        done = subprocess.run([sys.executable, "-m", "swegym", *args], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return " ".join(done.stdout.split()), json.loads((tmp_path / "m.t.json").read_text())

    _, summary = evaluate("3")
    assert summary["completed_ids"] == summary["unresolved_ids"] == [instance_id] and summary["error_ids"] == []
    assert summary["failure_reasons"] == {instance_id: "tests_timed_out"}
    assert summary["ambiguous_failure_ids"] == [instance_id]
    directory = tmp_path / "logs" / "run_evaluation" / "t" / "m" / instance_id
    assert "Timeout error: 3 seconds exceeded." in (directory / "test_output.txt").read_text()
    assert json.loads((directory / "report.json").read_text())[instance_id]["swegym"]["timeout_s"] == 3
    out, _ = evaluate("3")
    assert "1 from an earlier run" in out  # the same limit: final
    out, summary = evaluate("4")
    assert "0 from an earlier run" in out  # a longer limit: graded again
    assert json.loads((directory / "report.json").read_text())[instance_id]["swegym"]["timeout_s"] == 4
