"""Running a command on the host in its own process group, with a timeout and an output cap."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

try:
    from swegym.core.runtime import TIMEOUT_EXIT, CommandResult
except ImportError:  # run inside a sandbox as a plain script (see exec_server.py): no package
    from collections import namedtuple

    TIMEOUT_EXIT = 124
    CommandResult = namedtuple("CommandResult", "exit_code output timed_out truncated duration_s")  # type: ignore[misc]

# After the command itself exits, how long to keep reading output that its background
# children may still be writing into the shared pipe.
DRAIN_S = 0.05


class CappedOutput:
    """Keeps the first and last ``cap / 2`` bytes of a stream: test summaries come last."""

    def __init__(self, cap: int) -> None:
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            excess = len(self.tail) - self.half
            if excess > 0:
                del self.tail[:excess]
                self.dropped += excess

    def text(self) -> str:
        middle = f"\n[... {self.dropped} bytes of output truncated ...]\n".encode() if self.dropped else b""
        return (bytes(self.head) + middle + bytes(self.tail)).decode("utf-8", errors="replace")


def run_process(
    argv: Sequence[str],
    *,
    cwd: str | None,
    env: Mapping[str, str],
    timeout: float | None,
    max_output: int,
    preexec_fn: Callable[[], None] | None = None,
    groups: set[int] | None = None,
) -> CommandResult:
    """Run ``argv``; on timeout kill its whole process group and report exit code 124.

    :param groups: if given, the new process group's id is added to it.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=preexec_fn,
    )
    if groups is not None:
        groups.add(proc.pid)  # its process group, for the owner to kill on close
    output = CappedOutput(max_output)
    timed_out = False
    deadline = None if timeout is None else start + timeout
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        exited_at = None
        while True:
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > DRAIN_S:
                break
            if deadline is not None and now > deadline and exited_at is None:
                timed_out = True
                kill_group(proc.pid, leader=proc)
                proc.wait()
                exited_at = time.monotonic()
            wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - now))
            if not selector.select(wait if exited_at is None else DRAIN_S):
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            output.add(chunk)
    proc.stdout.close()
    exit_code = proc.wait()
    if timed_out:
        exit_code = TIMEOUT_EXIT
    elif exit_code < 0:
        exit_code = 128 - exit_code  # as bash reports a death by signal
    return CommandResult(
        exit_code=exit_code,
        output=output.text(),
        timed_out=timed_out,
        truncated=output.dropped > 0,
        duration_s=time.monotonic() - start,
    )


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists and has not exited (a zombie has)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return True  # no /proc here: trust kill(0)
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def kill_group(pgid: int, leader: subprocess.Popen | None = None) -> None:
    """SIGKILL a process group until no live process is left in it.

    The leader is reaped (it is our child), so its zombie does not keep the group
    non-empty; zombies of other members belong to their parents and are not waited for.
    A fork bomb forks while being killed: the loop repeats while live members remain.
    """
    for _ in range(1000):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        try:
            if leader is not None:
                leader.wait()
            else:
                os.waitpid(pgid, 0)
        except ChildProcessError:
            pass
        if not live_group_members(pgid):
            return
        time.sleep(0.002)


def live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that are not zombies (from /proc)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the kernel SIGKILLs the calling process when its parent exits
    (for a ``preexec_fn``, or a worker's initializer). Start such children with ``spawn``."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _forget_spawner() -> None:
    global _spawner
    _spawner = None  # a forked child has the executor but not its thread


os.register_at_fork(after_in_child=_forget_spawner)


def spawn(*args, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` run on one thread that lives as long as this process.

    The parent that PR_SET_PDEATHSIG watches is the forking *thread*, not the process: a
    child that dies with its parent, started from a short-lived thread (an HTTP request's,
    a thread pool's), would be killed when that thread ends, sandbox and all.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(1, thread_name_prefix="swegym-spawner")
        spawner = _spawner
    return spawner.submit(subprocess.Popen, *args, **kwargs).result()


def processes_mentioning(text: str) -> list[int]:
    """Live processes (other than this one) whose command line mentions ``text``."""
    found = []
    needle = text.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if needle in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def make_undumpable() -> None:
    """PR_SET_DUMPABLE 0: /proc/<pid>/fd and /proc/<pid>/mem of this process are closed to
    every process without CAP_SYS_PTRACE, even one running as the same uid."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
