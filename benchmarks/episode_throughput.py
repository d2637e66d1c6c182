"""RL episodes per second on the demo repository, and the sandbox start overhead per episode,
with 1 and 2 workers.

    .venv/bin/python benchmarks/episode_throughput.py [--episodes 8] [--workers 1,2]

Each episode is a real ``swegym.core.episode.Episode`` with the openhands scaffold and the
local runtime: ``reset`` (a fresh sandbox at the base commit, the scaffold started), one step
that applies the instance's gold patch through ``execute_bash``, ``finish``, and grading by
running FAIL_TO_PASS and PASS_TO_PASS in another fresh sandbox (reward 1). The policy costs
nothing here, so the figures are the environment's own ceiling. Episodes run on threads (the
work is in subprocesses).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from swegym import Components, get_plugin_manager, load_instances
from swegym.core.episode import Episode
from swegym.core.toolcalls import render_tool_call
from swegym.core.trajectory import ToolCall
from swegym.plugins.openhands_agent import OpenHandsAgent
from swegym.plugins.repos.demo import repository
from swegym.plugins.runtimes.local import LocalRuntime


def play(instance, runtime) -> tuple[float, float, float]:
    """(reset seconds, total seconds, reward) of one gold-patch episode."""
    started = time.perf_counter()
    with Episode(instance, repository(), runtime, OpenHandsAgent(max_turns=3)) as episode:
        episode.reset()
        reset = time.perf_counter() - started
        episode.step(render_tool_call(ToolCall("execute_bash", {"command": f"git apply <<'PATCH'\n{instance.patch}PATCH"})))
        end = episode.step(render_tool_call(ToolCall("finish")))
    return reset, time.perf_counter() - started, end.reward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    instances = load_instances("demo", Components(get_plugin_manager()))
    runtime = LocalRuntime()
    for instance in instances:
        runtime.environment(repository(), instance, build=True)  # built once, shared by every episode
    play(instances[0], runtime)  # warm caches
    for workers in (int(w) for w in args.workers.split(",")):
        chosen = list(itertools.islice(itertools.cycle(instances), args.episodes))
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda i: play(i, runtime), chosen))
        wall = time.perf_counter() - started
        resets = [r for r, _, _ in results]
        print(f"{workers} worker(s): {len(results)} episodes in {wall:.1f} s = {len(results) / wall:.2f} episodes/s; "
              f"sandbox start (reset) {statistics.median(resets):.2f} s median; "
              f"episode {statistics.median(t for _, t, _ in results):.2f} s median; "
              f"reward mean {statistics.mean(r for _, _, r in results):.2f}")


if __name__ == "__main__":
    main()
