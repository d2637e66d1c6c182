"""The ``local`` executor: a pool of worker processes on this machine."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import ClassVar

import attrs

from swegym import hookimpl
from swegym.core.executor import Executor, Outcome


@attrs.frozen
class LocalExecutor(Executor):
    """Worker processes on this machine (one job per worker at a time)."""

    name: ClassVar[str] = "local"
    workers: int = attrs.field(default=1, metadata={"help": "parallel worker processes (1: run in this process)"})

    def run(self, function: Callable, jobs: Iterable) -> Iterator[Outcome]:
        if self.workers <= 1:
            for job in jobs:
                yield _call(function, job)
            return
        # fork would copy this process's threads (rich's progress refresh) into workers.
        context = multiprocessing.get_context("forkserver")
        pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
        )
        pending: dict[Future, object] = {}
        iterator = iter(jobs)
        try:
            for job in iterator:
                pending[pool.submit(_call, function, job)] = job
                if len(pending) >= self.workers * 2:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as exc:  # the worker itself died
                        yield Outcome(job, error=f"worker failed: {type(exc).__name__}: {exc}")
                    for more in iterator:
                        pending[pool.submit(_call, function, more)] = more
                        break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def error_text(exc: BaseException) -> str:
    """A job's error for people: swegym's own errors are their message (no class path)."""
    from swegym.core.errors import SwegymError

    if isinstance(exc, SwegymError):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _watch_parent(main_pid: int) -> None:
    """Worker initializer: die when the main process dies, even by kill -9.

    The worker's parent is multiprocessing's fork server, not the main process, so the
    kernel's parent-death signal covers the server's death, and a thread watches the main
    process itself. A dying worker takes its sandboxes along (they die with their parent).
    """
    from swegym.plugins.runtimes.process import die_with_parent, pid_alive

    die_with_parent()

    def watch() -> None:
        while pid_alive(main_pid) and os.getppid() != 1:
            time.sleep(0.5)
        parent = os.getppid()
        if parent not in (1, main_pid):
            os.kill(parent, signal.SIGKILL)  # the fork server: its other workers follow it
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="swegym-watch-parent", daemon=True).start()


def _call(function: Callable, job: object) -> Outcome:
    try:
        return Outcome(job, result=function(job))
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        detail = error_text(exc)
        return Outcome(job, error=detail)


@hookimpl
def swegym_register_executors(register):
    register(LocalExecutor)
