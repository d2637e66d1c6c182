"""Helpers for working with collections of versions."""
import re

from .errors import InvalidVersion
from .version import Version, parse

_COERCE_RE = re.compile(r"(?<![0-9])([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?")


def coerce(text, fill=[0, 0, 0]):
    """Extract a version from a loosely formatted string.

    The first run of up to three dot-separated numbers in *text* is used
    and missing components are taken from *fill*.  Prerelease and build
    information is dropped::

        >>> coerce("release-v2.4")
        Version('2.4.0')

    Raises :class:`~tinyver.errors.InvalidVersion` if *text* contains no
    number at all.
    """
    match = _COERCE_RE.search(text)
    if match is None:
        raise InvalidVersion("no version found in %r" % (text,))
    parts = fill
    for index, group in enumerate(match.groups()):
        if group is not None:
            parts[index] = int(group)
    return Version(*parts)


def sort_versions(versions, reverse=False):
    """Return a new list with *versions* sorted by semver precedence.

    Items may be strings or Version objects; they are returned as given.
    """
    return sorted(versions, key=parse, reverse=reverse)


def latest(versions, include_prereleases=False):
    """Return the highest of *versions*, or None if there is none.

    Prereleases are skipped unless *include_prereleases* is true.  Items
    may be strings or Version objects; they are returned as given.
    """
    candidates = [
        item
        for item in versions
        if include_prereleases or not parse(item).is_prerelease
    ]
    return max(candidates, key=parse)
