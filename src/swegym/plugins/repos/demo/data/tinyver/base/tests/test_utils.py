import pytest

from tinyver import InvalidVersion, Version, coerce, latest, sort_versions


def test_coerce_pads_missing_components():
    assert coerce("release-v2.4") == Version(2, 4, 0)


def test_coerce_finds_version_in_text():
    assert coerce("mytool version 1.12.3 (build 5)") == Version(1, 12, 3)


def test_coerce_drops_prerelease():
    assert coerce("v3.0.0-rc.1") == Version(3, 0, 0)


def test_coerce_without_number():
    with pytest.raises(InvalidVersion):
        coerce("no digits here")


def test_sort_versions():
    items = ["1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.0"]
    assert sort_versions(items) == ["0.9.0", "1.2.0-rc.1", "1.2.0", "1.10.0"]
    assert sort_versions(items, reverse=True)[0] == "1.10.0"
    assert items[0] == "1.10.0"


def test_latest_skips_prereleases():
    assert latest(["1.0.0", "2.0.0-rc.1", "1.5.0"]) == "1.5.0"
    assert latest(["1.0.0", "2.0.0-rc.1"], include_prereleases=True) == "2.0.0-rc.1"
