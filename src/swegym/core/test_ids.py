"""Test ids in two forms: whole, as pytest names a test, and cut at the first whitespace, as SWE-bench does.

SWE-bench's log parser splits a summary line at whitespace, so ``tests/t.py::test_x[v 1]``
becomes ``tests/t.py::test_x[v``; its datasets (and SWE-Gym's) hold ids in that form. swegym
parses ids whole. A cut id stands for every test whose id it is the first word of, and
passes only if all of them pass (SWE-bench 5: candidates that disagree fail the id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

FULL, SWEBENCH = "full", "swebench"
FORMS = (SWEBENCH, FULL)
SUCCESS = frozenset({"PASSED", "XFAIL"})


def swebench_id(test: str) -> str:
    """``test`` as SWE-bench's parser writes it: up to the first whitespace."""
    parts = test.split(None, 1)
    return parts[0] if parts else test


def candidates(statuses: Mapping[str, str], test: str) -> list[str]:
    """The parsed ids ``test`` names: itself when present, else those it is the cut form of."""
    if test in statuses:
        return [test]
    if any(ch.isspace() for ch in test):
        return []  # a whole id with spaces names only itself
    return [name for name in statuses if name != test and swebench_id(name) == test]


def resolve_status(statuses: Mapping[str, str], test: str) -> str | None:
    """The status of ``test`` in a parsed log, whichever form it is in; None when absent.

    For a cut id with several candidates: the first candidate's status when all pass,
    else the first failing candidate's status (FAILED and ERROR before SKIPPED).
    """
    names = candidates(statuses, test)
    if not names:
        return None
    found = [statuses[name] for name in names]
    failing = [status for status in found if status not in SUCCESS]
    if not failing:
        return found[0]
    hard = [status for status in failing if status in ("FAILED", "ERROR")]
    return (hard or failing)[0]


def split_by_outcome(
    before: Mapping[str, str], after: Mapping[str, str], *, form: str = SWEBENCH
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(FAIL_TO_PASS, PASS_TO_PASS, dropped)`` from runs without and with the gold patch.

    In SWEBENCH form the tests that share a cut id become one entry: FAIL_TO_PASS when all
    pass after the gold patch and one of them did not before, PASS_TO_PASS when all passed
    before too; a group where one test does not pass after the gold patch could never pass
    as a whole, so it is dropped (its passing whole ids are returned in ``dropped``).
    """
    if form not in FORMS:
        raise ValueError(f"test id form {form!r}: expected one of {', '.join(FORMS)}")
    if form == FULL:
        passing = [t for t, status in after.items() if status in SUCCESS]
        return (
            tuple(t for t in passing if before.get(t) not in SUCCESS),
            tuple(t for t in passing if before.get(t) in SUCCESS),
            (),
        )
    groups: dict[str, list[str]] = {}
    for name in after:
        groups.setdefault(swebench_id(name), []).append(name)
    fail_to_pass, pass_to_pass, dropped = [], [], []
    for cut, names in groups.items():
        if not all(after[name] in SUCCESS for name in names):
            dropped.extend(name for name in names if after[name] in SUCCESS)
            continue
        if all(before.get(name) in SUCCESS for name in names):
            pass_to_pass.append(cut)
        else:
            fail_to_pass.append(cut)
    return tuple(fail_to_pass), tuple(pass_to_pass), tuple(dropped)


def form_of(tests: Iterable[str]) -> str:
    """FULL when any id holds whitespace (only whole ids do), else SWEBENCH."""
    return FULL if any(any(ch.isspace() for ch in t) for t in tests) else SWEBENCH
