"""Mining as real histories need it: release versions, one commit, pull requests, missing blobs."""

import subprocess
import sys

import pytest
from conftest import git, make_repo
from test_mining import commit

from swegym.core.errors import UsageError
from swegym.core.mining import MissingObjectsError, find_pull_request, mine, mine_commit
from swegym.core.testfiles import is_test_file, keyword_test_command
from swegym.core.versions import release_version, spec_version


@pytest.fixture
def release_branches(tmp_path):
    """mypy's layout: each release is tagged on its own branch, never merged back into main."""
    repo = tmp_path / "typer"
    make_repo(repo, {"lib.py": "a = 1\n", "tests/test_lib.py": "def test_a():\n    pass\n"})
    git(repo, "tag", "v0.790")
    git(repo, "checkout", "-q", "-b", "release-0.800")
    commit(repo, {"CHANGELOG": "0.800\n"}, "Release 0.800")
    git(repo, "tag", "v0.800")
    git(repo, "checkout", "-q", "main")
    after_branch = commit(repo, {"lib.py": "a = 2\n", "tests/test_lib.py": "def test_a():\n    assert 1\n"}, "Fix a (#31)")
    fix = commit(repo, {"lib.py": "a = 3\n", "tests/test_lib.py": "def test_a():\n    assert 2\n"}, "Fix a again (#32)")
    git(repo, "checkout", "-q", "-b", "release-0.810")
    commit(repo, {"CHANGELOG": "0.810\n"}, "Release 0.810")
    git(repo, "tag", "v0.810")
    git(repo, "checkout", "-q", "main")
    return repo, after_branch, fix


def test_version_is_the_first_release_containing_the_base_not_the_nearest_tag(release_branches):
    repo, after_branch, fix = release_branches
    assert mine(repo, version_from="tag").instances[-1].version == "0.790"  # the old, wrong answer
    [_, instance] = mine(repo).instances
    assert instance.base_commit == after_branch
    assert instance.version == "0.810"
    assert instance.extra["version_source"] == "first release tag containing it: v0.810"


def test_version_file_at_the_base_commit_wins(tmp_path):
    repo = tmp_path / "moto"
    make_repo(repo, {"moto/__init__.py": '__version__ = "4.1.0.dev"\n', "tests/__init__.py": ""})
    git(repo, "tag", "4.0.12")
    commit(repo, {"moto/core.py": "x = 1\n", "tests/test_core.py": "def test_x():\n    pass\n"}, "Core (#5)")
    [instance] = mine(repo).instances
    assert (instance.version, instance.extra["version_source"]) == ("4.1", "moto/__init__.py: 4.1.0.dev")
    later = commit(repo, {"pydantic/__init__.py": "", "pydantic/version.py": "VERSION = StrictStr('1.8.2')\n"}, "pydantic style")
    assert release_version(repo, later, package="pydantic").source == "pydantic/version.py: 1.8.2"


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("1.4", ("1.4", "")),
        ("1.6", ("1.5", "release 1.6 has no spec; using 1.5, the newest spec version before it")),
        ("0.9", ("0.9", "no spec version at or below 0.9")),
        ("1.10", ("1.10", "")),
    ],
)
def test_release_mapped_onto_spec_versions(release, expected):
    assert spec_version(release, ["1.0", "1.4", "1.5", "1.10"]) == expected


def test_mine_commit_mines_exactly_that_commit_or_says_why_not(release_branches):
    repo, after_branch, fix = release_branches
    report = mine_commit(repo, fix, repo="python/typer", spec_versions=["0.800", "0.810"])
    [instance] = report.instances
    assert (instance.instance_id, instance.extra["mined_from"], instance.version) == ("python__typer-32", fix, "0.810")
    assert (instance.base_commit, report.scanned) == (after_branch, 1)
    with pytest.raises(UsageError, match=r"v0.800 \(\w{12}\) does not qualify .*changes no test file \(it changes CHANGELOG\)"):
        mine_commit(repo, "v0.800")


def test_find_pull_request_by_merge_or_squash_subject(release_branches, tmp_path):
    repo, after_branch, fix = release_branches
    assert find_pull_request(repo, 32) == fix
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"lib.py": "a = 4\n", "tests/test_lib.py": "def test_a():\n    assert 3\n"}, "Work")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #40 from someone/feature\n\nSee #12")
    merge = git(repo, "rev-parse", "HEAD")
    assert find_pull_request(repo, 40) == merge
    [instance] = mine_commit(repo, merge).instances
    assert instance.instance_id == "local__typer-40"  # the pull request, not the issue it mentions
    with pytest.raises(UsageError, match="no commit merged pull request #41"):
        find_pull_request(repo, 41)


