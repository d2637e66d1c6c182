"""Experiment tracking of rollouts and evaluations: resolve rates and stop reasons, logged to
the tracker the trainers report to (``$SWEGYM_REPORT_TO``: tensorboard, wandb, trackio,
mlflow, comma-separated; unset or ``none``: nothing is logged).

A plugin on the lifecycle hooks: ``swegym_experiment_configured`` opens a tracker run named
after the rollout or evaluation, ``swegym_episode_finished`` (rollout) and
``swegym_instance_graded`` (eval) log running totals, one step per episode or graded
instance. Offline by default, as the trainers: tensorboard event files under
``$SWEGYM_TRACKING_DIR`` (default ``./tracking``)/NAME, wandb in offline mode, mlflow in a
local ``mlruns`` folder, trackio's local store.
"""

from __future__ import annotations

import atexit
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from swegym import hookimpl
from swegym.core.errors import SwegymError

REPORT_TO_ENV = "SWEGYM_REPORT_TO"
TRACKING_DIR_ENV = "SWEGYM_TRACKING_DIR"
#: the commands whose outcomes are tracked, and the prefix of their metrics
TRACKED_COMMANDS = {"rollout": "rollout", "eval": "eval"}


def trackers_named() -> list[str]:
    value = os.environ.get(REPORT_TO_ENV, "none")
    return [name.strip() for name in value.split(",") if name.strip() and name.strip() != "none"]


class _TensorBoard:
    def __init__(self, name: str, directory: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise SwegymError(f"{REPORT_TO_ENV}=tensorboard: tensorboard is not installed: pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(directory / name))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()  # no hook says the run ended: every step is on disk

    def close(self) -> None:
        self.writer.close()


class _Wandb:
    def __init__(self, name: str, directory: Path) -> None:
        import wandb

        os.environ.setdefault("WANDB_MODE", "offline")
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "swegym"), name=name, dir=str(directory), reinit=True)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=step)

    def close(self) -> None:
        self.run.finish()


class _MLflow:
    def __init__(self, name: str, directory: Path) -> None:
        import mlflow

        mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI", (directory.resolve() / "mlruns").as_uri()))
        self.mlflow, self.run = mlflow, mlflow.start_run(run_name=name)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.mlflow.log_metrics(dict(metrics), step=step, run_id=self.run.info.run_id)

    def close(self) -> None:
        self.mlflow.end_run()


class _Trackio:
    def __init__(self, name: str, directory: Path) -> None:
        import trackio

        self.trackio, self.run = trackio, trackio.init(project=os.environ.get("TRACKIO_PROJECT", "swegym"), name=name)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.trackio.log(dict(metrics), step=step)

    def close(self) -> None:
        self.trackio.finish()


BACKENDS = {"tensorboard": _TensorBoard, "wandb": _Wandb, "mlflow": _MLflow, "trackio": _Trackio}


@attrs.define
class RunTracker:
    """The running totals of one rollout or evaluation, logged at each episode or grading."""

    prefix: str
    backends: list[Any]
    step: int = 0
    resolved: int = 0
    stop_reasons: Counter = attrs.field(factory=Counter)

    @classmethod
    def open(cls, name: str, command: str, names: list[str], directory: Path) -> RunTracker:
        unknown = [n for n in names if n not in BACKENDS]
        if unknown:
            raise SwegymError(f"{REPORT_TO_ENV}={unknown[0]}: not a tracker (choose from none, {', '.join(BACKENDS)})")
        directory.mkdir(parents=True, exist_ok=True)
        return cls(TRACKED_COMMANDS[command], [BACKENDS[n](name, directory) for n in names])

    def add(self, resolved: bool, stop_reason: str | None = None) -> dict[str, float]:
        self.step += 1
        self.resolved += bool(resolved)
        metrics = {f"{self.prefix}/resolved": float(self.resolved), f"{self.prefix}/resolve_rate": self.resolved / self.step}
        if stop_reason is not None:
            self.stop_reasons[stop_reason] += 1
            metrics.update({f"{self.prefix}/stop_reason/{reason}": float(n) for reason, n in self.stop_reasons.items()})
        for backend in self.backends:
            backend.log(metrics, self.step)
        return metrics

    def close(self) -> None:
        for backend in self.backends:
            backend.close()
        self.backends = []


class TrackingPlugin:
    """Holds the open run of this process (one rollout or evaluation per command)."""

    def __init__(self) -> None:
        self.run: RunTracker | None = None
        self.command: str | None = None
        atexit.register(self.close)

    def close(self) -> None:
        if self.run is not None:
            self.run.close()
            self.run = None

    @hookimpl
    def swegym_experiment_configured(self, experiment):
        names = trackers_named()
        if not names or experiment.command not in TRACKED_COMMANDS:
            return
        self.close()
        self.command = experiment.command
        directory = Path(os.environ.get(TRACKING_DIR_ENV, "tracking"))
        self.run = RunTracker.open(f"{experiment.command}-{experiment.name}", experiment.command, names, directory)

    @hookimpl
    def swegym_episode_finished(self, trajectory):
        if self.run is not None and self.command == "rollout":
            outcome = trajectory.outcome
            self.run.add(bool(outcome is not None and outcome.resolved), trajectory.stop_reason.value)

    @hookimpl
    def swegym_instance_graded(self, instance, result):
        if self.run is not None and self.command == "eval":
            self.run.add(bool(result.resolved), None)




#: the run of this process, for the module-level hooks the entry point registers
_PLUGIN = TrackingPlugin()


@hookimpl
def swegym_experiment_configured(experiment):
    _PLUGIN.swegym_experiment_configured(experiment=experiment)


@hookimpl
def swegym_episode_finished(trajectory):
    _PLUGIN.swegym_episode_finished(trajectory=trajectory)


@hookimpl
def swegym_instance_graded(instance, result):
    _PLUGIN.swegym_instance_graded(instance=instance, result=result)
