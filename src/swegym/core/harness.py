"""Grading a patch against an instance's tests, with SWE-bench's semantics.

Per instance: apply the model patch (``git apply``, then ``git apply --reject``, then
``patch --fuzz=5``), check the test files out at the base commit, apply the test patch,
run the test command on the test patch's files between start/end markers, record the exit
code, parse the log with the repository's parser, and grade: resolved when every
FAIL_TO_PASS and PASS_TO_PASS test PASSED or XFAILed. A skipped FAIL_TO_PASS test fails;
a log that shows no failure with a non-zero exit code is an error (SWE-bench v5).

The code under test must not grade itself: before the tests run, every pytest
configuration source, conftest.py and Python start-up hook the patch changed is put back
as it was at the base commit (whatever the patch's format), and pytest's per-test outcomes
come from swegym's own pytest plugin, cross-checked against the log and the exit code
(``pytest_guard``); a contradiction grades the instance ``tampered``. Repositories whose
tests do not run under pytest are graded from their log with the repository's parser.
"""

from __future__ import annotations

import secrets
import shlex
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from swegym.core.instance import TaskInstance
from swegym.core.logparsers import get_log_parser
from swegym.core.patches import patch_files, protection_flag, sanitize_model_patch
from swegym.core.pytest_guard import MODULE as GUARD_MODULE
from swegym.core.pytest_guard import GuardSetup, plugin_source, read_verdict
from swegym.core.repository import EnvironmentSpec, RepositorySpec
from swegym.core.results import GradeStatus, GradingResult
from swegym.core.runtime import Runtime, Sandbox
from swegym.core.test_ids import resolve_status
from swegym.core.testfiles import test_directives

START_MARKER = ">>>>> Start Test Output"
END_MARKER = ">>>>> End Test Output"
EXIT_MARKER = ">>>>> Test Exit Code: "
SUCCESS = frozenset({"PASSED", "XFAIL"})
FAILURE = frozenset({"FAILED", "ERROR"})
APPLY_COMMANDS = (
    "git apply --verbose {patch}",
    "git apply --verbose --reject {patch}",
    "patch --batch --fuzz=5 -p1 -i {patch}",
)
# Files that configure pytest or run code at Python's start-up: the test run always sees
# them as at the base commit (plus the test patch), whatever the model patch did to them.
CONFIG_FILES = r"(^|/)(conftest\.py|\.?pytest\.(ini|toml)|tox\.ini|setup\.cfg|pyproject\.toml|sitecustomize\.py|usercustomize\.py|[^/]*\.pth)$"


@attrs.frozen
class EvalRun:
    """One run of an instance's tests in a sandbox."""

    statuses: Mapping[str, str]
    exit_code: int | None
    log: str
    timed_out: bool
    duration_s: float
    eval_script: str
    tampered: tuple[str, ...] = ()
    channel: str = "log"


def eval_script(instance: TaskInstance, spec: EnvironmentSpec, *, workdir: str, test_patch_path: str) -> str:
    """The bash script that resets the test files, applies the test patch and runs the tests."""
    test_files = patch_files(instance.test_patch)
    quoted = " ".join(shlex.quote(path) for path in test_files)
    directives = " ".join(shlex.quote(path) for path in test_directives(test_files))
    commit = shlex.quote(instance.base_commit)
    lines = [f"cd {shlex.quote(workdir)}", *spec.eval_commands, restore_config_script(commit)]
    if test_files:
        # Discard any edit to the instance's test files; files the test patch creates are removed.
        lines.append(f"for f in {quoted}; do git checkout -q {commit} -- \"$f\" 2>/dev/null || rm -f \"$f\"; done")
    if instance.test_patch.strip():
        lines.append(f"git apply --verbose {shlex.quote(test_patch_path)}")
    lines += [
        f"echo {shlex.quote(START_MARKER)}",
        f"{spec.test_cmd} {directives}".rstrip(),
        f"echo \"{EXIT_MARKER}$?\"",
        f"echo {shlex.quote(END_MARKER)}",
    ]
    if test_files:
        lines.append(f"for f in {quoted}; do git checkout -q {commit} -- \"$f\" 2>/dev/null || rm -f \"$f\"; done")
    return "\n".join(lines) + "\n"


def restore_config_script(commit: str) -> str:
    """Bash that puts every changed or new pytest configuration/start-up file back as at ``commit``."""
    return (
        f"{{ git diff -z --name-only --no-renames {commit}; git ls-files -z --others; }} | grep -zE '{CONFIG_FILES}' | "
        f"while IFS= read -r -d '' f; do git checkout -q {commit} -- \"$f\" 2>/dev/null || rm -f -- \"$f\"; done"
    )


