"""Helpers for tests that grade the bundled demo repository's instances."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import git
from swegym import TaskInstance, load_instances
from swegym.plugins.repos.demo import built_repository, repository


def demo_instances(components) -> dict[str, TaskInstance]:
    return {i.instance_id: i for i in load_instances("demo", components)}


def checkout(instance: TaskInstance, path: Path) -> Path:
    """A clone of the demo repository at the instance's base commit, for writing patches."""
    git(path.parent, "clone", "-q", built_repository(), path.name)
    git(path, "checkout", "-q", instance.base_commit)
    return path


def make_patch(repo: Path, edits: dict[str, str | tuple[str, str]], *, base_patch: str = "") -> str:
    """Apply ``base_patch`` then ``edits`` (path -> new text, or (old, new) replacement); return the diff."""
    git(repo, "checkout", "-q", "-f", "HEAD")
    git(repo, "clean", "-fdq")
    if base_patch:
        (repo / "base.patch").write_text(base_patch)
        git(repo, "apply", "base.patch")
        (repo / "base.patch").unlink()
    for name, edit in edits.items():
        target = repo / name
        if isinstance(edit, tuple):
            old, new = edit
            text = target.read_text()
            assert old in text, (name, old)
            target.write_text(text.replace(old, new, 1))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit)
    git(repo, "add", "-A")
    return git(repo, "diff", "--cached", "--no-color") + "\n"


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment mentions ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        for name in ("cmdline", "environ"):
            try:
                if text.encode() in (entry / name).read_bytes():
                    found.append(int(entry.name))
                    break
            except OSError:
                continue
    return found


__all__ = ["checkout", "demo_instances", "make_patch", "processes_mentioning", "repository", "subprocess"]