def test_missing_blob_costs_only_its_instance_and_is_named(tmp_path):
    repo = tmp_path / "trimmed"
    make_repo(repo, {"lib.py": "a = 1\n", "tests/test_lib.py": "def test_a():\n    pass\n"})
    old = commit(repo, {"lib.py": "a = 2\n", "tests/test_lib.py": "def test_a():\n    assert 1\n"}, "Old (#1)")
    new = commit(repo, {"lib.py": "a = 3\n", "tests/test_lib.py": "def test_a():\n    assert 2\n"}, "New (#2)")
    lost = git(repo, "rev-parse", f"{old}~1:lib.py")  # the blob only the old instance's diff reads
    (repo / ".git" / "objects" / lost[:2] / lost[2:]).unlink()

    report = mine(repo)
    assert [i.extra["mined_from"] for i in report.instances] == [new]
    assert report.skipped["objects missing from the mirror"] == 1
    assert lost in report.warnings[0] and "fetch" in report.warnings[0]
    with pytest.raises(MissingObjectsError, match=lost):
        mine_commit(repo, old)


def test_mypy_data_driven_cases_are_test_files_and_become_a_keyword_expression(tmp_path):
    assert is_test_file("test-data/unit/check-classes.test")
    cases = tmp_path / "test-data" / "unit" / "check-x.test"
    cases.parent.mkdir(parents=True)
    cases.write_text("[case testA]\nx = 1\n[case testB-skip]\n[out]\n[case testC_python2]\n")
    show_args = f"{sys.executable} -c 'import sys; print(sys.argv[1:])' -k"
    line = keyword_test_command(show_args, ["test-data/unit/check-x.test", "mypy/test/testcheck.py"])
    out = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['-k', 'testA or testB or testC_python2']"
    # Python test files only: paths, not a keyword expression.
    assert keyword_test_command("pytest -n0 -rA -k", ["mypy/test/testcheck.py", "x.json"]) == "pytest -n0 -rA mypy/test/testcheck.py"


def test_cli_pr_and_rev(release_branches, tmp_path):
    from test_mining import invoke

    from swegym.core.datasets import read_instance_file

    repo, after_branch, fix = release_branches
    out = tmp_path / "pr.jsonl"
    result = invoke(["mine", "--repo-path", str(repo), "--repo", "python/mypy", "--pr", "32", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"pull request #32 was merged by {fix[:12]}" in result.output
    [instance] = read_instance_file(out)
    # python/mypy's spec versions are known: 0.810 is one, so the release maps onto itself.
    assert (instance.instance_id, instance.version) == ("python__mypy-32", "0.810")
    assert "python__mypy-32: version 0.810 (first release tag containing it: v0.810)" in " ".join(result.output.split())
    refused = invoke(["mine", "--repo-path", str(repo), "--rev", "v0.800", "--out", str(tmp_path / "no.jsonl")])
    assert refused.exit_code != 0 and "does not qualify as a task instance" in refused.output
    both = invoke(["mine", "--repo-path", str(repo), "--rev", fix, "--pr", "32", "--out", str(out)])
    assert both.exit_code != 0 and "give --rev or --pr, not both" in both.output


def test_checkout_leaves_out_files_whose_blobs_the_mirror_lacks(tmp_path):
    """A trimmed mirror (a few old blobs gone) still gives a work tree, without those files."""
    from swegym.core.envbuild import checkout_script

    repo = tmp_path / "trimmed"
    base = make_repo(repo, {"lib.py": "a = 1\n", "docs/big image.gif": "GIF89a...\n", "tests/test_lib.py": "def test_a():\n    pass\n"})
    lost = git(repo, "rev-parse", f"{base}:docs/big image.gif")
    (repo / ".git" / "objects" / lost[:2] / lost[2:]).unlink()
    tree = tmp_path / "tree"
    tree.mkdir()
    script = checkout_script(base, objects=str(repo / ".git" / "objects"))
    done = subprocess.run(["bash", "-c", script], cwd=tree, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "lacks 1 file(s) of swegym, left out of the work tree: /docs/big image.gif" in done.stderr
    assert (tree / "lib.py").read_text() == "a = 1\n" and not (tree / "docs" / "big image.gif").exists()
    assert git(tree, "status", "--porcelain") == ""
    assert git(tree, "rev-parse", "HEAD") == base
