"""Mining task instances from a git history: commits that change code together with its tests.

One ``git log --raw`` lists every commit with the files it changes (trees only, no blob is
read); only commits that change at least one test file and one non-test file are diffed, into
``patch`` (code) and ``test_patch`` (tests), both applying with ``git apply`` at the parent
commit. ``mine_commit`` reads one commit, for ``mine --rev``/``--pr``. A mirror that lacks a
blob (a partial clone, a damaged pack) costs only the instances that need it, each named.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import attrs

from swegym.core.errors import UsageError
from swegym.core.git_source import GIT_ENV, GitSourceError, run_git
from swegym.core.instance import TaskInstance
from swegym.core.testfiles import is_test_file
from swegym.core.versions import release_version, short_version, spec_version

VERSION_SOURCES = ("release", "tag", "pyproject")
# Record and field separators: bytes that do not occur in commit messages.
LOG_FORMAT = "%x1e%H %P%x1f%ct%x1f%B%x1f"
ISSUE_REFERENCE = re.compile(r"(?<![\w&])#(\d+)\b")
# GitHub's subjects for a merged pull request: its merge commit, and a squash merge.
MERGE_SUBJECT = re.compile(r"^Merge pull request #(\d+)\b")
SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*$")
PYPROJECT_VERSION = re.compile(r"""^version\s*=\s*["']([^"']+)["']""", re.M)
MISSING_OBJECT = re.compile(r"(?:unable to read|bad object|missing blob|could not read)\s*:?\s*([0-9a-f]{7,40})?", re.I)
# https://host/owner/name(.git), ssh://host/owner/name, git@host:owner/name; not file:// or paths.
REMOTE_URL = re.compile(
    r"^(?:[\w+.-]+://(?!/)[^/]+/|[\w.-]+@[\w.-]+:)"  # scheme://host/ or user@host:
    r"(?:.*/)?(?P<owner>[^/:]+)/(?P<name>[^/]+?)(?:\.git)?/?$"
)


@attrs.frozen
class Issue:
    """An issue from an issues file; its title and body become the problem statement."""

    number: int
    title: str
    body: str = ""

    @property
    def problem_statement(self) -> str:
        return f"{self.title}\n\n{self.body}"


@attrs.frozen
class Commit:
    """A commit as ``git log`` lists it; a merge's files are those changed from its first parent."""

    sha: str
    parents: tuple[str, ...]
    timestamp: int
    message: str
    files: tuple[str, ...]
    binary: frozenset[str] = frozenset()

    @property
    def test_files(self) -> list[str]:
        return [path for path in self.files if is_test_file(path)]

    @property
    def code_files(self) -> list[str]:
        return [path for path in self.files if not is_test_file(path)]


@attrs.define
class MiningReport:
    """What ``mine`` found: counts for the summary, the instances, and warnings for the user."""

    scanned: int = 0
    skipped: Counter[str] = attrs.field(factory=Counter)
    instances: list[TaskInstance] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)

    @property
    def candidates(self) -> int:
        """Commits with one parent (and merges when mined): those whose files were looked at."""
        return self.scanned - self.skipped["root commit"] - self.skipped["merge skipped"]


def mine(
    path: str | os.PathLike[str],
    *,
    repo: str | None = None,
    rev: str = "HEAD",
    merges: bool = False,
    limit: int | None = None,
    issues: Mapping[str, Issue] | None = None,
    version_from: str = "release",
    spec_versions: Sequence[str] = (),
) -> MiningReport:
    """Task instances from the commits reachable from ``rev`` in the repository or bundle at ``path``.

    ``merges`` also mines merge commits against their first parent; ``limit`` keeps the most
    recent instances; ``issues`` (see ``load_issues``) supplies problem statements;
    ``spec_versions`` (the repository's environment versions) maps each release onto one.
    """
    _check_version_source(version_from)
    name = repo or repository_name(path)
    with open_repository(path) as git_dir:
        commits = list_commits(git_dir, _resolve(git_dir, path, rev), merges=merges)
        report = MiningReport(scanned=len(commits))
        qualifying = []
        for commit in commits:
            reason = skip_reason(commit, merges=merges)
            if reason:
                report.skipped[reason] += 1
            else:
                qualifying.append(commit)
        # Newest first, so that --limit keeps the most recent instances.
        diffed: list[tuple[Commit, str, str]] = []
        for commit in reversed(qualifying):
            if limit is not None and len(diffed) >= limit:
                break
            try:
                patches = _patches(git_dir, commit)
            except MissingObjectsError as exc:
                report.skipped["objects missing from the mirror"] += 1
                report.warnings.append(f"{commit.sha[:12]}: {exc}")
                continue
            if isinstance(patches, str):
                report.skipped[patches] += 1
                continue
            diffed.append((commit, *patches))
        _build_instances(report, git_dir, name, reversed(diffed), issues or {}, version_from, spec_versions)
    return report


