"""Where a repository's git history comes from, and the bare-clone cache.

Resolution order: an explicit local path (argument or the repository's ``local_path``),
then a mirror directory (``--git-mirror`` / ``SWEGYM_GIT_MIRROR``), then the public URL.
Whatever the source, it is cloned once, bare, into the cache and reused.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import attrs

from swegym.core.errors import SwegymError
from swegym.core.repository import RepositorySpec

MIRROR_ENV = "SWEGYM_GIT_MIRROR"
CACHE_ENV = "SWEGYM_CACHE_DIR"
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}


class GitSourceError(SwegymError):
    """A repository's history could not be found or cloned."""


@attrs.frozen
class GitSource:
    """A resolved source: ``kind`` is ``path``, ``mirror`` or ``url``."""

    repo: str
    location: str
    kind: str


def cache_dir() -> Path:
    """swegym's cache root: ``$SWEGYM_CACHE_DIR``, else ``$XDG_CACHE_HOME/swegym``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "swegym"


def mirror_candidates(mirror: Path, repo: RepositorySpec) -> list[Path]:
    owner, _, name = repo.name.partition("/")
    stems = [repo.slug, f"{owner}/{name}", name, repo.slug.lower(), name.lower()]
    return [mirror / f"{stem}{suffix}" for stem in stems for suffix in ("", ".git")]


def resolve_git_source(
    repo: RepositorySpec, *, path: str | os.PathLike[str] | None = None, mirror: str | os.PathLike[str] | None = None
) -> GitSource:
    """Pick the first available source for ``repo``'s history."""
    explicit = path or repo.local_history()
    if explicit:
        location = Path(explicit).expanduser()
        if not (_is_git_dir(location) or location.suffix == ".bundle" and location.is_file()):
            raise GitSourceError(f"{repo.name}: {location} is not a git repository")
        return GitSource(repo.name, str(location.resolve()), "path")
    mirror = mirror or os.environ.get(MIRROR_ENV)
    if mirror:
        for candidate in mirror_candidates(Path(mirror).expanduser(), repo):
            if _is_git_dir(candidate):
                return GitSource(repo.name, str(candidate.resolve()), "mirror")
    if repo.url:
        return GitSource(repo.name, repo.url, "url")
    raise GitSourceError(
        f"{repo.name}: no git source; set {MIRROR_ENV} (or --git-mirror) to a directory "
        f"holding a clone named {repo.slug} or {repo.name.partition('/')[2]}"
    )


def ensure_bare_clone(source: GitSource, repo: RepositorySpec, cache: Path | None = None) -> Path:
    """The cached bare clone of ``repo``, cloned from ``source`` the first time."""
    root = (cache or cache_dir()) / "git"
    root.mkdir(parents=True, exist_ok=True)
    dest = root / f"{repo.slug}.git"
    with open(root / f".{repo.slug}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one clone per repository, across processes
        if (dest / "HEAD").exists():
            return dest
        tmp = root / f".{repo.slug}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        result = run_git(["clone", "--bare", "--quiet", source.location, str(tmp)], check=False)
        if result.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            detail = (result.stderr.strip().splitlines() or ["git clone failed"])[-1]
            raise GitSourceError(
                f"{repo.name}: could not clone {source.location} ({detail}); without network, set "
                f"{MIRROR_ENV} (or --git-mirror) to a directory holding a local clone named {repo.slug}"
            )
        tmp.rename(dest)
    return dest


def run_git(args: list[str], *, cwd: str | os.PathLike[str] | None = None, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
    """Run git without prompts; ``check`` raises ``GitSourceError`` with git's last line."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **GIT_ENV},
    )
    if check and result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise GitSourceError(f"git {args[0]} failed: {detail}")
    return result


def _is_git_dir(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())
