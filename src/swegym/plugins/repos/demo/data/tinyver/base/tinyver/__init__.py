"""tinyver: tiny semantic version parsing, comparison and range matching.

Quick tour::

    >>> from tinyver import Specifier, parse
    >>> parse("1.4.2") < parse("1.10.0")
    True
    >>> parse("1.4.2") in Specifier("^1.2")
    True

See :mod:`tinyver.version` for the version model, :mod:`tinyver.specifier`
for the range syntax and :mod:`tinyver.bump` / :mod:`tinyver.utils` for
helpers.
"""
from .bump import bump_major, bump_minor, bump_patch
from .errors import InvalidSpecifier, InvalidVersion, TinyverError
from .specifier import Specifier
from .utils import coerce, latest, sort_versions
from .version import Version, parse

__version__ = "0.1.0"

__all__ = [
    "InvalidSpecifier",
    "InvalidVersion",
    "Specifier",
    "TinyverError",
    "Version",
    "bump_major",
    "bump_minor",
    "bump_patch",
    "coerce",
    "latest",
    "parse",
    "sort_versions",
]
