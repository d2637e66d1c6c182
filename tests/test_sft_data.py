import json
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

import swegym
from swegym.cli import App, build_cli
from swegym.commands.export_sft import export_sft
from swegym.core.errors import UsageError
from swegym.core.results import GradingResult
from swegym.core.sft_data import SFTStats, agent_tools, export_sft as export, read_trajectories, sft_example, sft_examples
from swegym.core.store import TrajectoryStore
from swegym.core.toolcalls import parse_tool_calls, tools_prompt
from swegym.core.trajectory import ToolCall, Trajectory, Turn
from swegym.plugins.openhands_agent.prompts import system_prompt, tool_specs

EXPERT = Path(swegym.__file__).parent / "plugins" / "repos" / "demo" / "data" / "expert"
AGENTS = ("openhands", "moatless")


def expert(agent: str) -> list[Trajectory]:
    return list(read_trajectories(EXPERT / f"{agent}.jsonl"))


def assert_roles_valid(messages, *, tool_role: bool):
    roles = [m["role"] for m in messages]
    assert roles[0] == "system" and roles[1] == "user" and roles[-1] == "assistant"
    assert "system" not in roles[1:]
    if not tool_role:
        assert "tool" not in roles
        # after the system prompt, user and assistant strictly alternate
        assert all(a != b for a, b in zip(roles[1:], roles[2:])), roles
    else:
        for previous, role in zip(roles[1:], roles[2:]):
            assert not (previous == role and role in ("user", "assistant")), roles


def as_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.mark.parametrize("agent", AGENTS)
def test_text_form_of_native_expert_trajectories(agent):
    trajectories = expert(agent)
    # the openhands experts run through CodeActAgent in text mode, as SWE-Gym drove open models
    mode = "text" if agent == "openhands" else "native"
    assert trajectories and all(t.config["info"]["tool_mode"] == mode for t in trajectories)
    for trajectory in trajectories:
        example = sft_example(trajectory, format="text")
        messages = example["messages"]
        assert_roles_valid(messages, tool_role=False)
        assert set(example) == {"messages", "instance_id", "sample_index", "agent", "model", "resolved"}
        assert example["resolved"] is trajectory.resolved and example["agent"] == agent
        assert "You have access to the following functions:" in messages[0]["content"]
        assert "You have access to the following functions:" not in trajectory.turns[0].content
        assistant = [m["content"] for m in messages if m["role"] == "assistant"]
        user = [m["content"] for m in messages[2:] if m["role"] == "user"]
        assert any("<function=" in content for content in assistant)
        assert any(content.startswith("EXECUTION RESULT of [") for content in user)
        if agent == "openhands":
            assert any("<function=str_replace_editor>" in content for content in assistant)

        # round trip: the calls read back from the text are the recorded calls
        recorded = [t for t in trajectory.turns if t.role == "assistant"]
        assert len(recorded) == len(assistant)
        for turn, content in zip(recorded, assistant):
            calls, errors = parse_tool_calls(content)
            assert errors == []
            assert [c.name for c in calls] == [c.name for c in turn.tool_calls]
            assert [dict(c.arguments) for c in calls] == [
                {k: as_text(v) for k, v in c.arguments.items()} for c in turn.tool_calls
            ]
            assert content.startswith(turn.content.strip() or "<function=")


def test_text_system_prompt_is_the_agents_own_text_mode_prompt():
    # CodeActAgent's system prompt with OpenHands' tool descriptions, as its converter writes them
    from swegym.plugins.openhands_agent.original import load

    originals = load()
    trajectory = expert("openhands")[0]
    example = sft_example(trajectory, format="text")
    expected = originals.to_text_messages([{"role": "system", "content": originals.system_prompt}], [dict(t) for t in originals.tools])
    assert example["messages"][0]["content"] == expected[0]["content"]
    assert example["messages"][1]["content"].startswith(originals.example_prefix)


