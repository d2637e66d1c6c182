"""Environment planning, base-image recipes, environment.yml translation and build scripts
(fast: no build runs here; the builds are in test_env_builds.py and test_docker_runtime.py)."""

import json
import subprocess
import sys
from collections import Counter

import pytest

from swegym.core.conda_env import CondaEnvironment, pip_version, translate
from swegym.core.envbuild import InstallOptions, build_script, describe_failure
from swegym.core.envplan import CONDA, CONDA_TRANSLATED, PIP, ExactPythonError, plan_python, plan_repositories
from swegym.core.envrecipe import PACKAGES, base_tag, nearest, recipe_hash, suite_for
from swegym.core.repository import EnvironmentSpec

SWE_GYM = {
    "Project-MONAI/MONAI", "bokeh/bokeh", "conan-io/conan", "dask/dask", "facebookresearch/hydra", "getmoto/moto",
    "iterative/dvc", "modin-project/modin", "pandas-dev/pandas", "pydantic/pydantic", "python/mypy",
}


def swe_gym_repositories(components):
    return [entry.component for entry in components["repositories"] if entry.component.name in SWE_GYM]


def test_every_one_of_the_416_spec_versions_gets_a_plan(components):
    repos = swe_gym_repositories(components)
    assert {r.name for r in repos} == SWE_GYM
    plans = plan_repositories(repos)
    assert len(plans) == 416
    assert Counter(p.install for p in plans) == {PIP: 283, CONDA_TRANSLATED: 133}
    assert {p.suite for p in plans} <= {"bullseye", "bookworm", "trixie"}
    requested = Counter(p.python.requested for p in plans if p.python.origin == "spec")
    assert requested == {"3.8": 137, "3.9": 75, "3.10": 66, "3.7": 31, "3.12": 19, "3.11": 7}
    for plan in plans:
        if plan.python.requested in (None, "3.9", "3.11"):  # None: the file's python, read at build
            assert plan.python.exact
        else:
            assert plan.python.note.startswith(f"python {plan.python.requested} requested")
    # With channels reachable, the same specs go through conda, with their own Python.
    exact = plan_repositories(repos, conda_reachable=True, uv_python=True)
    assert Counter(p.install for p in exact) == {PIP: 283, CONDA: 133}
    assert all(p.python.exact for p in exact if p.python.requested)


