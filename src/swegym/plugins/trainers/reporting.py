"""Which experiment trackers a trainer reports to, as TRL's ``report_to``, offline by default.

``report_to=auto`` reads ``$SWEGYM_REPORT_TO`` (``tensorboard``, ``wandb``, ``trackio``,
``mlflow``, comma-separated, or ``none``) and is ``none`` without it. Nothing leaves the
machine unless the user says so: wandb runs offline (``WANDB_MODE=offline``) and mlflow
writes to ``OUT/mlruns`` unless ``WANDB_MODE`` / ``MLFLOW_TRACKING_URI`` are set; trackio is
local unless given a Space; tensorboard writes event files under ``OUT/runs``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from swegym.core.errors import UsageError

#: the variable ``report_to=auto`` reads
REPORT_TO_ENV = "SWEGYM_REPORT_TO"
#: tracker -> the module transformers' callback needs (any one of them)
TRACKERS = {
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
    "trackio": ("trackio",),
    "mlflow": ("mlflow",),
}


def report_to(value: str, out: str | os.PathLike[str]) -> list[str]:
    """The trackers to pass as ``report_to`` (``[]`` for none), with their offline settings
    made for a run writing to ``out``. An unknown or uninstalled tracker is a UsageError."""
    if value == "auto":
        value = os.environ.get(REPORT_TO_ENV, "none")
    names = [name.strip() for name in value.split(",") if name.strip() and name.strip() != "none"]
    for name in names:
        if name not in TRACKERS:
            raise UsageError(f"report_to={name}: not a tracker (choose from none, {', '.join(TRACKERS)})")
        if not any(importlib.util.find_spec(module) for module in TRACKERS[name]):
            raise UsageError(f"report_to={name}: {TRACKERS[name][0]} is not installed: pip install {TRACKERS[name][0]}")
    if "wandb" in names:
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_DIR", str(Path(out)))
    if "mlflow" in names:
        os.environ.setdefault("MLFLOW_TRACKING_URI", (Path(out).resolve() / "mlruns").as_uri())
    return names
