"""Running an experiment: stages in order, a manifest, and resume at the stage reached.

The manifest (``<experiment>/manifest.json``) records the experiment file, swegym's version,
every loaded plugin with its distribution and version, and per stage its command line,
status, product and timings. It is rewritten atomically after every state change. Running
the experiment again skips every stage that finished with the same command line; the first
stage that did not (interrupted, failed, or changed in the file) and all stages after it run
again. An interrupted stage resumes its partial work when nothing before it ran again (a
rollout keeps its stored trajectories, training continues from its newest checkpoint,
scoring skips scored ones); a stage that runs again for any other reason starts from an
empty directory.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from swegym.core.errors import SwegymError, UsageError
from swegym.core.experiment_plan import Experiment, Stage, check_references, command_line, resolve

MANIFEST = "manifest.json"


@attrs.define
class StageRecord:
    """What the manifest knows about one stage."""

    name: str
    type: str
    argv: list[str]
    status: str = "pending"  # pending | running | done | failed
    product: str | None = None
    started: float | None = None
    seconds: float | None = None
    error: str | None = None


class StageFailed(SwegymError):
    """A stage's command failed; the experiment stops there and resumes there."""


def swegym_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("swegym")
    except PackageNotFoundError:
        return "unknown"


class ExperimentRunner:
    """Runs an ``Experiment`` in ``out`` by invoking swegym commands through ``invoke(argv)``.

    :param invoke: runs one swegym command line in this process (``main(argv)`` of the CLI
        with ``standalone_mode=False``); raises on failure.
    :param plugins: plugin name -> "distribution/version", recorded in the manifest.
    :param announce: called with (stage, argv, state) as stages start, finish or are skipped.
    """

    def __init__(
        self,
        experiment: Experiment,
        out: str | Path,
        *,
        invoke: Callable[[list[str]], Any],
        plugins: Mapping[str, str] | None = None,
        announce: Callable[[Stage, list[str], str], None] | None = None,
    ) -> None:
        check_references(experiment)
        self.experiment = experiment
        self.out = Path(out).resolve()
        self.invoke = invoke
        self.plugins = dict(plugins or {})
        self.announce = announce or (lambda stage, argv, state: None)
        self.manifest_path = self.out / MANIFEST
        self.records: dict[str, StageRecord] = {}
        self._previous: dict[str, dict[str, Any]] = {}
        if self.manifest_path.exists():
            try:
                old = json.loads(self.manifest_path.read_text())
            except json.JSONDecodeError as exc:
                raise UsageError(f"{self.manifest_path}: not a manifest ({exc}); remove it to start over") from None
            if old.get("experiment") != experiment.name:
                raise UsageError(
                    f"{self.out} holds experiment {old.get('experiment')!r}, not {experiment.name!r}: use another --out"
                )
            self._previous = {s["name"]: s for s in old.get("stages", [])}

    # -- running ----------------------------------------------------------------------

    def run(self, *, until: str | None = None, dry_run: bool = False) -> dict[str, StageRecord]:
        """Run (or resume) every stage in order; ``until`` stops after that stage.

        ``dry_run`` only works out each stage's command line (products are where the stages
        would write them) and announces it as "planned"; nothing runs and nothing is written.
        """
        if until is not None and until not in {s.name for s in self.experiment.stages}:
            raise UsageError(f"--until {until!r}: no such stage")
        if not dry_run:
            self.out.mkdir(parents=True, exist_ok=True)
        policy = self.experiment.policy
        if policy is not None:
            policy = resolve(policy, lambda ref: self._var(ref, "[experiment] policy"))
        rerun = False  # once a stage runs again, every later stage does too
        for stage in self.experiment.stages:
            stage_dir = self.out / stage.name
            params = resolve(dict(stage.params), lambda ref, s=stage, p=policy: self._lookup(ref, s, p))
            argv = command_line(stage, params, stage_dir)
            previous = self._previous.get(stage.name)
            record = StageRecord(stage.name, stage.type, argv)
            self.records[stage.name] = record
            if dry_run:
                record.product = str(self._product(stage, stage_dir))
                self.announce(stage, argv, "planned")
            elif not rerun and previous and previous.get("status") == "done" and previous.get("argv") == argv:
                record.status, record.product = "done", previous.get("product")
                record.started, record.seconds = previous.get("started"), previous.get("seconds")
                self.announce(stage, argv, "skipped")
            else:
                # An interrupted stage keeps its partial work only if nothing before it ran
                # again; otherwise (or if it finished before) it starts from an empty directory,
                # so that no output of an older input survives (a scores file, checkpoints).
                resume = (previous is not None and previous.get("status") in ("running", "failed")
                          and previous.get("argv") == argv and not rerun)
                if not resume and stage_dir.exists():
                    shutil.rmtree(stage_dir)
                rerun = True
                self._run_stage(stage, record, stage_dir)
            if stage.spec.policy and record.product:
                policy = record.product
            if stage.name == until:
                break
        if not dry_run:
            self._write(done=all(r.status == "done" for r in self.records.values()) and until is None)
        return self.records

    def _run_stage(self, stage: Stage, record: StageRecord, stage_dir: Path) -> None:
        record.status, record.started = "running", time.time()
        self._write()
        self.announce(stage, record.argv, "started")
        begun = time.monotonic()
        try:
            self.invoke(record.argv)
        except KeyboardInterrupt:
            record.status, record.seconds, record.error = "failed", time.monotonic() - begun, "interrupted"
            self._write()
            self.announce(stage, record.argv, "interrupted")
            raise
        except Exception as exc:  # noqa: BLE001 - any failure stops the experiment at this stage
            record.status, record.seconds = "failed", time.monotonic() - begun
            record.error = _message(exc)
            self._write()
            self.announce(stage, record.argv, "failed")
            raise StageFailed(f"stage {stage.name} failed: {record.error}; fix it and run the experiment again to resume there") from None
        record.status, record.seconds = "done", time.monotonic() - begun
        record.product = str(self._product(stage, stage_dir))
        self._write()
        self.announce(stage, record.argv, "done")

    def _product(self, stage: Stage, stage_dir: Path) -> Path:
        product = stage.spec.product
        if product == "model":
            result = stage_dir / "train_result.json"
            if result.exists():
                data = json.loads(result.read_text())
                if data.get("adapter") and (stage_dir / "merged").is_dir():
                    return stage_dir / "merged"
            return stage_dir
        return stage_dir if product == "dir" else stage_dir / product

    def _lookup(self, ref: str, stage: Stage, policy: str | None) -> str:
        if ref in self.experiment.vars:
            return self.experiment.vars[ref]
        if ref == "policy":
            if policy is None:
                raise UsageError(f"stage {stage.name}: ${{policy}} is not known yet")
            return policy
        if ref == "iteration":
            return str(stage.iteration)
        if ref == "experiment":
            return str(self.out)
        candidates = [f"{stage.group}.{stage.iteration}.{ref}"] if stage.group else []
        for name in [*candidates, ref]:
            record = self.records.get(name)
            if record is not None and record.product:
                return record.product
        raise UsageError(f"stage {stage.name}: ${{{ref}}} has produced nothing (did it run?)")

    def _var(self, ref: str, where: str) -> str:
        if ref in self.experiment.vars:
            return self.experiment.vars[ref]
        if ref == "experiment":
            return str(self.out)
        raise UsageError(f"{where}: ${{{ref}}} is not a variable (set it with --set {ref}=VALUE)")

    # -- manifest ---------------------------------------------------------------------

    def _write(self, *, done: bool = False) -> None:
        stages = []
        for stage in self.experiment.stages:
            record = self.records.get(stage.name)
            if record is not None:
                stages.append(attrs.asdict(record))
            elif stage.name in self._previous:
                stages.append(self._previous[stage.name])
        manifest = {
            "experiment": self.experiment.name,
            "source": self.experiment.source,
            "config": self.experiment.raw,
            "vars": dict(self.experiment.vars),
            "policy": self.experiment.policy,
            "swegym": swegym_version(),
            "plugins": self.plugins,
            "status": "done" if done else "incomplete",
            "updated": time.time(),
            "stages": stages,
        }
        tmp = self.manifest_path.with_name(MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        os.replace(tmp, self.manifest_path)


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
