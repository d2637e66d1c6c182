"""Why an instance was not resolved, in the terms of SWE-bench 5's run report.

SWE-bench 5 adds ``infra_failure_ids`` (the environment broke: not the patch's fault),
``ambiguous_failure_ids`` (the environment or the patch) and ``failure_reasons`` ({id:
reason}) to its run report. The classification is advisory: a classified instance stays in
``unresolved_ids`` or ``error_ids``, so the denominator never changes. swegym knows more
than the logs tell (a timeout, an empty test log, a crashed grader), and uses that first;
otherwise it reads the test output for the same signatures SWE-bench looks for.
"""

from __future__ import annotations

import re

from swegym.core.results import GradeStatus, GradingResult

ENVIRONMENT = "environment"  #: cannot be caused by the patch
AMBIGUOUS = "ambiguous"  #: the environment or the patch

#: Flag on a result that no report.json backs: the grader itself failed (SWE-bench: an error).
HARNESS_ERROR = "harness_error"
#: Flag on a result whose environment could not be built (report.json says why; an error).
ENVIRONMENT_FAILED = "environment_build_failed"

# (reason, tier, pattern) in order, the first match wins: SWE-bench 5's signatures, so that
# its report and swegym's classify the same log alike.
SIGNATURES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (reason, tier, re.compile(pattern, re.MULTILINE))
    for reason, tier, pattern in (
        ("browser_launch_failed", ENVIRONMENT, r"Failed to launch|Failed to connect to the bus"),
        ("display_unavailable", ENVIRONMENT, r"cannot open display|Missing X server|unable to open X display"),
        ("out_of_memory", ENVIRONMENT, r"Cannot allocate memory|OutOfMemoryError|^Killed$"),
        ("container_unavailable", ENVIRONMENT, r"Error response from daemon|Cannot connect to the Docker daemon"),
        ("network_unreachable", ENVIRONMENT, r"Could not resolve host|Temporary failure in name resolution"),
        ("missing_module", AMBIGUOUS, r"Cannot find module|MODULE_NOT_FOUND|ModuleNotFoundError"),
        ("no_tests_collected", AMBIGUOUS, r"no tests ran|collected 0 items"),
        ("tests_timed_out", AMBIGUOUS, r"Timeout error: \d+ seconds exceeded"),
    )
)


def classify_text(text: str) -> tuple[str, str] | None:
    """``(reason, tier)`` of the first signature found in ``text``, else None."""
    for reason, tier, pattern in SIGNATURES:
        if text and pattern.search(text):
            return reason, tier
    return None


def failure_reason(result: GradingResult, test_output: str = "") -> tuple[str, str] | None:
    """``(reason, tier)`` for an unresolved or errored instance, or None when there is nothing to say.

    A patch that does not apply is the patch's failure: no reason. A plain unresolved result
    (the tests ran, a required test failed) has one only when its test output shows a
    signature, as in SWE-bench.
    """
    if result.status in (GradeStatus.RESOLVED, GradeStatus.EMPTY_PATCH, GradeStatus.PATCH_FAILED):
        return None
    if ENVIRONMENT_FAILED in result.flags:
        return ENVIRONMENT_FAILED, ENVIRONMENT
    if HARNESS_ERROR in result.flags:
        return classify_text(result.reason) or (HARNESS_ERROR, ENVIRONMENT)
    if result.status is GradeStatus.TIMEOUT:
        return "tests_timed_out", AMBIGUOUS
    if result.status is GradeStatus.TAMPERED:  # swegym's own: the tests forged their results
        return "tampered", AMBIGUOUS
    found = classify_text(test_output)
    if result.status is GradeStatus.ERROR:
        no_output = "no test results" in result.reason  # harness.grade_run's words for an empty log
        return found or ("no_test_output" if no_output else "test_command_error", AMBIGUOUS)
    return found
