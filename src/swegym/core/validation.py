"""Execution validation: run the gold patch and no patch, derive FAIL_TO_PASS / PASS_TO_PASS.

Ids are written as SWE-bench writes them (cut at the first whitespace) unless asked for
whole ids; each validated instance records the form in its ``test_id_form`` field.
"""

from __future__ import annotations

import attrs

from swegym.core.harness import apply_patch, run_tests
from swegym.core.instance import TaskInstance
from swegym.core.repository import RepositorySpec
from swegym.core.runtime import Runtime
from swegym.core.test_ids import FORMS, SWEBENCH, split_by_outcome


@attrs.frozen
class ValidateJob:
    instance: TaskInstance
    repo: RepositorySpec
    runtime: Runtime
    timeout: float = 1800
    test_id_form: str = attrs.field(default=SWEBENCH, validator=attrs.validators.in_(FORMS))


@attrs.frozen
class Validation:
    """The tests an instance's gold patch fixes (FAIL_TO_PASS) and keeps passing (PASS_TO_PASS)."""

    instance_id: str
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    reason: str = ""
    test_id_form: str = SWEBENCH
    dropped: tuple[str, ...] = ()  #: passing tests left out: their SWE-bench id also names a failing one

    @property
    def valid(self) -> bool:
        return bool(self.fail_to_pass)

    def apply_to(self, instance: TaskInstance) -> TaskInstance:
        extra = {**instance.extra, "test_id_form": self.test_id_form}
        return attrs.evolve(instance, FAIL_TO_PASS=self.fail_to_pass, PASS_TO_PASS=self.pass_to_pass, extra=extra)


def validate_job(job: ValidateJob) -> Validation:
    """Run the instance's tests without and with the gold patch, in two fresh sandboxes."""
    instance, spec = job.instance, job.repo.environment(job.instance.version)
    job.runtime.environment(job.repo, instance, build=True)
    with job.runtime.sandbox(job.repo, instance) as sandbox:
        before = run_tests(sandbox, instance, spec, timeout=job.timeout)
    with job.runtime.sandbox(job.repo, instance) as sandbox:
        applied, log = apply_patch(sandbox, instance.patch)
        if not applied:
            return Validation(instance.instance_id, (), (), reason="the gold patch does not apply")
        after = run_tests(sandbox, instance, spec, timeout=job.timeout)
    if before.timed_out or after.timed_out:
        return Validation(instance.instance_id, (), (), reason="the tests timed out")
    fail_to_pass, pass_to_pass, dropped = split_by_outcome(before.statuses, after.statuses, form=job.test_id_form)
    reason = "" if fail_to_pass else "no test fails before the gold patch and passes after it"
    return Validation(instance.instance_id, fail_to_pass, pass_to_pass, reason, job.test_id_form, dropped)
