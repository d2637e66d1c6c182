"""Verifier examples: a graded trajectory as a judge prompt and a ``<judgement>`` target.

The prompt is a system message (the judge's instructions) and one user message holding the
issue (the trajectory's first user turn), the agent's turns rendered compactly (roles, tool
calls in the ``<function=...>`` text form, tool results) and the final diff. The target is
``<judgement>YES</judgement>`` for a resolved trajectory and ``<judgement>NO</judgement>``
otherwise; ungraded trajectories (no outcome, or grading itself failed) are skipped.

A length limit keeps the issue and the diff whole and cuts the middle of the trajectory,
leaving a marker that says how much was cut: in tokens of the full chat-templated example
when a tokenizer is given, else in characters of the message contents.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from swegym.core.errors import UsageError
from swegym.core.results import GradeStatus
from swegym.core.toolcalls import render_tool_call
from swegym.core.trajectory import Trajectory, Turn

JUDGEMENT_OPEN = "<judgement>"
JUDGEMENT_CLOSE = "</judgement>"

SYSTEM_PROMPT = (
    "You are an expert software engineer reviewing the work of an AI agent. You are given an "
    "issue from a repository, the agent's trajectory (its messages, tool calls and their "
    "results) and the final diff it produced. Decide whether the diff resolves the issue, so "
    "that the repository's tests for it pass. Answer with {open}{yes}{close} if it does and "
    "{open}{no}{close} if it does not."
)

CUT_MARKER = "\n[... {count} {unit} of the trajectory cut ...]\n"


def completion_text(label: str) -> str:
    """The assistant's answer: ``<judgement>LABEL</judgement>``."""
    return f"{JUDGEMENT_OPEN}{label}{JUDGEMENT_CLOSE}"


def is_graded(trajectory: Trajectory) -> bool:
    """Graded: an outcome that judged the patch (a harness error judged nothing)."""
    return trajectory.outcome is not None and trajectory.outcome.status is not GradeStatus.ERROR


# -- rendering -------------------------------------------------------------------------


def issue_of(trajectory: Trajectory) -> str:
    """The problem statement: the trajectory's first user turn."""
    return next((turn.content for turn in trajectory.turns if turn.role == "user"), "")


def render_turns(turns: Sequence[Turn]) -> str:
    """The agent's turns after the issue, one block per turn: ``[role]`` then its text."""
    first_user = next((i for i, turn in enumerate(turns) if turn.role == "user"), len(turns))
    names: dict[str, str] = {}
    blocks = []
    for turn in turns[first_user + 1 :]:
        if turn.role == "assistant":
            names.update((call.id, call.name) for call in turn.tool_calls if call.id)
            parts = [turn.content.strip()] if turn.content.strip() else []
            parts += [render_tool_call(call) for call in turn.tool_calls]
            blocks.append("[assistant]\n" + "\n".join(parts))
        elif turn.role == "tool":
            name = turn.name or names.get(turn.tool_call_id, "")
            blocks.append(f"[tool {name}]\n{turn.content.strip()}" if name else f"[tool]\n{turn.content.strip()}")
        elif turn.role == "user":
            blocks.append(f"[user]\n{turn.content.strip()}")
    return "\n\n".join(blocks)


def _user_message(issue: str, trajectory: str, diff: str) -> str:
    return (
        "Did the agent resolve this issue?\n\n"
        f"<issue>\n{issue.strip()}\n</issue>\n\n"
        f"<trajectory>\n{trajectory}\n</trajectory>\n\n"
        f"<diff>\n{diff.strip() or '(empty: the agent changed nothing)'}\n</diff>"
    )


def _messages(issue: str, trajectory: str, diff: str, yes_label: str, no_label: str) -> list[dict[str, str]]:
    system = SYSTEM_PROMPT.format(open=JUDGEMENT_OPEN, close=JUDGEMENT_CLOSE, yes=yes_label, no=no_label)
    return [{"role": "system", "content": system}, {"role": "user", "content": _user_message(issue, trajectory, diff)}]


# -- the length limit ------------------------------------------------------------------


