"""The verifier protocol: candidate trajectories in, one score per candidate out.

A verifier is a ``swegym_register_verifiers`` component (an attrs class whose fields are its
options). ``score`` sees whole ``Trajectory`` objects (issue, turns, final patch) and returns
a probability-like score per trajectory; ``swegym rerank`` picks the highest of k.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import ClassVar

import attrs

from swegym.core.trajectory import Trajectory


@attrs.frozen
class Score:
    """A verifier's score for one trajectory (the line format of a scores file)."""

    instance_id: str
    sample_index: int
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"instance_id": self.instance_id, "sample_index": self.sample_index, "score": self.score}


class Verifier(abc.ABC):
    """A verifier (a ``swegym_register_verifiers`` component)."""

    name: ClassVar[str]

    @abc.abstractmethod
    def score(self, trajectories: Sequence[Trajectory]) -> list[float]:
        """One score in [0, 1] per trajectory, in order (higher: more likely resolved)."""

    def score_all(self, trajectories: Iterable[Trajectory], *, batch_size: int = 8) -> Iterable[Score]:
        """Scores for a stream of trajectories, ``batch_size`` at a time."""
        batch: list[Trajectory] = []
        for trajectory in trajectories:
            batch.append(trajectory)
            if len(batch) >= batch_size:
                yield from self._scored(batch)
                batch = []
        if batch:
            yield from self._scored(batch)

    def load(self) -> None:
        """Load the model now (else the first ``score`` does): keeps start-up out of timings."""

    def close(self) -> None:
        """Release the model (GPU memory, server connections)."""

    def _scored(self, batch: list[Trajectory]) -> Iterable[Score]:
        for trajectory, value in zip(batch, self.score(batch), strict=True):
            yield Score(trajectory.instance_id, trajectory.sample_index, float(value))
