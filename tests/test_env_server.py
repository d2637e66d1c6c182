"""swegym episodes over OpenEnv's HTTP protocol, driven by a plain urllib client: a real server
on a free port, real local sandboxes, the real openhands scaffold, grading by running the demo
instance's tests."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request

import pytest

from swegym import get_plugin_manager
from swegym.cli import App
from swegym.commands.serve_env import episode_service
from swegym.core.env_server import MAX_BODY_BYTES, EnvServer
from swegym.core.toolcalls import render_tool_call
from swegym.core.trajectory import ToolCall

INSTANCE = "swegym__tinyver-18"
FINISH = render_tool_call(ToolCall("finish"))


@pytest.fixture()
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_SANDBOX_DIR", str(tmp_path / "sandboxes"))
    service = episode_service(App(get_plugin_manager()), dataset="demo", instance_ids=[INSTANCE],
                              options=["agent.max_turns=5"], max_episodes=2)
    server = EnvServer(("127.0.0.1", 0), service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def call(server, method: str, path: str, body=None, *, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(server.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def live_sandboxes(tmp_path) -> list:
    return [p for p in (tmp_path / "sandboxes").glob("*/*") if not p.name.startswith(".trash-")]


@pytest.mark.slow
def test_a_gold_patch_episode_over_http_earns_reward_1(server, tmp_path):
    patch = server.service.instances[0].patch  # the gold patch
    assert call(server, "GET", "/health") == (200, {"status": "healthy", "episodes": 0})
    status, first = call(server, "POST", "/reset", {"instance_id": INSTANCE})
    assert status == 200 and first["done"] is False and first["reward"] == 0.0
    episode_id = first["episode_id"]
    turns = first["observation"]["turns"]
    assert [t["role"] for t in turns] == ["system", "user"] and "Comparing a Version with None" in turns[1]["content"]
    apply = render_tool_call(ToolCall("execute_bash", {"command": f"git apply <<'PATCH'\n{patch}PATCH"}))
    status, step = call(server, "POST", "/step", {"episode_id": episode_id, "action": {"message": apply}})
    assert status == 200 and step["done"] is False, step
    assert "exit code 0" in step["observation"]["turns"][0]["content"]  # the scaffold ran it in the sandbox
    assert call(server, "GET", f"/state?episode_id={episode_id}")[1] == {
        "episode_id": episode_id, "instance_id": INSTANCE, "step_count": 1, "done": False, "reward": 0.0}
    status, end = call(server, "POST", "/step", {"episode_id": episode_id, "action": {"message": FINISH}})
    assert status == 200 and end["done"] is True and end["reward"] == 1.0
    metadata = end["observation"]["metadata"]
    assert metadata["status"] == "resolved" and metadata["shaped_reward"] == 1.0 and metadata["patch"].startswith("diff --git")
    assert call(server, "GET", f"/state?episode_id={episode_id}")[1]["reward"] == 1.0
    status, again = call(server, "POST", "/step", {"episode_id": episode_id, "action": {"message": FINISH}})
    assert status == 409 and "done" in again["detail"]
    assert not live_sandboxes(tmp_path)  # the episode's sandbox went when it ended


@pytest.mark.slow
def test_an_empty_episode_earns_0_and_open_episodes_are_closed(server, tmp_path):
    _, first = call(server, "POST", "/reset", {"seed": 7, "episode_id": "empty"})
    assert first["episode_id"] == "empty" and first["observation"]["instance_id"] == INSTANCE
    status, end = call(server, "POST", "/step", {"episode_id": "empty", "action": {"end": True}})  # stop, grade
    assert status == 200 and end["done"] is True and end["reward"] == 0.0
    assert end["observation"]["metadata"]["status"] == "empty_patch"
    for episode_id in ("closed", "idle"):
        assert call(server, "POST", "/reset", {"episode_id": episode_id})[1]["done"] is False
    assert call(server, "GET", "/health")[1]["episodes"] == 2  # the ended one does not count
    status, full = call(server, "POST", "/reset", {})
    assert status == 503 and "2 episodes are open" in full["detail"]
    assert call(server, "POST", "/close", {"episode_id": "closed"}) == (200, {"episode_id": "closed", "closed": True})
    assert call(server, "GET", "/state?episode_id=closed")[0] == 404
    server.service.idle_timeout = 0.0
    assert server.service.reap() == ["empty", "idle"]  # idle past the timeout: closed
    server.service.idle_timeout = 1800.0
    assert not live_sandboxes(tmp_path)
    _, left_open = call(server, "POST", "/reset", {})  # left open: the server's shutdown must close it
    assert left_open["done"] is False and live_sandboxes(tmp_path)
    server.shutdown()
    server.server_close()
    assert server.service.open_episodes == 0 and not live_sandboxes(tmp_path)


def test_malformed_requests_get_a_4xx_json_error(server):
    cases = [
        (("POST", "/step", None), 400, "JSON object body"),
        (("POST", "/step", {"episode_id": "x"}), 400, "action"),
        (("POST", "/step", {"episode_id": "x", "action": {"message": 3}}), 400, "action.message"),
        (("POST", "/step", {"action": {"message": "hi"}}), 400, "episode_id"),
        (("POST", "/step", {"episode_id": "nope", "action": {"message": "hi"}}), 404, "POST /reset first"),
        (("POST", "/reset", {"instance_id": "nope-1"}), 404, "not served here"),
        (("POST", "/reset", {"seed": "one"}), 400, "seed"),
        (("POST", "/reset", [1, 2]), 400, "JSON object"),
        (("GET", "/state", None), 400, "episode_id"),
        (("GET", "/step", None), 405, "not allowed"),
        (("GET", "/nowhere", None), 404, "no such route"),
        (("POST", "/close", {"episode_id": "nope"}), 404, "no episode"),
    ]
    for (method, path, body), expected, words in cases:
        status, answer = call(server, method, path, body)
        assert (status, words in answer["detail"]) == (expected, True), (method, path, body, answer)
    status, answer = call(server, "POST", "/step", raw=b"{not json")
    assert status == 400 and "not JSON" in answer["detail"]
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)  # one kept-alive connection
    connection.request("POST", "/nowhere", body=b'{"a": 1}')
    assert connection.getresponse().read() and connection.request("GET", "/health") is None
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["status"] == "healthy"  # the first body was consumed
    connection.request("POST", "/step", body=b"{}", headers={"Content-Length": str(MAX_BODY_BYTES + 1)})
    response = connection.getresponse()
    assert response.status == 413 and "over" in json.loads(response.read())["detail"]
    connection.close()
    assert server.service.open_episodes == 0
