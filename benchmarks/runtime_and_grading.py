"""Runtime and grading figures on the bundled demo repository.

    python benchmarks/runtime_and_grading.py [--runtime local,docker] [--runs 20]

Per runtime: warm sandbox start (median), command round trip of `true` (median), grading
overhead per instance beyond the test command (median), disk per additional sandbox vs its
work tree, and the speed-up of grading the demo set with two workers over one; then the
runtimes side by side. Targets (issue 3, issue 11): start <= 0.5 s local / 1.5 s Docker;
round trip <= 10 ms / 50 ms; overhead <= 0.3 s local / 1 s Docker; disk <= work tree;
two workers >= 1.6x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from swegym import Components, get_plugin_manager, load_instances
from swegym.core.evaluation import GradeJob, grade_job
from swegym.plugins.repos.demo import repository


def file_bytes(path: Path) -> int:
    """Bytes in regular files under ``path`` (directory entries not counted)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", default="local,docker", help="comma-separated runtimes")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rows = {}
    for name in args.runtime.split(","):
        try:
            rows[name] = measure(name, args.runs)
        except Exception as exc:  # e.g. no Docker engine: report it, keep the other runtime
            print(f"runtime {name}: not measured ({type(exc).__name__}: {exc})")
    if rows:
        keys = ["start_s", "round_trip_ms", "overhead_s", "one_worker_s", "two_workers_s", "speedup"]
        print("\n" + "".join(f"{k:>15}" for k in ["runtime", *keys]))
        for name, row in rows.items():
            print(f"{name:>15}" + "".join(f"{row[k]:>15.3f}" for k in keys))


def measure(runtime_name: str, runs: int) -> dict[str, float]:
    components = Components(get_plugin_manager())
    runtime = components["runtimes"].create(runtime_name)
    args = argparse.Namespace(runtime=runtime_name, runs=runs)
    executor_1 = components["executors"].create("local", {"workers": "1"})
    executor_2 = components["executors"].create("local", {"workers": "2"})
    repo = repository()
    instances = load_instances("demo", components)
    for instance in instances:  # build every version first: the figures are for warm runs
        runtime.environment(repo, instance)
    instance = instances[0]

    starts, trips = [], []
    for _ in range(args.runs):
        began = time.perf_counter()
        sandbox = runtime.sandbox(repo, instance)
        starts.append(time.perf_counter() - began)
        with sandbox:
            for _ in range(10):
                began = time.perf_counter()
                sandbox.exec("true")
                trips.append(time.perf_counter() - began)
    print(f"runtime: {args.runtime}")
    print(f"warm sandbox start: median {statistics.median(starts):.3f} s (p90 {sorted(starts)[int(len(starts) * 0.9)]:.3f} s, n={len(starts)})")
    print(f"round trip `true`:  median {statistics.median(trips) * 1000:.1f} ms (p90 {sorted(trips)[int(len(trips) * 0.9)] * 1000:.1f} ms, n={len(trips)})")

    if args.runtime == "local":
        with runtime.sandbox(repo, instance) as sandbox:
            tree_files = int(subprocess.run(
                f"cd {sandbox.tree} && git ls-files -z | xargs -0 du -cb --apparent-size | tail -1",
                shell=True, capture_output=True, text=True).stdout.split()[0])
            total = file_bytes(sandbox.root)
            git_dir = file_bytes(sandbox.tree / ".git")
            print(f"disk per sandbox:   {total / 1024:.0f} KiB in all; work tree files {tree_files / 1024:.0f} KiB, "
                  f".git {git_dir / 1024:.0f} KiB (objects shared with the cached clone)")

    with tempfile.TemporaryDirectory() as out:
        def jobs(tag: str):
            return [GradeJob(i, repo, runtime, i.patch, os.path.join(out, tag, i.instance_id)) for i in instances]

        overheads = []
        began = time.perf_counter()
        for outcome in executor_1.run(grade_job, jobs("one")):
            if outcome.error:
                raise RuntimeError(f"grading failed: {outcome.error}")
            result = outcome.result
            overheads.append(result.duration_s - result.test_duration_s)
        one = time.perf_counter() - began
        began = time.perf_counter()
        outcomes = list(executor_2.run(grade_job, jobs("two")))
        two = time.perf_counter() - began
        failed = [outcome.error for outcome in outcomes if outcome.error]
        if failed:
            raise RuntimeError(f"{len(failed)} grading(s) failed with two workers: {failed[0]}")
        resolved = sum(outcome.result.resolved for outcome in outcomes)
    print(f"grading overhead:   median {statistics.median(overheads):.3f} s per instance beyond the test command")
    print(f"demo set ({len(instances)} instances, gold): 1 worker {one:.1f} s, 2 workers {two:.1f} s "
          f"-> {one / two:.2f}x ({resolved} resolved)")
    return {
        "start_s": statistics.median(starts),
        "round_trip_ms": statistics.median(trips) * 1000,
        "overhead_s": statistics.median(overheads),
        "one_worker_s": one,
        "two_workers_s": two,
        "speedup": one / two,
    }


if __name__ == "__main__":
    main()