def test_the_plan_command_covers_every_version(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "swegym", "env", "plan", "--json", "--no-probe"], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    rows = [row for row in json.loads(out.stdout) if row["repo"] in SWE_GYM]
    assert len(rows) == 416
    assert all(row["install"] in (PIP, CONDA_TRANSLATED) and row["suite"] and row["python_used"] for row in rows)
    moto = [row for row in rows if row["repo"] == "getmoto/moto"]
    assert {(r["python_requested"], r["python_used"], r["suite"]) for r in moto} == {("3.12", "3.11", "bookworm")}
    table = subprocess.run(
        [sys.executable, "-m", "swegym", "env", "plan", "--no-probe", "--repo", "dask/dask"],
        capture_output=True, text=True, cwd=tmp_path, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert "60 planned, none unsupported; install paths: conda-translated 60" in " ".join(table.stdout.split())


@pytest.mark.parametrize(
    ("requested", "suite", "used"),
    [("3.7", "bullseye", "3.9"), ("3.8", "bullseye", "3.9"), ("3.9", "bullseye", "3.9"), ("3.10", "bullseye", "3.9"),
     ("3.11", "bookworm", "3.11"), ("3.12", "bookworm", "3.11"), ("3.13", "trixie", "3.13"), ("3.14", "trixie", "3.13")],
)
def test_each_version_gets_its_suite_or_the_nearest_older_on_a_tie(requested, suite, used):
    choice = suite_for(requested)
    assert (choice.suite, choice.python) == (suite, used)
    assert choice.exact == (requested == used)


def test_uv_gives_the_exact_version_when_reachable_and_exactness_can_be_required():
    assert plan_python("3.8", uv_python=True).used == "3.8"
    assert plan_python("3.8", uv_python=True).source == "uv"
    nearest_plan = plan_python("3.8")
    nearest_plan.check(exact_required=False)
    with pytest.raises(ExactPythonError, match=r"python 3\.8 is not reachable here \(nearest: 3\.9 from debian:bullseye\)"):
        nearest_plan.check(exact_required=True)
    assert nearest("3.10", ["3.9", "3.11"]) == "3.9" and nearest("3.6", ["3.9", "3.11"]) == "3.9"


def test_the_base_image_tag_follows_its_recipe():
    assert base_tag("bookworm").startswith("swegym/base:bookworm-")
    assert recipe_hash("bookworm") != recipe_hash("bullseye")
    assert recipe_hash("bookworm", uv_version="0.1") != recipe_hash("bookworm", uv_version="0.2")
    assert {"build-essential", "pkg-config", "git", "python3-dev", "libffi-dev", "libssl-dev", "zlib1g-dev",
            "libbz2-dev", "liblzma-dev", "libsqlite3-dev", "libxml2-dev", "libxslt1-dev", "libhdf5-dev"} <= set(PACKAGES)
    with pytest.raises(ValueError, match="unknown Debian suite 'buster'"):
        recipe_hash("buster")


PANDAS_LIKE = """\
name: pandas-dev
channels:
  - conda-forge
dependencies:
  - python=3.10
  - pip
  - c-compiler
  - cython~=3.0.5
  - numpy>=1.22.4,<2
  - pytables>=3.8.0
  - dask-core
  - pyqt>=5.15.9
  - conda-forge::matplotlib-base=3.6.3=py310_0
  - scipy 1.10.*
  - msgpack-python
  - pip:
    - tzdata>=2022.7
    - git+https://github.com/modin-project/modin-spreadsheet.git@49ffd89
"""


def test_environment_yml_translates_to_pip_requirements_with_pins_kept():
    environment = CondaEnvironment.parse(PANDAS_LIKE)
    assert environment.python == "3.10"
    translation = translate(environment)
    assert translation.requirements == (
        "cython~=3.0.5", "numpy>=1.22.4,<2", "tables>=3.8.0", "dask", "PyQt5>=5.15.9", "matplotlib==3.6.3.*",
        "scipy==1.10.*", "msgpack", "tzdata>=2022.7",
    )
    assert translation.dropped == ("pip", "c-compiler")
    assert translation.urls == ("git+https://github.com/modin-project/modin-spreadsheet.git@49ffd89",)
    assert ("pytables", "tables") in translation.renamed


@pytest.mark.parametrize(
    ("conda", "pip"),
    [("=1.21", "==1.21.*"), ("1.21.*", "==1.21.*"), ("1.2.3", "==1.2.3"), (">=1.2,<2", ">=1.2,<2"),
     ("=1.21=py39_0", "==1.21.*"), ("", ""), ("==2.0", "==2.0")],
)
def test_conda_version_constraints_become_pip_ones(conda, pip):
    assert pip_version(conda) == pip


def test_build_scripts_install_through_uv_as_of_a_date_with_pip_as_fallback():
    spec = EnvironmentSpec(
        python="3.7",
        pre_install=("apt-get install -y pipx", "pipx install pdm --python python3.7"),
        install="python -m pip install -e .; python3 -m pip install -r req.txt; make init",
    )
    script = build_script(
        spec, venv="/v", testbed="/t", allow_system_steps=True,
        options=InstallOptions(python="/usr/bin/python3.9", exclude_newer="2021-03-04T05:06:07+00:00", requested_python="3.7"),
    )
    assert "export UV_EXCLUDE_NEWER=2021-03-04T05:06:07+00:00 PIP_UPLOADED_PRIOR_TO=2021-03-04T05:06:07+00:00" in script
    assert "export SWEGYM_BUILD_SETUPTOOLS=2022-12-31T00:00:00Z" in script  # editable builds of a 2021 project
    assert "pip install -e .; pip install -r req.txt; make init" in script  # through the shim on PATH
    assert "pipx install pdm --python /usr/bin/python3.9" in script
    assert "} || echo 'swegym: system step failed, continuing" in script
    assert "/opt/swegym/build-bin/pip install -q pip setuptools wheel" in script  # the shim: uv, as of the date
    host = build_script(spec, venv="/v", testbed="/t", allow_system_steps=False, options=InstallOptions(python="python3"))
    assert "skipped system step on this runtime: apt-get install -y pipx" in host


def test_a_failure_is_described_by_its_command_and_last_meaningful_lines():
    output = "\n".join([
        "Collecting numpy", "  error: subprocess-exited-with-error", "", "  gcc: fatal error: no input files",
        "[notice] A new release of pip is available", "swegym: failed step (exit 1): pip install -e .",
    ])
    command, tail = describe_failure(output, max_lines=2)
    assert command == "pip install -e ."
    assert tail == "error: subprocess-exited-with-error\ngcc: fatal error: no input files"


@pytest.mark.slow  # scans the machine's interpreters three times
def test_an_unreachable_uv_download_is_a_one_line_fallback_remembered_for_an_hour(tmp_path, monkeypatch):
    from swegym.core.python_provider import PythonNotFoundError, find_python
    from swegym.core.uv_tool import downloads_unreachable

    monkeypatch.setenv("UV_PYTHON_INSTALL_MIRROR", "http://127.0.0.1:9/python")  # nothing listens there
    choice = find_python("3.2", uv_install_dir=tmp_path / "uv-python")
    assert choice.requested == "3.2" and choice.version != "3.2" and not choice.exact
    assert choice.fallback.startswith("uv python install 3.2 failed (") and "\n" not in choice.fallback
    assert downloads_unreachable(tmp_path)
    again = find_python("3.2", uv_install_dir=tmp_path / "uv-python")
    assert again.fallback.startswith("uv's interpreter downloads were unreachable at the last try")
    with pytest.raises(PythonNotFoundError, match=r"python 3\.2 is not available .*drop -o runtime\.exact_python=true"):
        find_python("3.2", exact=True, uv_install_dir=tmp_path / "uv-python")


def test_installs_resolve_as_of_the_commit_or_the_interpreters_release_whichever_is_later():
    from swegym.core.envprepare import resolution_date

    notes = []
    assert resolution_date("2023-01-09T18:26:15-01:00", "3.11", notes) == "2023-01-09T18:26:15-01:00" and notes == []
    assert resolution_date("2022-08-20T09:54:03+00:00", "3.12", notes) == "2023-10-02T00:00:00Z"
    assert notes == ["packages resolved as of python 3.12's release (2023-10-02), not the setup commit's date "
                     "(2022-08-20): older releases often do not install on 3.12"]
    assert resolution_date(None, "3.12", notes) is None


def test_a_translated_environment_retries_undeclared_build_dependencies_without_isolation():
    environment = CondaEnvironment.parse(PANDAS_LIKE)
    script = build_script(
        EnvironmentSpec(packages="environment.yml"), venv="/v", testbed="/t", allow_system_steps=True,
        options=InstallOptions(python="python3", conda=translate(environment)),
    )
    assert "if ! SWEGYM_NO_PIP_FALLBACK=1 pip install -r /tmp/swegym-conda-requirements.txt; then" in script
    assert "pip install setuptools wheel numpy cython -r /tmp/swegym-build-requirements.txt" in script
    assert "SWEGYM_UV_ARGS=--no-build-isolation pip install -r /tmp/swegym-conda-requirements.txt" in script
    assert "pip install git+https://github.com/modin-project/modin-spreadsheet.git@49ffd89 || echo" in script
    assert "swegym: conda-only entries left out: pip, c-compiler" in script
