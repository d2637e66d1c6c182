"""Test-log parsers: a test runner's output in, ``{test id: status}`` out.

Statuses follow SWE-bench (PASSED, FAILED, SKIPPED, ERROR, XFAIL) plus XPASS. Test ids are
parsed whole: parametrized ids may contain spaces, brackets, dashes and `` - `` itself.
Only a marker at the very start of a line counts, as pytest writes it (and as SWE-bench
reads it): a line that is indented or wrapped in colour codes was printed by something
else, such as the code under test. The test commands run pytest with ``--color=no``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

STATUSES = ("PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL", "XPASS")
# "tests/test_a.py::test_x[p q] PASSED" as printed by `pytest -v` (classic style, or with
# a trailing "[ 42%]" progress marker).
VERBOSE_LINE = re.compile(
    r"^(?P<test>\S+?::\S.*?) (?P<status>PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)(?: .*)?$"
)

LogParser = Callable[[str], dict[str, str]]


def _summary_test_id(rest: str) -> str:
    """The test id of a ``-rA`` summary line, after its status word.

    FAILED/ERROR/XFAIL lines may end in `` - <message>``. A parametrized id ends at a
    ``]`` followed by the end of the line or `` - ``: the first such ``]`` that balances
    the id's brackets, else the first one (parameters may hold unbalanced brackets).
    """
    rest = rest.rstrip()
    bracket = rest.find("[")
    separator = rest.find(" - ")
    if bracket == -1 or (separator != -1 and separator < bracket):
        return rest if separator == -1 else rest[:separator]
    ends = [
        i + 1
        for i in range(bracket, len(rest))
        if rest[i] == "]" and (i + 1 == len(rest) or rest.startswith(" - ", i + 1))
    ]
    for end in ends:
        if rest.count("[", 0, end) == rest.count("]", 0, end):
            return rest[:end]
    if ends:
        return rest[: ends[0]]
    return rest if separator == -1 else rest[:separator]


def parse_log_pytest(log: str) -> dict[str, str]:
    """Parse the ``-rA`` short test summary of pytest (SWE-bench's ``parse_log_pytest``)."""
    results: dict[str, str] = {}
    for raw in log.splitlines():
        line = raw.rstrip()  # "\r" of CRLF logs and trailing spaces only: never the start
        status, _, rest = line.partition(" ")
        if status not in STATUSES or not rest:
            continue
        if status == "SKIPPED" and rest.startswith("["):
            continue  # "SKIPPED [1] path:line: reason" names a location, not a test id
        results[_summary_test_id(rest)] = status
    return results


def parse_log_pytest_verbose(log: str) -> dict[str, str]:
    """Parse ``pytest -v`` per-test lines, then let the ``-rA`` summary override them.

    This is the ``pytest_pydantic`` parser: pydantic's test command runs with ``-vv`` and
    classic console output, where skipped tests appear only in the per-test lines.
    """
    results: dict[str, str] = {}
    for raw in log.splitlines():
        line = raw.rstrip()
        match = VERBOSE_LINE.match(line)
        if match and not line.startswith(STATUSES):
            results[match["test"]] = match["status"]
    results.update(parse_log_pytest(log))
    return results


LOG_PARSERS: dict[str, LogParser] = {
    "pytest": parse_log_pytest,
    "pytest_pydantic": parse_log_pytest_verbose,
    "pytest_verbose": parse_log_pytest_verbose,
}


def get_log_parser(name: str) -> LogParser:
    try:
        return LOG_PARSERS[name]
    except KeyError:
        raise KeyError(f"unknown log parser {name!r}; known: {', '.join(sorted(LOG_PARSERS))}") from None
