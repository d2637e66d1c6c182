"""Reading predictions strictly: every defect is one line naming the file, line and field.

A predictions file is SWE-bench's JSONL of ``{"instance_id", "model_name_or_path",
"model_patch"}``, or a ``.json`` file holding a list of such objects or an object keyed by
instance id. ``model_patch`` must be present: a string, or null for "no patch" (SWE-bench's
``patch_is_None``). Nothing here starts a sandbox, so a bad file fails before any work.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from swegym.core.errors import DatasetError, UsageError
from swegym.core.instance import TaskInstance

GOLD, EMPTY = "gold", "empty"
DEFAULT_MODEL = "model"
OnDuplicate = Literal["error", "first", "last"]
ON_DUPLICATE = ("error", "first", "last")


def load_predictions(
    source: str,
    instances: Iterable[TaskInstance],
    *,
    known_ids: Collection[str] | None = None,
    on_duplicate: OnDuplicate = "error",
) -> tuple[str, dict[str, str]]:
    """``(model name, {instance_id: patch})`` for the selected ``instances``.

    :param source: ``gold``, ``empty`` or a predictions file.
    :param known_ids: every instance id of the dataset (default: the selected ones); a
        prediction for an id outside it is an error, one for a known but unselected id is
        left out.
    :param on_duplicate: what a repeated instance id means: an error, or the first or the
        last prediction wins.
    """
    instances = list(instances)
    if source == GOLD:
        return GOLD, {i.instance_id: i.patch for i in instances}
    if source == EMPTY:
        return EMPTY, {i.instance_id: "" for i in instances}
    if on_duplicate not in ON_DUPLICATE:
        raise UsageError(f"on_duplicate={on_duplicate!r}: expected one of {', '.join(ON_DUPLICATE)}")
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"predictions {source!r}: not a file (or 'gold' / 'empty')")
    selected = {i.instance_id for i in instances}
    known = set(known_ids) if known_ids is not None else selected
    patches: dict[str, str] = {}
    first_seen: dict[str, str] = {}
    models: dict[str, str] = {}
    count = 0
    for where, record in _records(path):
        count += 1
        instance_id, patch, model = _check_record(where, record)
        if instance_id not in known:
            raise DatasetError(f"{where}: instance_id {instance_id!r} is not in the dataset")
        if instance_id in first_seen:
            if on_duplicate == "error":
                raise DatasetError(
                    f"{where}: instance_id {instance_id!r} repeats {first_seen[instance_id]} "
                    "(--on-duplicate first|last says which wins)"
                )
            if on_duplicate == "first":
                continue
        first_seen.setdefault(instance_id, where)
        models.setdefault(model, where)
        if instance_id in selected:
            patches[instance_id] = patch
    if count == 0:
        raise DatasetError(f"{path}: no predictions (the file is empty)")
    if len(models) > 1:
        raise UsageError(f"{path}: predictions from several models ({', '.join(sorted(models))}); split the file")
    return (next(iter(models)) if models else DEFAULT_MODEL), patches


def _check_record(where: str, record: Any) -> tuple[str, str, str]:
    """``(instance_id, patch, model)`` of one prediction; null patches become ``""``."""
    if not isinstance(record, dict):
        raise DatasetError(
            f"{where}: expected an object with instance_id, model_name_or_path, model_patch, not {_kind(record)}"
        )
    for field in ("instance_id", "model_patch"):
        if field not in record:
            hint = " (use \"\" or null for no patch)" if field == "model_patch" else ""
            raise DatasetError(f"{where}: field {field!r} is missing{hint}")
    instance_id, patch = record["instance_id"], record["model_patch"]
    if not isinstance(instance_id, str) or not instance_id:
        raise DatasetError(f"{where}: field 'instance_id' must be a non-empty string, not {_kind(instance_id)}")
    if patch is not None and not isinstance(patch, str):
        raise DatasetError(f"{where}: field 'model_patch' must be a string (or null), not {_kind(patch)}")
    model = record.get("model_name_or_path")
    if model is not None and not isinstance(model, str):
        raise DatasetError(f"{where}: field 'model_name_or_path' must be a string, not {_kind(model)}")
    return instance_id, patch or "", model or DEFAULT_MODEL


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for each prediction, ``where`` being ``file:line`` or ``file: item``."""
    text = _read_utf8(path)
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if isinstance(data, list):
            for index, record in enumerate(data):
                yield f"{path}: item {index}", record
        elif isinstance(data, dict):
            for key, record in data.items():
                if isinstance(record, dict) and "instance_id" not in record:
                    record = {**record, "instance_id": key}  # SWE-bench's id-keyed form
                yield f"{path}: key {key!r}", record
        else:
            raise DatasetError(f"{path}:1: expected a list of predictions or an object keyed by instance_id, not {_kind(data)}")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        yield f"{path}:{number}", record


def _read_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DatasetError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at column {column})"
        ) from None


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    if value is None:
        return "null"
    if isinstance(value, str) and not value:
        return "an empty string"
    return names.get(type(value), type(value).__name__)
