"""``swegym eval`` and ``swegym validate``: grading patches by running tests in sandboxes."""

from __future__ import annotations

import time
from pathlib import Path

import click

from swegym.commands.common import (
    build_components,
    dataset_options,
    execution_options,
    positive_seconds,
    repository_of,
    select_instances,
)
from swegym.core.datasets import load_instances, write_instances
from swegym.core.evaluation import GradeJob, grade_job, model_dir_name, python_column, read_report, run_summary, write_json_atomic
from swegym.core.experiment import ExperimentConfig
from swegym.core.failure_reasons import HARNESS_ERROR
from swegym.core.instance import natural_key
from swegym.core.predictions import ON_DUPLICATE, load_predictions
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.test_ids import FORMS, SWEBENCH
from swegym.core.validation import ValidateJob, validate_job


def _progress(app):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(), console=app.console, transient=False,
    )


@click.command("eval")
@dataset_options
@click.option("--predictions", "-p", required=True, help="Predictions JSONL/JSON (SWE-bench format), or 'gold' / 'empty'.")
@click.option("--run-id", required=True, help="Names the run; re-running an id skips graded instances.")
@click.option("--timeout", type=float, default=1800, show_default=True, callback=positive_seconds,
              help="Seconds the tests of one instance may run (> 0).")
