"""Rollouts: an agent's episodes on instances, each graded and stored as a trajectory."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from swegym.core.agent import Agent
from swegym.core.harness import grade
from swegym.core.instance import TaskInstance
from swegym.core.llm import LLM, SamplingParams
from swegym.core.repository import RepositorySpec
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.runtime import Runtime
from swegym.core.trajectory import StopReason, Trajectory


@attrs.frozen
class EpisodeJob:
    """One (instance, sample) episode: everything a worker needs, picklable."""

    instance: TaskInstance
    repo: RepositorySpec
    runtime: Runtime
    agent: Agent
    llm: LLM
    sample_index: int
    params: SamplingParams
    config: Mapping[str, Any] = attrs.field(factory=dict)
    grade_timeout: float = 1800


def run_episode(job: EpisodeJob) -> Trajectory:
    """Run the agent in a fresh sandbox, take the work tree's diff, grade it in another."""
    started = time.monotonic()
    instance = job.instance
    job.runtime.environment(job.repo, instance, build=True)
    llm = job.llm.for_episode(instance.instance_id, job.sample_index)
    patch = ""
    with job.runtime.sandbox(job.repo, instance) as sandbox:
        try:
            result = job.agent.run(instance, sandbox, llm, params=job.params)
            turns, stop_reason, info = result.turns, result.stop_reason, dict(result.info)
        except Exception as exc:  # the agent itself failed: keep the episode, marked
            turns, stop_reason, info = (), StopReason.ERROR, {"error": f"{type(exc).__name__}: {exc}"}
        try:
            patch = sandbox.diff()
        except Exception as exc:
            info["diff_error"] = str(exc)
    if patch.strip():
        outcome = grade(job.runtime, job.repo, instance, patch, timeout=job.grade_timeout).result
    else:
        outcome = GradingResult(instance.instance_id, GradeStatus.EMPTY_PATCH, reason="empty patch")
    return Trajectory(
        instance_id=instance.instance_id,
        sample_index=job.sample_index,
        agent=job.agent.name,
        model=llm.model_name,
        turns=tuple(turns),
        patch=patch,
        stop_reason=stop_reason,
        outcome=outcome,
        wall_time_s=time.monotonic() - started,
        config={**job.config, "info": info},
        expert=bool(info.get("expert", False)) or bool(getattr(llm, "expert", False)),
    )


def sampling_for(sample_index: int, params: SamplingParams, *, first_greedy: bool) -> SamplingParams:
    """Sample 0 is greedy (temperature 0) when ``first_greedy``, as the paper's first run."""
    if first_greedy and sample_index == 0:
        return attrs.evolve(params, temperature=0.0)
    return params


@attrs.define
class RolloutStats:
    """Streaming statistics of a run: nothing per trajectory is kept but counters."""

    episodes: int = 0
    resolved: int = 0
    turns: int = 0
    tokens: int = 0
    stop_reasons: Counter = attrs.field(factory=Counter)
    instances: set = attrs.field(factory=set)
    instances_resolved: set = attrs.field(factory=set)

    def add(self, trajectory: Trajectory) -> None:
        self.episodes += 1
        self.turns += trajectory.assistant_turns
        self.tokens += trajectory.tokens
        self.stop_reasons[trajectory.stop_reason.value] += 1
        self.instances.add(trajectory.instance_id)
        if trajectory.resolved:
            self.resolved += 1
            self.instances_resolved.add(trajectory.instance_id)

    @classmethod
    def of(cls, trajectories: Iterable[Trajectory]) -> RolloutStats:
        stats = cls()
        for trajectory in trajectories:
            stats.add(trajectory)
        return stats

    def table(self) -> dict[str, Any]:
        n = max(self.episodes, 1)
        return {
            "episodes": self.episodes,
            "instances": len(self.instances),
            "resolved %": round(100 * self.resolved / n, 1),
            "pass@K %": round(100 * len(self.instances_resolved) / max(len(self.instances), 1), 1),
            "loop rate %": round(100 * self.stop_reasons.get("stuck", 0) / n, 1),
            "mean turns": round(self.turns / n, 1),
            # Replayed recordings and backends that report no usage carry no token counts:
            # say so instead of printing a mean of 0.
            "mean tokens": round(self.tokens / n) if self.tokens else "n/a (no usage reported)",
            "stop reasons": dict(self.stop_reasons),
        }
