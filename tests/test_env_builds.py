"""Real environment builds on the local runtime: an environment.yml translated to pip and
installed with uv as of the setup commit's date, and a failing build that leaves each of its
instances a report.json with the reason (needs PyPI)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import GIT_ENV
from swegym.core.evaluation import GradeJob, grade_job, python_column, read_report, run_summary
from swegym.core.instance import TaskInstance
from swegym.core.repository import EnvironmentSpec, RepositorySpec
from swegym.core.results import GradeStatus
from swegym.plugins.runtimes.local import LocalRuntime

pytestmark = pytest.mark.slow

ENVIRONMENT_YML = """\
name: toy
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - c-compiler
  - packaging
  - attrs=19.3
  - dateutil
  - pytest
"""


def commit_dated(path: Path, files: dict[str, str], date: str) -> str:
    env = {**os.environ, **GIT_ENV, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "c"], ["rev-parse", "HEAD"]):
        out = subprocess.run(["git", *args], cwd=path, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def instance(repo: RepositorySpec, commit: str, version: str) -> TaskInstance:
    return TaskInstance(
        instance_id=f"toy__env-{version}", repo=repo.name, base_commit=commit, patch="diff", test_patch="",
        problem_statement="", version=version, FAIL_TO_PASS=["test_x.py::test_x"],
    )


def test_environment_yml_is_translated_and_installed_as_of_the_commit_date(tmp_path):
    commit = commit_dated(tmp_path / "toy", {"environment.yml": ENVIRONMENT_YML, "x.py": "X = 1\n"}, "2023-03-01T12:00:00+00:00")
    spec = EnvironmentSpec(
        packages="environment.yml", environment_yml_paths=("ci/missing.yml", "environment.yml"),
        env_patches=("sed -i 's/^  - pytest$/  - pytest<6/' environment.yml",),
    )
    repo = RepositorySpec(name="toy/envyml", url="", local_path=str(tmp_path / "toy"), environments={"1.0": spec})
    runtime = LocalRuntime(root=str(tmp_path / "cache"), isolation="none")
    environment = runtime.environment(repo, instance(repo, commit, "1.0"))
    assert environment.install == "conda-translated"
    assert (environment.python_requested, environment.python) == ("3.11", "3.11")
    assert environment.resolved_as_of == "2023-03-01T12:00:00+00:00"
    venv_python = Path(environment.location) / "venv" / "bin" / "python"
    versions = subprocess.run(
        [str(venv_python), "-c", "import importlib.metadata as m; print(*(m.version(p) for p in "
         "('packaging', 'attrs', 'python-dateutil', 'pytest', 'pip', 'setuptools', 'wheel')))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    # packaging and python-dateutil unpinned: the releases of that day (packaging 23.1 came
    # out in April 2023); attrs=19.3 kept; the env patch's pytest<6 applied; pip, setuptools
    # and wheel in the venv, of that time too.
    assert versions[:4] == ["23.0", "19.3.0", "2.8.2", "5.4.3"]
    assert versions[5].startswith("67.")
    log = Path(environment.log_path).read_text()
    assert "# install path: conda-translated (environment.yml)" in log
    assert "swegym: conda-only entries left out: pip, c-compiler" in log
    data = json.loads((Path(environment.location) / "environment.json").read_text())
    assert data["conda_dropped"] == ["pip", "c-compiler"] and data["install"] == "conda-translated"


def test_a_failed_build_gives_each_instance_a_report_with_the_reason(tmp_path):
    commit = commit_dated(tmp_path / "toy", {"x.py": "X = 1\n"}, "2024-01-01T00:00:00+00:00")
    spec = EnvironmentSpec(python="3.11", install="echo building; echo 'error: Microsoft Visual C++ 14.0 is required' >&2; false")
    repo = RepositorySpec(name="toy/broken", url="", local_path=str(tmp_path / "toy"), environments={"2.0": spec})
    runtime = LocalRuntime(root=str(tmp_path / "cache"), isolation="none")
    job_instance = instance(repo, commit, "2.0")
    out = tmp_path / "run" / job_instance.instance_id
    result = grade_job(GradeJob(job_instance, repo, runtime, "diff --git a/x.py b/x.py\n", str(out)))
    assert result.status is GradeStatus.ERROR
    report = json.loads((out / "report.json").read_text())[job_instance.instance_id]
    reason = report["swegym"]["reason"]
    assert reason.startswith("environment build failed: toy/broken 2.0: install step failed at `false` (exit 1):")
    assert "error: Microsoft Visual C++ 14.0 is required" in reason and "log: " in reason
    assert "Error:" not in reason.split(":")[0]  # no class name in front
    assert python_column(result) == "environment failed"
    summary = run_summary([job_instance], {job_instance.instance_id: "diff"}, {job_instance.instance_id: result})
    assert summary["error_ids"] == [job_instance.instance_id] and summary["completed_ids"] == []
    assert summary["failure_reasons"] == {job_instance.instance_id: "environment_build_failed"}
    assert summary["infra_failure_ids"] == [job_instance.instance_id]
    assert summary["swegym"]["error_reasons"][job_instance.instance_id] == result.reason
    assert read_report(out, job_instance.instance_id) is None  # a later run tries the build again


def test_an_editable_install_of_a_2021_project_gets_a_pep660_setuptools_for_its_build(tmp_path):
    from swegym.core.python_provider import available_pythons

    if not any(version == "3.9" for _, _, version in available_pythons()):
        pytest.skip("needs a Python 3.9 interpreter (setuptools of April 2021 runs on it)")
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=40.8", "wheel"]\nbuild-backend = "setuptools.build_meta"\n',
        "setup.py": "from setuptools import setup\n\nsetup(name='toy2021', version='0.1', py_modules=['toy2021'], install_requires=['six'])\n",
        "toy2021.py": "X = 1\n",
    }
    commit = commit_dated(tmp_path / "toy", files, "2021-04-30T12:00:00+00:00")
    spec = EnvironmentSpec(python="3.9", install="python -m pip install -e .")
    repo = RepositorySpec(name="toy/editable2021", url="", local_path=str(tmp_path / "toy"), environments={"3.0": spec})
    runtime = LocalRuntime(root=str(tmp_path / "cache"), isolation="none")
    environment = runtime.environment(repo, instance(repo, commit, "3.0"))
    log = Path(environment.log_path).read_text()
    # setuptools 56 (April 2021) has no build_editable: uv retries with a later one for the build
    assert "retrying with setuptools up to 2022-12-31T00:00:00Z" in log
    venv_python = Path(environment.location) / "venv" / "bin" / "python"
    versions = subprocess.run(
        [str(venv_python), "-c", "import importlib.metadata as m, toy2021; print(m.version('six'), m.version('setuptools'))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert versions == ["1.15.0", "56.0.0"]  # the dependency and the venv's setuptools, as of that day
