"""The trainer protocol: a dataset and a base model in, a trained checkpoint out.

A trainer is a ``swegym_register_trainers`` component: an attrs class whose fields are its
options (``-o trainer.KEY=VALUE`` on the command line, a TOML table in experiments) and whose
``train`` method fits a model. Policy SFT and verifier training are both trainers; the
verifier's data is prompt/completion chat examples, the policy's is ``messages`` examples.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs


@attrs.frozen
class TrainResult:
    """What a training run produced."""

    output_dir: Path  #: the saved model (a full checkpoint, or a LoRA adapter, with merged/ when asked for)
    model: str  #: the base model trained from
    steps: int  #: optimizer steps taken in all (including steps done before a resume)
    losses: Sequence[float] = ()  #: training loss at each logging step, in order
    runtime_s: float = 0.0
    resumed_from: str | None = None  #: the checkpoint this run continued, if any
    adapter: bool = False  #: output_dir holds a LoRA adapter (swegym's loaders take it with its base model)
    metrics: Mapping[str, Any] = attrs.field(factory=dict)
    peak_rss_mb: float | None = None  #: peak resident memory of the training process
    disk_mb: float | None = None  #: size of output_dir when the run ended (checkpoints included)

    def loadable_model(self) -> Path:
        """The directory to roll out or serve: the merged model when one was saved, else
        output_dir (a full checkpoint, or an adapter that swegym loads on its base model)."""
        merged = self.output_dir / "merged"
        return merged if self.adapter and merged.is_dir() else self.output_dir

    def to_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data["output_dir"] = str(self.output_dir)
        data["losses"] = list(self.losses)
        data["metrics"] = dict(self.metrics)
        return data


#: called with (step, total_steps, logs) at each logging step, for progress displays
ProgressCallback = Callable[[int, int, Mapping[str, float]], None]


class Trainer(abc.ABC):
    """A trainer (a ``swegym_register_trainers`` component)."""

    name: ClassVar[str]

    @abc.abstractmethod
    def train(
        self,
        data: str | Path,
        model: str,
        out: str | Path,
        *,
        resume: bool = True,
        progress: ProgressCallback | None = None,
    ) -> TrainResult:
        """Train ``model`` (a local checkpoint path or a hub id) on ``data`` and save it in ``out``.

        :param data: a JSONL file or a Hugging Face dataset saved with ``save_to_disk``; each
            example is ``{"messages": [...]}`` (loss on assistant turns) or
            ``{"prompt": [...], "completion": [...]}`` (loss on the completion).
        :param resume: continue from the newest checkpoint in ``out`` when there is one.
        """
