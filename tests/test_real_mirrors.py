"""Mining real SWE-Gym Lite instances from the real histories (needs a folder of git mirrors).

Set ``SWEGYM_MIRRORS`` to a folder holding clones named ``owner__name``, ``name`` or
``owner+name/repo`` (see benchmarks/real_instances.py); without it these tests are skipped.
"""

import os
import sys
from pathlib import Path

import pytest

from swegym import Components, get_plugin_manager
from swegym.core.mining import find_pull_request, mine_commit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from real_instances import MIRRORS_ENV, find_mirror  # noqa: E402


# (repository, pull request, the spec version its base commit's release maps to, where it is read)
EXPECTED = [
    ("getmoto/moto", 5752, "4.0", "moto/__init__.py: 4.0.12.dev"),
    ("conan-io/conan", 13788, "1.60", "conans/__init__.py: 1.60.0-dev"),
    ("python/mypy", 10392, "0.820", "mypy/version.py: 0.820+dev"),  # nearest tag said 0.810's branch
    ("python/mypy", 15184, "1.4", "mypy/version.py: 1.4.0+dev"),
    ("facebookresearch/hydra", 2189, "1.2", "hydra/__init__.py: 1.2.0.dev6"),
    ("pydantic/pydantic", 6104, "2.0", "pydantic/version.py: 2.0b2"),
    ("bokeh/bokeh", 13289, "3.3", "first release tag containing it: 3.3.0"),
    ("iterative/dvc", 4785, "1.10", "first release tag containing it: 1.10.0"),
    ("dask/dask", 8597, "2022.01", "first release tag containing it: 2022.01.1"),
    ("Project-MONAI/MONAI", 4688, "0.9", "first release tag containing it: 0.9.1"),
    ("modin-project/modin", 5940, "0.23", "first release tag containing it: 0.23.0"),
]


@pytest.mark.parametrize(("repo", "number", "version", "source"), EXPECTED, ids=[f"{r}-{n}" for r, n, *_ in EXPECTED])
def test_real_pull_request_mined_with_its_release(repo, number, version, source):
    mirrors = os.environ.get(MIRRORS_ENV)
    if not mirrors:
        pytest.skip(f"{MIRRORS_ENV} is not set: no folder of real git mirrors to mine")
    mirror = find_mirror(Path(mirrors), repo)
    if mirror is None:
        pytest.skip(f"no mirror of {repo} in {mirrors}")
    spec = Components(get_plugin_manager())["repositories"].get(repo)
    sha = find_pull_request(mirror, number)
    [instance] = mine_commit(mirror, sha, repo=repo, spec_versions=spec.versions).instances
    assert instance.instance_id == f"{repo.replace('/', '__')}-{number}"
    assert (instance.version, instance.extra["version_source"]) == (version, source)
    assert instance.version in spec.versions
    assert instance.patch.startswith("diff --git") and instance.test_patch.startswith("diff --git")
