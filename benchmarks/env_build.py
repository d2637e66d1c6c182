"""Environment build times for real getmoto/moto versions (Docker or local runtime).

Each version is built at its release tag from a local mirror of moto's history, with the
repository's real spec (``make init``), twice: once as it comes (the shared uv/pip cache as
the machine has it) and once more after removing the environment, with the cache warm.
Previous figures (pip, no cache, before uv): Docker v4.0 148 s, v4.1 63 s, v4.2 67 s.

    python benchmarks/env_build.py [--mirror DIR] [--runtime docker|local] [--versions 4.0,4.1,4.2]

Needs a Docker engine with the base images (``swegym env base``) and PyPI. Without a mirror
of moto (a clone or bare clone at DIR, default /work/.mirror/getmoto+moto/repo or
``$SWEGYM_GIT_MIRROR/getmoto__moto``) it says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attrs

from swegym import Components, get_plugin_manager
from swegym.core.instance import TaskInstance

DEFAULT_MIRRORS = ("/work/.mirror/getmoto+moto/repo",)


def find_mirror(explicit: str | None) -> Path | None:
    candidates = [explicit] if explicit else [*DEFAULT_MIRRORS]
    if not explicit and os.environ.get("SWEGYM_GIT_MIRROR"):
        candidates.append(os.path.join(os.environ["SWEGYM_GIT_MIRROR"], "getmoto__moto"))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def tag_commit(mirror: Path, tag: str) -> str | None:
    out = subprocess.run(["git", "--git-dir" if (mirror / "HEAD").exists() else "-C", str(mirror), "rev-parse", f"{tag}^{{commit}}"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", help="a clone or bare clone of getmoto/moto")
    parser.add_argument("--runtime", default="docker", choices=("docker", "local"))
    parser.add_argument("--versions", default="4.0,4.1,4.2")
    parser.add_argument("--cold", action="store_true", help="also clear the shared package cache first")
    args = parser.parse_args()
    mirror = find_mirror(args.mirror)
    if mirror is None:
        print("skipped: no mirror of getmoto/moto (pass --mirror DIR, a clone of https://github.com/getmoto/moto)")
        return 0
    components = Components(get_plugin_manager())
    moto = components["repositories"].get("getmoto/moto")
    # A name of its own: its environment images never share a tag with real moto builds,
    # which this benchmark removes when done.
    repo = attrs.evolve(moto, name=f"swegym-bench/moto-{os.getpid()}", local_path=str(mirror))
    cache = Path(tempfile.mkdtemp(prefix="swegym-envbench-"))
    shared = Path(os.environ.get("SWEGYM_CACHE_DIR") or Path.home() / ".cache" / "swegym")
    runtime = components["runtimes"].create(args.runtime, {"root": str(cache)})
    # The package caches are the machine's shared ones (what a second build finds warm).
    for name in ("uv-cache", "pip-cache", "uv-python"):
        (shared / name).mkdir(parents=True, exist_ok=True)
        (cache / name).symlink_to(shared / name)
    if args.cold:
        shutil.rmtree(shared / "uv-cache", ignore_errors=True)
        (shared / "uv-cache").mkdir()
    print(f"{'version':8} {'python':12} {'first build':>12} {'warm cache':>11}  image/venv")
    try:
        for version in args.versions.split(","):
            commit = tag_commit(mirror, f"{version}.0")
            if commit is None:
                print(f"{version:8} skipped: no tag {version}.0 in {mirror}")
                continue
            instance = TaskInstance(
                instance_id=f"getmoto__moto-bench-{version}", repo=moto.name, base_commit=commit, patch="",
                test_patch="", problem_statement="", version=version,
            )
            times = []
            environment = None
            for _ in range(2):
                if environment is not None:  # drop the environment, keep the package cache
                    _remove(runtime, environment)
                started = time.monotonic()
                environment = runtime.environment(repo, instance, build=True)
                times.append(time.monotonic() - started)
            python = f"{environment.python_requested}->{environment.python}"
            print(f"{version:8} {python:12} {times[0]:11.1f}s {times[1]:10.1f}s  {_size(runtime, environment)}", flush=True)
            _remove(runtime, environment)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


def _remove(runtime, environment) -> None:
    marker = Path(environment.log_path).parent / "environment.json"
    marker.unlink(missing_ok=True)
    if runtime.name == "docker":
        client = runtime.client()
        client.images.remove(environment.location, force=True)
        client.close()


def _size(runtime, environment) -> str:
    if runtime.name == "docker":
        client = runtime.client()
        size = client.images.get(environment.location).attrs.get("Size", 0)
        client.close()
        return f"{size / 1e6:.0f} MB"
    out = subprocess.run(["du", "-sm", str(Path(environment.location) / "venv")], capture_output=True, text=True)
    return f"{out.stdout.split()[0]} MB" if out.returncode == 0 else "?"


if __name__ == "__main__":
    sys.exit(main())
