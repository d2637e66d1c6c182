import json

import pytest
from click.testing import CliRunner
from conftest import git, make_repo

import swegym
import swegym.cli
from swegym.commands.mine import mine as mine_command
from swegym.core.datasets import read_instance_file
from swegym.core.errors import UsageError
from swegym.core.mining import load_issues, mine, repository_name, short_version


CALC = "def add(a, b):\n    return a + b\n"
TEST_CALC = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


def commit(repo, files, message):
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository whose history has one commit of each kind the miner tells apart."""
    repo = tmp_path / "calc"
    root = make_repo(repo, {"pkg/calc.py": CALC, "tests/test_calc.py": TEST_CALC, "README.md": "calc\n"})
    git(repo, "tag", "v0.2.1")
    shas = {"root": root}
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2024-01-05T11:00:00+01:00")
    shas["fix"] = commit(
        repo,
        {
            "pkg/calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
            "pkg/notes.txt": "line one\r\nline two\r\n",  # CRLF must survive into the patch
            "tests/test_calc.py": TEST_CALC + "\n\ndef test_sub():\n    assert sub(3, 1) == 2\n",
        },
        "Add sub (fixes #12)\n\nSubtraction was missing.",
    )
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    shas["docs"] = commit(repo, {"README.md": "calc, a calculator\n"}, "Docs")
    shas["tests_only"] = commit(repo, {"tests/test_more.py": "def test_x():\n    pass\n"}, "More tests")
    shas["code_only"] = commit(repo, {"pkg/calc.py": CALC + "# tidy\n"}, "Tidy")
    shas["binary"] = commit(repo, {"pkg/logo.png": b"\x89PNG\x00\x01", "tests/test_logo.py": "def test_logo():\n    pass\n"}, "Logo")
    return repo, shas


def test_commit_changing_code_and_tests_becomes_an_instance(project):
    repo, shas = project
    report = mine(repo)
    assert report.scanned == 6
    assert report.candidates == 5
    assert report.skipped == {"root commit": 1, "no test change": 2, "no code change": 1, "binary": 1}
    [instance] = report.instances
    assert instance.instance_id == "local__calc-12"  # the PR number in the message, as in SWE-bench
    assert instance.repo == "local/calc"
    assert instance.base_commit == instance.environment_setup_commit == shas["root"]
    assert instance.extra == {"mined_from": shas["fix"], "version_source": "first release tag containing it: v0.2.1"}
    assert instance.created_at == "2024-01-05T10:00:00Z"
    assert instance.version == "0.2"
    assert instance.problem_statement == "Add sub (fixes #12)\n\nSubtraction was missing."
    assert instance.hints_text == "" and instance.FAIL_TO_PASS == () and instance.PASS_TO_PASS == ()
    assert "diff --git a/pkg/calc.py b/pkg/calc.py" in instance.patch
    assert "line one\r\n" in instance.patch
    assert "tests/" not in instance.patch
    assert "diff --git a/tests/test_calc.py b/tests/test_calc.py" in instance.test_patch
    assert "pkg/" not in instance.test_patch.replace("from pkg.calc", "")
    assert instance.patch.endswith("\n") and instance.test_patch.endswith("\n")
    assert not report.warnings


def test_patch_and_test_patch_apply_at_base_commit_in_a_fresh_clone(project, tmp_path):
    repo, shas = project
    [instance] = mine(repo).instances
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", instance.base_commit)
    for name in ("patch", "test_patch"):
        (tmp_path / f"{name}.diff").write_text(getattr(instance, name), newline="")
        git(clone, "apply", "--check", str(tmp_path / f"{name}.diff"))
    for name in ("patch", "test_patch"):
        git(clone, "apply", str(tmp_path / f"{name}.diff"))
    git(clone, "add", "-A")
    assert git(clone, "diff", "--cached", "--stat", shas["fix"]) == ""  # exactly the mined commit


def test_issues_matched_by_sha_and_by_number_in_message(project, tmp_path):
    repo, shas = project
    again = commit(repo, {"pkg/calc.py": CALC + "# again\n", "tests/test_calc.py": TEST_CALC + "# again\n"}, "Refix #12")
    by_sha = commit(repo, {"pkg/calc.py": CALC + "# sha\n", "tests/test_calc.py": TEST_CALC + "# sha\n"}, "Unrelated #99")
    issues_file = tmp_path / "issues.json"
    issues_file.write_text(
        json.dumps(
            {
                "12": {"number": 12, "title": "No subtraction", "body": "Please add sub."},
                by_sha: {"number": 40, "title": "Comment", "body": None},
            }
        )
    )
    report = mine(repo, repo="acme/calc", issues=load_issues(issues_file))
    by_id = {instance.instance_id: instance for instance in report.instances}
    assert list(by_id) == ["acme__calc-12", "acme__calc-12-2", "acme__calc-40"]
    assert by_id["acme__calc-12"].problem_statement == "No subtraction\n\nPlease add sub."
    assert by_id["acme__calc-12"].extra["mined_from"] == shas["fix"]
    assert by_id["acme__calc-12-2"].extra["mined_from"] == again
    assert by_id["acme__calc-40"].problem_statement == "Comment\n\n"


@pytest.mark.parametrize(
    "content",
    ["[1, 2]", "{not json", json.dumps({"12": {"title": "no number"}}), json.dumps({"12": {"number": 12, "title": 5}})],
)
def test_bad_issues_file_is_a_usage_error(tmp_path, content):
    path = tmp_path / "issues.json"
    path.write_text(content)
    with pytest.raises(UsageError, match="issues file"):
        load_issues(path)


def test_version_from_pyproject_and_warning_when_missing(tmp_path):
    repo = tmp_path / "proj"
    make_repo(repo, {"pyproject.toml": '[project]\nname = "p"\nversion = "1.4.2"\n', "p.py": "x = 1\n"})
    commit(repo, {"p.py": "x = 2\n", "test_p.py": "def test_p():\n    pass\n"}, "Change x")
    assert mine(repo, version_from="pyproject").instances[0].version == "1.4"
    assert mine(repo).instances[0].version == "1.4"  # the release source reads it too
    report = mine(repo, version_from="tag")  # no tags at all
    assert report.instances[0].version == ""
    assert report.warnings == ["version left empty for 1 instance(s): no tag reachable from the base commit"]


@pytest.mark.parametrize(("tag", "version"), [("v0.2.1", "0.2"), ("1.10", "1.10"), ("release-3", "3"), ("nightly", "")])
def test_short_version(tag, version):
    assert short_version(tag) == version


def test_merge_commit_mined_against_first_parent_only_with_merges(tmp_path):
    repo = tmp_path / "merging"
    root = make_repo(repo, {"lib.py": "a = 1\n", "tests/test_lib.py": "def test_a():\n    pass\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"lib.py": "a = 2\n"}, "Code half")
    commit(repo, {"tests/test_lib.py": "def test_a():\n    assert True\n"}, "Test half")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #7 from feature")
    merge = git(repo, "rev-parse", "HEAD")

    without = mine(repo)
    assert without.instances == [] and without.skipped["merge skipped"] == 1

    report = mine(repo, merges=True)
    [instance] = report.instances
    assert instance.extra["mined_from"] == merge
    assert instance.base_commit == root
    assert "-a = 1\n+a = 2\n" in instance.patch
    assert "+    assert True\n" in instance.test_patch
    assert report.skipped == {"root commit": 1, "no test change": 1, "no code change": 1}


def test_bundle_file_as_repository(project, tmp_path):
    repo, shas = project
    bundle = tmp_path / "calc.bundle"
    git(repo, "bundle", "create", str(bundle), "--all")
    report = mine(bundle)
    [instance] = report.instances
    assert instance.repo == "local/calc"
    assert instance.extra["mined_from"] == shas["fix"]
    assert instance.version == "0.2"  # tags travel in the bundle


def test_repository_name_from_origin_url(project, tmp_path):
    repo, _ = project
    git(repo, "remote", "add", "origin", "git@github.com:acme/calc.git")
    assert repository_name(repo) == "acme/calc"
    git(repo, "remote", "set-url", "origin", "https://github.com/acme/calc-two")
    assert repository_name(repo) == "acme/calc-two"
    git(repo, "remote", "set-url", "origin", str(tmp_path / "elsewhere"))
    assert repository_name(repo) == "local/calc"


def test_limit_keeps_most_recent_and_rev_selects_history(project, tmp_path):
    repo, shas = project
    later = commit(repo, {"pkg/calc.py": CALC + "# later\n", "tests/test_calc.py": TEST_CALC + "# later\n"}, "Later")
    assert [i.extra["mined_from"] for i in mine(repo, limit=1).instances] == [later]
    assert [i.extra["mined_from"] for i in mine(repo, rev=shas["docs"]).instances] == [shas["fix"]]


def test_empty_repository_and_unknown_rev_are_usage_errors(project, tmp_path):
    repo, _ = project
    with pytest.raises(UsageError, match="no commit 'nope'"):
        mine(repo, rev="nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(UsageError, match="no commit 'HEAD'"):
        mine(empty)


def invoke(args):
    pm = swegym.get_plugin_manager()
    cli = swegym.cli.build_cli(pm)
    cli.add_command(mine_command)
    return CliRunner().invoke(cli, args, obj=swegym.cli.App(pm))


def test_cli_writes_instances_and_prints_summary(project, tmp_path):
    repo, shas = project
    out = tmp_path / "out" / "mined.jsonl"
    result = invoke(["mine", "--repo-path", str(repo), "--repo", "acme/calc", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [instance] = list(read_instance_file(out))
    assert instance.instance_id == "acme__calc-12"
    record = json.loads(out.read_text())
    assert record["mined_from"] == shas["fix"] and record["FAIL_TO_PASS"] == []
    for line in ("commits scanned", "candidates", "skipped: no test change", "skipped: binary"):
        assert line in result.output
    assert "instances written" in result.output


@pytest.mark.parametrize("make", ["plain directory", "missing path", "bad issues"])
def test_cli_user_errors_are_one_line_with_exit_code_2(project, tmp_path, make):
    repo, _ = project
    args = ["mine", "--out", str(tmp_path / "o.jsonl")]
    if make == "plain directory":
        (tmp_path / "plain").mkdir()
        args += ["--repo-path", str(tmp_path / "plain")]
        expected = "is not a git repository or bundle"
    elif make == "missing path":
        args += ["--repo-path", str(tmp_path / "nowhere")]
        expected = "does not exist"
    else:
        (tmp_path / "issues.json").write_text("[]")
        args += ["--repo-path", str(repo), "--issues", str(tmp_path / "issues.json")]
        expected = "expected a JSON object"
    result = invoke(args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error: ") and expected in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_mined_test_patch_keeps_binary_test_data(tmp_path):
    repo = tmp_path / "data"
    make_repo(repo, {"lib.py": "a = 1\n"})
    sha = commit(repo, {"lib.py": "a = 2\n", "tests/data/blob.bin": b"\x00\x01\x02"}, "With fixture")
    [instance] = mine(repo).instances
    assert "GIT binary patch" in instance.test_patch
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", instance.base_commit)
    (tmp_path / "t.diff").write_text(instance.test_patch)
    git(clone, "apply", str(tmp_path / "t.diff"))
    assert (clone / "tests/data/blob.bin").read_bytes() == (repo / "tests/data/blob.bin").read_bytes()
    assert sha == instance.extra["mined_from"]
