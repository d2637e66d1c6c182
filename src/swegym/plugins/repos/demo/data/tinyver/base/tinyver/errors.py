"""Exceptions raised by tinyver.

Both concrete errors derive from :class:`ValueError` so that callers
that do not care about tinyver specifically can still catch them.
"""


class TinyverError(Exception):
    """Base class for all tinyver errors."""


class InvalidVersion(TinyverError, ValueError):
    """A string is not a valid semantic version."""


class InvalidSpecifier(TinyverError, ValueError):
    """A version range expression cannot be parsed."""
