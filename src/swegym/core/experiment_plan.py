"""Experiments as TOML: stages composed from plugin names and options, run as swegym commands.

An experiment file::

    [experiment]
    name = "smollm-selfimprove"
    policy = "/models/SmolLM2-135M-Instruct"   # ${policy} until a policy trainer replaces it

    [[stage]]
    name = "rollout"
    type = "rollout"
    dataset = "demo"
    agent = "openhands"
    llm = "transformers"
    model = "${policy}"
    samples = 4
    options = { "agent.max_turns" = 10, "llm.device" = "cpu" }

    [[stage]]
    name = "improve"
    type = "iterate"             # rollout -> filter -> export -> train, `times` times
    times = 2
      [[stage.stages]]
      name = "rollout"            # then filter, export and train (README: Experiments)
      type = "rollout"

Every stage is one swegym command (``rollout``, ``pool``, ``filter``, ``export``, ``train``,
``train-verifier``, ``train-grpo``, ``verify``, ``rerank``, ``eval``, or ``command`` for any plugin's
command); its keys are the command's options. ``${NAME}`` in a value is what stage NAME
produced (a run directory, a file, a model); inside an iteration it means that iteration's
stage first. ``${policy}`` is the newest policy model, ``${iteration}`` the iteration number
and ``${experiment}`` the experiment directory. Each stage writes under
``<experiment>/<stage name>`` (iterations: ``<name>.<i>.<inner name>``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from swegym.core.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_REF = re.compile(r"\$\{([^}]+)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@attrs.frozen
class StageType:
    """How a stage type becomes a command line, and what the stage produces."""

    #: the command words, e.g. ("train", "sft")
    command: tuple[str, ...]
    #: stage key -> (how to write it: "arg", "opt", "flag", "multi", "options", "k"), CLI name
    keys: Mapping[str, tuple[str, str]]
    #: what ``${stage}`` means: "dir" (the stage directory) or a file name inside it
    product: str = "dir"
    #: keys that must be present
    required: tuple[str, ...] = ()
    #: the --out the command takes: "dir", a file name inside the stage directory, or "" (none)
    out: str = "dir"
    #: this stage's product becomes ${policy}
    policy: bool = False


_EXECUTION = {
    "runtime": ("opt", "--runtime"), "executor": ("opt", "--executor"), "workers": ("opt", "--workers"),
    "git_mirror": ("opt", "--git-mirror"), "timeout": ("opt", "--timeout"),
}

STAGE_TYPES: dict[str, StageType] = {
    "rollout": StageType(
        ("rollout",),
        {"dataset": ("opt", "--dataset"), "instances": ("multi", "--instance-ids"), "agent": ("opt", "--agent"),
         "llm": ("opt", "--llm"), "model": ("opt", "--model"), "base_url": ("opt", "--base-url"),
         "samples": ("opt", "--samples"), "temperature": ("opt", "--temperature"), "top_p": ("opt", "--top-p"),
         "max_tokens": ("opt", "--max-tokens"), "first_greedy": ("flag", "--first-greedy"),
         "options": ("options", "--option"), **_EXECUTION},
        required=("dataset",),
    ),
    "eval": StageType(
        ("eval",),
        {"dataset": ("opt", "--dataset"), "instances": ("multi", "--instance-ids"), "predictions": ("opt", "--predictions"),
         "run_id": ("opt", "--run-id"), "options": ("options", "--option"), **_EXECUTION},
        required=("dataset", "predictions"),
    ),
    "pool": StageType(("pool",), {"runs": ("arg", ""), "instances": ("multi", "--instance-ids")}, required=("runs",)),
    "filter": StageType(
        ("filter",), {"input": ("arg", ""), "filters": ("multi", "--filter"), "options": ("options", "--option")},
        product="trajectories.jsonl", required=("input", "filters"), out="trajectories.jsonl",
    ),
    "export": StageType(
        ("export-sft",),
        {"input": ("arg", ""), "format": ("opt", "--format"), "only_resolved": ("flag", "--only-resolved/--all")},
        product="sft.jsonl", required=("input",), out="sft.jsonl",
    ),
    "train": StageType(
        ("train", "sft"),
        {"data": ("opt", "--data"), "model": ("opt", "--model"), "trainer": ("opt", "--trainer"),
         "options": ("options", "--option")},
        product="model", required=("data", "model"), policy=True,
    ),
    "train-grpo": StageType(
        ("train", "grpo"),
        {"dataset": ("opt", "--dataset"), "instances": ("multi", "--instance-ids"), "model": ("opt", "--model"),
         "agent": ("opt", "--agent"), "runtime": ("opt", "--runtime"), "git_mirror": ("opt", "--git-mirror"),
         "timeout": ("opt", "--timeout"), "options": ("options", "--option")},
        product="model", required=("dataset", "model"), policy=True,
    ),
    "train-verifier": StageType(
        ("train", "verifier"),
        {"data": ("multi", "--data"), "model": ("opt", "--model"), "options": ("options", "--option")},
        product="model", required=("data", "model"),
    ),
    "verify": StageType(
        ("verify",),
        {"input": ("arg", ""), "verifier": ("opt", "--verifier"), "model": ("option", "verifier.model"),
         "batch_size": ("opt", "--batch-size"), "options": ("options", "--option")},
        product="scores.jsonl", required=("input",), out="scores.jsonl",
    ),
    "rerank": StageType(
        ("rerank",),
        {"input": ("arg", ""), "scores": ("opt", "--scores"), "k": ("opt", "--k"), "shuffles": ("opt", "--shuffles"),
         "seed": ("opt", "--seed")},
        required=("input", "scores"),
    ),
    "command": StageType((), {"args": ("raw", "")}, required=("args",), out=""),
}


@attrs.frozen
class Stage:
    """One stage as written in the file (values may still hold ``${...}`` references)."""

    name: str
    type: str
    params: Mapping[str, Any]
    iteration: int | None = None
    #: the group this stage's iteration belongs to, for ``${name}`` lookups within it
    group: str | None = None
    local_name: str = ""

    @property
    def spec(self) -> StageType:
        return STAGE_TYPES[self.type]


@attrs.frozen
class Experiment:
    """A parsed experiment file: its settings and its stages, iterations unrolled in order."""

    name: str
    policy: str | None
    stages: tuple[Stage, ...]
    raw: Mapping[str, Any]
    source: str = ""
    #: ``[experiment.vars]``: names usable as ``${name}`` (``--set name=value`` overrides)
    vars: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_toml(cls, path: str | Path) -> Experiment:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"{path}: no such experiment file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read it as an experiment file ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Experiment:
        unknown = sorted(set(data) - {"experiment", "stage"})
        if unknown:
            raise UsageError(f"{source}: unknown table {unknown[0]!r} (an experiment has [experiment] and [[stage]])")
        head = dict(data.get("experiment") or {})
        bad = sorted(set(head) - {"name", "policy", "description", "vars"})
        if bad:
            raise UsageError(f"{source}: [experiment] has no key {bad[0]!r}; accepted: description, name, policy, vars")
        variables = head.get("vars") or {}
        if not isinstance(variables, Mapping):
            raise UsageError(f"{source}: [experiment] vars must be a table of name = value")
        stages: list[Stage] = []
        for index, table in enumerate(data.get("stage") or []):
            stages.extend(_stages(table, f"{source}: stage {index + 1}"))
        if not stages:
            raise UsageError(f"{source}: no [[stage]] to run")
        seen: set[str] = set()
        for stage in stages:
            if stage.name in seen:
                raise UsageError(f"{source}: two stages are named {stage.name!r}")
            seen.add(stage.name)
        name = str(head.get("name") or Path(source).stem)
        reserved = sorted(set(variables) & ({"policy", "iteration", "experiment"} | seen))
        if reserved:
            raise UsageError(f"{source}: variable {reserved[0]!r} clashes with a stage or a built-in name")
        return cls(name, head.get("policy"), tuple(stages), dict(data), source, {k: str(v) for k, v in variables.items()})

    def with_vars(self, assignments: Mapping[str, str]) -> Experiment:
        """This experiment with variables set (``--set NAME=VALUE``); ``policy`` sets the policy."""
        assignments = dict(assignments)
        policy = assignments.pop("policy", self.policy)
        return attrs.evolve(self, policy=policy, vars={**self.vars, **assignments})


def _stages(table: Mapping[str, Any], where: str) -> list[Stage]:
    table = dict(table)
    kind = table.pop("type", None)
    name = table.pop("name", None) or kind
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"{where}: stage name {name!r} must be letters, digits, '-' or '_'")
    if kind == "iterate":
        times = table.pop("times", 1)
        inner = table.pop("stages", None)
        if table:
            raise UsageError(f"{where} ({name}): iterate takes only name, times and [[stage.stages]]; not {sorted(table)[0]!r}")
        if not isinstance(times, int) or times < 1:
            raise UsageError(f"{where} ({name}): times must be a positive integer")
        if not inner:
            raise UsageError(f"{where} ({name}): iterate needs [[stage.stages]]")
        out = []
        for i in range(1, times + 1):
            for j, sub in enumerate(inner):
                for stage in _stages(sub, f"{where} ({name}) inner stage {j + 1}"):
                    if stage.type == "iterate" or stage.iteration is not None:
                        raise UsageError(f"{where} ({name}): iterations do not nest")
                    out.append(attrs.evolve(stage, name=f"{name}.{i}.{stage.name}", iteration=i, group=name, local_name=stage.name))
        return out
    if kind not in STAGE_TYPES:
        raise UsageError(f"{where} ({name}): unknown stage type {kind!r}; types: iterate, {', '.join(STAGE_TYPES)}")
    spec = STAGE_TYPES[kind]
    unknown = sorted(set(table) - set(spec.keys))
    if unknown:
        raise UsageError(f"{where} ({name}): a {kind} stage has no key {unknown[0]!r}; accepted: {', '.join(sorted(spec.keys))}")
    missing = [key for key in spec.required if key not in table]
    if missing:
        raise UsageError(f"{where} ({name}): a {kind} stage needs {missing[0]!r}")
    return [Stage(name, kind, table, local_name=name)]


def resolve(value: Any, lookup: Callable[[str], str]) -> Any:
    """``value`` with each ``${ref}`` replaced by ``lookup(ref)`` (recursively in lists and tables)."""
    if isinstance(value, str):
        return _REF.sub(lambda m: lookup(m.group(1).strip()), value)
    if isinstance(value, list):
        return [resolve(item, lookup) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, lookup) for key, item in value.items()}
    return value


def command_line(stage: Stage, params: Mapping[str, Any], stage_dir: Path) -> list[str]:
    """The swegym arguments that run ``stage`` with resolved ``params``, writing under ``stage_dir``."""
    spec = stage.spec
    if stage.type == "command":
        args = params["args"]
        if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
            raise UsageError(f"stage {stage.name}: args must be a list of strings")
        return [str(a) for a in args]
    argv: list[str] = list(spec.command)
    if stage.type == "eval" and "run_id" not in params:
        argv += ["--run-id", stage.name]
    positional: list[str] = []
    for key, value in params.items():
        how, flag = spec.keys[key]
        if how == "arg":
            positional.extend(str(v) for v in (value if isinstance(value, list) else [value]))
        elif how == "opt":
            argv += [flag, _text(value)]
        elif how == "multi":
            for item in value if isinstance(value, list) else [value]:
                argv += [flag, _text(item)]
        elif how == "flag":
            on, _, off = flag.partition("/")
            if value:
                argv.append(on)
            elif off:
                argv.append(off)
        elif how == "option":
            argv += ["--option", f"{flag}={_text(value)}"]
        elif how == "options":
            if not isinstance(value, Mapping):
                raise UsageError(f"stage {stage.name}: options must be a table of COMPONENT.KEY = value")
            for option, item in value.items():
                argv += ["--option", f"{option}={_text(item)}"]
    if spec.out == "dir":
        argv += ["--out", str(stage_dir)]
    elif spec.out:
        argv += ["--out", str(stage_dir / spec.out)]
    return argv + positional


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return str(value)


def references(value: Any) -> list[str]:
    """The ``${...}`` names ``value`` refers to."""
    if isinstance(value, str):
        return [m.strip() for m in _REF.findall(value)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in references(item)]
    return []


def check_references(experiment: Experiment) -> None:
    """Every ``${name}`` names an earlier stage (or policy, iteration, experiment)."""
    earlier: set[str] = set()
    local: dict[tuple[str | None, int | None], set[str]] = {}
    for stage in experiment.stages:
        scope = local.setdefault((stage.group, stage.iteration), set())
        for ref in references(dict(stage.params)):
            if ref in experiment.vars:
                continue
            if ref in ("iteration", "experiment"):
                if ref == "iteration" and stage.iteration is None:
                    raise UsageError(f"stage {stage.name}: ${{iteration}} is only known inside an iterate stage")
                continue
            if ref == "policy":
                if experiment.policy is None and not _policy_before(experiment.stages, stage):
                    raise UsageError(f"stage {stage.name}: ${{policy}} is used but [experiment] sets no policy and no train stage runs before it")
                continue
            if ref not in earlier and ref not in scope:
                raise UsageError(f"stage {stage.name}: ${{{ref}}} names no earlier stage")
        earlier.add(stage.name)
        scope.add(stage.local_name)


def _policy_before(stages: Sequence[Stage], stage: Stage) -> bool:
    for earlier in stages:
        if earlier is stage:
            return False
        if earlier.spec.policy:
            return True
    return False