def protect_tree(sandbox: Sandbox, instance: TaskInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Undo edits to test files and configuration in the work tree, whatever the diff format
    was; returns (flags, every path the applied patch changed)."""
    result = sandbox.exec("git -c core.quotepath=off status --porcelain=v1 -z --untracked-files=all --no-renames", timeout=120)
    touched = tuple(entry[3:] for entry in result.output.split("\0") if len(entry) > 3)
    protected = set(patch_files(instance.test_patch))
    flags, restore = set(), []
    for path in touched:
        flag = protection_flag(path, protected)
        if flag:
            flags.add(flag)
            restore.append(path)
    if restore:
        commit = shlex.quote(instance.base_commit)
        quoted = " ".join(shlex.quote(path) for path in restore)
        sandbox.exec(f"for f in {quoted}; do git checkout -q {commit} -- \"$f\" 2>/dev/null || rm -f -- \"$f\"; done", timeout=120)
    return tuple(sorted(flags)), touched


def apply_patch(sandbox: Sandbox, patch: str, *, name: str = "model.patch") -> tuple[bool, str]:
    """Apply ``patch`` in the sandbox with SWE-bench's fallbacks; returns (applied, log)."""
    path = f"{sandbox.state_dir}/swegym-{name}"
    sandbox.write_file(path, patch if patch.endswith("\n") else patch + "\n")
    log = []
    for template in APPLY_COMMANDS:
        command = template.format(patch=shlex.quote(path))
        result = sandbox.exec(command, timeout=120)
        log.append(f"$ {command}\n{result.output}")
        if result.exit_code == 0:
            return True, "".join(log)
        sandbox.exec("git checkout -q -- . && git clean -fdq -e '*.rej'", timeout=120)  # undo partial applies
    return False, "".join(log)


def run_tests(
    sandbox: Sandbox, instance: TaskInstance, spec: EnvironmentSpec, *, timeout: float, touched: tuple[str, ...] = ()
) -> EvalRun:
    """Apply the test patch and run the instance's tests on the sandbox as it is now.

    :param touched: the work tree's paths the model patch changed (hooks there are suspect).
    """
    test_patch_path = f"{sandbox.state_dir}/swegym-test.patch"
    if instance.test_patch.strip():
        sandbox.write_file(test_patch_path, instance.test_patch)
    guard = GuardSetup(f"{sandbox.state_dir}/swegym-guard-{secrets.token_hex(6)}")
    sandbox.write_file(f"{guard.directory}/{GUARD_MODULE}.py", plugin_source())
    script = eval_script(instance, spec, workdir=sandbox.workdir, test_patch_path=test_patch_path)
    result = sandbox.exec(script, timeout=timeout, env=guard.env())
    section, exit_code = _test_section(result.output)
    log_statuses = get_log_parser(spec.log_parser)(section) if section else {}
    try:
        record = sandbox.read_file(guard.result_path)
    except OSError:
        record = ""
    verdict = read_verdict(
        record, guard.nonce, exit_code=exit_code, log=section, log_statuses=log_statuses, touched=touched
    )
    if verdict.statuses is None:  # the tests did not run under pytest: SWE-bench's log parsing
        return EvalRun(log_statuses, exit_code, result.output, result.timed_out, result.duration_s, script, verdict.tampered)
    return EvalRun(
        dict(verdict.statuses), exit_code, result.output, result.timed_out, result.duration_s, script, verdict.tampered, "pytest_plugin"
    )


def _test_section(log: str) -> tuple[str, int | None]:
    start = log.find(START_MARKER)
    if start == -1:
        return "", None
    end = log.find(END_MARKER, start)
    section = log[start + len(START_MARKER) : end if end != -1 else len(log)]
    exit_code = None
    marker = section.rfind(EXIT_MARKER)
    if marker != -1:
        digits = section[marker + len(EXIT_MARKER) :].split("\n", 1)[0].strip()
        exit_code = int(digits) if digits.lstrip("-").isdigit() else None
        section = section[:marker]
    return section, exit_code


def status_of(statuses: Mapping[str, str], test: str) -> str | None:
    """A test's status; an id cut at its first space (SWE-bench's form) needs all its tests to pass."""
    return resolve_status(statuses, test)


def status_block(instance: TaskInstance, statuses: Mapping[str, str]) -> dict[str, dict[str, list[str]]]:
    """SWE-bench's tests_status block."""
    report: dict[str, dict[str, list[str]]] = {}
    for category, tests in (("FAIL_TO_PASS", instance.FAIL_TO_PASS), ("PASS_TO_PASS", instance.PASS_TO_PASS)):
        success = [t for t in tests if status_of(statuses, t) in SUCCESS]
        failure = [t for t in tests if status_of(statuses, t) not in SUCCESS]
        report[category] = {"success": success, "failure": failure}
    report["FAIL_TO_FAIL"] = {"success": [], "failure": []}
    report["PASS_TO_FAIL"] = {"success": [], "failure": []}
    return report


def grade_run(instance: TaskInstance, run: EvalRun, *, flags: Iterable[str] = ()) -> GradingResult:
    """Grade a test run: resolved, unresolved, timeout or error."""
    block = status_block(instance, run.statuses)
    flags = tuple(flags)
    common = dict(
        instance_id=instance.instance_id,
        patch_exists=True,
        patch_applied=True,
        tests_status=block,
        test_exit_code=run.exit_code,
        flags=flags,
        test_duration_s=run.duration_s,
    )
    common["results_channel"] = run.channel
    if run.tampered:
        reason = "tampering: " + "; ".join(run.tampered)
        return GradingResult(status=GradeStatus.TAMPERED, reason=reason, **common)
    if run.timed_out:
        return GradingResult(status=GradeStatus.TIMEOUT, reason="the tests timed out and were killed", **common)
    if not run.statuses:
        reason = "no test results in the log (the test command did not run or collect)"
        return GradingResult(status=GradeStatus.ERROR, reason=reason, **common)
    failed = {t: s for t, s in run.statuses.items() if s in FAILURE}
    all_pass = all(not tests["failure"] for key, tests in block.items() if key in ("FAIL_TO_PASS", "PASS_TO_PASS"))
    if not failed and run.exit_code not in (0, None):
        reason = f"the test command exited {run.exit_code} but its log shows no failure"
        return GradingResult(status=GradeStatus.ERROR, reason=reason, **common)
    if all_pass and instance.FAIL_TO_PASS:
        return GradingResult(status=GradeStatus.RESOLVED, **common)
    missing = [t for t in (*instance.FAIL_TO_PASS, *instance.PASS_TO_PASS) if status_of(run.statuses, t) is None]
    broken = block["FAIL_TO_PASS"]["failure"] + block["PASS_TO_PASS"]["failure"]
    reason = f"{len(broken)} required test(s) not passing" + (f" ({len(missing)} missing from the log)" if missing else "")
    if not instance.FAIL_TO_PASS:
        reason = "the instance has no FAIL_TO_PASS tests (not validated?)"
    return GradingResult(status=GradeStatus.UNRESOLVED, reason=reason, **common)


@attrs.frozen
class Grading:
    """A grading result with the artifacts SWE-bench keeps per instance."""

    result: GradingResult
    patch: str
    eval_script: str = ""
    test_output: str = ""
    log: str = ""


def grade(
    runtime: Runtime,
    repo: RepositorySpec,
    instance: TaskInstance,
    patch: str | None,
    *,
    timeout: float = 1800,
) -> Grading:
    """Grade ``patch`` on ``instance`` in a fresh sandbox of ``runtime``."""
    started = time.monotonic()
    if patch is None or not patch.strip():
        result = GradingResult(instance.instance_id, GradeStatus.EMPTY_PATCH, reason="empty patch")
        return Grading(result, patch or "")
    sanitized = sanitize_model_patch(patch, instance.test_patch)
    log = [f"instance {instance.instance_id} at {instance.base_commit}"]
    if sanitized.removed:
        log.append(f"removed from the model patch before grading ({', '.join(sanitized.flags)}): {', '.join(sanitized.removed)}")
    spec = repo.environment(instance.version)
    with runtime.sandbox(repo, instance) as sandbox:
        log.append(f"sandbox ready in {time.monotonic() - started:.2f}s ({sandbox.environment.key})")
        applied, apply_log = (True, "nothing left to apply\n") if not sanitized.patch.strip() else apply_patch(sandbox, sanitized.patch)
        tree_flags: tuple[str, ...] = ()
        touched: tuple[str, ...] = ()
        log.append(apply_log)
        if applied:
            tree_flags, touched = protect_tree(sandbox, instance)
            if tree_flags:
                log.append(f"restored in the work tree before the tests ({', '.join(tree_flags)})")
        if not applied:
            result = GradingResult(
                instance.instance_id,
                GradeStatus.PATCH_FAILED,
                patch_exists=True,
                flags=sanitized.flags,
                reason="the patch does not apply (git apply, git apply --reject, patch --fuzz=5)",
                duration_s=time.monotonic() - started,
                isolation=sandbox.isolation,
            )
            return Grading(result, patch, log="\n".join(log))
        run = run_tests(sandbox, instance, spec, timeout=timeout, touched=touched)
    mismatch = ("python_version_mismatch",) if sandbox.environment.notes else ()
    flags = tuple(sorted(set(sanitized.flags) | set(tree_flags))) + mismatch
    result = attrs.evolve(
        grade_run(instance, run, flags=flags),
        duration_s=time.monotonic() - started,
        isolation=sandbox.isolation,
        environment=sandbox.environment.summary(),
    )
    log.append(f"graded {result.status.value} in {result.duration_s:.2f}s (tests {run.duration_s:.2f}s)")
    return Grading(result, patch, eval_script=run.eval_script, test_output=run.log, log="\n".join(log))


def write_artifacts(grading: Grading, directory: Path) -> None:
    """SWE-bench's per-instance files; report.json is written last, atomically."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "patch.diff").write_text(grading.patch)
    (directory / "eval.sh").write_text(grading.eval_script)
    (directory / "test_output.txt").write_text(grading.test_output)
    (directory / "run_instance.log").write_text(grading.log + "\n")
    tmp = directory / "report.json.tmp"
    tmp.write_text(json.dumps(grading.result.to_report(), indent=4))
    tmp.replace(directory / "report.json")
