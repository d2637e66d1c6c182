"""Built-in trainers: ``sft``, supervised fine-tuning with TRL (the policy of SWE-Gym, and the
verifier's YES/NO examples), and ``grpo``, online RL with TRL's GRPOTrainer on live episodes.

The package also ships accelerate configs for multi-GPU runs (``configs/``, listed by
``swegym train configs``) and the ChatML training template the trainer falls back to.
"""

from __future__ import annotations

from pathlib import Path

from swegym import hookimpl
from swegym.plugins.trainers.grpo import GRPOTrainer
from swegym.plugins.trainers.sft import SFTTrainer

#: accelerate config files shipped with swegym, by name
ACCELERATE_CONFIGS: dict[str, Path] = {
    "fsdp": Path(__file__).parent / "configs" / "fsdp.yaml",
    "deepspeed_zero3": Path(__file__).parent / "configs" / "deepspeed_zero3.yaml",
}


@hookimpl
def swegym_register_trainers(register):
    register(SFTTrainer)
    register(GRPOTrainer)


__all__ = ["ACCELERATE_CONFIGS", "GRPOTrainer", "SFTTrainer"]
