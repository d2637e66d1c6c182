import pytest

from tinyver import InvalidVersion, Version, parse


def test_parse_basic():
    version = parse("1.2.3")
    assert (version.major, version.minor, version.patch) == (1, 2, 3)
    assert version.prerelease == ()
    assert version.build == ()


def test_parse_prerelease_and_build():
    version = parse("2.0.0-beta.1+exp.sha.5114f85")
    assert version.prerelease == ("beta", "1")
    assert version.build == ("exp", "sha", "5114f85")


def test_parse_accepts_v_prefix():
    assert parse("v1.0.0") == Version(1, 0, 0)


def test_parse_returns_versions_unchanged():
    version = Version(1, 0, 0)
    assert parse(version) is version


@pytest.mark.parametrize(
    "text",
    ["1", "1.2", "1.2.3.4", "a.b.c", "1.2.3-", "1.2.3+", "01.2.3", "1.02.3", "-1.2.3"],
)
def test_parse_rejects_invalid(text):
    with pytest.raises(InvalidVersion):
        parse(text)


def test_parse_rejects_empty_string():
    with pytest.raises(InvalidVersion):
        parse("")


def test_parse_rejects_non_string():
    with pytest.raises(TypeError):
        parse(123)


def test_str_round_trip():
    for text in ["0.0.0", "1.2.3", "1.0.0-rc.1", "1.0.0+build.7", "1.0.0-x.7.z.92+meta"]:
        assert str(parse(text)) == text


def test_repr():
    assert repr(Version(1, 2, 3, prerelease=("rc", "1"))) == "Version('1.2.3-rc.1')"


def test_constructor_validates_numbers():
    with pytest.raises(InvalidVersion):
        Version(-1, 0, 0)
    with pytest.raises(InvalidVersion):
        Version(1, "2", 0)


def test_release_ordering():
    assert parse("1.2.3") < parse("1.2.4") < parse("1.3.0") < parse("2.0.0")
    assert parse("1.10.0") > parse("1.9.0")


def test_prerelease_sorts_before_release():
    assert parse("1.0.0-alpha") < parse("1.0.0")
    assert parse("1.0.0") > parse("1.0.0-rc.1")


def test_prerelease_alphanumeric_identifiers():
    assert parse("1.0.0-alpha") < parse("1.0.0-beta")
    assert parse("1.0.0-alpha") < parse("1.0.0-alpha.1")
    assert parse("1.0.0-beta.2") < parse("1.0.0-beta.3")


def test_compare_with_string():
    assert Version(1, 2, 3) == "1.2.3"
    assert Version(1, 2, 3) < "1.10.0"


def test_equal_versions_have_equal_hashes():
    assert hash(parse("1.2.3")) == hash(Version(1, 2, 3))
    assert len({parse("1.2.3"), parse("v1.2.3"), parse("1.2.4")}) == 2


def test_replace():
    assert parse("1.2.3").replace(minor=5) == Version(1, 5, 3)
    with pytest.raises(TypeError):
        parse("1.2.3").replace(epoch=1)


def test_properties():
    version = parse("1.2.3-rc.1")
    assert version.release == (1, 2, 3)
    assert version.is_prerelease
    assert not parse("1.2.3").is_prerelease