def mine_commit(
    path: str | os.PathLike[str],
    rev: str,
    *,
    repo: str | None = None,
    issues: Mapping[str, Issue] | None = None,
    version_from: str = "release",
    spec_versions: Sequence[str] = (),
) -> MiningReport:
    """The task instance made from the one commit ``rev`` (a merge against its first parent).

    Reads only that commit, its parent's files and the version sources; a commit that does not
    qualify is a ``UsageError`` saying why.
    """
    _check_version_source(version_from)
    name = repo or repository_name(path)
    with open_repository(path) as git_dir:
        sha = _resolve(git_dir, path, rev)
        [commit] = list_commits(git_dir, sha, merges=True, single=True)
        reason = skip_reason(commit, merges=True)
        if reason is None:
            patches = _patches(git_dir, commit)
            reason = patches if isinstance(patches, str) else None
        if reason is not None:
            raise UsageError(f"{rev} ({sha[:12]}) does not qualify as a task instance: {_explain(reason, commit)}")
        report = MiningReport(scanned=1)
        _build_instances(report, git_dir, name, [(commit, *patches)], issues or {}, version_from, spec_versions)
    return report


def find_pull_request(path: str | os.PathLike[str], number: int, *, rev: str = "HEAD") -> str:
    """The commit that merged pull request ``number`` into ``rev``'s history.

    GitHub's merge commit ("Merge pull request #N from ...") or squash commit ("Title (#N)"),
    else the pull request's head when a ``refs/pull/N/head`` ref is an ancestor of ``rev``
    (a rebase merge). Commit messages only are read, no trees or blobs.
    """
    with open_repository(path) as git_dir:
        tip = _resolve(git_dir, path, rev)
        patterns = [f"^Merge pull request #{number}( |$)", rf"\(#{number}\)$"]
        args = ["log", "--format=%H%x1f%s", "-E", *(f"--grep={p}" for p in patterns), tip]
        found = run_git(args, cwd=git_dir, check=False)
        for line in found.stdout.splitlines():
            sha, _, subject = line.partition("\x1f")
            if re.search(patterns[0], subject) or re.search(patterns[1], subject):
                return sha
        head = run_git(["rev-parse", "--verify", "--quiet", f"refs/pull/{number}/head"], cwd=git_dir, check=False)
        if head.returncode == 0:
            ancestor = run_git(["merge-base", "--is-ancestor", head.stdout.strip(), tip], cwd=git_dir, check=False)
            if ancestor.returncode == 0:
                return head.stdout.strip()
        raise UsageError(
            f"{path}: no commit merged pull request #{number} into {rev} (looked for 'Merge pull request "
            f"#{number}' and '(#{number})' in commit subjects, and refs/pull/{number}/head)"
        )


def _build_instances(
    report: MiningReport,
    git_dir: Path,
    name: str,
    diffed: Iterable[tuple[Commit, str, str]],
    issues: Mapping[str, Issue],
    version_from: str,
    spec_versions: Sequence[str],
) -> None:
    """Instances from diffed commits, oldest first, with ids, problem statements and versions."""
    seen: Counter[str] = Counter()
    package = name.rpartition("/")[2].lower()
    for commit, patch, test_patch in diffed:
        issue = match_issue(commit, issues)
        instance_id = f"{name.replace('/', '__')}-{_id_number(commit, issue)}"
        seen[instance_id] += 1
        if seen[instance_id] > 1:
            instance_id += f"-{seen[instance_id]}"
        base = commit.parents[0]
        release, source = version_with_source(git_dir, base, version_from, package=package)
        version, note = spec_version(release, spec_versions)
        extra = {"mined_from": commit.sha, "version_source": source}
        if note:
            extra["version_note"] = note
            report.warnings.append(f"{instance_id}: {note}")
        report.instances.append(
            TaskInstance(
                instance_id=instance_id,
                repo=name,
                base_commit=base,
                patch=patch,
                test_patch=test_patch,
                problem_statement=issue.problem_statement if issue else commit.message,
                created_at=_iso_utc(commit.timestamp),
                version=version,
                environment_setup_commit=base,
                extra=extra,
            )
        )
    unversioned = sum(1 for instance in report.instances if not instance.version)
    if unversioned:
        where = {
            "tag": "no tag reachable",
            "pyproject": "no version in pyproject.toml",
            "release": "no version file and no tag",
        }[version_from]
        report.warnings.append(f"version left empty for {unversioned} instance(s): {where} from the base commit")


def _check_version_source(version_from: str) -> None:
    if version_from not in VERSION_SOURCES:
        choices = ", ".join(VERSION_SOURCES)
        raise UsageError(f"unknown version source {version_from!r}; choose one of {choices}")


