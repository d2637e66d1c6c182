"""Grading results, in SWE-bench's report schema at the edges."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs


class GradeStatus(str, enum.Enum):
    """How grading one instance ended."""

    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    EMPTY_PATCH = "empty_patch"
    PATCH_FAILED = "patch_failed"
    TIMEOUT = "timeout"
    ERROR = "error"
    #: the code under test forged or contradicted its own results (never resolved)
    TAMPERED = "tampered"


def _lists(value: Mapping[str, Any] | None) -> dict[str, dict[str, list[str]]]:
    """Normalise tests_status to {category: {"success": [...], "failure": [...]}}."""
    out: dict[str, dict[str, list[str]]] = {}
    for category in ("FAIL_TO_PASS", "PASS_TO_PASS", "FAIL_TO_FAIL", "PASS_TO_FAIL"):
        entry = (value or {}).get(category) or {}
        out[category] = {
            "success": list(entry.get("success", [])),
            "failure": list(entry.get("failure", [])),
        }
    return out


@attrs.frozen
class GradingResult:
    """The outcome of running an instance's tests against a patch.

    ``flags`` records what the grader changed or noticed, e.g. ``"test_files_edited"`` when
    the patch's edits to test files were discarded before the tests ran.
    """

    instance_id: str
    status: GradeStatus = attrs.field(converter=GradeStatus)
    patch_exists: bool = False
    patch_applied: bool = False
    tests_status: Mapping[str, Any] = attrs.field(factory=dict, converter=_lists)
    test_exit_code: int | None = None
    flags: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    reason: str = ""
    test_duration_s: float = 0.0
    duration_s: float = 0.0
    timeout_s: float | None = None  #: the limit the tests ran under (a timeout is final only for it)
    #: how the sandbox was isolated: "bwrap", "docker", "none" (local without bubblewrap)
    isolation: str = ""
    #: where per-test outcomes came from: "pytest_plugin" (swegym's guard) or "log"
    results_channel: str = ""
    #: the environment the tests ran in (``Environment.summary()``: Python requested/used,
    #: install path, base image), or why it could not be built
    environment: Mapping[str, Any] | None = None

    @property
    def resolved(self) -> bool:
        return self.status is GradeStatus.RESOLVED

    def to_report(self) -> dict[str, Any]:
        """The per-instance entry of SWE-bench's report.json (plus swegym's own keys)."""
        report: dict[str, Any] = {
            "patch_is_None": not self.patch_exists,
            "patch_exists": self.patch_exists,
            "patch_successfully_applied": self.patch_applied,
            "resolved": self.resolved,
        }
        if self.patch_applied:
            report["tests_status"] = self.tests_status
        if self.environment is not None:
            report["environment"] = dict(self.environment)
        report["swegym"] = {
            "status": self.status.value,
            "flags": list(self.flags),
            "reason": self.reason,
            "test_exit_code": self.test_exit_code,
            "test_duration_s": round(self.test_duration_s, 3),
            "duration_s": round(self.duration_s, 3),
            "isolation": self.isolation,
            "results_channel": self.results_channel,
        }
        if self.timeout_s is not None:
            report["swegym"]["timeout_s"] = self.timeout_s
        return {self.instance_id: report}

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "status": self.status.value,
            "patch_exists": self.patch_exists,
            "patch_applied": self.patch_applied,
            "tests_status": self.tests_status,
            "test_exit_code": self.test_exit_code,
            "flags": list(self.flags),
            "reason": self.reason,
            "test_duration_s": self.test_duration_s,
            "duration_s": self.duration_s,
            "timeout_s": self.timeout_s,
            "isolation": self.isolation,
            "results_channel": self.results_channel,
            "environment": dict(self.environment) if self.environment is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradingResult:
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls) if f.name in data})
