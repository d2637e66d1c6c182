"""The shell scripts that build an environment and reset a sandbox, shared by all runtimes.

A runtime decides *where* these run (the host, a container); what runs is the same, so an
environment built by the local runtime and one built in Docker follow one recipe: the
repository's SWE-bench-style spec for its version.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shlex
from pathlib import Path
from typing import Literal

import attrs

from swegym.core.conda_env import Translation
from swegym.core.errors import UsageError
from swegym.core.git_source import reset_hard_script
from swegym.core.repository import EnvironmentSpec

@attrs.frozen
class EnvironmentChoices:
    """How a runtime picks interpreters and installers: options every runtime that builds
    environments from specs shares (a runtime class lists it among its bases)."""

    exact_python: bool = attrs.field(
        default=False,
        metadata={"help": "fail when the spec's Python version is not reachable (default: use the nearest, recorded)"},
    )
    uv_python: bool = attrs.field(
        default=True, metadata={"help": "install a missing Python version with uv (uv python install) where reachable"}
    )
    conda: Literal["auto", "translate", "require"] = attrs.field(
        default="auto",
        metadata={"help": "environment.yml specs: auto (conda when channels answer, else pip), translate, require"},
    )
    resolve_as_of_commit: bool = attrs.field(
        default=True, metadata={"help": "resolve unpinned requirements as of the setup commit's date (uv/pip)"}
    )


#: The modules that turn a spec into a build: a change to any of them is a new environment.
BUILD_CODE = ("envbuild.py", "envprepare.py", "conda_env.py", "conda_create.py", "uv_tool.py")


@functools.cache
def build_code_hash() -> str:
    digest = hashlib.sha256()
    for name in BUILD_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:6]


def environment_id(version: str, spec: EnvironmentSpec) -> str:
    """``<version>-<spec hash><build code hash>``: an environment built by older build code
    (a fix in how specs are installed) is not reused."""
    return f"{version}-{spec.spec_hash}{build_code_hash()}"

# Steps that change the operating system. The local runtime cannot run them on the host;
# a container runtime can.
SYSTEM_STEP_PREFIXES = ("apt-get ", "apt ", "sudo ", "yum ", "apk ", "dnf ")
# `python -m pip install`, `pip3 install`: rewritten to `pip install`, which the build's
# pip shim sends through uv first.
_PIP_INSTALL = re.compile(r"(?<![\w./-])(?:python3?(?:\.\d+)?\s+-m\s+pip|pip3?)\s+install\b")
#: setuptools as of this date has PEP 660 editable builds (64.0 came out in August 2022).
EDITABLE_SETUPTOOLS_DATE = "2022-12-31T00:00:00Z"
#: The line a failing build step prints (read back by ``describe_failure``).
FAILED_STEP = "swegym: failed step"

# During builds, `pip install` goes through uv (fast, resolved as of the instance's date,
# from the shared cache when it holds everything), with pip as the fallback; `pipx install` (pydantic's pdm) becomes `uv tool install`.
PIP_SHIM = """#!/bin/sh
if [ "$1" = install ] && [ -n "$SWEGYM_UV" ] && { [ -n "$VIRTUAL_ENV" ] || [ -n "$CONDA_PREFIX" ]; }; then
  shift
  export UV_CONSTRAINT="${UV_CONSTRAINT:-$PIP_CONSTRAINT}" UV_BUILD_CONSTRAINT="${UV_BUILD_CONSTRAINT:-$PIP_CONSTRAINT}"
  # With a date cutoff, index pages cached today hold everything the cutoff allows: try the
  # shared cache alone first (no index round trips), then the index.
  if [ -n "$UV_EXCLUDE_NEWER" ] && "$SWEGYM_UV" pip install --offline -q $SWEGYM_UV_ARGS "$@" 2>/dev/null; then
    echo "swegym: uv pip install $* (from the shared cache)"; exit 0
  fi
  err=$(mktemp)
  "$SWEGYM_UV" pip install $SWEGYM_UV_ARGS "$@" 2>"$err" && { cat "$err" >&2; rm -f "$err"; exit 0; }
  cat "$err" >&2
  # A requirement that no release as of the date meets (modin's connectorx pin, met on
  # conda-forge then, on PyPI only later): lift the cutoff for the packages uv names, and say so.
  lift=""
  for name in $(sed -n 's/^hint: `\\([^`]*\\)` was filtered by `exclude-newer`.*/\\1/p' "$err" | sort -u); do
    lift="$lift --exclude-newer-package $name=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  rm -f "$err"
  if [ -n "$lift" ]; then
    echo "swegym: no release as of the date meets a requirement: retrying with today's index for$(echo "$lift" | sed 's/ --exclude-newer-package / /g; s/=[^ ]*//g')" >&2
    "$SWEGYM_UV" pip install $lift $SWEGYM_UV_ARGS "$@" && exit 0
  fi
  # Editable installs need a setuptools with PEP 660 (64, August 2022): older dates allow a
  # later setuptools for this retry (in build environments; the venv keeps its own), in
  # compat mode: a .pth path entry, as `setup.py develop` gave, not an import-hook module
  # (pytest warns it cannot rewrite that one, an error under filterwarnings=error).
  if [ -n "$SWEGYM_BUILD_SETUPTOOLS" ]; then
    echo "swegym: retrying with setuptools up to $SWEGYM_BUILD_SETUPTOOLS (editable builds need 64+)" >&2
    "$SWEGYM_UV" pip install --exclude-newer-package "setuptools=$SWEGYM_BUILD_SETUPTOOLS" \
      --config-setting editable_mode=compat $lift $SWEGYM_UV_ARGS "$@" && exit 0
  fi
  [ -z "$SWEGYM_NO_PIP_FALLBACK" ] || exit 1
  echo "swegym: uv pip install failed (above); retrying with pip" >&2
  if [ -n "$PIP_UPLOADED_PRIOR_TO" ] && ! python -m pip install --help 2>/dev/null | grep -q -- --uploaded-prior-to; then
    echo "swegym: this pip has no --uploaded-prior-to: it resolves against today's index" >&2
  fi
  set -- install "$@"
