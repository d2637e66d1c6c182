"""Build tinyver's git history from the plain files under ``data/tinyver``.

``history.json`` lists the commits oldest first: the first one's tree is ``base/``, each
later one applies its ``patches/NN-<slug>.patch`` (``git diff --binary --full-index`` of
parent..commit). Replaying it with fixed identities, dates and git configuration gives the
same commit SHAs on every machine; each one is checked against ``history.json``, because
the demo instances name their base commits by SHA. The bare repository is built once per
content of the source files, under ``$SWEGYM_CACHE_DIR/demo/<hash>/tinyver.git``.

``python -m swegym.plugins.repos.demo.build`` builds it and prints its path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from swegym.core.errors import SwegymError
from swegym.core.git_source import cache_dir

SOURCE = Path(__file__).resolve().parent / "data" / "tinyver"
# No user or system configuration (signing, hooks, autocrlf) may change what is written.
GIT_CONFIG = ("-c", "core.autocrlf=false", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false")


class DemoBuildError(SwegymError):
    """The demo repository could not be built as ``history.json`` describes it."""


def build_repository(source: Path = SOURCE, cache: Path | None = None) -> Path:
    """The bare repository replayed from ``source``: built on first use, then reused."""
    history = json.loads((source / "history.json").read_text())
    dest = (cache or cache_dir()) / "demo" / source_hash(source, history) / f"{source.name}.git"
    if (dest / "HEAD").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent)).resolve()
    try:
        replay(source, history, tmp)
        tmp.chmod(0o755)  # mkdtemp made it private
        try:
            tmp.rename(dest)  # atomic: a concurrent build that finished first wins
        except OSError:
            if not (dest / "HEAD").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def source_hash(source: Path, history: dict) -> str:
    """A hash of every file the build reads, so an edited patch gets a fresh build."""
    digest = hashlib.sha256((source / "history.json").read_bytes())
    for name in [*base_files(history).values(), *(c["patch"] for c in history["commits"][1:])]:
        digest.update(name.encode() + b"\0" + (source / name).read_bytes())
    return digest.hexdigest()[:16]


def base_files(history: dict) -> dict[str, str]:
    """Path in the repository -> path under ``source``, for the first commit's files."""
    stored_as = history["base"].get("stored_as", {})  # dotfiles, which wheels would drop
    return {path: "base/" + stored_as.get(path, path) for path in history["base"]["files"]}


def replay(source: Path, history: dict, repo: Path) -> None:
    """Write ``history`` into the new bare repository ``repo``, checking every SHA."""
    git(repo, "init", "--quiet", "--bare", f"--initial-branch={history['branch']}")
    index = {"GIT_INDEX_FILE": str(repo / "build-index")}
    files = base_files(history)
    blobs = git(repo, "hash-object", "-w", "--no-filters", *(str(source / f) for f in files.values()))
    listing = "".join(f"100644 {blob}\t{path}\n" for blob, path in zip(blobs.split(), files))
    git(repo, "update-index", "--add", "--index-info", stdin=listing, env=index)
    parent = None
    for number, commit in enumerate(history["commits"]):
        if number:
            git(repo, "apply", "--cached", "--binary", str(source / commit["patch"]), env=index)
        tree = git(repo, "write-tree", env=index).strip()
        message = commit["subject"] + "\n" + ("\n" + commit["body"] if commit["body"] else "")
        dates = {"GIT_AUTHOR_DATE": commit["author_date"], "GIT_COMMITTER_DATE": commit["committer_date"]}
        parents = ["-p", parent] if parent else []
        sha = git(repo, "commit-tree", tree, *parents, stdin=message, env=dates, author=history["author"])
        sha = sha.strip()
        if sha != commit["sha"]:
            raise DemoBuildError(
                f"demo repository: commit {number} ({commit['subject']!r}) was built as {sha}, but "
                f"history.json expects {commit['sha']}; {source} and history.json disagree"
            )
        if "tag" in commit:
            tag_ref(repo, history["author"], commit["tag"], sha)
        parent = sha
    git(repo, "update-ref", f"refs/heads/{history['branch']}", parent)
    (repo / "build-index").unlink()


def tag_ref(repo: Path, author: dict, tag: dict, sha: str) -> None:
    """An annotated tag of ``sha`` written with ``git mktag``, so its message is verbatim."""
    date = {"GIT_COMMITTER_DATE": tag["date"]}
    stamp = git(repo, "var", "GIT_COMMITTER_IDENT", env=date, author=author).strip()
    body = f"object {sha}\ntype commit\ntag {tag['name']}\ntagger {stamp}\n\n{tag['message']}"
    tag_sha = git(repo, "mktag", stdin=body).strip()
    git(repo, "update-ref", f"refs/tags/{tag['name']}", tag_sha)


def git(
    repo: Path, *args: str, stdin: str | None = None, env: dict | None = None, author: dict | None = None
) -> str:
    """Run git on ``repo`` with nothing from the caller's environment or configuration."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")} | (env or {})
    env |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_DIR": str(repo)}
    env |= {"TZ": "UTC", "LC_ALL": "C"}
    for role in ("AUTHOR", "COMMITTER") if author else ():
        env |= {f"GIT_{role}_NAME": author["name"], f"GIT_{role}_EMAIL": author["email"]}
    try:
        result = subprocess.run(
            ["git", *GIT_CONFIG, *args], input=stdin, capture_output=True, encoding="utf-8", env=env
        )
    except FileNotFoundError:
        raise DemoBuildError("the demo repository is built with git, which is not installed") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise DemoBuildError(f"demo repository: git {args[0]} failed: {detail}")
    return result.stdout


if __name__ == "__main__":
    print(build_repository())
