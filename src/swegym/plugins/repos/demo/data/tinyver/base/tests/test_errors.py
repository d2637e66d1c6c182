import pytest

from tinyver import InvalidSpecifier, InvalidVersion, Specifier, TinyverError, parse


def test_error_hierarchy():
    for error in (InvalidVersion, InvalidSpecifier):
        assert issubclass(error, TinyverError)
        assert issubclass(error, ValueError)


def test_errors_mention_the_input():
    with pytest.raises(InvalidVersion, match="banana"):
        parse("banana")
    with pytest.raises(InvalidSpecifier, match="banana"):
        Specifier(">=banana")
