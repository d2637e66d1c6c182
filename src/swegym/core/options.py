"""Component options: a component's attrs fields, validated and converted from strings."""

from __future__ import annotations

import pathlib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from swegym.core.errors import OptionError, UsageError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@attrs.frozen
class OptionInfo:
    """One accepted option of a component, for ``swegym components``."""

    name: str
    type: str
    default: Any
    help: str


def option_fields(cls: type) -> list[attrs.Attribute]:
    """The init-able attrs fields of a component class (empty for non-attrs classes)."""
    if not attrs.has(cls):
        return []
    attrs.resolve_types(cls)
    return [f for f in attrs.fields(cls) if f.init and not f.name.startswith("_")]


def describe_options(cls: type) -> list[OptionInfo]:
    infos = []
    for field in option_fields(cls):
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory() if not default.takes_self else "<computed>"
        elif default is attrs.NOTHING:
            default = "<required>"
        infos.append(OptionInfo(field.name, _type_name(field.type), default, field.metadata.get("help", "")))
    return infos


def build_component(cls: type, options: Mapping[str, Any], *, label: str) -> Any:
    """Instantiate ``cls`` from options, converting strings to the fields' types.

    :param label: how to name the component in errors, e.g. ``"agent 'openhands'"``.
    """
    fields = {f.name: f for f in option_fields(cls)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        accepted = ", ".join(sorted(fields)) or "none"
        raise OptionError(f"{label} has no option {unknown[0]!r}; accepted: {accepted}")
    kwargs = {}
    positive = set(getattr(cls, "positive_options", ()))
    for key, value in options.items():
        try:
            kwargs[key] = convert(value, fields[key].type)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"{label} option {key}={value!r}: {exc}") from None
        if key in positive or "min" in fields[key].metadata:
            _check_minimum(label, key, value, kwargs[key], fields[key])
    missing = [name for name, field in fields.items() if field.default is attrs.NOTHING and name not in kwargs]
    if missing:
        raise OptionError(f"{label} needs option {missing[0]!r}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"{label}: {exc}") from None


def _check_minimum(label: str, key: str, raw: Any, value: Any, field: attrs.Attribute) -> None:
    """A numeric option's lower bound: ``metadata={"min": N}``, else above zero (``positive_options``)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    minimum = field.metadata.get("min")
    kind = "an integer" if isinstance(value, int) else "a number"
    if minimum is not None and value < minimum:
        raise OptionError(f"{label} option {key}={raw}: out of range: {kind} >= {minimum} is required")
    if minimum is None and value <= 0:
        what = "a positive integer (1 or more)" if isinstance(value, int) else "a positive number (> 0)"
        raise OptionError(f"{label} option {key}={raw}: out of range: {what} is required")


def convert(value: Any, annotation: Any) -> Any:
    """Convert a CLI string (or an already typed TOML value) to ``annotation``."""
    if annotation is None or annotation is Any:
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")) and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(value, arg)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"expected one of {', '.join(map(str, args))}")
        return value
    if origin in (tuple, list, frozenset, set) or annotation in (tuple, list):
        items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
        inner = args[0] if args else Any
        converted = [convert(item.strip() if isinstance(item, str) else item, inner) for item in items]
        converted = [item for item in converted if item != ""]
        return (origin or annotation)(converted) if origin is not list else converted
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected a boolean (true/false)")
    if annotation is int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError("expected an integer") from None
    if annotation is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    if annotation is pathlib.Path:
        return pathlib.Path(value)
    return value


def parse_assignments(assignments: Iterable[str]) -> dict[str, dict[str, str]]:
    """``["agent.max_turns=30", "cap.n=2"]`` -> ``{"agent": {"max_turns": "30"}, "cap": {"n": "2"}}``."""
    parsed: dict[str, dict[str, str]] = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        target, dot, option = key.partition(".")
        if not sep or not dot or not target or not option:
            raise UsageError(f"option {text!r} is not of the form COMPONENT.KEY=VALUE")
        parsed.setdefault(target.strip(), {})[option.strip()] = value
    return parsed


def _type_name(annotation: Any) -> str:
    if annotation is None:
        return "any"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