@pytest.mark.parametrize("agent", AGENTS)
def test_native_form_keeps_tool_call_ids_consistent(agent):
    for trajectory in expert(agent):
        example = sft_example(trajectory, format="native")
        messages = example["messages"]
        assert_roles_valid(messages, tool_role=True)
        assert [t["function"]["name"] for t in example["tools"]] == [t.name for t in agent_tools(agent, trajectory.config)]
        open_ids: dict[str, str] = {}
        answered = 0
        for message in messages:
            for call in message.get("tool_calls") or ():
                assert call["type"] == "function" and call["id"] not in open_ids
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
                open_ids[call["id"]] = call["function"]["name"]
            if message["role"] == "tool":
                assert open_ids.pop(message["tool_call_id"]) == message["name"]
                answered += 1
        assert answered == sum(1 for t in trajectory.turns if t.role == "tool") - (agent == "moatless")  # trailing finish result dropped
        recorded = [c for t in trajectory.turns for c in t.tool_calls]
        written = [c for m in messages for c in m.get("tool_calls") or ()]
        assert [(c.id, c.name, dict(c.arguments)) for c in recorded] == [
            (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in written
        ]


def _text_mode_trajectory(resolved: bool = True) -> Trajectory:
    call = ToolCall("execute_bash", {"command": "ls"}, id="call_0_0")
    finish = ToolCall("finish", {"message": "done"}, id="call_1_0")
    turns = (
        Turn("system", "SYSTEM\n\n" + tools_prompt(tool_specs(bash_timeout=120.0))),
        Turn("user", "the issue"),
        Turn("assistant", "Look first.\n<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>", (call,)),
        Turn("user", "EXECUTION RESULT of [execute_bash]:\nsetup.py"),
        Turn("user", "a nudge"),
        Turn("assistant", "<function=finish>\n<parameter=message>done</parameter>\n</function>", (finish,)),
    )
    outcome = GradingResult(instance_id="x-1", status="resolved" if resolved else "unresolved")
    return Trajectory("x-1", 0, "openhands", "m", turns, outcome=outcome, config={"info": {"tool_mode": "text"}})


def test_text_mode_recording_is_kept_and_converts_to_native():
    trajectory = _text_mode_trajectory()
    text = sft_example(trajectory, format="text")["messages"]
    assert [m["role"] for m in text] == ["system", "user", "assistant", "user", "assistant"]
    assert text[0]["content"] == trajectory.turns[0].content  # no second tools section
    assert text[2]["content"] == trajectory.turns[2].content
    assert text[3]["content"] == "EXECUTION RESULT of [execute_bash]:\nsetup.py\n\na nudge"  # merged user turns

    native = sft_example(trajectory, format="native")["messages"]
    assert [m["role"] for m in native] == ["system", "user", "assistant", "tool", "user", "assistant"]
    assert native[2]["content"] == "Look first." and native[2]["tool_calls"][0]["id"] == "call_0_0"
    assert native[3] == {"role": "tool", "tool_call_id": "call_0_0", "name": "execute_bash", "content": "setup.py"}


def test_two_native_results_become_one_user_turn():
    calls = (ToolCall("execute_bash", {"command": "ls"}, id="a"), ToolCall("execute_bash", {"command": "pwd"}, id="b"))
    turns = (
        Turn("system", "S"), Turn("user", "issue"), Turn("assistant", "", calls),
        Turn("tool", "one", tool_call_id="a", name="execute_bash"), Turn("tool", "two", tool_call_id="b"),
        Turn("assistant", "", (ToolCall("finish", {"message": "ok"}, id="c"),)),
    )
    trajectory = Trajectory("x", 0, "openhands", "m", turns, config={"info": {"tool_mode": "native"}})
    messages = sft_example(trajectory, format="text")["messages"]
    assert_roles_valid(messages, tool_role=False)
    assert messages[3]["content"] == "EXECUTION RESULT of [execute_bash]:\none\n\nEXECUTION RESULT of [execute_bash]:\ntwo"
    assert parse_tool_calls(messages[2]["content"])[0] == [ToolCall("execute_bash", {"command": "ls"}), ToolCall("execute_bash", {"command": "pwd"})]


def test_unknown_agent_and_format_are_clear_errors():
    trajectory = attrs.evolve(expert("moatless")[0], agent="mystery")  # a native recording needs its agent's tools
    with pytest.raises(UsageError, match="no tool specs known for agent 'mystery'.*moatless, openhands"):
        sft_example(trajectory, format="text")
    with pytest.raises(UsageError, match="unknown SFT format"):
        sft_example(expert("openhands")[0], format="markdown")  # type: ignore[arg-type]


def _records_with_an_unresolved_one(tmp_path: Path) -> Path:
    store = TrajectoryStore(tmp_path / "run" / "trajectories.jsonl")
    for trajectory in expert("openhands")[:2]:
        store.append(trajectory)
    store.append(_text_mode_trajectory(resolved=False))
    return store.path.parent


def test_only_resolved_drops_unresolved_trajectories(tmp_path):
    run = _records_with_an_unresolved_one(tmp_path)
    stats = SFTStats()
    kept = list(sft_examples(read_trajectories(run), stats=stats))
    assert [e["instance_id"] for e in kept] == [t.instance_id for t in expert("openhands")[:2]]
    assert (stats.read, stats.kept, stats.written) == (3, 2, 2)
    everything = list(sft_examples(read_trajectories(run), only_resolved=False))
    assert len(everything) == 3 and everything[-1]["resolved"] is False


def test_jsonl_export_is_complete_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "sft" / "text.jsonl"
    stats = export(EXPERT / "moatless.jsonl", out, format="text")
    lines = out.read_text().splitlines()
    assert len(lines) == stats.written == len(expert("moatless"))
    assert stats.approx_tokens == stats.chars // 4 > 0 and stats.mean_assistant_turns > 1
    assert json.loads(lines[0])["messages"][0]["role"] == "system"
    assert list(out.parent.iterdir()) == [out]


@pytest.mark.parametrize("format", ["text", "native"])
def test_hf_dataset_loads_back(tmp_path, format):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "ds"
    stats = export(EXPERT / "openhands.jsonl", out, format=format, as_="hf")
    loaded = datasets.load_from_disk(str(out))
    assert len(loaded) == stats.written == len(expert("openhands"))
    original = sft_example(expert("openhands")[0], format=format)
    row = loaded[0]
    assert row["instance_id"] == original["instance_id"] and row["resolved"] is True
    assert [m["content"] for m in row["messages"]] == [m["content"] for m in original["messages"]]
    if format == "native":
        assert json.loads(row["tools"]) == original["tools"]
        assert row["messages"][2]["tool_calls"] == original["messages"][2]["tool_calls"]
        assert row["messages"][3]["tool_call_id"] == original["messages"][3]["tool_call_id"]


def invoke(args):
    pm = swegym.get_plugin_manager()
    cli = build_cli(pm)
    cli.add_command(export_sft)
    return CliRunner().invoke(cli, args, obj=App(pm))


def test_cli_exports_a_run_directory(tmp_path):
    run = _records_with_an_unresolved_one(tmp_path)
    out = tmp_path / "native.jsonl"
    result = invoke(["export-sft", str(run), "--out", str(out), "--format", "native"])
    assert result.exit_code == 0, result.output
    examples = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(examples) == 2 and all(e["tools"] and e["resolved"] for e in examples)
    assert "examples written" in result.output and "tokens (chars/4)" in result.output

    result = invoke(["export-sft", str(run), "--out", str(out), "--all"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 3


def test_cli_reports_a_source_that_is_not_trajectories(tmp_path):
    (tmp_path / "run").mkdir()
    result = invoke(["export-sft", str(tmp_path / "run"), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "trajectories.jsonl: no such file" in result.output
    assert "Traceback" not in result.output
