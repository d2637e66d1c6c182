"""One task instance as a reinforcement-learning environment: reset, step, reward.

``Episode`` puts the policy outside the scaffold. ``reset()`` starts a fresh sandbox at the
instance's base commit and the scaffold (any registered agent) in it, and returns the
conversation the scaffold would send to its model: the system prompt and the task. Each
``step(action)`` hands the scaffold the policy's message (the assistant's text, with its tool
call in the scaffold's format); the scaffold parses and executes it in the sandbox exactly as
in a rollout and the step returns the new turns (the observation). When the scaffold stops
(``finish``, a turn limit, a loop), the work tree's diff is graded in another fresh sandbox
with the instance's FAIL_TO_PASS and PASS_TO_PASS tests, as ``swegym rollout`` grades.

Reward (``reward``): 1.0 when the patch resolves the instance, else 0.0, the SWE-Gym
definition. ``shaped_reward`` is a separate, optional signal: the fraction of FAIL_TO_PASS
tests that pass (0.0 when the patch does not apply or breaks the run); it is reported, never
folded into ``reward``.

The scaffold runs unchanged in a worker thread; its model is an ``ActionChannel`` that hands
each prompt to ``step``'s caller and returns the action given. Nothing in the scaffold knows
it is being stepped.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from swegym.core.agent import Agent, AgentResult
from swegym.core.harness import grade
from swegym.core.instance import TaskInstance
from swegym.core.llm import LLM, Completion, ContextLimitError, SamplingParams, ToolSpec
from swegym.core.repository import RepositorySpec
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.runtime import Runtime, Sandbox
from swegym.core.trajectory import StopReason, Trajectory, Turn

#: seconds ``step`` waits for the scaffold to execute an action and ask again
STEP_TIMEOUT_S = 1800.0


class EpisodeError(RuntimeError):
    """An episode used out of order (step before reset, step after the end)."""


@attrs.frozen
class StepResult:
    """What one ``reset`` or ``step`` returns."""

    observation: tuple[Turn, ...]  #: the turns added since the policy's last action (all of them at reset)
    done: bool
    reward: float = 0.0  #: resolved (1.0) or not (0.0); 0.0 until done
    info: Mapping[str, Any] = attrs.field(factory=dict)


class ActionChannel(LLM):
    """The scaffold's model in a stepped episode: each ``complete`` hands the conversation to
    the episode and waits for the policy's action."""

    name = "episode"

    def __init__(self, prompts: queue.Queue, actions: queue.Queue, model: str) -> None:
        self._prompts, self._actions, self._model = prompts, actions, model

    @property
    def model_name(self) -> str:
        return self._model

    def complete(self, messages: Sequence[Turn], *, tools: Sequence[ToolSpec] | None = None,
                 params: SamplingParams = SamplingParams()) -> Completion:
        self._prompts.put(("prompt", tuple(messages)))
        action = self._actions.get()
        if action is None:  # the episode was closed before the scaffold stopped
            raise EpisodeClosed("the episode was closed")
        if isinstance(action, _End):  # the policy's budget is spent: the scaffold stops as at its context limit
            raise ContextLimitError(action.reason)
        return Completion(Turn("assistant", action), prompt_tokens=self.count_tokens(messages),
                          completion_tokens=len(action) // 4, finish_reason="stop")


@attrs.frozen
class _End:
    reason: str


class EpisodeClosed(Exception):
    """Raised inside the scaffold's thread when the episode is closed mid-way."""


@attrs.define
class Episode:
    """One instance, one sandbox, one scaffold, stepped by an outside policy.

    Usable from Python without the CLI::

        episode = Episode(instance, repo, LocalRuntime(), OpenHandsAgent())
        first = episode.reset()          # first.observation: system prompt and task
        while not (result := episode.step(policy(episode.turns))).done:
            ...
        result.reward, episode.trajectory
    """

    instance: TaskInstance
    repo: RepositorySpec
    runtime: Runtime
    agent: Agent
    model: str = "policy"  #: the policy's name in the trajectory
    sample_index: int = 0
    grade_timeout: float = 1800.0
    step_timeout: float = STEP_TIMEOUT_S
    turns: tuple[Turn, ...] = attrs.field(default=(), init=False)  #: the conversation so far
    trajectory: Trajectory | None = attrs.field(default=None, init=False)  #: the graded episode, once done
    _prompts: queue.Queue = attrs.field(factory=queue.Queue, init=False)
    _actions: queue.Queue = attrs.field(factory=queue.Queue, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)
    _sandbox: Sandbox | None = attrs.field(default=None, init=False)
    _started: float = attrs.field(default=0.0, init=False)

    # -- the environment interface ----------------------------------------------------

    def reset(self) -> StepResult:
        """A fresh sandbox at the base commit and the scaffold started: the task prompt."""
        self.close()
        self.turns, self.trajectory = (), None
        self._prompts, self._actions = queue.Queue(), queue.Queue()
        self._started = time.monotonic()
        self.runtime.environment(self.repo, self.instance, build=True)
        self._sandbox = self.runtime.sandbox(self.repo, self.instance)
        channel = ActionChannel(self._prompts, self._actions, self.model)
        self._thread = threading.Thread(target=self._run_scaffold, args=(self._sandbox, channel), daemon=True,
                                        name=f"episode-{self.instance.instance_id}")
        self._thread.start()
        return self._next()

    def step(self, action: str) -> StepResult:
        """Give the scaffold the policy's message; the turns it added in reply, or the end."""
        if self._thread is None or self.trajectory is not None:
            raise EpisodeError("step() needs a running episode: call reset() first")
        self.turns = (*self.turns, Turn("assistant", action))
        self._actions.put(action)
        return self._next()

    def end(self, reason: str = "the policy ended the episode") -> StepResult:
        """Stop the scaffold where it is (as at its context limit) and grade the work tree."""
        if self._thread is None or self.trajectory is not None:
            raise EpisodeError("end() needs a running episode: call reset() first")
        self._actions.put(_End(reason))
        return self._next()

    def close(self) -> None:
        """Stop the scaffold (if still running) and remove the sandbox."""
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._actions.put(None)
            thread.join(timeout=60)
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def __enter__(self) -> Episode:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- rewards ----------------------------------------------------------------------

    @property
    def reward(self) -> float:
        """1.0 when the graded patch resolves the instance, else 0.0 (also before the end)."""
        return 1.0 if self.trajectory is not None and self.trajectory.resolved else 0.0

    @property
    def shaped_reward(self) -> float:
        """The fraction of FAIL_TO_PASS tests that pass with the patch (0.0 before the end)."""
        outcome = self.trajectory.outcome if self.trajectory is not None else None
        return fail_to_pass_fraction(outcome, len(self.instance.FAIL_TO_PASS))

    # -- inside -----------------------------------------------------------------------

    def _run_scaffold(self, sandbox: Sandbox, channel: ActionChannel) -> None:
        try:
            result = self.agent.run(self.instance, sandbox, channel, params=SamplingParams())
        except EpisodeClosed:
            return
        except Exception as exc:  # the scaffold failed: the episode ends, marked
            result = AgentResult((), StopReason.ERROR, {"error": f"{type(exc).__name__}: {exc}"})
        self._prompts.put(("done", result))

    def _next(self) -> StepResult:
        try:
            kind, payload = self._prompts.get(timeout=self.step_timeout)
        except queue.Empty:
            raise EpisodeError(f"the scaffold did not answer within {self.step_timeout:g} s") from None
        if kind == "prompt":
            new = payload[len(self.turns):]
            self.turns = payload
            return StepResult(observation=new, done=False)
        result: AgentResult = payload
        new = result.turns[len(self.turns):] if result.turns else ()
        self.turns = result.turns or self.turns
        self.trajectory = self._graded(result)
        self.close()
        info = {"stop_reason": self.trajectory.stop_reason.value, "status": self.trajectory.outcome.status.value,
                "shaped_reward": self.shaped_reward, "patch": self.trajectory.patch}
        return StepResult(observation=tuple(new), done=True, reward=self.reward, info=info)

    def _graded(self, result: AgentResult) -> Trajectory:
        info = dict(result.info)
        patch = ""
        try:
            patch = self._sandbox.diff() if self._sandbox is not None else ""
        except Exception as exc:
            info["diff_error"] = str(exc)
        if self._sandbox is not None:  # the work tree is read: free the sandbox before grading
            self._sandbox.close()
            self._sandbox = None
        if patch.strip():
            outcome = grade(self.runtime, self.repo, self.instance, patch, timeout=self.grade_timeout).result
        else:
            outcome = GradingResult(self.instance.instance_id, GradeStatus.EMPTY_PATCH, reason="empty patch")
        return Trajectory(
            instance_id=self.instance.instance_id, sample_index=self.sample_index, agent=self.agent.name,
            model=self.model, turns=tuple(self.turns), patch=patch, stop_reason=result.stop_reason, outcome=outcome,
            wall_time_s=time.monotonic() - self._started, config={"info": info, "episode": "stepped"},
        )


def fail_to_pass_fraction(outcome: GradingResult | None, total: int) -> float:
    """The share of an instance's ``total`` FAIL_TO_PASS tests that passed in ``outcome``."""
    if outcome is None or total <= 0:
        return 0.0
    passed = (outcome.tests_status.get("FAIL_TO_PASS") or {}).get("success") or ()
    return min(len(passed), total) / total


__all__ = ["ActionChannel", "Episode", "EpisodeError", "StepResult", "fail_to_pass_fraction"]
