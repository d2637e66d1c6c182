"""Evaluation runs: predictions in, SWE-bench's per-instance reports and run summary out.

Layout (SWE-bench's): ``<out>/logs/run_evaluation/<run_id>/<model>/<instance_id>/``
holds report.json, test_output.txt, patch.diff, eval.sh and run_instance.log; the run
summary is ``<out>/<model>.<run_id>.json``. report.json is written last and atomically,
so an instance with one is finished: re-running the same run id skips it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from swegym.core.errors import SwegymError
from swegym.core.failure_reasons import ENVIRONMENT, ENVIRONMENT_FAILED, HARNESS_ERROR, failure_reason
from swegym.core.harness import Grading, grade, write_artifacts
from swegym.core.instance import TaskInstance, natural_key
from swegym.core.predictions import EMPTY, GOLD, load_predictions
from swegym.core.repository import RepositorySpec
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.runtime import Runtime

__all__ = ["EMPTY", "GOLD", "GradeJob", "grade_job", "load_predictions", "read_report", "run_summary"]


def model_dir_name(model: str) -> str:
    return model.replace("/", "__")


@attrs.frozen
class GradeJob:
    """One instance to grade: everything a worker process needs, picklable."""

    instance: TaskInstance
    repo: RepositorySpec
    runtime: Runtime
    patch: str
    log_dir: str
    timeout: float = 1800


def grade_job(job: GradeJob) -> GradingResult:
    """Grade one instance (building its environment if needed) and write its artifacts.

    An environment that cannot be built is this instance's error: its report.json says why.
    """
    environment = None
    try:
        environment = job.runtime.environment(job.repo, job.instance, build=bool(job.patch.strip()))
    except SwegymError as exc:
        if job.patch.strip():
            return write_error(job.instance, job.patch, Path(job.log_dir), f"environment build failed: {exc}")
    grading: Grading = grade(job.runtime, job.repo, job.instance, job.patch, timeout=job.timeout)
    grading = attrs.evolve(grading, result=attrs.evolve(grading.result, timeout_s=job.timeout))
    if grading.result.environment is None and environment is not None:
        grading = attrs.evolve(grading, result=attrs.evolve(grading.result, environment=environment.summary()))
    if grading.result.status is GradeStatus.TIMEOUT:  # SWE-bench's words, which its run report looks for
        grading = attrs.evolve(grading, test_output=f"{grading.test_output}\n\nTimeout error: {job.timeout:g} seconds exceeded.")
    write_artifacts(grading, Path(job.log_dir))
    return grading.result


def write_error(instance: TaskInstance, patch: str, directory: Path, reason: str) -> GradingResult:
    """An instance whose environment could not be built: its report.json (status error,
    flagged ``environment_build_failed``) says why; it counts as an error, not completed,
    and a later run of the same run id tries it again."""
    result = GradingResult(
        instance.instance_id, GradeStatus.ERROR, patch_exists=bool(patch.strip()), reason=reason,
        flags=(ENVIRONMENT_FAILED,), environment={"error": reason},
    )
    write_artifacts(Grading(result, patch, log=reason), directory)
    return result


def read_report(directory: Path, instance_id: str, *, timeout: float | None = None) -> GradingResult | None:
    """The finished result of an instance in a run directory, or None (grade it again).

    A timeout is final only for a limit no longer than the one it was graded under: given
    this run's ``timeout``, a timeout graded under a shorter (or unrecorded) one is None.
    An environment that failed to build is tried again.
    """
    path = directory / "report.json"
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())[instance_id]
    except (json.JSONDecodeError, KeyError):
        return None  # torn or foreign: grade again
    extra = report.get("swegym", {})
    if ENVIRONMENT_FAILED in extra.get("flags", ()):
        return None  # the environment may build now
    recorded = extra.get("timeout_s")
    if timeout is not None and extra.get("status") == GradeStatus.TIMEOUT and (recorded is None or recorded < timeout):
        return None
    return GradingResult(
        instance_id=instance_id,
        status=extra.get("status", GradeStatus.RESOLVED if report.get("resolved") else GradeStatus.UNRESOLVED),
        patch_exists=report.get("patch_exists", False),
        patch_applied=report.get("patch_successfully_applied", False),
        tests_status=report.get("tests_status", {}),
        test_exit_code=extra.get("test_exit_code"),
        flags=extra.get("flags", ()),
        reason=extra.get("reason", ""),
        test_duration_s=extra.get("test_duration_s", 0.0),
        duration_s=extra.get("duration_s", 0.0),
        timeout_s=recorded,
        isolation=extra.get("isolation", ""),
        results_channel=extra.get("results_channel", ""),
        environment=report.get("environment"),
    )


def run_summary(
    instances: Iterable[TaskInstance],
    predictions: Mapping[str, str],
    results: Mapping[str, GradingResult],
    *,
    run_dir: Path | None = None,
) -> dict:
    """SWE-bench 5's run report (schema_version 2 with its failure classification), plus swegym's lists.

    As SWE-bench counts a run directory: an instance with a report.json is completed
    (resolved or unresolved: a timeout or an empty test log is completed and unresolved,
    with its reason in ``failure_reasons``); a submitted instance without one (the grader
    failed, or the run was interrupted) is an error; an empty patch is neither;
    ``incomplete_ids`` are the instances without a prediction. ``run_dir`` lets the
    classification read each instance's test_output.txt.
    """
    all_ids = [i.instance_id for i in instances]
    submitted = [i for i in all_ids if i in predictions]
    empty = [i for i in submitted if not predictions[i].strip()]
    graded = [i for i in submitted if i in results and results[i].status is not GradeStatus.EMPTY_PATCH]
    completed = [i for i in graded if not {HARNESS_ERROR, ENVIRONMENT_FAILED} & set(results[i].flags)]
    resolved = [i for i in completed if results[i].resolved]
    unresolved = [i for i in completed if not results[i].resolved]
    errors = [i for i in submitted if i not in empty and i not in completed]
    by_status: dict[str, list[str]] = {status.value: [] for status in GradeStatus}
    for instance_id in graded:
        by_status[results[instance_id].status.value].append(instance_id)
    reasons: dict[str, str] = {}
    infra, ambiguous = [], []
    for instance_id in unresolved + errors:
        if instance_id not in results:
            continue  # not graded at all (an interrupted run): nothing to classify
        output = ""
        if run_dir is not None and (run_dir / instance_id / "test_output.txt").is_file():
            output = (run_dir / instance_id / "test_output.txt").read_text(errors="replace")
        classified = failure_reason(results[instance_id], output)
        if classified:
            reasons[instance_id] = classified[0]
            (infra if classified[1] == ENVIRONMENT else ambiguous).append(instance_id)
    return {
        "total_instances": len(all_ids),
        "submitted_instances": len(submitted),
        "completed_instances": len(completed),
        "resolved_instances": len(resolved),
        "unresolved_instances": len(unresolved),
        "infra_failure_instances": len(infra),
        "ambiguous_failure_instances": len(ambiguous),
        "empty_patch_instances": len(empty),
        "error_instances": len(errors),
        "completed_ids": _ids(completed),
        "incomplete_ids": _ids(i for i in all_ids if i not in predictions),
        "empty_patch_ids": _ids(empty),
        "submitted_ids": _ids(submitted),
        "resolved_ids": _ids(resolved),
        "unresolved_ids": _ids(unresolved),
        "infra_failure_ids": _ids(infra),
        "ambiguous_failure_ids": _ids(ambiguous),
        "failure_reasons": {i: reasons[i] for i in _ids(reasons)},
        "error_ids": _ids(errors),
        "schema_version": 2,
        "swegym": {
            "not_graded_ids": _ids(i for i in errors if i not in results),
            "patch_failed_ids": _ids(by_status["patch_failed"]),
            "timeout_ids": _ids(by_status["timeout"]),
            "test_error_ids": _ids(i for i in by_status["error"] if i in completed),
            "environment_failed_ids": _ids(i for i in results if ENVIRONMENT_FAILED in results[i].flags),
            "flagged": {i: list(results[i].flags) for i in _ids(results) if results[i].flags},
            "tampered": {i: results[i].reason for i in _ids(by_status["tampered"])},
            "python": {i: python_column(results[i]) for i in _ids(results) if results[i].environment},
            "error_reasons": {i: results[i].reason for i in _ids(results) if results[i].status is GradeStatus.ERROR},
        },
    }


def python_column(result: GradingResult) -> str:
    """``3.12->3.11 (pip)``: the Python requested and used, and the install path."""
    environment = result.environment or {}
    if "error" in environment:
        return "environment failed"
    used = environment.get("python_used") or "?"
    requested = environment.get("python_requested")
    python = used if not requested or requested == used else f"{requested}->{used}"
    return f"{python} ({environment.get('install_path', 'pip')})"


def _ids(values: Iterable[str]) -> list[str]:
    return sorted(values, key=natural_key)


def write_json_atomic(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=4))
    tmp.replace(path)
