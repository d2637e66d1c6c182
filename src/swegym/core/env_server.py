"""swegym episodes over HTTP, in OpenEnv's reset/step protocol, for other RL frameworks.

OpenEnv (Meta/Hugging Face) is the environment protocol TRL, SkyRL, rllm/verl-style trainers and
torchforge talk to: ``POST /reset``, ``POST /step`` with ``{"action": {...}}``, ``GET /state``,
``GET /health``; reset and step answer ``{"observation": {...}, "reward": ..., "done": ...}``.
This server speaks that shape over the standard library's ``ThreadingHTTPServer``, one
``Episode`` per ``episode_id`` (OpenEnv's reset field): many episodes run side by side, each in
its own sandbox.

- ``POST /reset`` ``{"episode_id"?: str, "instance_id"?: str, "seed"?: int}``: a fresh sandbox
  at the instance's base commit (``instance_id``, else the dataset's ``seed``-th instance modulo
  its size, else the next in turn). The answer carries the ``episode_id`` to step with.
- ``POST /step`` ``{"episode_id": str, "action": {"message": str}}``: the policy's message (its
  tool call in the scaffold's format); ``{"action": {"end": true}}`` stops the scaffold where it
  is and grades. When ``done``, ``reward`` is resolved (1.0/0.0) and the observation's
  ``metadata`` holds the shaped reward, grading status, stop reason and patch.
- ``GET /state?episode_id=``: instance, step count, done, reward. ``POST /close``
  ``{"episode_id": str}``: abandon an episode. Errors are 4xx/5xx ``{"detail": "..."}``.

Episodes are closed (sandboxes removed) when they end, after ``idle_timeout`` seconds without a
request, on ``/close``, on a new reset of the same id, and when the server shuts down.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from swegym.core.episode import Episode, EpisodeError, StepResult
from swegym.core.instance import TaskInstance

#: the largest request body accepted (an action is a message, not a file upload)
MAX_BODY_BYTES = 8 * 1024 * 1024


class RequestError(Exception):
    """A request the client got wrong: answered with ``status`` and ``{"detail": message}``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@attrs.define
class _Session:
    """One episode and the thread that drives it.

    Every call on the episode runs on the session's own thread, not on the request's, so
    that one episode's calls never overlap.
    """

    episode: Episode
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    step_count: int = 0
    done: bool = False
    reward: float = 0.0
    last_used: float = attrs.field(factory=time.monotonic)
    worker: ThreadPoolExecutor = attrs.field(factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="episode"))

    def run(self, call: Callable[..., Any], *args: Any) -> Any:
        return self.worker.submit(call, *args).result()

    def close(self) -> None:
        try:
            self.run(self.episode.close)
        finally:
            self.worker.shutdown(wait=False)


