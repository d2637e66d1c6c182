"""A cgroup per sandbox, where the kernel offers one: a pids limit (fork bombs), a
memory limit, and a reliable way to kill every process the sandbox started, including
those that left its process group.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


class SandboxCgroup:
    """Control groups for one sandbox (cgroup v2 if mounted as such, else v1 pids+memory)."""

    def __init__(self, name: str, *, pids_max: int | None, memory_mb: int | None) -> None:
        self.name = name
        self.dirs: list[Path] = []
        if (ROOT / "cgroup.controllers").exists():  # cgroup v2
            candidates = [ROOT / name]
        else:
            candidates = [ROOT / "pids" / name, ROOT / "memory" / name]
        for directory in candidates:
            try:
                directory.mkdir()
            except OSError:
                continue
            self.dirs.append(directory)
        self._write("pids.max", str(pids_max) if pids_max else None)
        if memory_mb:
            limit = str(memory_mb * 1024 * 1024)
            self._write("memory.max", limit)
            self._write("memory.limit_in_bytes", limit)

    @classmethod
    def owned(cls, prefix: str) -> dict[str, list[Path]]:
        """Existing cgroups whose name starts with ``prefix``, by name (any hierarchy)."""
        parents = [ROOT] if (ROOT / "cgroup.controllers").exists() else [ROOT / "pids", ROOT / "memory"]
        found: dict[str, list[Path]] = {}
        for parent in parents:
            for directory in parent.glob(f"{prefix}*") if parent.is_dir() else []:
                found.setdefault(directory.name, []).append(directory)
        return found

    @classmethod
    def existing(cls, name: str, dirs: list[Path]) -> SandboxCgroup:
        group = cls.__new__(cls)
        group.name, group.dirs = name, list(dirs)
        return group

    @classmethod
    def available(cls) -> bool:
        if (ROOT / "cgroup.controllers").exists():
            return os.access(ROOT, os.W_OK)
        return os.access(ROOT / "pids", os.W_OK)

    def _write(self, filename: str, value: str | None) -> None:
        if value is None:
            return
        for directory in self.dirs:
            target = directory / filename
            if target.exists():
                try:
                    target.write_text(value)
                except OSError:
                    pass

    def enter(self) -> None:
        """Move the calling process into the sandbox's groups (used as a preexec_fn)."""
        pid = str(os.getpid())
        for directory in self.dirs:
            try:
                (directory / "cgroup.procs").write_text(pid)
            except OSError:
                pass

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.dirs:
            try:
                found.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def kill_all(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids or time.monotonic() > deadline:
                break
            for directory in self.dirs:  # freeze-free kill: cgroup v2 has cgroup.kill
                kill_file = directory / "cgroup.kill"
                if kill_file.exists():
                    try:
                        kill_file.write_text("1")
                    except OSError:
                        pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for directory in self.dirs:
            for _ in range(50):
                try:
                    directory.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)
        self.dirs = []
