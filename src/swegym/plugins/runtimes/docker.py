"""The ``docker`` runtime: an image per environment, a container per sandbox.

An environment is an image per (repository, version, spec hash), committed from a
container of the base image (``swegym env base``) in which the repository was checked
out at its setup commit and installed into ``/opt/swegym/venv``. A sandbox is a container
of that image with no network, memory/CPU/process limits, and ``/testbed`` replaced by a
fresh checkout of the instance's base commit (the cached bare clone's objects are mounted
read-only; no ref past the base commit, no remote).

Commands go through a small command server started in the container once per sandbox:
``docker exec`` costs about 60 ms per call (runc), the server a few milliseconds.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import inspect
import json
import os
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from swegym import hookimpl
from swegym.core.conda_env import translate
from swegym.core.envbuild import (
    EnvironmentChoices,
    InstallOptions,
    build_failure,
    build_script,
    checkout_script,
    environment_id,
    reset_script,
)
from swegym.core.envplan import CONDA, plan_environment, requested_python
from swegym.core.envprepare import (
    commit_date,
    conda_create_command,
    conda_reachable,
    environment_file,
    patch_script,
    patched,
    resolution_date,
    write_log_header,
)
from swegym.core.envrecipe import DEFAULT_SUITE, SUITES, base_tag, nearest
from swegym.core.git_source import cache_dir, ensure_bare_clone, resolve_git_source
from swegym.core.instance import TaskInstance
from swegym.core.python_provider import PythonChoice, PythonNotFoundError
from swegym.core.repository import RepositorySpec
from swegym.core.runtime import (
    CommandResult,
    Environment,
    EnvironmentBuildError,
    Runtime,
    Sandbox,
    SandboxError,
)
from swegym.core.uv_tool import python_install, uv_binary, uv_version
from swegym.plugins.runtimes import process
from swegym.plugins.runtimes.docker_base import build_base_image, default_mirror

TESTBED = "/testbed"
VENV = "/opt/swegym/venv"
OBJECTS = "/swegym/objects"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SANDBOX_LABEL = "swegym.sandbox"
OWNER_LABEL = "swegym.owner"  # host:pid of the process that opened the sandbox, for `swegym env gc`
BUILD_LABEL = "swegym.build"
CA_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS")
# Where a build container sees the host's CA bundle: beside the image's own store, so that a
# spec's `apt-get upgrade` can still update ca-certificates (a bind over its file cannot).
CA_IN_BUILDS = "/opt/swegym/host-ca-certificates.crt"
# Host settings a build container should see (a package index, a proxy).
PASSED_TO_BUILDS = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)


def default_ca_bundle() -> str | None:
    path = "/etc/ssl/certs/ca-certificates.crt"
    return path if os.path.isfile(path) else None


@attrs.frozen
class DockerRuntime(EnvironmentChoices, Runtime):
    """An image per environment and a network-less, resource-limited container per sandbox."""

    name: ClassVar[str] = "docker"

    base_image: str | None = attrs.field(
        default=None,
        metadata={"help": "one image for every environment (default: swegym/base:<suite>-<recipe>, the Debian suite per Python)"},
    )
    base_pull: bool = attrs.field(default=False, metadata={"help": "pull base_image from a registry instead of building it"})
    base_build: bool = attrs.field(
        default=True, metadata={"help": "build a missing swegym/base:<suite> image on first use (debootstrap, ~2 min)"}
    )
    mirror: str | None = attrs.field(
        default=None, metadata={"help": "Debian mirror for base images (default: the one apt uses here for the suite)"}
    )
    ca_bundle: str | None = attrs.field(
        factory=default_ca_bundle,
        metadata={"help": "CA bundle mounted into build containers (PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE)"},
    )
    memory_mb: int = attrs.field(default=4096, metadata={"help": "memory limit per sandbox in MiB"})
    cpus: float = attrs.field(default=2.0, metadata={"help": "CPUs per sandbox"})
    pids_limit: int = attrs.field(default=512, metadata={"help": "max processes per sandbox"})
    max_output_bytes: int = attrs.field(default=2_000_000, metadata={"help": "output kept per command (head and tail)"})
    build_timeout: int = attrs.field(default=3600, metadata={"help": "seconds an environment build may take"})
    docker_host: str | None = attrs.field(default=None, metadata={"help": "Docker engine URL (else DOCKER_HOST)"})
    git_mirror: str | None = attrs.field(default=None, metadata={"help": "directory of local clones (else SWEGYM_GIT_MIRROR)"})
    root: str | None = attrs.field(default=None, metadata={"help": "cache root (else SWEGYM_CACHE_DIR)"})

    # -- the engine ----------------------------------------------------------------------

    def client(self, *, timeout: float | None = 120) -> Any:
        """A ``docker.DockerClient`` for the engine; a clear error when it does not answer."""
        import docker
        import requests

        try:
            if self.docker_host:
                client = docker.DockerClient(base_url=self.docker_host, timeout=timeout)
            else:
                client = docker.from_env(timeout=timeout)
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            detail = " ".join(str(exc).split())[:200]
            raise SandboxError(f"Docker engine not reachable ({detail}): start dockerd or use --runtime local") from None
        return client

    @property
    def cache(self) -> Path:
        return Path(self.root).expanduser() if self.root else cache_dir()

    # -- the base image ------------------------------------------------------------------

    def base_image_for(self, suite: str = DEFAULT_SUITE) -> str:
        """The base image of a Debian suite (or the one ``base_image`` set for all)."""
        return self.base_image or base_tag(suite, uv_version=uv_version())

    def build_base(
        self, console_log: Callable[[str], None] = print, *, force: bool = False, suite: str = DEFAULT_SUITE
    ) -> str:
        """Make the suite's base image exist (debootstrap + import, or pull with ``base_pull``); returns its id."""
        import docker

        tag = self.base_image_for(suite)
        client = self.client(timeout=None)
        lock_dir = self.cache / "envs" / "docker"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(client), open(lock_dir / f".base-{suite}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not force:
                try:
                    return client.images.get(tag).id
                except docker.errors.ImageNotFound:
                    pass
            if self.base_pull:
                console_log(f"swegym: pulling {tag}")
                try:
                    return client.images.pull(tag).id
                except docker.errors.APIError as exc:
                    raise EnvironmentBuildError(f"could not pull {tag}: {exc.explanation or exc}") from None
            if self.base_image:
                raise EnvironmentBuildError(
                    f"base image {tag} not found; swegym builds only its own swegym/base:<suite> images: "
                    "leave runtime.base_image unset, or pull it with -o runtime.base_pull=true"
                )
            return build_base_image(
                client, tag, suite=suite, mirror=self.mirror or default_mirror(suite),
                work_dir=lock_dir / ".base-build", console_log=console_log, uv=uv_binary(),
            )

    def _base_id(self, client: Any, suite: str) -> str:
        """The id of the suite's base image; a clear error (or a pull) when it is missing."""
        import docker

        tag = self.base_image_for(suite)
        try:
            return client.api.inspect_image(tag)["Id"]
        except docker.errors.ImageNotFound:
            if self.base_pull or (self.base_build and not self.base_image):
                return self.build_base(suite=suite)  # once, under a lock: other builds wait for it
            hint = "swegym env base" + ("" if self.base_image or suite == DEFAULT_SUITE else f" --suite {suite}")
            raise EnvironmentBuildError(f"base image {tag} not found: run `{hint}`") from None

    # -- environments --------------------------------------------------------------------

    def image_tag(self, repo: RepositorySpec, version: str, base_id: str = "") -> str:
        """``swegym/env/<repo>:<version>-<spec and build code hash>-<base image id>``: a rebuilt base or
        changed build code is a new tag."""
        spec = repo.environment(version)
        name = re.sub(r"[^a-z0-9._-]+", "-", repo.slug.lower()).strip("-._")
        base = base_id.split(":")[-1][:12]
        tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", environment_id(version, spec) + (f"-{base}" if base else "")).lstrip(".-")
        return f"swegym/env/{name}:{tag[-128:]}"

    def environment_dir(self, repo: RepositorySpec, version: str) -> Path:
        spec = repo.environment(version)
        return self.cache / "envs" / "docker" / repo.slug / f"{version}-{spec.spec_hash}"

    def environment(self, repo: RepositorySpec, instance: TaskInstance, *, build: bool = True) -> Environment:
        directory = self.environment_dir(repo, instance.version)
        marker = directory / "environment.json"
        if self._usable(marker, check_base=build):
            return Environment.load(marker)
        if not build:
            state = "was removed from the engine" if marker.exists() else "is not built"
            raise EnvironmentBuildError(
                f"environment {repo.name} {instance.version} {state}: swegym env build --runtime docker"
            )
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one build per environment, across processes
            if self._usable(marker, check_base=True):
                return Environment.load(marker)
            marker.unlink(missing_ok=True)
            return self._build(repo, instance, directory)

    def _usable(self, marker: Path, *, check_base: bool) -> bool:
        """The recorded environment's image exists (and, with ``check_base``, its base image
        was not rebuilt since: a rebuilt base has another id, so environments rebuild)."""
        import docker

        if not marker.exists():
            return False
        environment = Environment.load(marker)
        with contextlib.closing(self.client()) as client:
            try:
                client.api.inspect_image(environment.location)
            except docker.errors.ImageNotFound:
                return False
            if not check_base or not environment.base_image:
                return True
            tag, _, recorded = environment.base_image.partition(" ")
            try:
                current = client.api.inspect_image(tag)["Id"]
            except docker.errors.ImageNotFound:
                return True  # the base is gone, the environment image is whole
            return current == recorded.strip("()")

    def _image_exists(self, tag: str) -> bool:
        import docker

        with contextlib.closing(self.client()) as client:
            try:
                client.api.inspect_image(tag)
            except docker.errors.ImageNotFound:
                return False
        return True

    def _plan(self, repo: RepositorySpec, instance: TaskInstance, bare: Path, setup_commit: str, notes: list[str]):
        """The build's plan: the environment file, the Python (uv's exact one where reachable)."""
        spec = repo.environment(instance.version)
        env_file = environment_file(spec, bare, setup_commit)
        requested, _ = requested_python(spec, env_file)
        conda_ok = conda_reachable(env_file, self.conda, self.cache, notes)
        uv_python = None
        if requested and requested not in SUITES.values() and self.uv_python and not conda_ok and not self.base_image:
            uv_python, note = python_install(requested, install_dir=self.cache / "uv-python", cache=self.cache)
            if uv_python is None:
                notes.append(f"{note}: using the nearest Debian suite's python")
        plan = plan_environment(
            repo, instance.version, conda_reachable=conda_ok, uv_python=uv_python is not None,
            env_file=env_file, conda=self.conda,
        )
        return plan, env_file, uv_python

    def _build(self, repo: RepositorySpec, instance: TaskInstance, directory: Path) -> Environment:
        spec = repo.environment(instance.version)
        started = time.monotonic()
        log_path = directory / "build.log"
        setup_commit = instance.environment_setup_commit or instance.base_commit
        bare = self.bare_clone(repo)
        notes: list[str] = []
        plan, env_file, uv_python = self._plan(repo, instance, bare, setup_commit, notes)
        if not self.base_image:
            plan.python.check(self.exact_python)
        resolved_as_of = None
        if self.resolve_as_of_commit:
            resolved_as_of = resolution_date(commit_date(bare, setup_commit), plan.python.used, notes)
        client = self.client(timeout=None)
        api = client.api
        base_tag_used = self.base_image_for(plan.suite)
        base_id = self._base_id(client, plan.suite)
        tag = self.image_tag(repo, instance.version, base_id)
        binds = {str(bare / "objects"): {"bind": OBJECTS, "mode": "ro"}}
        for name, inside in (("uv-cache", "/root/.cache/uv"), ("pip-cache", "/root/.cache/pip")):
            (self.cache / name).mkdir(parents=True, exist_ok=True)
            binds[str(self.cache / name)] = {"bind": inside, "mode": "rw"}  # shared by every build
        if uv_python:
            binds[str(self.cache / "uv-python")] = {"bind": "/opt/swegym/uv-python-host", "mode": "ro"}
        env = {"PATH": SYSTEM_PATH, "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
               "GIT_TERMINAL_PROMPT": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.update({name: os.environ[name] for name in PASSED_TO_BUILDS if name in os.environ})
        if self.ca_bundle:
            if not os.path.isfile(self.ca_bundle):
                raise EnvironmentBuildError(
                    f"ca_bundle {self.ca_bundle} does not exist; set -o runtime.ca_bundle=none or a file"
                )
            binds[self.ca_bundle] = {"bind": CA_IN_BUILDS, "mode": "ro"}
            env.update(dict.fromkeys(CA_VARIABLES, CA_IN_BUILDS))
        container = api.create_container(
            base_tag_used,
            ["sleep", "infinity"],
            name=f"swegym-build-{uuid.uuid4().hex[:12]}",
            labels={BUILD_LABEL: self.environment_key(repo, instance.version), OWNER_LABEL: owner_id()},
            working_dir="/",
            host_config=api.create_host_config(binds=binds, init=True, network_mode="bridge"),
        )["Id"]
        try:
            api.start(container)
            if self.base_image:  # a user's image: its own interpreters
                choice = self._image_python(api, container, plan.python.requested)
                plan = attrs.evolve(plan, python=attrs.evolve(plan.python, used=choice.version, source="image"))
                plan.python.check(self.exact_python)
                python_path = choice.path
            elif uv_python:
                relative = Path(uv_python).relative_to(Path(self.cache / "uv-python").resolve())
                name = relative.parts[0]  # cpython-3.X.Y-linux-x86_64-gnu: copied whole into the build
                python_path = f"/opt/swegym/python/{relative}"
            elif plan.install == CONDA:
                python_path = f"{VENV}/bin/python"
            else:
                python_path = f"/usr/bin/python{plan.python.used}"
            with log_path.open("w") as handle:
                write_log_header(
                    handle, title=f"{repo.name} {instance.version} ({spec.spec_hash})", plan=plan, python_path=python_path,
                    setup_commit=setup_commit, resolved_as_of=resolved_as_of, base_image=f"{base_tag_used} ({base_id})",
                    notes=notes,
                )
                handle.write(f"# image: {tag}\n")
                steps = [("checkout", _fresh_testbed() + checkout_script(setup_commit, objects=OBJECTS))]
                if uv_python:
                    steps.append(("python", f"mkdir -p /opt/swegym/python && cp -a /opt/swegym/uv-python-host/{name} /opt/swegym/python/\n"))
                translation, conda_command = None, None
                if env_file is not None:
                    patched_file = self._patched_environment_file(api, container, env_file, spec, env, handle)
                    if plan.install == CONDA:
                        conda_command = conda_create_command("/opt/swegym/envfile/environment.yml", VENV, resolved_as_of, "/opt/swegym/conda-tools")
                    else:
                        translation = translate(patched_file)
                options = InstallOptions(
                    python=python_path, exclude_newer=resolved_as_of, shim_dir="/opt/swegym/build-bin",
                    requested_python=plan.python.requested, conda=translation, conda_exact=conda_command,
                )
                steps.append(("install", build_script(spec, venv=VENV, testbed=TESTBED, allow_system_steps=True, options=options)))
                for label, script in steps:
                    handle.write(f"\n## {label}\n{script}\n")
                    handle.flush()
                    step_started = time.monotonic()
                    code = _exec_streaming(api, container, script, env=env, timeout=self.build_timeout, out=handle)
                    handle.write(f"\n# {label}: {time.monotonic() - step_started:.1f} s\n")
                    if code != 0:
                        handle.flush()
                        raise build_failure(repo, instance.version, label, code, log_path)
                repository, _, version = tag.rpartition(":")
                commit_started = time.monotonic()
                image = api.commit(
                    container,
                    repository=repository,
                    tag=version,
                    changes=[f"ENV PATH={VENV}/bin:{SYSTEM_PATH}", f"ENV VIRTUAL_ENV={VENV}", f"WORKDIR {TESTBED}",
                             f"LABEL swegym.environment={self.environment_key(repo, instance.version)}"],
                )["Id"]
                size = api.inspect_image(image).get("Size", 0)
                handle.write(
                    f"\n# committed {tag} ({image[:19]}, {size / 1e6:.0f} MB; commit {time.monotonic() - commit_started:.1f} s)"
                    f" in {time.monotonic() - started:.0f} s\n"
                )
        finally:
            _remove(api, container)
            client.close()
        environment = Environment(
            key=self.environment_key(repo, instance.version),
            repo=repo.name,
            version=instance.version,
            spec_hash=spec.spec_hash,
            location=tag,
            python=plan.python.used,
            notes=tuple(n for n in (plan.python.note, *notes) if n),
            log_path=str(log_path),
            python_requested=plan.python.requested,
            python_source=plan.python.source,
            python_path=python_path,
            install=plan.install,
            base_image=f"{base_tag_used} ({base_id})",
            resolved_as_of=resolved_as_of,
        )
        data = attrs.asdict(environment) | {
            "image_id": image, "image_size_mb": round(size / 1e6), "build_seconds": round(time.monotonic() - started, 1),
            "conda_dropped": list(translation.dropped) if translation else [],
        }
        tmp = directory / "environment.json.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(directory / "environment.json")
        return environment

    def _patched_environment_file(self, api: Any, container: str, env_file, spec, env, handle):
        """The environment file with the spec's env patches applied (in the build container)."""
        script = patch_script(env_file, spec, "/opt/swegym/envfile")
        exec_id = api.exec_create(container, ["bash", "-c", script], environment=dict(env), workdir="/")["Id"]
        output = api.exec_start(exec_id).decode("utf-8", errors="replace")
        code = api.exec_inspect(exec_id)["ExitCode"]
        handle.write(f"\n## environment file ({env_file.path}, patched)\n{script}\n{output}\n")
        if code != 0:
            raise EnvironmentBuildError(f"applying the spec's env patches to {env_file.path} failed (exit {code}): {output.strip()[-300:]}")
        return patched(env_file, output)

    def _image_python(self, api: Any, container: str, requested: str | None) -> PythonChoice:
        """The base image's interpreter for ``requested`` (its ``python3`` when None)."""
        listing = (
            "for p in /usr/local/bin/python3 /usr/bin/python3 /usr/local/bin/python3.[0-9]* /usr/bin/python3.[0-9]*; do "
            "case $p in *-config|*m) continue;; esac; [ -x $p ] && "
            "echo $p $($p -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])' 2>/dev/null); done"
        )
        exec_id = api.exec_create(container, ["bash", "-c", listing])["Id"]
        found = [line.split() for line in api.exec_start(exec_id).decode().splitlines()]
        found = [(path, version) for path, version in (f for f in found if len(f) == 2)]
        if not found:
            raise EnvironmentBuildError(f"base image {self.base_image} has no python3")
        if requested is None:
            return PythonChoice(found[0][0], found[0][1], None, "image")
        for path, version in found:
            if version == requested:
                return PythonChoice(path, version, requested, "image")
        if self.exact_python:
            versions = ", ".join(sorted({v for _, v in found}))
            raise PythonNotFoundError(
                f"python {requested} is not in base image {self.base_image} (found: {versions}); use a base image "
                "that has it, or drop -o runtime.exact_python=true to use the nearest"
            )

        version = nearest(requested, [v for _, v in found])
        path = next(p for p, v in found if v == version)
        return PythonChoice(path, version, requested, "image")

    def bare_clone(self, repo: RepositorySpec) -> Path:
        return ensure_bare_clone(resolve_git_source(repo, mirror=self.git_mirror), repo, cache=self.cache)

    # -- sandboxes -----------------------------------------------------------------------

    def collect_garbage(self) -> list[str]:
        return collect_garbage(self)

    def sandbox(self, repo: RepositorySpec, instance: TaskInstance) -> DockerSandbox:
        if not _collected:  # once per process: clean up after killed runs first
            _collected.append(True)
            collect_garbage(self)
        environment = self.environment(repo, instance, build=False)
        objects = self.bare_clone(repo) / "objects"
        return DockerSandbox.start(self, environment, instance, objects=str(objects))


class DockerSandbox(Sandbox):
    """A container of the environment's image with ``/testbed`` at the base commit."""

    workdir = TESTBED
    state_dir = "/tmp"
    isolation = "docker"

    def __init__(self, runtime: DockerRuntime, environment: Environment, client: Any, name: str) -> None:
        self.runtime = runtime
        self.environment = environment
        self.client = client
        self.name = name
        self.container: str | None = None
        self._channel: _Channel | None = None
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def start(cls, runtime: DockerRuntime, environment: Environment, instance: TaskInstance, *, objects: str) -> DockerSandbox:
        from docker.types import LogConfig

        client = runtime.client()
        sandbox = cls(runtime, environment, client, f"swegym-sandbox-{uuid.uuid4().hex[:12]}")
        try:
            api = client.api
            host_config = api.create_host_config(
                binds={objects: {"bind": OBJECTS, "mode": "ro"}},
                network_mode="none",
                mem_limit=f"{runtime.memory_mb}m",
                memswap_limit=f"{runtime.memory_mb}m",
                nano_cpus=int(runtime.cpus * 1e9),
                pids_limit=runtime.pids_limit,
                init=True,  # reaps what commands leave behind
                # No capability at all, and no way to gain one (setuid binaries included).
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                auto_remove=False,
                log_config=LogConfig(type=LogConfig.types.NONE),
            )
            sandbox.container = api.create_container(
                environment.location,
                ["sleep", "infinity"],
                name=sandbox.name,
                labels={SANDBOX_LABEL: "1", "swegym.instance": instance.instance_id[:200], OWNER_LABEL: owner_id()},
                working_dir="/",
                host_config=host_config,
            )["Id"]
            api.start(sandbox.container)
            sandbox._channel = _Channel.open(api, sandbox.container)
            # The image's build checkout moves to the base commit; its build outputs
            # (ignored files: compiled extensions, egg-info) stay for the editable install.
            reset = f"cd {TESTBED}\n" + reset_script(instance.base_commit)
            result = sandbox._run(reset, timeout=600, env=None, cwd="/")
            if not result.ok:
                raise SandboxError(
                    f"could not check out {instance.base_commit[:12]} for {instance.instance_id}: "
                    f"{result.output.strip()[-300:]}"
                )
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = {
            "PATH": f"{VENV}/bin:{SYSTEM_PATH}",
            "VIRTUAL_ENV": VENV,
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            # pytest's cache outside the work tree (plugins such as hydra's pytest-snail need it).
            "PYTEST_ADDOPTS": "-o cache_dir=/tmp/.pytest_cache",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "TERM": "dumb",
        }
        env.update(extra or {})
        return env

    def exec(
        self, command: str, *, timeout: float | None = None, env: Mapping[str, str] | None = None, network: bool = False
    ) -> CommandResult:
        if network:
            raise SandboxError("docker sandboxes have no network (network_mode=none): a command cannot ask for it")
        return self._run(command, timeout=timeout, env=env, cwd=self.workdir)

    def _run(self, command: str, *, timeout: float | None, env: Mapping[str, str] | None, cwd: str) -> CommandResult:
        request = {
            "op": "exec",
            "command": command,
            "env": self._env(env),
            "timeout": timeout,
            "max_output": self.runtime.max_output_bytes,
            "cwd": cwd,
        }
        # The server kills the command at its timeout; allow for that and the reply.
        reply = self._request(request, wait=None if timeout is None else timeout + 60)
        return CommandResult(**reply)

    def read_file(self, path: str) -> str:
        reply = self._request({"op": "read", "path": self.path(path)}, wait=120)
        return base64.b64decode(reply["data"]).decode("utf-8", errors="replace")

    def write_file(self, path: str, text: str) -> None:
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        self._request({"op": "write", "path": self.path(path), "data": data}, wait=120)

    def _request(self, request: dict[str, Any], *, wait: float | None) -> dict[str, Any]:
        if self._closed or self._channel is None:
            raise SandboxError("the sandbox is closed")
        with self._lock:
            reply = self._channel.request(request, wait=wait)
        if "error" in reply:
            raise OSError(reply.get("errno") or 0, reply["message"], request.get("path"))
        return reply

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._channel is not None:
                self._channel.close()
            _remove(self.client.api, self.container or self.name)
        finally:
            self.client.close()


# -- the command channel ------------------------------------------------------------------


def _command_server() -> None:
    """Serve JSON requests on stdin inside the container; stdlib only, shipped as source
    after ``process.py`` (the same ``run_process`` the local runtime's server uses).

    ``exec`` runs a command in its own process group (killed whole at its timeout), with
    its output capped; ``read`` and ``write`` move files as base64.
    """
    import base64
    import json
    import os
    import sys

    def handle(request):
        op = request["op"]
        try:
            if op == "exec":
                result = run_process(  # noqa: F821 (process.py is shipped alongside)
                    ["bash", "-c", request["command"]], cwd=request["cwd"], env=request["env"],
                    timeout=request["timeout"], max_output=request["max_output"],
                )
                return dict(zip(("exit_code", "output", "timed_out", "truncated", "duration_s"), tuple(result)))
            if op == "read":
                with open(request["path"], "rb") as f:
                    return {"data": base64.b64encode(f.read()).decode("ascii")}
            if op == "write":
                parent = os.path.dirname(request["path"])
                if parent:
                    os.makedirs(parent, exist_ok=True)
                with open(request["path"], "wb") as f:  # truncating keeps the file's mode
                    f.write(base64.b64decode(request["data"]))
                return {}
            return {"error": "unknown", "errno": 0, "message": "unknown request %r" % op}
        except OSError as exc:
            return {"error": type(exc).__name__, "errno": exc.errno, "message": exc.strerror or str(exc)}

    # Replies travel on this process's stdout: no process in the container may open it
    # through /proc/<pid>/fd (they lack CAP_SYS_PTRACE, which a non-dumpable target needs).
    make_undumpable()  # noqa: F821 (process.py is shipped alongside)
    out = sys.stdout.fileno()
    os.write(out, b'{"ready": true}\n')
    for line in sys.stdin.buffer:
        data = (json.dumps(handle(json.loads(line))) + "\n").encode()
        while data:
            data = data[os.write(out, data):]


def _server_source() -> str:
    return "\n".join([
        Path(process.__file__).read_text(),  # its swegym import fails in the container: stdlib fallback
        inspect.getsource(_command_server).replace("-> None", ""),
        "_command_server()",
    ])


# Reads the server's source as the first line on stdin (keeps `ps` in the sandbox short).
_BOOTSTRAP = "import json, sys; exec(json.loads(sys.stdin.buffer.readline()))"


class _Channel:
    """JSON lines to and from the command server, over the exec's attached stdin/stdout."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.raw: socket.socket = getattr(sock, "_sock", sock)
        self.pending = b""  # received bytes not yet split into frames
        self.stdout = b""
        self.stderr = b""
        self.broken = False

    @classmethod
    def open(cls, api: Any, container: str) -> _Channel:
        argv = [f"{VENV}/bin/python", "-I", "-S", "-c", _BOOTSTRAP]
        exec_id = api.exec_create(container, argv, stdin=True, stdout=True, stderr=True, workdir="/")["Id"]
        channel = cls(api.exec_start(exec_id, socket=True))
        # The source goes first; the server answers it with {"ready": true}.
        reply = channel.request(_server_source(), wait=60)
        if reply != {"ready": True}:
            raise SandboxError(f"the sandbox's command server did not start: {reply}")
        return channel

    def request(self, request: dict[str, Any] | str, *, wait: float | None) -> dict[str, Any]:
        if self.broken:
            raise SandboxError("the sandbox's command channel was interrupted mid-command: open a new sandbox")
        self.broken = True  # until the whole reply is read; a half-read reply cannot be resumed
        try:
            self.raw.settimeout(wait)
            self.raw.sendall(json.dumps(request).encode() + b"\n")
            line = self._read_line()
        except TimeoutError:
            raise SandboxError(f"the sandbox's command server did not answer in {wait:.0f} s") from None
        except OSError as exc:
            raise SandboxError(f"lost the sandbox's command server ({exc})") from None
        self.broken = False
        return json.loads(line)

    def _read_line(self) -> bytes:
        while b"\n" not in self.stdout:
            chunk = self.raw.recv(1 << 20)
            if not chunk:
                detail = self.stderr.decode("utf-8", "replace").strip()[-300:] or "killed for memory?"
                raise SandboxError(f"the sandbox's command server died ({detail})")
            self.pending += chunk
            # Frames: 1 byte stream (1 stdout, 2 stderr), 3 padding, 4 bytes big-endian size, payload.
            while len(self.pending) >= 8:
                stream, size = struct.unpack(">BxxxL", self.pending[:8])
                if len(self.pending) < 8 + size:
                    break
                payload, self.pending = self.pending[8 : 8 + size], self.pending[8 + size :]
                if stream == 2:
                    self.stderr = (self.stderr + payload)[-4096:]
                else:
                    self.stdout += payload
        line, _, self.stdout = self.stdout.partition(b"\n")
        return line

    def close(self) -> None:
        try:
            self.sock.close()
            self.raw.close()
        except OSError:
            pass


# -- helpers ----------------------------------------------------------------------------


def _exec_streaming(api: Any, container: str, script: str, *, env: Mapping[str, str], timeout: int, out: Any) -> int:
    """Run ``script`` with bash under GNU timeout, streaming its output into ``out``."""
    argv = ["timeout", "-k", "10", str(timeout), "bash", "-c", script]
    exec_id = api.exec_create(container, argv, environment=dict(env), workdir="/")["Id"]
    for chunk in api.exec_start(exec_id, stream=True):
        out.write(chunk.decode("utf-8", errors="replace"))
        out.flush()
    return api.exec_inspect(exec_id)["ExitCode"]


def _fresh_testbed() -> str:
    return f"rm -rf {TESTBED} && mkdir {TESTBED} && cd {TESTBED}\n"


def _remove(api: Any, container: str) -> None:
    import docker

    try:
        api.remove_container(container, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


_collected: list[bool] = []


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def collect_garbage(runtime: DockerRuntime) -> list[str]:
    """Remove sandbox and build containers whose owning process on this host is gone (after kill -9)."""
    import docker

    client = runtime.client()
    removed = []
    host = socket.gethostname()
    builds = [c for c in client.containers.list(all=True, filters={"label": BUILD_LABEL}) if OWNER_LABEL in c.labels]
    for container in client.containers.list(all=True, filters={"label": SANDBOX_LABEL}) + builds:
        owner_host, _, pid = container.labels.get(OWNER_LABEL, ":").partition(":")
        if owner_host == host and pid.isdigit() and process.pid_alive(int(pid)):
            continue
        if owner_host not in (host, ""):
            continue  # another host's sandbox: not ours to judge
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            continue  # removed meanwhile (by its owner, or another collector)
        removed.append(container.name)
    return removed


@hookimpl
def swegym_register_runtimes(register):
    register(DockerRuntime)