@attrs.define
class EpisodeService:
    """The episodes a server holds, by id; what each HTTP route calls (usable without HTTP).

    ``make_episode(instance)`` builds an unstarted ``Episode`` (runtime, agent, repository).
    """

    instances: Sequence[TaskInstance]
    make_episode: Callable[[TaskInstance], Episode]
    idle_timeout: float = 1800.0  #: seconds without a request before an episode is closed
    max_episodes: int = 64  #: open episodes at once; more resets are refused with 503
    _sessions: dict[str, _Session] = attrs.field(factory=dict, init=False)
    _guard: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _turn: Any = attrs.field(factory=itertools.count, init=False)

    def reset(self, body: dict[str, Any]) -> dict[str, Any]:
        episode_id = _optional_str(body, "episode_id") or uuid.uuid4().hex
        instance = self._instance(body)
        with self._guard:
            known = self._sessions.get(episode_id)
        if known is not None and known.lock.locked():
            raise RequestError(HTTPStatus.CONFLICT, f"episode {episode_id!r} is busy with another request")
        self._drop(episode_id)  # a reset of a known id starts it afresh
        with self._guard:
            if sum(not s.done for s in self._sessions.values()) >= self.max_episodes:
                raise RequestError(HTTPStatus.SERVICE_UNAVAILABLE,
                                   f"{self.max_episodes} episodes are open: close one or wait for one to end")
            session = self._sessions[episode_id] = _Session(self.make_episode(instance))
        with session.lock:
            try:
                result = session.run(session.episode.reset)
            except Exception:
                self._drop(episode_id)
                raise
            return self._answer(episode_id, session, result)

    def step(self, body: dict[str, Any]) -> dict[str, Any]:
        episode_id = _required_str(body, "episode_id")
        action = body.get("action")
        if not isinstance(action, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, 'action: an object is required, {"message": "..."} or {"end": true}')
        end = action.get("end") is True
        message = action.get("message")
        if not end and not isinstance(message, str):
            raise RequestError(HTTPStatus.BAD_REQUEST, "action.message: a string is required (or action.end: true)")
        session = self._session(episode_id)
        if not session.lock.acquire(blocking=False):
            raise RequestError(HTTPStatus.CONFLICT, f"episode {episode_id!r} is busy with another request")
        try:
            if session.done:
                raise RequestError(HTTPStatus.CONFLICT, f"episode {episode_id!r} is done: reset it")
            session.step_count += 1
            try:
                result = session.run(session.episode.end) if end else session.run(session.episode.step, message)
            except EpisodeError as exc:
                raise RequestError(HTTPStatus.CONFLICT, str(exc)) from None
            return self._answer(episode_id, session, result)
        finally:
            session.lock.release()

    def state(self, episode_id: str) -> dict[str, Any]:
        session = self._session(episode_id)
        return {"episode_id": episode_id, "instance_id": session.episode.instance.instance_id,
                "step_count": session.step_count, "done": session.done, "reward": session.reward}

    def close(self, episode_id: str) -> dict[str, Any]:
        self._session(episode_id)
        self._drop(episode_id)
        return {"episode_id": episode_id, "closed": True}

    def reap(self) -> list[str]:
        """Close the episodes idle for longer than ``idle_timeout``; their ids."""
        now = time.monotonic()
        with self._guard:
            idle = [i for i, s in self._sessions.items() if now - s.last_used > self.idle_timeout and not s.lock.locked()]
        for episode_id in idle:
            self._drop(episode_id)
        return idle

    def close_all(self) -> None:
        with self._guard:
            ids = list(self._sessions)
        for episode_id in ids:
            self._drop(episode_id)

    @property
    def open_episodes(self) -> int:
        """Episodes started and not yet ended (ended ones are kept for ``/state`` until idle)."""
        with self._guard:
            return sum(not s.done for s in self._sessions.values())

    # -- inside -----------------------------------------------------------------------

    def _instance(self, body: dict[str, Any]) -> TaskInstance:
        instance_id = _optional_str(body, "instance_id")
        if instance_id:
            for instance in self.instances:
                if instance.instance_id == instance_id:
                    return instance
            raise RequestError(HTTPStatus.NOT_FOUND, f"instance {instance_id!r} is not served here")
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise RequestError(HTTPStatus.BAD_REQUEST, "seed: an integer is required")
        index = seed if seed is not None else next(self._turn)
        return self.instances[index % len(self.instances)]

    def _session(self, episode_id: str) -> _Session:
        with self._guard:
            session = self._sessions.get(episode_id)
        if session is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no episode {episode_id!r}: POST /reset first")
        session.last_used = time.monotonic()
        return session

    def _drop(self, episode_id: str) -> None:
        with self._guard:
            session = self._sessions.pop(episode_id, None)
        if session is not None:
            session.close()

    @staticmethod
    def _answer(episode_id: str, session: _Session, result: StepResult) -> dict[str, Any]:
        session.done, session.reward, session.last_used = result.done, result.reward, time.monotonic()
        metadata = dict(result.info)
        trajectory = session.episode.trajectory
        if result.done and trajectory is not None and trajectory.config["info"].get("error"):
            metadata["error"] = trajectory.config["info"]["error"]  # why the scaffold stopped with an error
        observation = {
            "episode_id": episode_id,
            "instance_id": session.episode.instance.instance_id,
            "turns": [turn.to_dict() for turn in result.observation],
            "done": result.done,
            "reward": result.reward,
            "metadata": metadata,
        }
        return {"episode_id": episode_id, "observation": observation, "reward": result.reward, "done": result.done}


class EnvServer(ThreadingHTTPServer):
    """OpenEnv's HTTP routes over an ``EpisodeService``; ``server_close`` closes every episode."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: EpisodeService, *, reap_every: float = 30.0) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, args=(reap_every,), daemon=True, name="episode-reaper")
        self._reaper.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def server_close(self) -> None:
        """Close every episode (their sandboxes) and the socket; after ``shutdown()`` when
        ``serve_forever`` runs in another thread."""
        self._stop.set()
        self.service.close_all()
        super().server_close()

    def _reap(self, every: float) -> None:
        while not self._stop.wait(every):
            self.service.reap()


class _Handler(BaseHTTPRequestHandler):
    server: EnvServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: a trainer makes many requests
        pass

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        service = self.server.service
        routes = {
            ("GET", "/health"): lambda: {"status": "healthy", "episodes": service.open_episodes},
            ("GET", "/state"): lambda: service.state(_query_id(url.query)),
            ("POST", "/reset"): lambda: service.reset(_json_object(raw, allow_empty=True)),
            ("POST", "/step"): lambda: service.step(_json_object(raw)),
            ("POST", "/close"): lambda: service.close(_required_str(_json_object(raw), "episode_id")),
        }
        try:
            raw = self._read_body()  # always, so a kept-alive connection stays in step
            route = routes.get((method, url.path))
            if route is None:
                if url.path in {path for _, path in routes}:
                    raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} {url.path}: method not allowed")
                raise RequestError(HTTPStatus.NOT_FOUND, f"{url.path}: no such route (/reset, /step, /state, /close, /health)")
            self._send(HTTPStatus.OK, route())
        except RequestError as exc:
            self._send(exc.status, {"detail": str(exc)})
        except Exception as exc:  # the environment failed (sandbox, grading): the client sees why
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"detail": f"{type(exc).__name__}: {exc}"})

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, "Content-Length: not a number") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is left unread
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _json_object(raw: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    if not raw.strip():
        if allow_empty:
            return {}
        raise RequestError(HTTPStatus.BAD_REQUEST, "a JSON object body is required")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
    return body


def _query_id(query: str) -> str:
    values = parse_qs(query).get("episode_id") or [""]
    if not values[0]:
        raise RequestError(HTTPStatus.BAD_REQUEST, "episode_id: a query parameter is required (/state?episode_id=...)")
    return values[0]


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise RequestError(HTTPStatus.BAD_REQUEST, f"{key}: a string is required")
    return value


def _required_str(body: dict[str, Any], key: str) -> str:
    value = _optional_str(body, key)
    if not value:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"{key}: a string is required")
    return value


__all__ = ["EnvServer", "EpisodeService", "RequestError"]
