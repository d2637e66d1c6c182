"""The ``local`` executor: a pool of worker processes on this machine."""

from __future__ import annotations

import multiprocessing
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
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
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
