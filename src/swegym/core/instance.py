"""The task instance: one GitHub issue with its fix and the tests that check it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

from swegym.core.errors import InstanceFormatError

REQUIRED_FIELDS = ("instance_id", "repo", "base_commit", "patch", "test_patch", "problem_statement")


def natural_key(instance_id: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders the numbers in ids by value: ``tinyver-3`` before ``tinyver-11``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", instance_id) if part)


def _test_list(field: str, value: Any) -> tuple[str, ...]:
    """Accept a list of test ids or SWE-bench's JSON-encoded string of one."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InstanceFormatError(field, f"not a JSON list of test ids ({exc.msg})") from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
        raise InstanceFormatError(field, "expected a list of test ids (strings)")
    return tuple(value)


def _text(field: str, value: Any, *, required: bool) -> str:
    if value is None:
        if required:
            raise InstanceFormatError(field, "missing")
        return ""
    if not isinstance(value, str):
        raise InstanceFormatError(field, f"expected a string, got {type(value).__name__}")
    if required and field != "patch" and field != "test_patch" and not value.strip():
        raise InstanceFormatError(field, "empty")
    return value


@attrs.frozen
class TaskInstance:
    """A SWE-Gym / SWE-bench task instance.

    ``FAIL_TO_PASS`` and ``PASS_TO_PASS`` keep SWE-bench's names so records round-trip.
    """

    instance_id: str
    repo: str
    base_commit: str
    patch: str
    test_patch: str
    problem_statement: str
    hints_text: str = ""
    created_at: str = ""
    version: str = ""
    FAIL_TO_PASS: tuple[str, ...] = ()
    PASS_TO_PASS: tuple[str, ...] = ()
    environment_setup_commit: str = ""
    extra: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TaskInstance:
        """Build an instance from a dataset record; raises ``InstanceFormatError``."""
        if not isinstance(record, Mapping):
            raise InstanceFormatError("<record>", f"expected an object, got {type(record).__name__}")
        for name in REQUIRED_FIELDS:
            if name not in record:
                raise InstanceFormatError(name, "missing")
        known = {f.name for f in attrs.fields(cls)}
        version = record.get("version", "")
        if isinstance(version, (int, float)):
            version = str(version)  # some dumps store "0.1" as a number
        return cls(
            instance_id=_text("instance_id", record["instance_id"], required=True),
            repo=_text("repo", record["repo"], required=True),
            base_commit=_text("base_commit", record["base_commit"], required=True),
            patch=_text("patch", record["patch"], required=True),
            test_patch=_text("test_patch", record["test_patch"], required=True),
            problem_statement=_text("problem_statement", record["problem_statement"], required=True),
            hints_text=_text("hints_text", record.get("hints_text"), required=False),
            created_at=str(record.get("created_at") or ""),
            version=_text("version", version, required=False),
            FAIL_TO_PASS=_test_list("FAIL_TO_PASS", record.get("FAIL_TO_PASS")),
            PASS_TO_PASS=_test_list("PASS_TO_PASS", record.get("PASS_TO_PASS")),
            environment_setup_commit=_text(
                "environment_setup_commit", record.get("environment_setup_commit"), required=False
            ),
            extra={k: v for k, v in record.items() if k not in known},
        )

    def to_record(self, *, swebench_strings: bool = False) -> dict[str, Any]:
        """The record as a dataset row; ``swebench_strings`` JSON-encodes the test lists."""
        record: dict[str, Any] = dict(self.extra)
        for field in attrs.fields(type(self)):
            if field.name == "extra":
                continue
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                value = json.dumps(list(value)) if swebench_strings else list(value)
            record[field.name] = value
        return record

    @property
    def repo_slug(self) -> str:
        """``owner__name``, the prefix SWE-bench uses in instance ids."""
        return self.repo.replace("/", "__")