class _Measure:
    """Lengths in tokens of the chat-templated example (with a tokenizer) or in characters."""

    def __init__(self, tokenizer: Any | None, completion: str) -> None:
        self.tokenizer = tokenizer
        self.completion = completion
        self.unit = "tokens" if tokenizer is not None else "characters"

    def example(self, messages: list[dict[str, str]]) -> int:
        if self.tokenizer is None:
            return sum(len(m["content"]) for m in messages) + len(self.completion)
        conversation = [*messages, {"role": "assistant", "content": self.completion}]
        text = self.tokenizer.apply_chat_template(conversation, tokenize=False)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def size(self, text: str) -> int:
        if self.tokenizer is None:
            return len(text)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def cut_middle(self, text: str, keep: int) -> tuple[str, int]:
        """``text`` with all but ``keep`` units cut from its middle, and how many were cut."""
        keep = max(0, keep)
        if self.tokenizer is None:
            if len(text) <= keep:
                return text, 0
            head = keep // 2
            tail_start = len(text) - (keep - head)
            cut = tail_start - head
            return text[:head] + CUT_MARKER.format(count=cut, unit=self.unit) + text[tail_start:], cut
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if len(offsets) <= keep:
            return text, 0
        head = keep // 2
        tail = keep - head
        head_end = offsets[head - 1][1] if head else 0
        tail_start = offsets[len(offsets) - tail][0] if tail else len(text)
        cut = len(offsets) - keep
        return text[:head_end] + CUT_MARKER.format(count=cut, unit=self.unit) + text[tail_start:], cut


