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

from swegym.core.errors import DatasetError, UsageError
from swegym.core.harness import Grading, grade, write_artifacts
from swegym.core.instance import TaskInstance
from swegym.core.repository import RepositorySpec
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.runtime import Runtime

GOLD, EMPTY = "gold", "empty"


def load_predictions(source: str, instances: Iterable[TaskInstance]) -> tuple[str, dict[str, str]]:
    """``(model name, {instance_id: patch})`` from ``gold``, ``empty`` or a predictions file.

    A file is SWE-bench's predictions JSONL (or a JSON list or id-keyed object) of
    ``{"instance_id", "model_name_or_path", "model_patch"}``.
    """
    if source == GOLD:
        return GOLD, {i.instance_id: i.patch for i in instances}
    if source == EMPTY:
        return EMPTY, {i.instance_id: "" for i in instances}
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"predictions {source!r}: not a file (or 'gold' / 'empty')")
    text = path.read_text(encoding="utf-8")
    records: list = []
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        records = list(data.values()) if isinstance(data, dict) else data
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
    patches: dict[str, str] = {}
    models = set()
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "instance_id" not in record:
            raise DatasetError(f"{path}: prediction {index}: needs instance_id, model_name_or_path, model_patch")
        patches[record["instance_id"]] = record.get("model_patch") or ""
        models.add(str(record.get("model_name_or_path") or "model"))
    if len(models) > 1:
        raise UsageError(f"{path}: predictions from several models ({', '.join(sorted(models))}); split the file")
    return (models.pop() if models else "model"), patches


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
    """Grade one instance (building its environment if needed) and write its artifacts."""
    if job.patch.strip():
        job.runtime.environment(job.repo, job.instance, build=True)
    grading: Grading = grade(job.runtime, job.repo, job.instance, job.patch, timeout=job.timeout)
    write_artifacts(grading, Path(job.log_dir))
    return grading.result


def read_report(directory: Path, instance_id: str) -> GradingResult | None:
    """The finished result of an instance in a run directory, or None."""
    path = directory / "report.json"
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())[instance_id]
    except (json.JSONDecodeError, KeyError):
        return None  # torn or foreign: grade again
    extra = report.get("swegym", {})
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
        isolation=extra.get("isolation", ""),
        results_channel=extra.get("results_channel", ""),
    )


def run_summary(
    instances: Iterable[TaskInstance], predictions: Mapping[str, str], results: Mapping[str, GradingResult]
) -> dict:
    """SWE-bench's run summary (schema_version 2), plus swegym's own status lists."""
    all_ids = [i.instance_id for i in instances]
    submitted = [i for i in all_ids if i in predictions]
    empty = [i for i in submitted if not predictions[i].strip()]
    not_completed = (GradeStatus.EMPTY_PATCH, GradeStatus.ERROR, GradeStatus.TIMEOUT)
    completed = [i for i in submitted if i in results and results[i].status not in not_completed]
    by_status: dict[str, list[str]] = {status.value: [] for status in GradeStatus}
    for instance_id in submitted:
        if instance_id in results:
            by_status[results[instance_id].status.value].append(instance_id)
    resolved = by_status["resolved"]
    errors = by_status["error"] + by_status["timeout"]  # SWE-bench counts timeouts as errors
    incomplete = [i for i in submitted if i not in results]
    return {
        "total_instances": len(all_ids),
        "submitted_instances": len(submitted),
        "completed_instances": len(completed),
        "resolved_instances": len(resolved),
        "unresolved_instances": len(completed) - len(resolved),
        "empty_patch_instances": len(empty),
        "error_instances": len(errors),
        "completed_ids": sorted(completed),
        "incomplete_ids": sorted(incomplete),
        "empty_patch_ids": sorted(empty),
        "submitted_ids": sorted(submitted),
        "resolved_ids": sorted(resolved),
        "unresolved_ids": sorted(set(completed) - set(resolved)),
        "error_ids": sorted(errors),
        "schema_version": 2,
        "swegym": {
            "patch_failed_ids": sorted(by_status["patch_failed"]),
            "timeout_ids": sorted(by_status["timeout"]),
            "flagged": {i: list(r.flags) for i, r in sorted(results.items()) if r.flags},
            "tampered": {i: results[i].reason for i in sorted(by_status["tampered"])},
        },
    }


def write_json_atomic(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=4))
    tmp.replace(path)
