"""The ``local`` runtime: virtual environments and git work trees on the host.

An environment is a virtual environment per (repository, version, spec hash), built once
from a checkout of the repository. A sandbox is a fresh work tree at the instance's base
commit; with bubblewrap installed, its commands run sealed (see ``bwrap.py``): an
unprivileged uid with no capabilities, no network, only /usr, a few /etc files, the
environment (read-only) and the work tree (at /testbed and where the environment was built,
so editable installs resolve to it) mounted. Where the kernel allows it, a cgroup per sandbox bounds its
processes and memory and kills all of them on close.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
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
    copy_build_outputs_script,
    environment_id,
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
from swegym.plugins.runtimes import process as process_module
from swegym.plugins.runtimes.bwrap import SANDBOX_UID, SERVER_DIR, interpreter_prefix, sealed_bwrap_args
from swegym.plugins.runtimes.cgroup import SandboxCgroup
from swegym.plugins.runtimes.process import die_with_parent, kill_group, pid_alive, processes_mentioning, run_process, spawn

log = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


@attrs.frozen
class LocalRuntime(EnvironmentChoices, Runtime):
    """Virtual environments and git work trees on this machine (bubblewrap-isolated when installed)."""

    name: ClassVar[str] = "local"

    isolation: Literal["auto", "bwrap", "none"] = attrs.field(
        default="auto", metadata={"help": "auto: bubblewrap when installed; bwrap: require it; none: no isolation"}
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
            _warn_once(
                "isolation-none",
                "isolation=none: agent code and the code under test run with YOUR user's rights "
                "(your files, sockets and network); use isolation=bwrap or --runtime docker for untrusted patches",
            )
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
        return self.cache / "envs" / "local" / repo.slug / environment_id(version, repo.environment(version))

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

    def collect_garbage(self) -> list[str]:
        return collect_garbage()

    # -- sandboxes -------------------------------------------------------------------

    def sandbox(self, repo: RepositorySpec, instance: TaskInstance) -> LocalSandbox:
        _collect_once(self)
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
        self._requests: Any = None
        self._replies: Any = None
        self.objects: str | None = None
        self.isolation = "bwrap" if self.bwrap else "none"
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def start(cls, runtime: LocalRuntime, environment: Environment, instance: TaskInstance, *, objects: str) -> LocalSandbox:
        base = sandbox_base()
        base.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=f"{instance.instance_id[:60]}-", dir=base))
        (root / "owner").write_text(str(os.getpid()))  # for `swegym env gc` after a kill -9
        sandbox = cls(runtime, environment, root)
        sandbox.objects = objects if runtime.history == "shared" else None
        try:
            sandbox.tree.mkdir()
            sandbox.tmp.mkdir()
            if SandboxCgroup.available():
                sandbox.cgroup = SandboxCgroup(
                    f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}", pids_max=runtime.pids_limit, memory_mb=runtime.memory_mb
                )
            else:
                _warn_once("cgroup", "no writable cgroup: local sandboxes run without pids/memory limits")
            # The server starts (a namespace, an interpreter) while the work tree is checked
            # out: its mounts are directories, whose contents appear as they are written.
            sandbox._launch_server()
            script = checkout_script(instance.base_commit, objects=objects, history=runtime.history)
            # The environment's build outputs (egg-info, compiled extensions), hard-linked.
            script += copy_build_outputs_script(str(Path(environment.location) / "testbed"), str(sandbox.tree))
            result = run_process(["bash", "-c", script], cwd=str(sandbox.tree), env=_host_env(), timeout=600, max_output=100_000)
            if not result.ok:
                raise SandboxError(f"could not check out {instance.base_commit[:12]} for {instance.instance_id}: {result.output.strip()[-300:]}")
            sandbox._await_server()
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
            # pytest's cache outside the work tree (plugins such as hydra's pytest-snail need it).
            "PYTEST_ADDOPTS": f"-o cache_dir={'/tmp' if self.bwrap else self.tmp}/.pytest_cache",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "TERM": "dumb",
        }
        if not self.bwrap:  # the venv's editable install points at the build checkout
            paths = [str(self.tree)] + ([str(self.tree / "src")] if (self.tree / "src").is_dir() else [])
            env["PYTHONPATH"] = ":".join(paths)
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL"):
            if name in os.environ:
                env[name] = os.environ[name]
        extra = dict(extra or {})
        if "PYTHONPATH" in extra and "PYTHONPATH" in env:
            extra["PYTHONPATH"] = f"{extra['PYTHONPATH']}:{env['PYTHONPATH']}"
        env.update(extra)
        return env

    def _argv(self, argv: list[str], network: bool) -> list[str]:
        if not self.bwrap:
            if not network:
                _warn_once("network", "without bubblewrap, local sandboxes cannot switch the network off")
            return argv
        return sealed_bwrap_args(self._mounts(), network=network, workdir=self.workdir) + argv

    def _mounts(self) -> list[tuple[str, str, str]]:
        """(kind, host path, sandbox path) for what the sandbox sees besides the system."""
        environment = Path(self.environment.location)
        mounts = [
            ("bind", str(self.tmp), "/tmp"),
            ("ro-bind", str(self.venv), str(self.venv)),
            ("ro-bind", str(self.root / "server"), SERVER_DIR),
            ("ro-bind", str(self.root / "etc" / "passwd"), "/etc/passwd"),
            ("ro-bind", str(self.root / "etc" / "group"), "/etc/group"),
        ]
        interpreter = interpreter_prefix(self.venv)
        if interpreter and not interpreter.startswith("/usr/"):
            mounts.append(("ro-bind", interpreter, interpreter))
        if self.objects:  # the cached clone's objects, borrowed through git alternates
            mounts.append(("ro-bind", self.objects, self.objects))
        # The work tree, at /testbed and where the environment was built (editable installs).
        mounts += [("bind", str(self.tree), str(environment / "testbed")), ("bind", str(self.tree), self.workdir)]
        return mounts

    def _launch_server(self) -> None:
        cgroup = self.cgroup if self.cgroup and self.cgroup.dirs else None

        def preexec() -> None:
            die_with_parent()  # a killed worker takes its sandboxes' servers along
            if cgroup is not None:
                cgroup.enter()

        server = self.root / "server"
        server.mkdir(exist_ok=True)
        for source in (exec_server.SCRIPT, process_module.__file__):
            shutil.copy(source, server / Path(source).name)
        etc = self.root / "etc"
        etc.mkdir(exist_ok=True)
        (etc / "passwd").write_text(f"root:x:0:0:root:/root:/bin/sh\nswegym:x:{SANDBOX_UID}:{SANDBOX_UID}:swegym:/tmp:/bin/bash\n")
        (etc / "group").write_text(f"root:x:0:\nswegym:x:{SANDBOX_UID}:\n")
        if self.bwrap:
            python, script = str(self.venv / "bin" / "python"), f"{SERVER_DIR}/exec_server.py"
        else:
            python, script = sys.executable, str(server / "exec_server.py")
        # Requests and replies travel on pipes that are not the sandbox's stdio: bubblewrap's
        # init (pid 1 in the sandbox) keeps stdio open, and code under test could write a
        # forged reply through /proc/1/fd. The server itself is made non-dumpable, so its
        # own /proc/<pid>/fd is closed to processes without CAP_SYS_PTRACE (all of them).
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        try:
            self._server = spawn(  # from a thread that outlives this one: see spawn()
                self._argv([python, "-I", "-S", script, str(request_read), str(reply_write)], network=False),
                cwd=str(self.tree),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(request_read, reply_write),
                start_new_session=True,
                preexec_fn=preexec,
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        self._requests = os.fdopen(request_write, "w")
        self._replies = os.fdopen(reply_read, "r")

    def _await_server(self) -> None:
        assert self._server is not None and self._replies is not None
        ready = self._replies.readline()
        if not ready.startswith('{"ready"'):
            assert self._server.stderr is not None
            detail = ready.strip() or self._server.stderr.read().strip()[-300:] or "no output"
            raise SandboxError(f"the sandbox's command server did not start: {detail}")
        if self._server.stderr is not None:
            self._server.stderr.close()

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
            assert self._requests is not None and self._replies is not None
            try:
                self._requests.write(json.dumps(request) + "\n")
                self._requests.flush()
                reply = self._replies.readline()
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
        if self._requests is not None:
            try:
                self._requests.close()  # the server kills its process groups on EOF
            except OSError:
                pass
        if self._server is not None:
            try:
                self._server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            kill_group(self._server.pid, leader=self._server)
        if self._replies is not None:
            self._replies.close()
        for group in self._groups:
            kill_group(group)
        if self.cgroup is not None:
            self.cgroup.remove()
        _discard(self.root)


def sandbox_base() -> Path:
    return Path(os.environ.get("SWEGYM_SANDBOX_DIR") or tempfile.gettempdir()) / "swegym-sandboxes"


def collect_garbage() -> list[str]:
    """Remove what local sandboxes of dead processes left (after a kill -9): their
    processes, directories and cgroups (empty ones included)."""
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
        for leftover in processes_mentioning(str(root)):
            try:
                os.kill(leftover, signal.SIGKILL)
                removed.append(f"process {leftover}")
            except OSError:
                pass
        shutil.rmtree(root, ignore_errors=True)
        removed.append(str(root))
    for name, dirs in SandboxCgroup.owned(CGROUP_PREFIX).items():
        owner, _, rest = name[len(CGROUP_PREFIX):].partition("-")
        group = SandboxCgroup.existing(name, dirs)
        if owner.isdigit() and rest:  # swegym-<owner pid>-<id>
            if pid_alive(int(owner)):
                continue
            group.remove()
        elif group.pids() or any(time.time() - d.stat().st_mtime < 600 for d in dirs):
            continue  # no owner in its name: only an old, empty one is surely abandoned
        else:
            group.remove()
        removed.append(f"cgroup {name}")
    return removed


_trash: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
_remover: list[threading.Thread] = []


def _discard(root: Path) -> None:
    """Remove a closed sandbox's directory off the caller's path: renamed at once (nothing
    runs in it any more), deleted by a background thread; what a process exit interrupts,
    ``collect_garbage`` removes (its owner is gone)."""
    trash = root.with_name(f".trash-{root.name}")
    try:
        root.rename(trash)
    except OSError:
        shutil.rmtree(root, ignore_errors=True)
        return
    if not _remover:
        thread = threading.Thread(target=_empty_trash, name="swegym-sandbox-remover", daemon=True)
        thread.start()
        _remover.append(thread)
        atexit.register(_drain_trash)
    _trash.put(trash)


def _empty_trash() -> None:
    while (path := _trash.get()) is not None:
        shutil.rmtree(path, ignore_errors=True)


def _drain_trash() -> None:
    _trash.put(None)
    _remover[0].join(timeout=30)


_collected: set[str] = set()


def _collect_once(runtime: LocalRuntime) -> None:
    """Clean up after killed runs once per process, before its first sandbox."""
    if "local" not in _collected:
        _collected.add("local")
        for item in runtime.collect_garbage():
            log.info("removed %s (left by a run that is gone)", item)


CGROUP_PREFIX = "swegym-"
SANDBOX_WORKDIR = "/testbed"


def _host_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update({"GIT_TERMINAL_PROMPT": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


@hookimpl
def swegym_register_runtimes(register):
    register(LocalRuntime)
