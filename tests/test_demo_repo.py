"""The demo repository, replayed from its plain-file history under data/tinyver."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import git
from swegym.core.git_source import resolve_git_source
from swegym.plugins.repos.demo import DATA, repository
from swegym.plugins.repos.demo import build
from swegym.plugins.repos.demo.build import SOURCE, DemoBuildError, build_repository

HISTORY = json.loads((SOURCE / "history.json").read_text())


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """One build shared by the read-only tests."""
    return build_repository(cache=tmp_path_factory.mktemp("cache"))


def test_the_build_reproduces_every_commit_of_the_history(repo):
    assert repo.parent.parent.name == "demo" and repo.name == "tinyver.git"
    shas = git(repo, "rev-list", "--reverse", "main").split()
    assert shas == [commit["sha"] for commit in HISTORY["commits"]]
    assert shas[-1].startswith("f8ac79d5") and len(shas) == 18
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    first = git(repo, "ls-tree", "-r", "--name-only", shas[0]).split()
    assert ".gitignore" in first and "gitignore" not in first  # stored under another name
    git(repo, "fsck", "--strict", "--no-dangling")


def test_tags_are_annotated_at_their_release_commits(repo):
    form = "%(objecttype) %(refname:short) %(*objectname) %(contents:subject)"
    listing = git(repo, "for-each-ref", "refs/tags", f"--format={form}")
    tagged = {c["tag"]["name"]: c["sha"] for c in HISTORY["commits"] if "tag" in c}
    assert sorted(tagged) == ["v0.1.0", "v0.2.0", "v0.3.0"]
    expected = [f"tag {name} {sha} tinyver {name[1:]}" for name, sha in sorted(tagged.items())]
    assert listing.splitlines() == expected


def test_every_demo_instance_names_a_commit_of_the_built_repository(repo):
    records = [json.loads(line) for line in (DATA / "instances.jsonl").read_text().splitlines() if line.strip()]
    assert len(records) == 13
    for record in records:
        assert git(repo, "cat-file", "-t", record["base_commit"]) == "commit"


def test_a_second_call_reuses_the_cached_build(cache, monkeypatch):
    repo = build_repository(cache=cache)

    def no_rebuild(*args):
        raise AssertionError("rebuilt a cached repository")

    monkeypatch.setattr(build, "replay", no_rebuild)
    assert build_repository(cache=cache) == repo
    assert list(repo.parent.iterdir()) == [repo]  # no temporary build left beside it


def test_edited_sources_build_anew_and_a_wrong_sha_is_a_clear_error(tmp_path, cache):
    source = tmp_path / "tinyver"
    shutil.copytree(SOURCE, source)
    built = build_repository(source, cache=cache)
    history = json.loads((source / "history.json").read_text())
    history["commits"][3]["subject"] += " (edited)"
    (source / "history.json").write_text(json.dumps(history))
    expected = r"commit 3 \('Document the range .*\(edited\)'\) was built as [0-9a-f]{40}, but history.json expects 2689936a"
    with pytest.raises(DemoBuildError, match=expected):
        build_repository(source, cache=cache)  # not the cached build of the unedited files
    builds = sorted((list(d.iterdir()) for d in (cache / "demo").iterdir()), key=len)
    assert builds == [[], [built]]  # the failed build left nothing half-built


def test_without_git_the_build_says_so(cache, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(DemoBuildError, match="built with git, which is not installed"):
        build_repository(cache=cache)


def test_two_processes_building_at_once_agree(cache):
    command = [sys.executable, "-m", "swegym.plugins.repos.demo.build"]
    env = {**os.environ, "SWEGYM_CACHE_DIR": str(cache)}
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    paths = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    assert paths[0] == paths[1]
    assert [str(p) for p in (cache / "demo").glob("*/*")] == paths[:1]  # temp dirs cleaned up
    assert git(paths[0], "rev-parse", "main") == HISTORY["commits"][-1]["sha"]


def test_the_demo_repository_is_built_on_first_use_not_when_registered(cache, monkeypatch):
    monkeypatch.setenv("SWEGYM_CACHE_DIR", str(cache))
    spec = repository()
    assert callable(spec.local_path)
    assert not (cache / "demo").exists()
    source = resolve_git_source(spec)
    assert source.kind == "path"
    assert source.location == str(build_repository(cache=cache))
