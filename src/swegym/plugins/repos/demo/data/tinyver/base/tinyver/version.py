"""The :class:`Version` model.

Versions follow `Semantic Versioning 2.0.0 <https://semver.org>`_::

    MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]

``PRERELEASE`` and ``BUILD`` are dot-separated lists of identifiers made
of ASCII letters, digits and hyphens.  A leading ``v`` is tolerated by
:func:`parse` because it is so common in git tags.
"""
import re
from functools import total_ordering

from .errors import InvalidVersion

_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"

_VERSION_RE = re.compile(
    r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
    r"(?:-(?P<prerelease>" + _IDENTIFIERS + r"))?"
    r"(?:\+(?P<build>" + _IDENTIFIERS + r"))?"
)


def _split_identifiers(text):
    return tuple(text.split(".")) if text else ()


@total_ordering
class Version:
    """A semantic version.

    Instances are usually created with :func:`parse` but can also be
    built from their components::

        >>> Version(1, 2, 3, prerelease=("rc", "1"))
        Version('1.2.3-rc.1')

    Versions are ordered by semver precedence and can be compared with
    strings, which are parsed on the fly::

        >>> Version(1, 2, 3) < "1.10.0"
        True
    """

    def __init__(self, major, minor=0, patch=0, prerelease=(), build=()):
        for name, value in (("major", major), ("minor", minor), ("patch", patch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidVersion(
                    "%s must be a non-negative integer, got %r" % (name, value)
                )
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = tuple(str(part) for part in prerelease)
        self.build = tuple(str(part) for part in build)

    @classmethod
    def parse(cls, text):
        """Alternative constructor, same as :func:`tinyver.parse`."""
        return parse(text)

    @property
    def release(self):
        """The ``(major, minor, patch)`` tuple."""
        return (self.major, self.minor, self.patch)

    @property
    def is_prerelease(self):
        """True for versions such as ``1.0.0-rc.1``."""
        return bool(self.prerelease)

    def replace(self, **changes):
        """Return a copy of this version with some components replaced.

            >>> parse("1.2.3").replace(minor=5)
            Version('1.5.3')
        """
        fields = {
            "major": self.major,
            "minor": self.minor,
            "patch": self.patch,
            "prerelease": self.prerelease,
            "build": self.build,
        }
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise TypeError("unknown version field(s): %s" % ", ".join(unknown))
        fields.update(changes)
        return Version(**fields)

    def _key(self):
        # A release has a higher precedence than any of its prereleases,
        # so releases get a marker that sorts after the prerelease one.
        if self.prerelease:
            pre = (0, self.prerelease)
        else:
            pre = (1, ())
        return (self.major, self.minor, self.patch, pre)

    def __eq__(self, other):
        if isinstance(other, str):
            other = parse(other)
        return self._key() == other._key()

    def __lt__(self, other):
        if isinstance(other, str):
            other = parse(other)
        return self._key() < other._key()

    def __hash__(self):
        return hash((self.major, self.minor, self.patch, self.prerelease, self.build))

    def __str__(self):
        text = "%d.%d.%d" % (self.major, self.minor, self.patch)
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self):
        return "Version(%r)" % str(self)


def parse(text):
    """Parse *text* into a :class:`Version`.

    :class:`Version` objects are returned unchanged.  Raises
    :class:`~tinyver.errors.InvalidVersion` if *text* is not a valid
    semantic version::

        >>> parse("v2.0.0-beta.1+exp.sha.5114f85")
        Version('2.0.0-beta.1+exp.sha.5114f85')
    """
    if isinstance(text, Version):
        return text
    if not isinstance(text, str):
        raise TypeError("expected a str or Version, got %s" % type(text).__name__)
    candidate = text
    if candidate[:1] in ("v", "V"):
        candidate = candidate[1:]
    match = _VERSION_RE.fullmatch(candidate)
    if match is None:
        raise InvalidVersion("invalid version: %r" % (text,))
    numbers = match.group("major", "minor", "patch")
    for number in numbers:
        if len(number) > 1 and number[0] == "0":
            raise InvalidVersion("leading zeros are not allowed: %r" % (text,))
    major, minor, patch = (int(number) for number in numbers)
    return Version(
        major,
        minor,
        patch,
        _split_identifiers(match.group("prerelease")),
        _split_identifiers(match.group("build")),
    )