def verifier_messages(
    trajectory: Trajectory,
    *,
    max_length: int | None = None,
    tokenizer: Any | None = None,
    yes_label: str = "YES",
    no_label: str = "NO",
) -> tuple[list[dict[str, str]], bool]:
    """The judge prompt for ``trajectory`` (system + user message) and whether it was cut.

    :param max_length: the whole example's length (prompt, chat template and the longer
        ``<judgement>`` answer) in tokens of ``tokenizer``, or in characters without one.
        The middle of the trajectory is cut first; only when the issue and the diff alone do
        not fit are they cut in their middles too, each to half of what is left.
    """
    issue, turns, diff = issue_of(trajectory), render_turns(trajectory.turns), trajectory.patch
    longer = max((yes_label, no_label), key=len)
    measure = _Measure(tokenizer, completion_text(longer))
    messages = _messages(issue, turns, diff, yes_label, no_label)
    if max_length is None or measure.example(messages) <= max_length:
        return messages, False
    # the marker's digits: as long as the largest count could be
    marker = CUT_MARKER.format(count=10 ** len(str(len(turns))), unit=measure.unit)
    budget = max_length - measure.example(_messages(issue, marker, diff, yes_label, no_label))
    if budget > 0:

        def fit(shrink: int) -> list[dict[str, str]]:
            return _messages(issue, measure.cut_middle(turns, budget - shrink)[0], diff, yes_label, no_label)

    else:  # the issue and the diff alone do not fit: the whole trajectory goes, both are cut
        gone = CUT_MARKER.format(count=measure.size(turns), unit=measure.unit)
        left = max_length - measure.example(_messages("", gone, "", yes_label, no_label)) - 2 * measure.size(marker)
        issue_keep = min(measure.size(issue), left // 2)

        def fit(shrink: int) -> list[dict[str, str]]:
            issue_cut = measure.cut_middle(issue, issue_keep - shrink // 2)[0]
            diff_cut = measure.cut_middle(diff, left - issue_keep - (shrink - shrink // 2))[0]
            return _messages(issue_cut, gone, diff_cut, yes_label, no_label)

    # tokens of a whole text are not the sum of its pieces': trim what still overflows
    shrink = 0
    messages = fit(shrink)
    for _ in range(4):
        over = measure.example(messages) - max_length
        if over <= 0:
            break
        shrink += over
        messages = fit(shrink)
    return messages, True


# -- examples --------------------------------------------------------------------------


@attrs.define
class VerifierDataCounts:
    """What building the verifier's data read, kept and dropped."""

    read: int = 0
    skipped_ungraded: int = 0  #: no outcome, or grading itself failed
    dropped_cap: int = 0  #: over the per-instance cap
    dropped_balance: int = 0  #: the majority class's surplus
    yes: int = 0  #: examples written with the YES target (resolved)
    no: int = 0  #: examples written with the NO target
    truncated: int = 0  #: examples whose trajectory was cut to the length limit

    def to_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


def verifier_example(
    trajectory: Trajectory,
    *,
    max_length: int | None = None,
    tokenizer: Any | None = None,
    yes_label: str = "YES",
    no_label: str = "NO",
) -> tuple[dict[str, Any], bool]:
    """One prompt/completion example for ``trajectory`` and whether its prompt was cut."""
    messages, cut = verifier_messages(trajectory, max_length=max_length, tokenizer=tokenizer, yes_label=yes_label, no_label=no_label)
    label = yes_label if trajectory.resolved else no_label
    example = {
        "prompt": messages,
        "completion": [{"role": "assistant", "content": completion_text(label)}],
        "instance_id": trajectory.instance_id,
        "sample_index": trajectory.sample_index,
        "resolved": trajectory.resolved,
    }
    return example, cut


def build_verifier_examples(
    trajectories: Iterable[Trajectory],
    *,
    balance: bool = True,
    per_instance_cap: int | None = None,
    max_length: int | None = None,
    tokenizer: Any | None = None,
    seed: int = 0,
    yes_label: str = "YES",
    no_label: str = "NO",
) -> tuple[list[dict[str, Any]], VerifierDataCounts]:
    """The verifier's examples from graded trajectories, and the counts of what happened.

    :param per_instance_cap: at most this many trajectories per instance *and outcome* (so
        an instance keeps both resolved and unresolved ones), drawn at random.
    :param balance: as many NO as YES examples: the majority class is downsampled at random.
    :param seed: a trajectory's chance to be kept is a hash of the seed and its (instance_id,
        sample_index): the choice does not depend on the input order.
    Examples come out sorted by (instance_id, sample_index).
    """
    counts = VerifierDataCounts()
    graded: list[tuple[tuple[str, int, int], Trajectory]] = []
    for position, trajectory in enumerate(trajectories):
        counts.read += 1
        if is_graded(trajectory):
            graded.append(((trajectory.instance_id, trajectory.sample_index, position), trajectory))
        else:
            counts.skipped_ungraded += 1
    graded.sort(key=lambda item: item[0])
    if per_instance_cap is not None:
        if per_instance_cap < 1:
            raise UsageError(f"per_instance_cap must be at least 1 (got {per_instance_cap})")
        groups: dict[tuple[str, bool], list[tuple[tuple[str, int, int], Trajectory]]] = {}
        for item in graded:
            groups.setdefault((item[1].instance_id, item[1].resolved), []).append(item)
        graded = []
        for (instance_id, resolved), group in groups.items():
            if len(group) > per_instance_cap:
                counts.dropped_cap += len(group) - per_instance_cap
                group = sorted(group, key=lambda item: _draw(seed, item[0]))[:per_instance_cap]
            graded.extend(group)
        graded.sort(key=lambda item: item[0])
    if balance:
        positive = [item for item in graded if item[1].resolved]
        negative = [item for item in graded if not item[1].resolved]
        majority, minority = (positive, negative) if len(positive) > len(negative) else (negative, positive)
        counts.dropped_balance = len(majority) - len(minority)
        graded = minority + sorted(majority, key=lambda item: _draw(seed, item[0]))[: len(minority)]
        graded.sort(key=lambda item: item[0])
    examples = []
    for _, trajectory in graded:
        example, cut = verifier_example(trajectory, max_length=max_length, tokenizer=tokenizer, yes_label=yes_label, no_label=no_label)
        examples.append(example)
        counts.truncated += cut
        if trajectory.resolved:
            counts.yes += 1
        else:
            counts.no += 1
    return examples, counts


def _draw(seed: int, key: tuple[str, int, int]) -> tuple[bytes, tuple[str, int, int]]:
    """A random but reproducible rank: keep the lowest ranks (the key breaks exact ties)."""
    digest = hashlib.blake2b(f"{seed}:{key[0]}:{key[1]}".encode(), digest_size=8).digest()
    return digest, key


def write_examples(examples: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write examples as JSONL (the ``sft`` trainer's prompt/completion input); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for example in examples:
            handle.write(orjson.dumps(example) + b"\n")
    return path