@click.option("--on-duplicate", type=click.Choice(ON_DUPLICATE), default="error", show_default=True,
              help="A repeated instance id in the predictions: an error, or the first or last one wins.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), help="Where logs/ and the summary go.")
@execution_options
@click.pass_obj
def evaluate(app, dataset, instance_ids, predictions, run_id, timeout, on_duplicate, out, runtime, executor, workers, git_mirror, options):
    """Grade predictions against instances' tests (SWE-bench-compatible reports).

    FAIL_TO_PASS / PASS_TO_PASS ids may be whole or cut at the first space as SWE-bench
    writes them (such an id passes only if every test it names passes).
    """
    everything = load_instances(dataset, app.components)
    instances = select_instances(app, dataset, instance_ids, loaded=everything)
    model, patches = load_predictions(
        predictions, instances, known_ids={i.instance_id for i in everything}, on_duplicate=on_duplicate
    )
    runtime_obj, executor_obj = build_components(app, runtime=runtime, executor=executor, workers=workers, git_mirror=git_mirror, options=options)
    app.pm.hook.swegym_experiment_configured(
        experiment=ExperimentConfig(run_id, "eval", {"runtime": runtime_obj, "executor": executor_obj}, {"dataset": dataset, "model": model, "timeout": timeout})
    )
    run_dir = out / "logs" / "run_evaluation" / run_id / model_dir_name(model)
    by_id = {i.instance_id: i for i in instances}
    results: dict[str, GradingResult] = {}
    jobs = []
    for instance in instances:
        if instance.instance_id not in patches:
            continue
        directory = run_dir / instance.instance_id
        finished = read_report(directory, instance.instance_id, timeout=timeout)
        if finished is not None:
            results[instance.instance_id] = finished
            continue
        jobs.append(GradeJob(instance, repository_of(app, instance), runtime_obj, patches[instance.instance_id], str(directory), timeout))
    cached = len(results)
    summary_path = out / f"{model_dir_name(model)}.{run_id}.json"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with _progress(app) as progress:
            resolved = sum(r.resolved for r in results.values())
            task = progress.add_task(f"eval {model}", total=len(jobs), status=f"resolved {resolved}/{len(results)}")
            for outcome in executor_obj.run(grade_job, jobs):
                instance = outcome.job.instance
                if outcome.error is not None:  # no report.json: SWE-bench counts it as an error, not completed
                    result = GradingResult(
                        instance.instance_id, GradeStatus.ERROR, patch_exists=bool(outcome.job.patch.strip()),
                        flags=(HARNESS_ERROR,), reason=outcome.error,
                    )
                else:
                    result = outcome.result
                results[instance.instance_id] = result
                app.pm.hook.swegym_instance_graded(instance=by_id[instance.instance_id], result=result)
                resolved = sum(r.resolved for r in results.values())
                progress.update(task, advance=1, status=f"resolved {resolved}/{len(results)}")
    finally:
        summary = run_summary(instances, patches, results, run_dir=run_dir)
        write_json_atomic(summary_path, summary)
    _print_summary(app, summary, results, cached=cached, elapsed=time.monotonic() - started, summary_path=summary_path, run_dir=run_dir)


def _print_summary(app, summary, results, *, cached, elapsed, summary_path, run_dir):
    from rich.table import Table

    table = Table(title=f"{summary['resolved_instances']}/{summary['submitted_instances']} resolved", show_header=True)
    table.add_column("instance_id", no_wrap=True)
    table.add_column("status")
    table.add_column("python (install)")
    table.add_column("reason / flags", overflow="fold")
    colors = {"resolved": "green", "unresolved": "yellow", "empty_patch": "dim"}
    for instance_id in sorted(results, key=natural_key):
        result = results[instance_id]
        color = colors.get(result.status.value, "red")
        detail = "; ".join(x for x in (result.reason, ", ".join(result.flags)) if x)
        python = python_column(result) if result.environment else "-"
        table.add_row(instance_id, f"[{color}]{result.status.value}[/]", python, detail)
    app.console.print(table)
    app.console.print(
        f"submitted {summary['submitted_instances']}, completed {summary['completed_instances']}, "
        f"resolved {summary['resolved_instances']}, unresolved {summary['unresolved_instances']}, "
        f"empty patch {summary['empty_patch_instances']}, errors {summary['error_instances']}"
        f" ({cached} from an earlier run, {elapsed:.1f}s)"
    )
    if summary["failure_reasons"]:
        counts: dict[str, int] = {}
        for reason in summary["failure_reasons"].values():
            counts[reason] = counts.get(reason, 0) + 1
        listed = ", ".join(f"{reason} {count}" for reason, count in sorted(counts.items()))
        app.console.print(f"failure reasons: {listed} (infrastructure {summary['infra_failure_instances']})")
    app.console.print(f"summary: {summary_path}\nlogs:    {run_dir}")


@click.command()
@dataset_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The validated dataset (JSONL).")
@click.option("--timeout", type=float, default=1800, show_default=True, callback=positive_seconds,
              help="Seconds one test run may take (> 0).")
@click.option("--keep-invalid", is_flag=True, help="Also write instances with no FAIL_TO_PASS test.")
@click.option("--test-ids", "test_id_form", type=click.Choice(FORMS), default=SWEBENCH, show_default=True,
              help="swebench: ids cut at the first space, as SWE-bench's parser writes them; full: whole pytest ids.")
@execution_options
@click.pass_obj
def validate(app, dataset, instance_ids, out, timeout, keep_invalid, test_id_form, runtime, executor, workers, git_mirror, options):
    """Run gold and empty patches; fill FAIL_TO_PASS/PASS_TO_PASS; keep instances with FAIL_TO_PASS.

    Each instance written records its id form in ``test_id_form``.
    """
    instances = select_instances(app, dataset, instance_ids)
    runtime_obj, executor_obj = build_components(app, runtime=runtime, executor=executor, workers=workers, git_mirror=git_mirror, options=options)
    jobs = [ValidateJob(i, repository_of(app, i), runtime_obj, timeout, test_id_form) for i in instances]
    validations = {}
    with _progress(app) as progress:
        task = progress.add_task("validate", total=len(jobs), status="")
        for outcome in executor_obj.run(validate_job, jobs):
            instance_id = outcome.job.instance.instance_id
            if outcome.error is not None:
                app.console.print(f"[red]{instance_id}: {outcome.error}[/]")
            else:
                validations[instance_id] = outcome.result
            valid = sum(v.valid for v in validations.values())
            progress.update(task, advance=1, status=f"valid {valid}/{len(validations)}")
    kept = []
    for instance in instances:
        validation = validations.get(instance.instance_id)
        if validation is not None and validation.dropped:
            from rich.markup import escape

            app.console.print(
                f"[yellow]{instance.instance_id}: {len(validation.dropped)} passing test(s) left out: their SWE-bench id "
                f"also names a test that does not pass with the gold patch ({escape(validation.dropped[0])})[/]"
            )
        if validation is not None and (validation.valid or keep_invalid):
            kept.append(validation.apply_to(instance))
        elif validation is not None:
            app.console.print(f"[yellow]dropped {instance.instance_id}: {validation.reason}[/]")
    out.parent.mkdir(parents=True, exist_ok=True)
    count = write_instances(kept, out)
    app.console.print(f"{count} of {len(instances)} instances validated -> {out}")


COMMANDS = [evaluate, validate]