def _resolve(git_dir: Path, path: str | os.PathLike[str], rev: str) -> str:
    resolved = run_git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=git_dir, check=False)
    if resolved.returncode != 0:
        raise UsageError(f"{path}: no commit {rev!r} (is the repository empty?)")
    return resolved.stdout.strip()


def _explain(reason: str, commit: Commit) -> str:
    files = ", ".join(commit.files[:5]) + (" ..." if len(commit.files) > 5 else "")
    return {
        "root commit": "it is the root commit (no parent to diff against)",
        "no test change": f"it changes no test file (it changes {files or 'nothing'})",
        "no code change": f"it changes only test files ({files})",
        "binary": "a code file it changes is binary",
    }.get(reason, reason)


def skip_reason(commit: Commit, *, merges: bool = False) -> str | None:
    """Why a commit is not a task instance, or None when it changes code and tests as text."""
    if not commit.parents:
        return "root commit"
    if len(commit.parents) > 1 and not merges:
        return "merge skipped"
    if not commit.test_files:
        return "no test change"
    if not commit.code_files:
        return "no code change"
    if commit.binary.intersection(commit.code_files):
        return "binary"
    return None


def list_commits(
    git_dir: str | os.PathLike[str], rev: str = "HEAD", *, merges: bool = False, single: bool = False
) -> list[Commit]:
    """Commits reachable from ``rev`` (only ``rev`` when ``single``), oldest first, with the files they change.

    ``--raw`` compares trees only: no blob is read, so a mirror lacking old blobs lists fine.
    """
    diff_merges = f"--diff-merges={'first-parent' if merges else 'off'}"
    args = ["log", "--date-order", "--reverse", "--no-renames", "--raw", "--no-abbrev", "-z", diff_merges]
    if single:
        args.append("--max-count=1")
    output = _git([*args, f"--format={LOG_FORMAT}", rev, "--"], git_dir)
    # surrogateescape keeps odd bytes in file names intact for the later ``git diff``.
    output = output.decode("utf-8", "surrogateescape")
    commits = []
    for record in output.split("\x1e")[1:]:
        shas, timestamp, message, stats = record.split("\x1f", 3)
        sha, *parents = shas.split()
        # Entries alternate ":<modes> <shas> <status>" and the path.
        entries = stats.lstrip("\0\n").split("\0")
        files = [entries[i + 1] for i, entry in enumerate(entries[:-1]) if entry.startswith(":")]
        commits.append(Commit(sha, tuple(parents), int(timestamp), message.strip(), tuple(files)))
    return commits


def _id_number(commit: Commit, issue: Issue | None) -> str:
    """The matched issue's number, else the pull request's (as in SWE-bench), else the first ``#N``, else the short SHA."""
    if issue:
        return str(issue.number)
    subject = commit.message.partition("\n")[0]
    pull_request = MERGE_SUBJECT.search(subject) or SQUASH_SUBJECT.search(subject)
    if pull_request:
        return pull_request[1]
    referenced = ISSUE_REFERENCE.findall(commit.message)
    return referenced[0] if referenced else commit.sha[:8]


def match_issue(commit: Commit, issues: Mapping[str, Issue]) -> Issue | None:
    """The issue keyed by the commit's SHA, else by the first known ``#N`` in its message."""
    if commit.sha in issues:
        return issues[commit.sha]
    for number in ISSUE_REFERENCE.findall(commit.message):
        if number in issues:
            return issues[number]
    return None


def load_issues(path: str | os.PathLike[str]) -> dict[str, Issue]:
    """Read a JSON object mapping full commit SHAs or issue numbers to ``{number, title, body}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"issues file {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"issues file {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"issues file {path}: expected a JSON object of commit SHAs or issue numbers")
    issues = {}
    for key, value in data.items():
        if not (
            isinstance(value, dict)
            and isinstance(value.get("number"), int)
            and isinstance(value.get("title"), str)
            and isinstance(value.get("body") or "", str)
        ):
            expected = '{"number": int, "title": str, "body": str}'
            raise UsageError(f"issues file {path}: entry {key!r} is not {expected}")
        issues[key.strip().lower()] = Issue(value["number"], value["title"], value.get("body") or "")
    return issues


def version_with_source(
    git_dir: str | os.PathLike[str], commit: str, source: str = "release", *, package: str = ""
) -> tuple[str, str]:
    """The ``major.minor`` version at ``commit`` and where it came from (see ``swegym.core.versions``)."""
    if source == "release":
        found = release_version(git_dir, commit, package=package)
        return found.version, found.source
    if source == "tag":
        result = run_git(["describe", "--tags", "--abbrev=0", commit], cwd=git_dir, check=False)
        found = result.stdout.strip() if result.returncode == 0 else ""
        return short_version(found), f"nearest tag: {found}" if found else "no tag"
    result = run_git(["show", f"{commit}:pyproject.toml"], cwd=git_dir, check=False)
    match = PYPROJECT_VERSION.search(result.stdout) if result.returncode == 0 else None
    return short_version(match[1] if match else ""), f"pyproject.toml: {match[1]}" if match else "no pyproject version"


def version_at(git_dir: str | os.PathLike[str], commit: str, source: str = "release") -> str:
    """The ``major.minor`` version at ``commit``, or ""."""
    return version_with_source(git_dir, commit, source)[0]


def repository_name(path: str | os.PathLike[str]) -> str:
    """``owner/name`` from the origin remote's URL, else ``local/<directory or bundle name>``."""
    path = Path(path).expanduser()
    if path.is_dir():
        url = run_git(["config", "--get", "remote.origin.url"], cwd=path, check=False).stdout
        match = REMOTE_URL.match(url.strip())
        if match:
            return f"{match['owner']}/{match['name']}"
    stem = path.resolve().name
    for suffix in (".git", ".bundle"):
        stem = stem.removesuffix(suffix)
    return f"local/{stem}"