fi
exec python -m pip "$@"
"""
PIPX_SHIM = """#!/bin/sh
case "$1" in
  install) shift; exec "$SWEGYM_UV" tool install "$@" ;;
  ensurepath) exit 0 ;;
esac
echo "swegym: pipx $1: only 'pipx install' and 'pipx ensurepath' are provided (through uv) in builds" >&2
exit 1
"""


# `python setup.py develop` in a Makefile (moto 4.0's `make init`) lets easy_install fetch the
# dependencies from today's index, one egg at a time: install them through uv first, as of
# the date, so easy_install finds them there.
_EASY_INSTALL_FIRST = (
    'if [ -f setup.py ] && grep -qs "setup.py develop" Makefile; then\n'
    '  echo "swegym: the Makefile runs setup.py develop: installing the dependencies through uv first"\n'
    '  pip install -e . </dev/null || echo "swegym: that failed; setup.py develop fetches them itself" >&2\n'
    "fi"
)


def is_system_step(command: str) -> bool:
    return command.lstrip().startswith(SYSTEM_STEP_PREFIXES)


@attrs.frozen
class InstallOptions:
    """How a build installs: the interpreter, the installer and the date it resolves as of.

    :param python: the interpreter the venv is made with (a path, or a name on PATH).
    :param exclude_newer: an ISO date: packages uploaded later are ignored (uv's
        ``--exclude-newer``, pip's ``--uploaded-prior-to``); None resolves against today.
    :param uv: the uv binary (None: look for ``uv`` on PATH; "" : never use uv).
    :param shim_dir: where the build's ``pip``/``pipx`` shims go.
    :param requested_python: the spec's version when ``python`` is another one: mentions
        of ``python3.X`` in the spec's steps are pointed at the interpreter used.
    :param conda: the translated environment.yml (pip path), or None.
    :param conda_exact: a command that creates ``venv`` as a conda prefix (conda path).
    """

    python: str
    exclude_newer: str | None = None
    uv: str | None = None
    shim_dir: str = "/opt/swegym/build-bin"
    requested_python: str | None = None
    conda: Translation | None = None
    conda_exact: str | None = None


def build_script(
    spec: EnvironmentSpec,
    *,
    python: str | None = None,
    venv: str,
    testbed: str,
    allow_system_steps: bool,
    options: InstallOptions | None = None,
) -> str:
    """A bash script that creates the environment and installs the repository.

    :param venv: where the virtual environment (or conda prefix) goes.
    :param testbed: the repository checkout the install steps run in.
    :param allow_system_steps: run apt-get and friends (containers) or skip them (host).
        In a container a failing system step is logged and the build goes on: the base
        image already has the usual toolchain, and what is really missing fails later,
        at the step that needs it.
    """
    if options is None:
        if python is None:
            raise UsageError("build_script needs python= or options=")
        options = InstallOptions(python=python)
    q = shlex.quote
    lines = [
        "set -eo pipefail",
        # At exit after a failure, $BASH_COMMAND is the command that failed.
        f"trap 'rc=$?; [ $rc -eq 0 ] || echo \"{FAILED_STEP} (exit $rc): $BASH_COMMAND\" >&2' EXIT",
        "export PIP_DISABLE_PIP_VERSION_CHECK=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1",
    ]
    if options.uv == "":
        lines.append("SWEGYM_UV=")
    elif options.uv:
        lines.append(f"SWEGYM_UV={q(options.uv)}")
    else:
        lines.append("SWEGYM_UV=$(command -v uv || true)")
    lines.append("export SWEGYM_UV")
    if options.exclude_newer:
        # npm's `before` too: bokeh's `npm install --location=global npm` must not get an npm
        # that today's node alone runs
        lines.append(
            f"export UV_EXCLUDE_NEWER={q(options.exclude_newer)} PIP_UPLOADED_PRIOR_TO={q(options.exclude_newer)}"
            f" npm_config_before={q(options.exclude_newer)}"
        )
        if options.exclude_newer[:10] < EDITABLE_SETUPTOOLS_DATE[:10]:
            lines.append(f"export SWEGYM_BUILD_SETUPTOOLS={EDITABLE_SETUPTOOLS_DATE}")
        lines.append(f"echo {q('swegym: packages resolved as of ' + options.exclude_newer)}")
    shims = options.shim_dir
    lines += [
        f"mkdir -p {q(shims)}",
        f"cat > {q(shims)}/pip <<'SWEGYM_EOF'\n{PIP_SHIM}SWEGYM_EOF",
        f"chmod +x {q(shims)}/pip",
        f'if [ -n "$SWEGYM_UV" ]; then\ncat > {q(shims)}/pipx <<\'SWEGYM_EOF\'\n{PIPX_SHIM}SWEGYM_EOF\nchmod +x {q(shims)}/pipx\nfi',
    ]
    lines += _interpreter_steps(options, venv)
    lines.append(f"export PATH={q(shims)}:$PATH")
    lines.append(f"cd {q(testbed)}")
    is_yml = is_environment_yml(spec)
    if not is_yml:  # an environment.yml's patches were applied to the file before translation
        lines.extend(spec.env_patches)
    # An environment.yml's environment exists before the other pre-install steps run, as in
    # SWE-bench (bokeh's `npm ci` needs the file's nodejs); system steps come first everywhere
    # (their headers serve the package builds).
    later = []
    for step in spec.pre_install:
        step = _point_python(step, options)
        if is_system_step(step):
            if allow_system_steps:
                note = q(f"swegym: system step failed, continuing (the base image has the usual toolchain): {step}")
                lines.append(f"{{ {step}\n}} || echo {note} >&2")
            else:
                lines.append(f"echo {q('swegym: skipped system step on this runtime: ' + step)}")
        else:
            (later if is_yml else lines).append(_through_shim(step))
    lines.extend(_package_steps(spec, options))
    lines.extend(later)
    if spec.pip_packages:
        lines.append("pip install " + " ".join(q(p) for p in spec.pip_packages))
    if spec.install:
        if re.search(r"(^|[;&|]\s*)make\b", spec.install):
            lines.append(_EASY_INSTALL_FIRST)
        lines.append(_through_shim(_point_python(spec.install, options)))
    # Test runs must not need the network: make sure the test runner itself is present.
    lines.append("python -m pytest --version >/dev/null 2>&1 || pip install pytest")
    # What the install left in the checkout is build output: ignore it from now on, so
    # sandbox resets keep it and agents' diffs never include it.
    lines.append(f"cd {q(testbed)} && mkdir -p .git/info && git ls-files --others --exclude-standard | sed 's|^|/|' >> .git/info/exclude")
    lines.append("echo swegym: environment ready")
    return "\n".join(lines) + "\n"


def _interpreter_steps(options: InstallOptions, venv: str) -> list[str]:
    """Make ``venv`` (a venv with pip, setuptools and wheel, or a conda prefix) and enter it."""
    q = shlex.quote
    if options.conda_exact:
        return [
            options.conda_exact,
            f"export PATH={q(venv)}/bin:$PATH CONDA_PREFIX={q(venv)}",
        ]
    python = q(options.python)
    return [
        'if [ -n "$SWEGYM_UV" ]; then',
        f'  "$SWEGYM_UV" venv -q --python {python} {q(venv)}',
        f"  . {q(venv)}/bin/activate",
        f"  {q(options.shim_dir)}/pip install -q pip setuptools wheel",
        "else",
        f"  {python} -m venv {q(venv)}",
        f"  . {q(venv)}/bin/activate",
        "  python -m pip install -q wheel",
        "fi",
        'echo "swegym: $(python --version) in ' + venv + ': $(python -m pip --version | cut -d" " -f1-2), '
        '$(python -c \"import setuptools; print(\\\"setuptools\\\", setuptools.__version__)\" 2>/dev/null)"',
    ]


def _through_shim(step: str) -> str:
    return _PIP_INSTALL.sub("pip install", step)


def _point_python(step: str, options: InstallOptions) -> str:
    """``python3.7`` in a step names the requested version: point it at the one used."""
    requested = options.requested_python
    if not requested or f"python{requested}" not in step or options.python.endswith(f"python{requested}"):
        return step
    return re.sub(rf"(?<![\w/.])python{re.escape(requested)}(?![\w.])", options.python, step)


def is_environment_yml(spec: EnvironmentSpec) -> bool:
    packages = spec.packages.strip()
    return packages == "environment.yml" or packages.endswith((".yml", ".yaml"))


def _package_steps(spec: EnvironmentSpec, options: InstallOptions) -> list[str]:
    packages = spec.packages.strip()
    if not packages:
        return []
    if packages == "requirements.txt":
        paths = spec.requirements_paths or ("requirements.txt",)
        return [f"pip install -r {shlex.quote(path)}" for path in paths]
    if is_environment_yml(spec):
        if options.conda_exact:
            return ['[ -s "$CONDA_PREFIX/.swegym-pip.txt" ] && pip install -r "$CONDA_PREFIX/.swegym-pip.txt" || true']
        if options.conda is None:
            raise UsageError(
                "this environment is specified as a conda environment.yml: build it through a runtime "
                "(which reads the file and creates it with conda or translates it to pip)"
            )
        return _translated_steps(options.conda)
    return ["pip install " + packages]


def _translated_steps(translation: Translation) -> list[str]:
    q = shlex.quote
    requirements = "\n".join(translation.requirements)
    lines = [f"cat > /tmp/swegym-conda-requirements.txt <<'SWEGYM_EOF'\n{requirements}\nSWEGYM_EOF"]
    if translation.dropped:
        lines.append(f"echo {q('swegym: conda-only entries left out: ' + ', '.join(translation.dropped))}")
    if translation.requirements:
        # Old sdists often import numpy or Cython in setup.py without declaring them: when the
        # isolated build fails, install numpy and Cython (the file's pins, if any) first and
        # build without isolation (pip last, as everywhere).
        lines.append(
            "if ! SWEGYM_NO_PIP_FALLBACK=1 pip install -r /tmp/swegym-conda-requirements.txt; then\n"
            '  echo "swegym: retrying with numpy and Cython (as of the date) installed first and no build isolation" >&2\n'
            "  grep -iE '^(numpy|cython|setuptools|wheel)([<>=!~ ]|$)' /tmp/swegym-conda-requirements.txt"
            " > /tmp/swegym-build-requirements.txt || true\n"
            "  pip install setuptools wheel numpy cython -r /tmp/swegym-build-requirements.txt\n"
            "  SWEGYM_UV_ARGS=--no-build-isolation pip install -r /tmp/swegym-conda-requirements.txt\n"
            "fi"
        )
    for url in translation.urls:
        note = q(f"swegym: could not install {url} from the environment file's pip section (unreachable?); continuing")
        lines.append(f"pip install {url} || echo {note} >&2")
    return lines


def build_failure(repo, version: str, step: str, exit_code: int, log_path) -> Exception:
    """The error for a failed build step: the failing command, its exit code, the last
    meaningful lines of its output and the log's path, in words (no class names)."""
    from pathlib import Path

    from swegym.core.runtime import TIMEOUT_EXIT, EnvironmentBuildError

    try:
        with open(log_path, "rb") as handle:
            handle.seek(max(0, Path(log_path).stat().st_size - 65536))
            output = handle.read().decode("utf-8", errors="replace")
    except OSError:
        output = ""
    command, tail = describe_failure(output)
    reason = "timed out" if exit_code in (TIMEOUT_EXIT, 137) else f"exit {exit_code}"
    at = f" at `{command[:160]}`" if command else ""
    message = f"{repo.name} {version}: {step} step failed{at} ({reason})"
    if tail:
        message += ":\n" + tail
    return EnvironmentBuildError(message + f"\nlog: {log_path}")


def describe_failure(output: str, *, max_lines: int = 4) -> tuple[str, str]:
    """``(failing command, its last meaningful output lines)`` from a failed build's output."""
    lines = output.splitlines()
    command, end = "", len(lines)
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(FAILED_STEP):
            command = re.sub(r"^.*?\(exit \d+\): ", "", lines[index]).strip()
            end = index
            break
    noise = ("[notice]", "WARNING: Running pip as", "hint:", "note: This error originates", "swegym: failed step")
    meaningful = []
    for line in reversed(lines[:end]):
        text = line.strip()
        if not text or text.startswith(noise) or set(text) <= set("─━-=╰╭│ "):
            continue
        meaningful.append(text[:240])
        if len(meaningful) >= max_lines:
            break
    return command, "\n".join(reversed(meaningful))


def checkout_script(base_commit: str, *, objects: str, history: str = "shared") -> str:
    """A bash script (run in an empty directory) that makes a git work tree at ``base_commit``.

    The new repository has one branch at ``base_commit``, no remotes and no tags, so no
    later commit is reachable. ``history="shared"`` borrows the cached clone's object
    store through git alternates (instant, no copy; later objects exist in the store but
    no ref reaches them); ``"shallow"`` fetches only the base commit's tree (a copy, but
    no later object at all).
    """
    commit = shlex.quote(base_commit)
    lines = ["set -e", "git init -q --template= -b swegym ."]  # no sample hooks: a sandbox costs its work tree
    if history == "shallow":
        lines.append(f"git -c protocol.file.allow=always fetch -q --depth 1 --no-tags {shlex.quote(objects.rsplit('/objects', 1)[0])} {commit}")
    elif history == "shared":
        lines.append(f"echo {shlex.quote(objects)} > .git/objects/info/alternates")
    else:
        raise UsageError(f"unknown history mode {history!r}; use 'shared' or 'shallow'")
    lines += [
        f"git update-ref refs/heads/swegym {commit}",
        reset_hard_script("swegym"),
        "git config user.email agent@swegym.invalid && git config user.name swegym-agent",
        "rm -f .git/FETCH_HEAD",
    ]
    return "\n".join(lines) + "\n"


def reset_script(base_commit: str) -> str:
    """A bash script (run in an environment's build checkout) that moves it to ``base_commit``.

    Tracked files are reset and untracked ones removed, but ignored files (build outputs:
    compiled extensions, egg-info) stay, so an editable install keeps working. Afterwards
    one branch points at ``base_commit`` and no ref or reflog mentions anything else.
    """
    commit = shlex.quote(base_commit)
    return "\n".join([
        "set -e",
        f"git update-ref refs/heads/swegym {commit}",
        "git symbolic-ref HEAD refs/heads/swegym",
        reset_hard_script("swegym"),
        "git clean -fdq",
        "git for-each-ref --format='%(refname)' | grep -vx refs/heads/swegym | xargs -r -n1 git update-ref -d",
        "git reflog expire --expire=now --all",
        "rm -f .git/ORIG_HEAD .git/FETCH_HEAD",
    ]) + "\n"


def copy_build_outputs_script(testbed: str, tree: str) -> str:
    """A bash script that hard-links the build checkout's untracked and ignored files
    (build outputs) into a sandbox's fresh work tree, without copying their bytes."""
    src, dst = shlex.quote(testbed), shlex.quote(tree)
    return (
        f"cd {src} && {{ git ls-files -z --others --exclude-standard; git ls-files -z --others --ignored --exclude-standard; }}"
        f" | xargs -0 -r cp -al --parents -t {dst}\n"
        f"mkdir -p {dst}/.git/info && cp {src}/.git/info/exclude {dst}/.git/info/exclude 2>/dev/null || true\n"
    )
