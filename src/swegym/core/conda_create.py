"""Create a conda environment from an environment.yml with py-rattler (a conda solver and
installer on PyPI), exactly as conda would: ``python conda_create.py FILE PREFIX [DATE]``.

It runs where the environment is built (inside the build container, or on the host for
the local runtime), with only py-rattler and PyYAML installed, so it imports nothing from
swegym. DATE (ISO) excludes packages published later, like uv's ``--exclude-newer``. The
file's ``pip:`` section is written to ``PREFIX/.swegym-pip.txt`` for the build's pip step.
"""

import asyncio
import datetime
import os
import sys


def create(environment_file, prefix, exclude_newer=None):
    import rattler
    import yaml

    with open(environment_file) as handle:
        data = yaml.safe_load(handle) or {}
    specs, pip = [], []
    for entry in data.get("dependencies") or ():
        if isinstance(entry, str):
            specs.append(entry)
        elif isinstance(entry, dict):
            pip.extend(str(p) for p in entry.get("pip") or ())
    # "defaults" is Anaconda's own channel set: conda-forge stands in for it.
    channels = [c for c in data.get("channels") or () if c != "defaults"] or ["conda-forge"]
    cutoff = datetime.datetime.fromisoformat(exclude_newer.replace("Z", "+00:00")) if exclude_newer else None
    records = asyncio.run(
        rattler.solve(channels, specs, virtual_packages=rattler.VirtualPackage.detect(), exclude_newer=cutoff)
    )
    asyncio.run(rattler.install(records, target_prefix=prefix, show_progress=False))
    with open(f"{prefix}/.swegym-pip.txt", "w") as handle:
        handle.write("\n".join(pip) + ("\n" if pip else ""))
    print(f"swegym: conda environment {prefix}: {len(records)} packages from {', '.join(channels)}")


if __name__ == "__main__":
    create(*sys.argv[1:4])
    sys.stdout.flush()
    sys.stderr.flush()
    # py-rattler's runtime can crash while the interpreter tears down (seen here as a
    # segfault after the work was done): leave without the teardown.
    os._exit(0)