@contextlib.contextmanager
def open_repository(path: str | os.PathLike[str]) -> Iterator[Path]:
    """The git directory to read: ``path`` (a work tree or bare), or a temporary clone of a bundle."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if path.is_file():
        with tempfile.TemporaryDirectory(prefix="swegym-mine-") as tmp:
            clone = Path(tmp) / "repository.git"
            cloned = run_git(["clone", "--bare", "--quiet", str(path), str(clone)], check=False)
            if cloned.returncode != 0:
                raise UsageError(f"{path} is not a git repository or bundle")
            yield clone
        return
    if not ((path / ".git").exists() or (path / "HEAD").is_file() and (path / "objects").is_dir()):
        raise UsageError(f"{path} is not a git repository or bundle")
    yield path


class MissingObjectsError(GitSourceError):
    """The repository lacks objects a diff needs (a partial clone, a damaged or trimmed mirror)."""


def _patches(git_dir: Path, commit: Commit) -> tuple[str, str] | str:
    """``(patch, test_patch)`` of a qualifying commit, or why it does not qualify after all."""
    binary = _binary_files(git_dir, commit)
    if binary.intersection(commit.code_files):
        return "binary"
    patch = _diff(git_dir, commit, commit.code_files, binary)
    test_patch = _diff(git_dir, commit, commit.test_files, binary)
    if patch is None or test_patch is None:
        return "binary"  # not UTF-8 text: no patch JSONL can carry
    return patch, test_patch


def _binary_files(git_dir: Path, commit: Commit) -> set[str]:
    output = _git(["diff", "--numstat", "-z", "--no-renames", commit.parents[0], commit.sha, "--"], git_dir)
    entries = output.decode("utf-8", "surrogateescape").split("\0")
    # numstat marks a binary file with "-" for its added and deleted line counts.
    return {entry.split("\t", 2)[2] for entry in entries if entry.count("\t") >= 2 and entry.startswith("-\t")}


def _diff(git_dir: Path, commit: Commit, files: list[str], binary: set[str]) -> str | None:
    """``git diff`` of ``files`` against the first parent, or None when it is not UTF-8 text."""
    # Binary test data (fixtures) travels as a binary patch, which ``git apply`` accepts.
    as_binary = ["--binary"] if binary.intersection(files) else []
    args = ["diff", "--no-color", "--no-ext-diff", "--no-renames", "--src-prefix=a/", "--dst-prefix=b/"]
    try:
        return _git([*args, *as_binary, commit.parents[0], commit.sha, "--", *files], git_dir).decode()
    except UnicodeDecodeError:
        return None


def _iso_utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(args: list[str], cwd: str | os.PathLike[str]) -> bytes:
    """git's exact stdout: run_git's text mode would turn CRLF into LF and break patches."""
    env = {**os.environ, **GIT_ENV, "GIT_LITERAL_PATHSPECS": "1"}  # file names are not globs
    # A partial clone would fetch a missing blob from its remote: mining reads what is here.
    env["GIT_NO_LAZY_FETCH"] = "1"
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=env)
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace")
        missing = sorted({m[1] for m in MISSING_OBJECT.finditer(stderr) if m[1]})
        if MISSING_OBJECT.search(stderr):
            objects = ", ".join(missing) or "some objects"
            raise MissingObjectsError(
                f"the repository at {cwd} lacks {objects}, which git {args[0]} needs; fetch them "
                f"(git -C {cwd} fetch origin {' '.join(missing) or '<sha>'}) or use a full clone, not "
                f"a partial one (--filter) or a trimmed mirror"
            )
        detail = (stderr.strip().splitlines() or ["no output"])[-1]
        raise GitSourceError(f"git {args[0]} failed: {detail}")
    return result.stdout
