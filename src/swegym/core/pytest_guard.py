"""Per-test outcomes from swegym's pytest plugin, cross-checked against the test log.

The tested code runs inside pytest and can print anything, so outcomes are not read from
its log when pytest ran: the grader's plugin (``pytest_guard_plugin.py``) records them
from pytest's hooks into a file, and this module turns that record into statuses and
checks it for signs of tampering. A run is tampered when:

- the result file holds lines the plugin did not write (wrong nonce, not JSON);
- pytest exited 0 without finishing its session (``os._exit`` from tested code), or its
  session ended with a failure status but the test command exited 0;
- a report was rewritten between pytest's runner and its log (a hook wrapper), or
  pytest's runner functions were replaced;
- a hook implementation lives in a file the patch changed, or in code with no file;
- pytest's summary line in the log, or a PASSED line in it, disagrees with what pytest
  reported through the plugin.

This is a defence against the known attacks, not a proof: code in the pytest process can,
with enough effort aimed at swegym, read the plugin's memory. The sandbox keeps such code
away from the grader itself.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

MODULE = "swegym_pytest_guard"
RESULT_FILE = "outcomes.jsonl"
SUCCESS = frozenset({"PASSED", "XFAIL"})
_SUMMARY = re.compile(r"^=*\s*((?:\d+ [a-z]+(?:, )?)+)(?: in [\d.]+s.*)?\s*=*\s*$")
_COUNT = re.compile(r"(\d+) ([a-z]+)")
_COUNTED = {"passed": "passed", "failed": "failed", "error": "error", "errors": "error", "skipped": "skipped",
            "xfailed": "xfailed", "xpassed": "xpassed"}


def plugin_source() -> str:
    return (Path(__file__).parent / "pytest_guard_plugin.py").read_text()


@attrs.frozen
class GuardSetup:
    """Where the plugin lives in a sandbox, and the environment that loads it."""

    directory: str
    nonce: str = attrs.field(factory=lambda: secrets.token_hex(12))

    @property
    def result_path(self) -> str:
        return f"{self.directory}/{RESULT_FILE}"

    def env(self) -> dict[str, str]:
        return {
            "PYTHONPATH": self.directory,
            "PYTEST_ADDOPTS": f"-p {MODULE} -p no:cacheprovider",
            "SWEGYM_GUARD_FILE": self.result_path,
            "SWEGYM_GUARD_NONCE": self.nonce,
        }


@attrs.frozen
class GuardVerdict:
    """What the plugin's record says: statuses (None when pytest did not run) and tampering."""

    statuses: Mapping[str, str] | None
    tampered: tuple[str, ...] = ()
    complete: bool = False


def read_verdict(
    text: str,
    nonce: str,
    *,
    exit_code: int | None,
    log: str,
    log_statuses: Mapping[str, str],
    touched: Iterable[str],
) -> GuardVerdict:
    """Statuses and tampering reasons from the plugin's result file ``text``."""
    records, problems = [], []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            problems.append("the result channel holds a line the grader's plugin did not write")
            continue
        if not isinstance(record, dict) or record.get("nonce") != nonce:
            problems.append("the result channel holds a record with a forged nonce")
            continue
        records.append(record)
    starts = [r for r in records if r.get("event") == "start"]
    if not starts:
        return GuardVerdict(None, tuple(dict.fromkeys(problems)))
    finish = next((r for r in records if r.get("event") == "finish"), None)
    reports = [r for r in records if r.get("event") == "report"]
    statuses = _statuses(reports)
    problems += _check_reports(reports)
    if len(starts) > 1:
        problems.append("pytest started more than once with the grader's plugin in one test run")
    if finish is None:
        if exit_code == 0:
            problems.append("pytest exited 0 without finishing its session (os._exit from tested code?)")
    else:
        problems += _check_finish(finish, exit_code=exit_code, log=log, touched=touched, reports=reports)
    for test, status in log_statuses.items():
        if status in SUCCESS and test in statuses and statuses[test] not in SUCCESS:
            problems.append(f"the log shows {test} {status} but pytest reported it {statuses[test]}")
            break
    return GuardVerdict(statuses, tuple(dict.fromkeys(problems)), complete=finish is not None)


