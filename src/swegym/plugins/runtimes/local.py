"""The ``local`` runtime: virtual environments and git work trees on the host.

An environment is a virtual environment per (repository, version, spec hash), built once
from a checkout of the repository. A sandbox is a fresh work tree at the instance's base
commit; with bubblewrap installed, its commands run with no network, a read-only host,
a private /tmp, and the work tree mounted where the environment was built (so editable
installs resolve to it). Where the kernel allows it, a cgroup per sandbox bounds its
processes and memory and kills all of them on close.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal

import attrs

from swegym import hookimpl
from swegym.core.conda_env import translate
from swegym.core.envbuild import (
    InstallOptions,
    build_failure,
    build_script,
    checkout_script,
    copy_build_outputs_script,
)
from swegym.core.envplan import CONDA, PythonPlan, plan_environment
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
from swegym.core.git_source import cache_dir, ensure_bare_clone, resolve_git_source
from swegym.core.instance import TaskInstance
from swegym.core.python_provider import find_python
from swegym.core.repository import RepositorySpec
from swegym.core.runtime import (
    TIMEOUT_EXIT,
    CommandResult,
    Environment,
    EnvironmentBuildError,
    Runtime,
    Sandbox,
    SandboxError,
)
from swegym.core.uv_tool import uv_binary
from swegym.plugins.runtimes import exec_server
from swegym.plugins.runtimes.cgroup import SandboxCgroup
from swegym.plugins.runtimes.process import kill_group, pid_alive, run_process

log = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


@attrs.frozen
class LocalRuntime(Runtime):
    """Virtual environments and git work trees on this machine (bubblewrap-isolated when installed)."""

    name: ClassVar[str] = "local"

    isolation: Literal["auto", "bwrap", "none"] = attrs.field(
        default="auto", metadata={"help": "auto: bubblewrap when installed; bwrap: require it; none: no isolation"}
    )
    exact_python: bool = attrs.field(
        default=False,
        metadata={"help": "fail when the spec's Python version is not available (default: use the nearest, recorded)"},
    )
    uv_python: bool = attrs.field(
        default=True, metadata={"help": "install a missing Python version with uv (uv python install) where reachable"}
    )
    conda: Literal["auto", "translate", "require"] = attrs.field(
        default="auto",
        metadata={"help": "environment.yml specs: auto (conda when channels answer, else pip), translate, require"},
    )
    resolve_as_of_commit: bool = attrs.field(
        default=True, metadata={"help": "resolve unpinned requirements as of the setup commit's date (uv/pip)"}
    )
    history: Literal["shared", "shallow"] = attrs.field(
        default="shared", metadata={"help": "shared: borrow the cached clone's objects; shallow: copy only the base tree"}
    )
    pids_limit: int = attrs.field(default=512, metadata={"help": "max processes per sandbox (needs a writable cgroup)"})
    memory_mb: int = attrs.field(default=8192, metadata={"help": "memory limit per sandbox in MiB (needs a writable cgroup)"})
    max_output_bytes: int = attrs.field(default=2_000_000, metadata={"help": "output kept per command (head and tail)"})
    build_timeout: int = attrs.field(default=3600, metadata={"help": "seconds an environment build may take"})
    git_mirror: str | None = attrs.field(default=None, metadata={"help": "directory of local clones (else SWEGYM_GIT_MIRROR)"})
    root: str | None = attrs.field(default=None, metadata={"help": "cache root (else SWEGYM_CACHE_DIR)"})

    # -- environments ------------------------------------------------------------------

    @property
    def cache(self) -> Path:
        return Path(self.root).expanduser() if self.root else cache_dir()

    def use_bwrap(self) -> bool:
        if self.isolation == "none":
            return False
        found = shutil.which("bwrap") is not None
        if self.isolation == "bwrap" and not found:
            raise SandboxError("isolation=bwrap but bubblewrap is not installed: apt-get install bubblewrap")
        if not found:
            _warn_once(
                "bwrap",
                "bubblewrap is not installed: local sandboxes run WITHOUT isolation (network and host "
                "writable); apt-get install bubblewrap, or use --runtime docker",
            )
        return found

    def environment_dir(self, repo: RepositorySpec, version: str) -> Path:
        spec = repo.environment(version)
        return self.cache / "envs" / "local" / repo.slug / f"{version}-{spec.spec_hash}"

    def environment(self, repo: RepositorySpec, instance: TaskInstance, *, build: bool = True) -> Environment:
        directory = self.environment_dir(repo, instance.version)
        marker = directory / "environment.json"
        if marker.exists():
            return Environment.load(marker)
        if not build:
            raise EnvironmentBuildError(
                f"environment {repo.name} {instance.version} is not built: swegym env build --runtime local"
            )
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one build per environment, across processes
            if marker.exists():
                return Environment.load(marker)
            return self._build(repo, instance, directory)

    def _build(self, repo: RepositorySpec, instance: TaskInstance, directory: Path) -> Environment:
        spec = repo.environment(instance.version)
        started = time.monotonic()
        log_path = directory / "build.log"
        for stale in ("testbed", "venv", "envfile", "home"):
            shutil.rmtree(directory / stale, ignore_errors=True)
        bare = self.bare_clone(repo)
        setup_commit = instance.environment_setup_commit or instance.base_commit
        notes: list[str] = []
        env_file = environment_file(spec, bare, setup_commit)
        conda_ok = conda_reachable(env_file, self.conda, self.cache, notes)
        plan = plan_environment(repo, instance.version, conda_reachable=conda_ok, env_file=env_file, conda=self.conda)
        requested = plan.python.requested
        if plan.install == CONDA:
            python_path = str(directory / "venv" / "bin" / "python")
        else:
            uv_dir = self.cache / "uv-python" if self.uv_python else None
            choice = find_python(requested, exact=self.exact_python, uv_install_dir=uv_dir)
            if choice.fallback:
                notes.append(f"{choice.fallback}: using the nearest installed python")
            python_path = choice.path
            plan = attrs.evolve(plan, python=PythonPlan(requested, choice.version, f"host:{choice.provider}", "-", plan.python.origin))
        resolved_as_of = None
        if self.resolve_as_of_commit:
            resolved_as_of = resolution_date(commit_date(bare, setup_commit), plan.python.used, notes)
        testbed = directory / "testbed"
        testbed.mkdir()
        (directory / "home").mkdir()
        env = _host_env() | {
            "HOME": str(directory / "home"),  # `pipx install` and pip's user files stay in the environment
            "UV_CACHE_DIR": str(self.cache / "uv-cache"),
            "PIP_CACHE_DIR": str(self.cache / "pip-cache"),
        }
        translation, conda_command = None, None
        with log_path.open("w") as handle:
            write_log_header(
                handle, title=f"{repo.name} {instance.version} ({spec.spec_hash})", plan=plan, python_path=python_path,
                setup_commit=setup_commit, resolved_as_of=resolved_as_of, notes=notes,
            )
            if env_file is not None:
                script = patch_script(env_file, spec, str(directory / "envfile"))
                result = run_process(["bash", "-c", script], cwd=str(directory), env=env, timeout=120, max_output=1_000_000)
                handle.write(f"\n## environment file ({env_file.path}, patched)\n{script}\n{result.output}\n")
                if not result.ok:
                    raise EnvironmentBuildError(
                        f"applying the spec's env patches to {env_file.path} failed (exit {result.exit_code}): "
                        f"{result.output.strip()[-300:]}"
                    )
                if plan.install == CONDA:
                    conda_command = conda_create_command(
                        str(directory / "envfile" / "environment.yml"), str(directory / "venv"), resolved_as_of,
                        str(directory / "conda-tools"),
                    )
                else:
                    translation = translate(patched(env_file, result.output))
            options = InstallOptions(
                python=python_path, exclude_newer=resolved_as_of, uv=uv_binary() or "",
                shim_dir=str(directory / "build-bin"), requested_python=requested, conda=translation,
                conda_exact=conda_command,
            )
            steps = [
                ("checkout", checkout_script(setup_commit, objects=str(bare / "objects"), history="shared"), testbed),
                (
                    "install",
                    build_script(spec, venv=str(directory / "venv"), testbed=str(testbed), allow_system_steps=False, options=options),
                    directory,
                ),
            ]
            for label, script, cwd in steps:
                handle.write(f"\n## {label}\n{script}\n")
                result = run_process(
                    ["bash", "-c", script], cwd=str(cwd), env=env, timeout=self.build_timeout, max_output=self.max_output_bytes
                )
                handle.write(result.output)
                handle.flush()
                if not result.ok:
                    raise build_failure(repo, instance.version, label, TIMEOUT_EXIT if result.timed_out else result.exit_code, log_path)
        environment = Environment(
            key=self.environment_key(repo, instance.version),
            repo=repo.name,
            version=instance.version,
            spec_hash=spec.spec_hash,
            location=str(directory),
            python=plan.python.used,
            notes=tuple(n for n in (plan.python.note, *notes) if n),
            log_path=str(log_path),
            python_requested=requested,
            python_source=plan.python.source,
            python_path=python_path,
            install=plan.install,
            resolved_as_of=resolved_as_of,
        )
        data = attrs.asdict(environment) | {
            "build_seconds": round(time.monotonic() - started, 1),
            "conda_dropped": list(translation.dropped) if translation else [],
        }
        tmp = directory / "environment.json.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(directory / "environment.json")
        return environment

    def bare_clone(self, repo: RepositorySpec) -> Path:
        return ensure_bare_clone(resolve_git_source(repo, mirror=self.git_mirror), repo, cache=self.cache)

    # -- sandboxes -------------------------------------------------------------------

    def sandbox(self, repo: RepositorySpec, instance: TaskInstance) -> LocalSandbox:
        environment = self.environment(repo, instance, build=False)
        bare = self.bare_clone(repo)
        return LocalSandbox.start(self, environment, instance, objects=str(bare / "objects"))


class LocalSandbox(Sandbox):
    """A work tree at the base commit, plus a private /tmp, on the host."""

    def __init__(self, runtime: LocalRuntime, environment: Environment, root: Path) -> None:
        self.runtime = runtime
        self.environment = environment
        self.root = root
        self.tree = root / "repo"
        self.tmp = root / "tmp"
        self.bwrap = runtime.use_bwrap()
        self.venv = Path(environment.location) / "venv"
        # Under bubblewrap the work tree is mounted where the environment was built.
        # Under bubblewrap the work tree is /testbed, as in the Docker runtime and SWE-bench's
        # images, so paths in prompts and trajectories do not depend on the runtime.
        self.workdir = SANDBOX_WORKDIR if self.bwrap else str(self.tree)
        self.state_dir = "/tmp" if self.bwrap else str(self.tmp)
        self.cgroup: SandboxCgroup | None = None
        self._groups: set[int] = set()
        self._server: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def start(cls, runtime: LocalRuntime, environment: Environment, instance: TaskInstance, *, objects: str) -> LocalSandbox:
        base = sandbox_base()
        base.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=f"{instance.instance_id[:60]}-", dir=base))
        (root / "owner").write_text(str(os.getpid()))  # for `swegym env gc` after a kill -9
        sandbox = cls(runtime, environment, root)
        try:
            sandbox.tree.mkdir()
            sandbox.tmp.mkdir()
            if SandboxCgroup.available():
                sandbox.cgroup = SandboxCgroup(
                    f"swegym-{uuid.uuid4().hex[:12]}", pids_max=runtime.pids_limit, memory_mb=runtime.memory_mb
                )
            else:
                _warn_once("cgroup", "no writable cgroup: local sandboxes run without pids/memory limits")
            script = checkout_script(instance.base_commit, objects=objects, history=runtime.history)
            # The environment's build outputs (egg-info, compiled extensions), hard-linked.
            script += copy_build_outputs_script(str(Path(environment.location) / "testbed"), str(sandbox.tree))
            result = run_process(["bash", "-c", script], cwd=str(sandbox.tree), env=_host_env(), timeout=600, max_output=100_000)
            if not result.ok:
                raise SandboxError(f"could not check out {instance.base_commit[:12]} for {instance.instance_id}: {result.output.strip()[-300:]}")
            sandbox._start_server()
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = {
            "PATH": f"{self.venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "VIRTUAL_ENV": str(self.venv),
            "HOME": "/tmp" if self.bwrap else str(self.tmp),
            "TMPDIR": "/tmp" if self.bwrap else str(self.tmp),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTEST_ADDOPTS": "-p no:cacheprovider",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "TERM": "dumb",
        }
        if not self.bwrap:  # the venv's editable install points at the build checkout
            paths = [str(self.tree)] + ([str(self.tree / "src")] if (self.tree / "src").is_dir() else [])
            env["PYTHONPATH"] = ":".join(paths)
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL"):
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(extra or {})
        return env

    def _argv(self, argv: list[str], network: bool) -> list[str]:
        if not self.bwrap:
            if not network:
                _warn_once("network", "without bubblewrap, local sandboxes cannot switch the network off")
            return argv
        # The host's top-level entries, read-only, on bubblewrap's own root: so that
        # /testbed can exist. The work tree is also mounted where the environment was
        # built, for editable installs that point there.
        prefix = ["bwrap", *_host_root_binds(), "--dev", "/dev", "--proc", "/proc", "--bind", str(self.tmp), "/tmp"]
        for path in _visible_under_tmp(self.runtime.cache):  # keep what /tmp's bind would hide
            prefix += ["--ro-bind", path, path]
        prefix += [
            "--bind", str(self.tree), str(Path(self.environment.location) / "testbed"),
            "--bind", str(self.tree), self.workdir,
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
            "--chdir", self.workdir,
        ]
        if not network:
            prefix.append("--unshare-net")
        return prefix + argv

    def _start_server(self) -> None:
        preexec = self.cgroup.enter if self.cgroup and self.cgroup.dirs else None
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        self._server = subprocess.Popen(
            self._argv([sys.executable, "-I", "-S", exec_server.SCRIPT], network=False),
            cwd=str(self.tree),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=preexec,
        )
        assert self._server.stdout is not None
        ready = self._server.stdout.readline()
        if not ready.startswith('{"ready"'):
            raise SandboxError(f"the sandbox's command server did not start: {ready.strip() or 'no output'}")

    def exec(self, command: str, *, timeout: float | None = None, env: Mapping[str, str] | None = None, network: bool = False) -> CommandResult:
        if self._closed:
            raise SandboxError("the sandbox is closed")
        if network:  # the server has no network: a one-off process for this command
            preexec = self.cgroup.enter if self.cgroup and self.cgroup.dirs else None
            return run_process(
                self._argv(["bash", "-c", command], network=True),
                cwd=str(self.tree), env=self._env(env), timeout=timeout,
                max_output=self.runtime.max_output_bytes, preexec_fn=preexec, groups=self._groups,
            )
        request = {
            "command": command,
            "env": self._env(env),
            "timeout": timeout,
            "max_output": self.runtime.max_output_bytes,
            "cwd": self.workdir,
        }
        with self._lock:
            assert self._server is not None and self._server.stdin and self._server.stdout
            try:
                self._server.stdin.write(json.dumps(request) + "\n")
                self._server.stdin.flush()
                reply = self._server.stdout.readline()
            except (BrokenPipeError, OSError):
                reply = ""
        if not reply:
            raise SandboxError("the sandbox's command server died (killed for memory?)")
        return CommandResult(**json.loads(reply))

    def _host_path(self, path: str) -> Path:
        absolute = Path(self.path(path))
        mounts = [(Path(self.workdir), self.tree)]
        mounts.append((Path("/tmp"), self.tmp) if self.bwrap else (self.tmp, self.tmp))
        for inside, outside in mounts:
            try:
                target = outside / absolute.relative_to(inside)
            except ValueError:
                continue
            # A symlink the agent made must not lead a read or write out of the sandbox.
            resolved = target.resolve()
            if resolved != outside.resolve() and outside.resolve() not in resolved.parents:
                raise SandboxError(f"{path}: resolves outside the sandbox")
            return target
        raise SandboxError(f"{path}: only files under {self.workdir} or /tmp are accessible")

    def read_file(self, path: str) -> str:
        return self._host_path(path).read_text(encoding="utf-8", errors="replace")

    def write_file(self, path: str, text: str) -> None:
        target = self._host_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            if self._server.stdin:
                self._server.stdin.close()  # the server kills its process groups on EOF
            try:
                self._server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            kill_group(self._server.pid)
            self._server.wait()
            if self._server.stdout:
                self._server.stdout.close()
        for group in self._groups:
            kill_group(group)
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.root, ignore_errors=True)


def sandbox_base() -> Path:
    return Path(os.environ.get("SWEGYM_SANDBOX_DIR") or tempfile.gettempdir()) / "swegym-sandboxes"


def collect_garbage() -> list[str]:
    """Remove sandbox directories whose owning process is gone (left by a kill -9)."""
    removed = []
    base = sandbox_base()
    for root in sorted(base.iterdir()) if base.is_dir() else []:
        try:
            pid = int((root / "owner").read_text())
        except (OSError, ValueError):
            if time.time() - root.stat().st_mtime < 3600:
                continue  # being created (no owner file yet), or too recent to judge
            pid = None
        if pid is not None and pid_alive(pid):
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(str(root))
    return removed


SANDBOX_WORKDIR = "/testbed"
_ROOT_BINDS: list[str] = []


def _host_root_binds() -> list[str]:
    """bwrap arguments that show the host's top-level entries read-only (cached)."""
    if not _ROOT_BINDS:
        for entry in sorted(os.listdir("/")):
            path = f"/{entry}"
            if entry in ("proc", "dev", "tmp", "testbed", "lost+found"):
                continue
            if os.path.islink(path):
                _ROOT_BINDS.extend(["--symlink", os.readlink(path), path])
            else:
                _ROOT_BINDS.extend(["--ro-bind", path, path])
    return list(_ROOT_BINDS)


def _visible_under_tmp(cache: Path) -> list[str]:
    """Host paths a sandbox needs that live under /tmp (which the sandbox replaces)."""
    import swegym

    needed = {cache, Path(sys.prefix), Path(sys.base_prefix), Path(swegym.__file__).parents[1]}
    under = sorted({str(p.resolve()) for p in needed if str(p.resolve()).startswith("/tmp/")})
    return [p for p in under if not any(p != q and p.startswith(q + "/") for q in under)]


def _host_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update({"GIT_TERMINAL_PROMPT": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


@hookimpl
def swegym_register_runtimes(register):
    register(LocalRuntime)
