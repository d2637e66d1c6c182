"""``swegym rollout`` (sample, grade and store trajectories) and ``swegym export-predictions``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from swegym.commands.common import dataset_options, positive_seconds, repository_of, select_instances
from swegym.core.errors import UsageError
from swegym.core.experiment import ExperimentConfig
from swegym.core.llm import SamplingParams
from swegym.core.options import parse_assignments
from swegym.core.rollout import EpisodeJob, RolloutStats, run_episode, sampling_for
from swegym.core.store import TrajectoryStore
from swegym.core.trajectory import StopReason, Trajectory


def _components(app, *, agent, llm, model, base_url, runtime, executor, workers, git_mirror, options):
    assignments = parse_assignments(options)
    unknown = sorted(set(assignments) - {"agent", "llm", "runtime", "executor"})
    if unknown:
        raise UsageError(f"-o {unknown[0]}.…: rollout takes agent.*, llm.*, runtime.* and executor.* options")
    llm_options = dict(assignments.get("llm", {}))
    if model:
        llm_options["model"] = model
    if base_url:
        llm_options["base_url"] = base_url
    runtime_options = dict(assignments.get("runtime", {}))
    if git_mirror:
        runtime_options["git_mirror"] = git_mirror
    return (
        app.components["agents"].create(agent, assignments.get("agent", {})),
        app.components["llms"].create(llm, llm_options),
        app.components["runtimes"].create(runtime, runtime_options),
        app.components["executors"].create(executor, {"workers": str(workers), **assignments.get("executor", {})}),
    )


@click.command()
@dataset_options
@click.option("--agent", "-a", default="openhands", show_default=True, help="Agent scaffold (swegym components agents).")
@click.option("--llm", "-l", "llm_name", default="openai", show_default=True, help="LLM backend (swegym components llms).")
@click.option("--model", "-m", help="Model name or path (the backend's 'model' option).")
@click.option("--base-url", help="OpenAI-compatible endpoint (the backend's 'base_url' option).")
@click.option("--samples", "-k", type=click.IntRange(min=1), default=1, show_default=True, help="Trajectories per instance.")
@click.option("--temperature", "-t", type=float, default=0.0, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=int, default=2048, show_default=True, help="Tokens per model call.")
@click.option("--first-greedy", is_flag=True, help="Sample 0 at temperature 0 (the paper's greedy first run).")
@click.option("--runtime", "-r", default="local", show_default=True)
@click.option("--executor", "-e", default="local", show_default=True, help="local (process pool) or ray.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--git-mirror", type=click.Path(file_okay=False))
@click.option("--timeout", type=float, default=1800, show_default=True, callback=positive_seconds,
              help="Seconds the grading tests may run (> 0).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run directory.")
@click.option("--option", "-o", "options", multiple=True, metavar="COMPONENT.KEY=VALUE", help="agent.*, llm.*, runtime.*, executor.* options.")
@click.pass_obj
def rollout(app, dataset, instance_ids, agent, llm_name, model, base_url, samples, temperature, top_p, max_tokens, first_greedy,
            runtime, executor, workers, git_mirror, timeout, out, options):
    """Sample K trajectories per instance, grade each, and store them (resumable)."""
    instances = select_instances(app, dataset, instance_ids)
    agent_obj, llm_obj, runtime_obj, executor_obj = _components(
        app, agent=agent, llm=llm_name, model=model, base_url=base_url, runtime=runtime,
        executor=executor, workers=workers, git_mirror=git_mirror, options=options,
    )
    params = SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_tokens)
    config = {
        "dataset": dataset, "agent": agent, "agent_options": _fields(agent_obj), "llm": llm_name,
        "llm_options": _fields(llm_obj), "model": llm_obj.model_name, "runtime": runtime, "samples": samples,
        "temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "first_greedy": first_greedy,
    }
    app.pm.hook.swegym_experiment_configured(experiment=ExperimentConfig(out.name, "rollout", {
        "agent": agent_obj, "llm": llm_obj, "runtime": runtime_obj, "executor": executor_obj}, config))
    out.mkdir(parents=True, exist_ok=True)
    _write_manifest(app, out, config)
    store = TrajectoryStore(out / "trajectories.jsonl")
    if (torn := store.repair()):
        app.console.print(f"[yellow]ignored a torn last record ({torn} bytes) left by an interrupted run[/]")
    done = store.done()
    jobs = [
        EpisodeJob(i, repository_of(app, i), runtime_obj, agent_obj, llm_obj, k, sampling_for(k, params, first_greedy=first_greedy),
                   config={"run": out.name, "temperature": sampling_for(k, params, first_greedy=first_greedy).temperature}, grade_timeout=timeout)
        for i in instances for k in range(samples) if (i.instance_id, k) not in done
    ]
    stats = RolloutStats.of(store)
    skipped = stats.episodes
    by_id = {i.instance_id: i for i in instances}
    from swegym.commands.evaluate import _progress

    started = time.monotonic()
    with _progress(app) as progress:
        task = progress.add_task(f"rollout {agent}", total=len(jobs), status=_status(stats))
        for outcome in executor_obj.run(run_episode, _announced(app, jobs, agent)):
            job = outcome.job
            if outcome.error is not None:
                trajectory = Trajectory(job.instance.instance_id, job.sample_index, agent, llm_obj.model_name,
                                        stop_reason=StopReason.ERROR, config={**job.config, "info": {"error": outcome.error}})
            else:
                trajectory = outcome.result
            store.append(trajectory)
            stats.add(trajectory)
            app.pm.hook.swegym_episode_finished(trajectory=trajectory)
            if trajectory.outcome is not None:
                app.pm.hook.swegym_instance_graded(instance=by_id[trajectory.instance_id], result=trajectory.outcome)
            progress.update(task, advance=1, status=_status(stats))
    _print_stats(app, stats, skipped=skipped, elapsed=time.monotonic() - started, store=store, samples=samples)


def _announced(app, jobs, agent):
    """The jobs, each announced to plugins as it is handed to the executor."""
    for job in jobs:
        app.pm.hook.swegym_episode_started(instance=job.instance, agent=agent, sample_index=job.sample_index)
        yield job


def _fields(component) -> dict:
    import attrs

    return attrs.asdict(component, recurse=False) if attrs.has(type(component)) else {}


def _write_manifest(app, out: Path, config: dict) -> None:
    plugins = {name: "/".join(app.pm.distribution_of(name)) for name, plugin in app.pm.list_name_plugin() if plugin is not None}
    manifest = {"command": "rollout", "config": config, "plugins": plugins}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def _status(stats: RolloutStats) -> str:
    rate = 100 * stats.resolved / stats.episodes if stats.episodes else 0.0
    return f"resolved {stats.resolved}/{stats.episodes} ({rate:.0f}%)"


def _print_stats(app, stats: RolloutStats, *, skipped: int, elapsed: float, store: TrajectoryStore, samples: int) -> None:
    from rich.table import Table

    figures = stats.table()
    table = Table(title=f"{figures['episodes']} trajectories ({skipped} from an earlier run, {elapsed:.1f}s)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("instances", "resolved %", "pass@K %", "loop rate %", "mean turns", "mean tokens"):
        label = key.replace("K", str(samples)) if key == "pass@K %" else key
        table.add_row(label, str(figures[key]))
    for reason, count in sorted(figures["stop reasons"].items()):
        table.add_row(f"stopped: {reason}", str(count))
    app.console.print(table)
    app.console.print(f"trajectories: {store.path}")


@click.command("export-predictions")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Predictions JSONL.")
@click.option("--sample", type=int, default=0, show_default=True, help="Which sample of each instance.")
@click.pass_obj
def export_predictions(app, run: Path, out: Path, sample: int) -> None:
    """Write SWE-bench predictions JSONL from a rollout run."""
    store = TrajectoryStore(run / "trajectories.jsonl")
    latest = {}  # a record repeated for an instance (a resumed run) counts once: the last one
    for record in store.records():
        if int(record["sample_index"]) == sample:
            latest[record["instance_id"]] = record
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w") as handle:
        for record in latest.values():
            model = f"{record['model']}__{record['agent']}"
            handle.write(json.dumps({"instance_id": record["instance_id"], "model_name_or_path": model, "model_patch": record.get("patch") or ""}) + "\n")
    tmp.replace(out)
    count = len(latest)
    app.console.print(f"{count} predictions -> {out}")


COMMANDS = [rollout, export_predictions]