def _statuses(reports: list[dict]) -> dict[str, str]:
    """SWE-bench's statuses (PASSED, FAILED, SKIPPED, ERROR, XFAIL) per test id."""
    statuses: dict[str, str] = {}
    for report in reports:
        nodeid, when, outcome = report.get("nodeid"), report.get("when"), report.get("outcome")
        if not isinstance(nodeid, str):
            continue
        if outcome == "failed":
            statuses[nodeid] = "FAILED" if when == "call" else "ERROR"
        elif statuses.get(nodeid) in ("FAILED", "ERROR"):
            continue
        elif outcome == "xfailed":
            statuses[nodeid] = "XFAIL"
        elif outcome == "skipped":
            statuses[nodeid] = "SKIPPED"
        elif outcome == "passed" and when == "call":
            statuses[nodeid] = "PASSED"
        elif outcome == "xpassed" and when == "call":
            statuses.pop(nodeid, None)  # as SWE-bench's parser, which has no XPASS status
    return statuses


def _check_reports(reports: list[dict]) -> list[str]:
    """A report that became a success (passed, xfailed) after pytest's runner made it."""
    for report in reports:
        made, logged = report.get("made"), report.get("outcome")
        if made is None or made == logged or logged not in ("passed", "xfailed"):
            continue
        if logged == "xfailed" and made in ("failed", "skipped") and report.get("xfail_ok"):
            continue  # pytest's skipping plugin applying an xfail marker or pytest.xfail()
        return [
            f"the report of {report.get('nodeid')} ({report.get('when')}) was rewritten after pytest made it "
            f"({made} -> {logged})"
        ]
    return []


def _check_finish(finish: dict, *, exit_code: int | None, log: str, touched: Iterable[str], reports: list[dict]) -> list[str]:
    problems = []
    status = finish.get("exitstatus")
    if isinstance(status, int) and status != 0 and exit_code == 0:
        problems.append(f"pytest's session ended with exit status {status} but the test command exited 0")
    if finish.get("runner_replaced"):
        problems.append(f"pytest's runner was replaced during the run: {', '.join(finish['runner_replaced'])}")
    if finish.get("unlogged"):
        problems.append(f"reports made but never logged: {', '.join(finish['unlogged'][:3])}")
    # The work tree may be mounted at more than one place (local: also where the environment
    # was built): a source matches a touched path by its ending.
    touched_suffixes = tuple("/" + path for path in touched if path.endswith(".py"))
    for source in finish.get("hook_sources", []):
        if not str(source).startswith("/"):
            problems.append(f"a pytest hook is implemented by code with no file ({source})")
        elif touched_suffixes and str(source).endswith(touched_suffixes):
            problems.append(f"a pytest hook is implemented in {source}, a file the patch changed")
    counts = {key: value for key, value in (finish.get("counts") or {}).items() if key in _COUNTED.values()}
    calls = [r for r in reports if r.get("when") == "call"]
    passed = sum(1 for r in calls if r.get("outcome") == "passed")
    if "passed" in counts and counts["passed"] != passed:
        problems.append(f"pytest counted {counts['passed']} passed tests but reported {passed}")
    summary = log_summary_counts(log)
    if summary is not None and counts and summary != {k: v for k, v in counts.items() if v}:
        problems.append(f"the log's summary line says {_fmt(summary)} but pytest counted {_fmt(counts)}")
    return problems


def log_summary_counts(log: str) -> dict[str, int] | None:
    """The counts of pytest's last summary line in ``log`` (``== 3 failed, 2 passed in 0.1s ==``)."""
    for line in reversed(log.splitlines()):
        match = _SUMMARY.match(line.strip())
        if match and " in " in line:
            counts: dict[str, int] = {}
            for number, word in _COUNT.findall(match.group(1)):
                if word in _COUNTED:
                    key = _COUNTED[word]
                    counts[key] = counts.get(key, 0) + int(number)
            return counts
    return None


def _fmt(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{value} {key}" for key, value in sorted(counts.items()) if value) or "nothing"
