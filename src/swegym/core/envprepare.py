"""What a runtime works out before an environment build: the date installs resolve as of,
the environment.yml (read from the repository at the setup commit, patched, translated or
handed to conda), and the header of the build log. Shared by the local and Docker runtimes."""

from __future__ import annotations

import shlex
import subprocess
from importlib import resources
from pathlib import Path
from typing import TextIO

from swegym.core.conda_env import CondaEnvironment, read_environment_file
from swegym.core.envbuild import is_environment_yml
from swegym.core.envplan import EnvironmentPlan
from swegym.core.repository import EnvironmentSpec

PATCHED_MARK = "----- swegym: patched environment file -----"


def commit_date(bare_clone: Path, commit: str) -> str | None:
    """The commit's committer date (ISO 8601): installs resolve as of this moment."""
    out = subprocess.run(
        ["git", "--git-dir", str(bare_clone), "log", "-1", "--format=%cI", commit], capture_output=True, text=True
    )
    return out.stdout.strip() or None if out.returncode == 0 else None


#: First release of each CPython minor version: packages published before it often do not
#: install on it (no wheels, removed modules), so installs never resolve as of an earlier date.
PYTHON_RELEASES = {
    "3.6": "2016-12-23", "3.7": "2018-06-27", "3.8": "2019-10-14", "3.9": "2020-10-05", "3.10": "2021-10-04",
    "3.11": "2022-10-24", "3.12": "2023-10-02", "3.13": "2024-10-07", "3.14": "2025-10-07",
}


def resolution_date(commit_iso: str | None, python: str, notes: list[str]) -> str | None:
    """The date installs resolve as of: the setup commit's, or the interpreter's release when
    that is later (a 2022 commit built with 3.12 gets 3.12-capable setuptools); noted."""
    released = PYTHON_RELEASES.get(python)
    if commit_iso is None or released is None or commit_iso[:10] >= released:
        return commit_iso
    notes.append(
        f"packages resolved as of python {python}'s release ({released}), not the setup commit's date "
        f"({commit_iso[:10]}): older releases often do not install on {python}"
    )
    return f"{released}T00:00:00Z"


def environment_file(spec: EnvironmentSpec, bare_clone: Path, commit: str) -> CondaEnvironment | None:
    """The spec's environment.yml at ``commit`` (None for pip specs)."""
    if not is_environment_yml(spec):
        return None
    return read_environment_file(bare_clone, commit, spec.environment_yml_paths)


def conda_reachable(env_file: CondaEnvironment | None, mode: str, cache: Path, notes: list[str]) -> bool:
    """Whether this build creates its environment.yml with conda (``mode``: auto, translate,
    require); the reason it does not goes into ``notes``."""
    from swegym.core.conda_env import channels_reachable
    from swegym.core.runtime import EnvironmentBuildError

    if env_file is None or mode == "translate":
        return False
    reachable, why = channels_reachable(cache)
    if not reachable:
        if mode == "require":
            raise EnvironmentBuildError(f"conda channels are unreachable ({why}) and runtime.conda=require")
        notes.append(f"conda channels unreachable ({why}): environment.yml translated to pip requirements")
    return reachable


def patch_script(env_file: CondaEnvironment, spec: EnvironmentSpec, directory: str) -> str:
    """A bash script that writes the file as ``directory/environment.yml``, applies the spec's
    env patches to it (they edit ``environment.yml``) and prints the result after a mark."""
    q = shlex.quote
    lines = [
        "set -e",
        f"mkdir -p {q(directory)} && cd {q(directory)}",
        f"cat > environment.yml <<'SWEGYM_EOF'\n{env_file.text.rstrip()}\nSWEGYM_EOF",
        *spec.env_patches,
        f"echo {q(PATCHED_MARK)}",
        "cat environment.yml",
    ]
    return "\n".join(lines) + "\n"


def patched(env_file: CondaEnvironment, output: str) -> CondaEnvironment:
    """The environment file as ``patch_script`` printed it."""
    _, mark, text = output.partition(PATCHED_MARK + "\n")
    return CondaEnvironment.parse(text if mark else env_file.text, env_file.path)


def conda_create_command(environment_yml: str, prefix: str, exclude_newer: str | None, tools: str) -> str:
    """Shell lines that create ``prefix`` from the file with py-rattler (installed into ``tools``
    with uv or pip; py-rattler itself resolves against today's index)."""
    q = shlex.quote
    source = resources.files("swegym.core").joinpath("conda_create.py").read_text()
    script = f"{tools}/conda_create.py"
    return "\n".join([
        f"mkdir -p {q(tools)}",
        f"cat > {q(script)} <<'SWEGYM_EOF'\n{source.rstrip()}\nSWEGYM_EOF",
        'if [ -n "$SWEGYM_UV" ]; then',
        f'  "$SWEGYM_UV" venv -q --python python3 {q(tools)}/venv && env -u UV_EXCLUDE_NEWER "$SWEGYM_UV" pip install -q --python {q(tools)}/venv/bin/python py-rattler pyyaml',
        "else",
        f"  python3 -m venv {q(tools)}/venv && env -u PIP_UPLOADED_PRIOR_TO {q(tools)}/venv/bin/python -m pip install -q py-rattler pyyaml",
        "fi",
        f"{q(tools)}/venv/bin/python {q(script)} {q(environment_yml)} {q(prefix)} {q(exclude_newer or '')}",
    ])


def write_log_header(handle: TextIO, *, title: str, plan: EnvironmentPlan, python_path: str, setup_commit: str,
                     resolved_as_of: str | None, base_image: str = "", notes: list[str] = ()) -> None:
    """The build log's first lines: what was asked, what is used and why."""
    python = plan.python
    handle.write(f"# swegym environment build: {title}\n")
    if base_image:
        handle.write(f"# base image: {base_image}\n")
    handle.write(
        f"# python: requested {python.requested or '-'} (from {python.origin}), used {python.used} "
        f"({python_path}; {python.source})\n"
    )
    handle.write(f"# install path: {plan.install}" + (f" ({plan.env_file})" if plan.env_file else "") + "\n")
    handle.write(f"# packages resolved as of: {resolved_as_of or 'today (no date)'}\n")
    handle.write(f"# setup commit: {setup_commit}\n")
    if python.note:
        handle.write(f"# NOTE: {python.note}\n")
    for note in notes:
        handle.write(f"# NOTE: {note}\n")
