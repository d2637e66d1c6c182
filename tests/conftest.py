from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from swegym import Components, get_plugin_manager

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def components() -> Components:
    """Components of the installed plugins (built-ins, plus any installed third party)."""
    return Components(get_plugin_manager())


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SWEGYM_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("SWEGYM_GIT_MIRROR", raising=False)
    monkeypatch.delenv("SWEGYM_DISABLE_PLUGINS", raising=False)


def docker_unavailable() -> str | None:
    """Why the Docker tests cannot run here (no engine, no base image), or None."""
    from swegym.core.runtime import SandboxError
    from swegym.plugins.runtimes.docker import DockerRuntime

    try:
        client = DockerRuntime().client(timeout=10)
    except SandboxError as exc:
        return str(exc)
    try:
        client.images.get(DockerRuntime().base_image_for())
    except Exception:
        return f"the Docker base image {DockerRuntime().base_image_for()} is missing: run `swegym env base`"
    finally:
        client.close()
    return None


def skip_without_docker() -> None:
    """Skip a Docker test when there is no engine, or fail where CI promised one."""
    reason = docker_unavailable()
    if reason:
        if os.environ.get("SWEGYM_REQUIRE_DOCKER"):
            pytest.fail(f"SWEGYM_REQUIRE_DOCKER is set but {reason}")
        pytest.skip(reason)


GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV}
    )
    return result.stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> str:
    """A real git repository with one commit holding ``files``; returns the commit sha."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return git(path, "rev-parse", "HEAD")
