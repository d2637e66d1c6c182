import pytest

from tinyver import InvalidSpecifier, Specifier, Version


@pytest.mark.parametrize(
    "spec, version, expected",
    [
        ("1.2.3", "1.2.3", True),
        ("=1.2.3", "1.2.4", False),
        ("==1.2.3", "1.2.3", True),
        (">1.2.3", "1.2.4", True),
        (">1.2.3", "1.2.3", False),
        (">=1.2.3", "1.2.3", True),
        ("<1.2.3", "1.2.2", True),
        ("<=1.2.3", "1.2.3", True),
        ("!=1.2.3", "1.2.3", False),
        ("!=1.2.3", "1.2.4", True),
    ],
)
def test_comparison_operators(spec, version, expected):
    assert Specifier(spec).contains(version) is expected


def test_partial_versions():
    assert Specifier("1.2").contains("1.2.9")
    assert not Specifier("1.2").contains("1.3.0")
    assert Specifier(">1.2").contains("1.3.0")
    assert not Specifier(">1.2").contains("1.2.9")
    assert Specifier("<=1.2").contains("1.2.9")
    assert not Specifier("<=1.2").contains("1.3.0")


@pytest.mark.parametrize("spec", ["1.2.x", "1.2.*", "1.2.X", "1.2"])
def test_wildcards(spec):
    specifier = Specifier(spec)
    assert specifier.contains("1.2.0")
    assert specifier.contains("1.2.17")
    assert not specifier.contains("1.3.0")
    assert not specifier.contains("1.1.9")


def test_star_and_empty_match_everything():
    for text in ["*", "x", "", "  "]:
        assert Specifier(text).contains("0.0.1")
        assert Specifier(text).contains("99.0.0")


def test_caret():
    spec = Specifier("^1.2.3")
    assert spec.contains("1.2.3")
    assert spec.contains("1.9.0")
    assert not spec.contains("1.2.2")
    assert not spec.contains("2.0.0")
    assert Specifier("^1.2").contains("1.2.0")


def test_tilde():
    spec = Specifier("~1.2.3")
    assert spec.contains("1.2.9")
    assert not spec.contains("1.3.0")
    assert Specifier("~1").contains("1.9.0")
    assert not Specifier("~1").contains("2.0.0")


def test_multiple_clauses():
    for text in [">=1.0, <2", ">=1.0 <2", ">= 1.0 , < 2"]:
        spec = Specifier(text)
        assert spec.contains("1.5.0")
        assert not spec.contains("2.0.0")
        assert not spec.contains("0.9.0")


def test_alternatives():
    spec = Specifier("^1.2 || ^2.0")
    assert spec.contains("1.5.0")
    assert spec.contains("2.5.0")
    assert not spec.contains("1.0.0")
    assert not spec.contains("3.0.0")


def test_hyphen_range():
    spec = Specifier("1.2.3 - 2.3.4")
    assert spec.contains("1.2.3")
    assert spec.contains("2.0.0")
    assert not spec.contains("1.2.2")
    assert not spec.contains("2.3.5")


def test_prereleases_are_excluded_by_default():
    assert not Specifier(">=1.0").contains("2.0.0-rc.1")
    assert Specifier(">=1.0").contains("2.0.0-rc.1", prereleases=True)
    assert Specifier(">=1.0", prereleases=True).contains("2.0.0-rc.1")
    assert Specifier(">=2.0.0-rc.1").contains("2.0.0-rc.2")


def test_in_operator():
    assert "1.5.0" in Specifier("^1.0")
    assert Version(1, 5, 0) in Specifier("^1.0")
    assert "2.0.0" not in Specifier("^1.0")


def test_filter_and_max_satisfying():
    versions = ["0.9.0", "1.0.0", "1.4.2", "2.0.0-rc.1", "2.0.0"]
    spec = Specifier("^1.0")
    assert list(spec.filter(versions)) == ["1.0.0", "1.4.2"]
    assert spec.max_satisfying(versions) == "1.4.2"


@pytest.mark.parametrize("text", ["banana", ">=", "1.2.3.4", "!=1.2", "^*", "1.x-rc.1"])
def test_invalid_specifiers(text):
    with pytest.raises(InvalidSpecifier):
        Specifier(text)


def test_repr_and_str():
    assert repr(Specifier(">=1.0")) == "Specifier('>=1.0')"
    assert str(Specifier(">=1.0")) == ">=1.0"


def test_rejects_non_string():
    with pytest.raises(TypeError):
        Specifier(1)
