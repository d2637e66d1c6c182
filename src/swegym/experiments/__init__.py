"""Experiment files that ship with swegym (``swegym experiment run demo`` finds them by name)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def bundled(name: str) -> Path | None:
    """The shipped experiment file called ``name`` (``demo`` -> demo.toml), if there is one."""
    path = HERE / f"{name}.toml"
    return path if path.is_file() else None


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.toml"))
