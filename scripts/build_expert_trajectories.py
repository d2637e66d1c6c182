#!/usr/bin/env python
"""Write the demo repository's expert demonstrations: one trajectory per instance per scaffold.

    python scripts/build_expert_trajectories.py [--runtime local] [--agents openhands,moatless]

The assistant turns are written for this project from each instance's gold patch (explore,
read the code, edit it hunk by hunk, check, finish), the way a careful engineer would drive
the scaffold. They are then *executed* through the real scaffold with the replay backend
(`swegym rollout --llm replay`), so the shipped records carry real observations and real
grading. Every record is labelled `"expert": true` with its provenance: they are expert
demonstrations, like the paper's off-policy GPT-4o/Claude trajectories, not model samples.
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from unidiff import PatchSet

from swegym import Components, ToolCall, Trajectory, Turn, get_plugin_manager, load_instances
from swegym.core.store import TrajectoryStore
from swegym.plugins.repos.demo import DATA, built_repository

WORKDIR = "/testbed"
PROVENANCE = "expert demonstration written for swegym from the instance's gold patch, executed by replay"


def file_at(clone: Path, commit: str, path: str) -> str:
    return subprocess.run(["git", "show", f"{commit}:{path}"], cwd=clone, capture_output=True, text=True, check=True).stdout


def edits(patch: str, base_text: dict[str, str]) -> list[tuple[str, str | None, str]]:
    """(path, old or None for a new file, new) per hunk; old strings unique at their turn."""
    steps = []
    for patched in PatchSet(patch):
        path = patched.path
        if patched.is_added_file:
            steps.append((path, None, "".join(line.value for hunk in patched for line in hunk if line.is_added)))
            continue
        text = base_text[path]
        for hunk in patched:
            old = "".join(line.value for line in hunk if line.is_context or line.is_removed)
            new = "".join(line.value for line in hunk if line.is_context or line.is_added)
            if text.count(old) != 1:
                raise SystemExit(f"{path}: hunk context is not unique; widen the gold patch's context")
            text = text.replace(old, new, 1)
            steps.append((path, old, new))
    return steps


def openhands_turns(instance, clone: Path) -> list[Turn]:
    # the repository as OpenHands' CodeActAgent shows it: /workspace/<owner>__<repo>__<version>
    from swegym.plugins.openhands_agent.codeact import workspace_name

    WORKDIR = f"/workspace/{workspace_name(instance)}"
    files = [p.path for p in PatchSet(instance.patch)]
    base = {p.path: file_at(clone, instance.base_commit, p.path) for p in PatchSet(instance.patch) if not p.is_added_file}
    calls: list[tuple[str, str, dict]] = [
        ("I'll start by looking at how the repository is organised.", "execute_bash", {"command": f"cd {WORKDIR} && git ls-files | head -50"}),
    ]
    for path in files:
        calls.append((f"The issue points at `{path}`; let me read it.", "str_replace_editor", {"command": "view", "path": f"{WORKDIR}/{path}"}))
    calls.append(("Before changing anything, let me check that the existing tests pass.", "execute_bash", {"command": "python -m pytest -q -x 2>&1 | tail -3"}))
    for path, old, new in edits(instance.patch, base):
        if old is None:
            calls.append((f"I'll add `{path}`.", "str_replace_editor", {"command": "create", "path": f"{WORKDIR}/{path}", "file_text": new}))
        else:
            calls.append((f"Now I'll fix this part of `{path}`.", "str_replace_editor",
                          {"command": "str_replace", "path": f"{WORKDIR}/{path}", "old_str": old, "new_str": new}))
    calls.append(("Let me run the test suite again to make sure nothing else broke.", "execute_bash", {"command": "python -m pytest -q 2>&1 | tail -3"}))
    calls.append(("The fix is in place and the tests pass.", "finish", {}))  # OpenHands' finish takes no arguments
    return [
        Turn("assistant", thought, tool_calls=(ToolCall(name, arguments, f"call_{index}"),))
        for index, (thought, name, arguments) in enumerate(calls, start=1)
    ]


def _span_for(spans, first: int, last: int):
    """The innermost span holding lines first..last (1-based, inclusive), or None."""
    holding = [sp for sp in spans if sp.start_line <= first and last <= sp.end_line]
    return min(holding, key=lambda sp: sp.end_line - sp.start_line) if holding else None


def _change_blocks(path: str, before: str, after: str):
    """Search/replace blocks, bottom-up, each inside one span of the file as it is then."""
    from swegym.plugins.moatless_agent.index import parse_spans

    old, new = before.splitlines(), after.splitlines()
    spans = parse_spans(path, before)
    opcodes = [op for op in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if op[0] != "equal"]
    blocks = []
    for _, i1, i2, j1, j2 in reversed(opcodes):  # bottom-up: the spans above keep their lines
        for start, end in ((i1 - 1, i2 + 1), (i1 - 1, i2), (i1, i2 + 1), (i1, i2)):
            start, end = max(start, 0), min(end, len(old))
            if end <= start:
                continue
            span = _span_for(spans, start + 1, end)
            if span is None:
                continue
            # widen inside the span until the search lines are unique there
            while True:
                search = old[start:end]
                window = old[span.start_line - 1 : span.end_line]
                hits = sum(window[k : k + len(search)] == search for k in range(len(window) - len(search) + 1))
                if hits == 1 or (start + 1 <= span.start_line and end >= span.end_line):
                    break
                start, end = max(start - 1, span.start_line - 1), min(end + 1, span.end_line)
            replace = old[start:i1] + new[j1:j2] + old[i2:end]
            blocks.append((span, search, replace))
            break
        else:
            raise SystemExit(f"{path}: no span holds the change at line {i1 + 1}")
    return blocks


def moatless_turns(instance, clone: Path) -> list[Turn]:
    patched = PatchSet(instance.patch)
    base = {p.path: file_at(clone, instance.base_commit, p.path) for p in patched if not p.is_added_file}
    after = {p.path: file_at(clone, instance.extra["mined_from"], p.path) for p in patched}
    title = instance.problem_statement.strip().splitlines()[0]
    steps: list[tuple[str, str, dict]] = [("Let me search for the code this issue is about.", "search_code", {"query": title})]
    plans = {path: _change_blocks(path, base[path], after[path]) for path in base}
    for path, blocks in plans.items():
        span_ids = sorted({span.span_id for span, _, _ in blocks})
        steps.append((f"Let me read the relevant code in `{path}`.", "view_code", {"file_path": path, "span_ids": span_ids}))
        steps.append(("These spans are where the bug is.", "identify", {"file_path": path, "span_ids": span_ids, "reason": "they implement the behaviour the issue describes"}))
    turns: list[Turn] = []
    index = 0

    def call(thought: str, name: str, arguments: dict) -> None:
        nonlocal index
        index += 1
        turns.append(Turn("assistant", thought, tool_calls=(ToolCall(name, arguments, f"call_{index}"),)))

    for thought, name, arguments in steps:
        call(thought, name, arguments)
    for path, blocks in plans.items():
        for span, search, replace in blocks:
            call(f"I'll change `{span.span_id}`.", "request_change", {
                "file_path": path, "span_id": span.span_id,
                "instructions": "Make the change the issue asks for in this part of the code, keeping the rest as it is.",
            })
            body = "\n".join(search), "\n".join(replace)
            turns.append(Turn("assistant", f"<search>\n{body[0]}\n</search>\n<replace>\n{body[1]}\n</replace>"))
    call("All the changes the issue needs are made.", "finish", {"reason": "The code now behaves as the issue expects."})
    return turns


BUILDERS = {"openhands": openhands_turns, "moatless": moatless_turns}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", default="local")
    parser.add_argument("--agents", default="openhands,moatless")
    args = parser.parse_args()
    instances = load_instances("demo", Components(get_plugin_manager()))
    out_dir = DATA / "expert"
    out_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "tinyver"
        subprocess.run(["git", "clone", "-q", built_repository(), str(clone)], check=True)
        for agent in args.agents.split(","):
            script = TrajectoryStore(Path(tmp) / f"{agent}-script.jsonl")
            for instance in instances:
                turns = BUILDERS[agent](instance, clone)
                script.append(Trajectory(instance.instance_id, 0, agent, "expert", tuple(turns), expert=True))
            run = Path(tmp) / f"{agent}-run"
            subprocess.run([
                sys.executable, "-m", "swegym", "rollout", "--dataset", "demo", "--agent", agent, "--llm", "replay",
                "--model", "expert-demo", "--option", f"llm.path={script.path}", "--runtime", args.runtime,
                "--workers", "2", "--out", str(run),
            ], check=True)
            records = []
            for record in TrajectoryStore(run / "trajectories.jsonl").records():
                record["expert"] = True
                record["config"] = {**record["config"], "provenance": PROVENANCE}
                records.append(record)
            records.sort(key=lambda r: r["instance_id"])
            unresolved = [r["instance_id"] for r in records if not (r["outcome"] or {}).get("status") == "resolved"]
            if unresolved:
                raise SystemExit(f"{agent}: expert demonstrations that do not resolve: {unresolved}")
            target = out_dir / f"{agent}.jsonl"
            target.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
            print(f"{agent}: {len(records)} expert trajectories -> {target}")


if __name__ == "__main__":
    main()
