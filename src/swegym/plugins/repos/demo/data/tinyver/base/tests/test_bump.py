import pytest

from tinyver import InvalidVersion, Version, bump_major, bump_minor, bump_patch


def test_bump_major():
    assert bump_major("1.2.3") == Version(2, 0, 0)


def test_bump_minor():
    assert bump_minor("1.2.3") == Version(1, 3, 0)


def test_bump_patch():
    assert bump_patch("1.2.3") == Version(1, 2, 4)


def test_bump_accepts_version_objects():
    assert bump_patch(Version(0, 9, 9)) == Version(0, 9, 10)


def test_bump_does_not_modify_argument():
    version = Version(1, 2, 3)
    bump_major(version)
    assert str(version) == "1.2.3"


def test_bump_rejects_invalid_version():
    with pytest.raises(InvalidVersion):
        bump_minor("1.2")
