"""The ``openhands`` agent: OpenHands' CodeActAgent v2.1 as SWE-Gym ran it, by default.

``variant=codeact`` (the default) is the scaffold SWE-Gym's trajectories and models come
from: OpenHands' system prompt, SWE-Gym's ``<pr_description>`` task with the repository at
``/workspace/<owner>__<repo>__<version>``, the three tools with OpenHands' schemas, the text
tool-call format with its in-context example for models OpenHands drove without function
calling, openhands-aci 0.1.0's editor, one persistent bash per episode, OpenHands' stuck rules
and history truncation. Its prompts, formats and rules are read at run time from the
installed openhands-ai 0.14.0 / openhands-aci 0.1.0 (``original.load``): without them the
variant stops with one line naming the pip command. ``variant=swegym`` is swegym's earlier
scaffold (its own prompts, a fresh bash per call, one call per message); docs/scaffolds.md
lists every difference and the option that turns it on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from swegym import hookimpl
from swegym.core.agent import Agent, AgentResult
from swegym.core.errors import UsageError
from swegym.core.instance import TaskInstance
from swegym.core.llm import LLM, SamplingParams
from swegym.core.runtime import Sandbox
from swegym.core.trajectory import Trajectory

#: max_turns SWE-Gym used: 50 for training rollouts, 100 for evaluation
ROLLOUT_TURNS = 50
EVAL_TURNS = 100


@attrs.frozen
class OpenHandsAgent(Agent):
    """OpenHands CodeActAgent (v2.1 as SWE-Gym ran it): execute_bash, str_replace_editor, finish."""

    name: ClassVar[str] = "openhands"

    variant: Literal["codeact", "swegym"] = attrs.field(
        default="codeact",
        validator=attrs.validators.in_(("codeact", "swegym")),
        metadata={"help": "codeact: OpenHands' CodeActAgent as SWE-Gym ran it; swegym: swegym's earlier scaffold"},
    )
    max_turns: int = attrs.field(
        default=ROLLOUT_TURNS, validator=attrs.validators.ge(1),
        metadata={"help": "iterations (actions) per episode: SWE-Gym used 50 for rollouts, 100 for evaluation"},
    )
    max_context_tokens: int = attrs.field(
        default=32768, validator=attrs.validators.ge(1), metadata={"help": "prompt size (llm.count_tokens) that counts as a context overflow"}
    )
    on_context_overflow: Literal["truncate", "stop"] = attrs.field(
        default="truncate", validator=attrs.validators.in_(("truncate", "stop")),
        metadata={"help": "truncate: drop the older half of the history as OpenHands did; stop: end the episode (codeact)"},
    )
    tool_mode: Literal["auto", "native", "text"] = attrs.field(
        default="auto",
        validator=attrs.validators.in_(("auto", "native", "text")),
        metadata={"help": "auto: native calls only for models OpenHands drove so (codeact) / any backend with tools (swegym)"},
    )
    workspace: Literal["openhands", "sandbox"] = attrs.field(
        default="openhands", validator=attrs.validators.in_(("openhands", "sandbox")),
        metadata={"help": "openhands: the model sees /workspace/<owner>__<repo>__<version>; sandbox: the sandbox's own path (codeact)"},
    )
    in_context_example: bool = attrs.field(default=True, metadata={"help": "text mode: OpenHands' in-context example in the first message (codeact)"})
    observation_prefix: str = attrs.field(default="OBSERVATION:\n", metadata={"help": "what precedes each observation (v2.1: 'OBSERVATION:\\n') (codeact)"})
    stuck_rules: Literal["openhands", "repeats"] = attrs.field(
        default="openhands", validator=attrs.validators.in_(("openhands", "repeats")),
        metadata={"help": "openhands: OpenHands' four StuckDetector rules; repeats: the same action more than max_repeats times"},
    )
    bash_timeout: float = attrs.field(
        default=300.0, validator=attrs.validators.gt(0), metadata={"help": "seconds before a command gets SIGINT (codeact) / is killed (swegym)"}
    )
    max_observation_chars: int = attrs.field(
        default=30_000, validator=attrs.validators.ge(200), metadata={"help": "observation size shown to the model (head and tail kept)"}
    )
    max_repeats: int = attrs.field(
        default=3,
        validator=attrs.validators.ge(1),
        metadata={"help": "stuck_rules=repeats (and variant=swegym): stuck when one action comes more than this many times in a row"},
    )
    include_hints: bool = attrs.field(default=False, metadata={"help": "show the instance's hints_text with the issue"})

    def __attrs_post_init__(self) -> None:
        if self.variant == "codeact":  # fail when the agent is chosen, not inside each episode
            from swegym.plugins.openhands_agent.original import load

            load()

    def run(self, instance: TaskInstance, sandbox: Sandbox, llm: LLM, *, params: SamplingParams) -> AgentResult:
        if self.tool_mode == "native" and not llm.native_tools:
            raise UsageError(
                f"agent 'openhands' has tool_mode=native but LLM backend {llm.name!r} has no native tool calls; "
                "use tool_mode=text or auto"
            )
        if self.variant == "swegym":
            from swegym.plugins.openhands_agent.swegym_episode import _Episode

            native = self.tool_mode == "native" or (self.tool_mode == "auto" and llm.native_tools)
            return _Episode(self, instance, sandbox, llm, params, native=native).run()
        from swegym.plugins.openhands_agent.codeact import CodeActEpisode
        from swegym.plugins.openhands_agent.original import load

        originals = load()
        native = self.tool_mode == "native" or (
            self.tool_mode == "auto" and llm.native_tools and originals.uses_native_calls(llm.model_name)
        )
        return CodeActEpisode(self, originals, instance, sandbox, llm, params, native=native).run()

    @classmethod
    def import_trajectories(cls, source: Path, **options: Any) -> Iterator[Trajectory]:
        """OpenHands' ``output.jsonl`` (options: ``completions`` = the llm_completions folder)."""
        from swegym.plugins.openhands_agent.importer import read_output

        allowed = {"completions", "observation_prefix"}
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise UsageError(f"unknown import option {unknown[0]!r} for openhands; accepted: {', '.join(sorted(allowed))}")
        return read_output(source, **options)


@hookimpl
def swegym_register_agents(register):
    register(OpenHandsAgent)
