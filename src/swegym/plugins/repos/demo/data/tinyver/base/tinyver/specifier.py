"""Version range expressions.

A :class:`Specifier` is parsed from a string made of one or more
*alternatives* separated by ``||``; a version matches if it matches any
alternative.  An alternative is a list of clauses separated by commas
or whitespace, all of which must match::

    >>> spec = Specifier(">=1.0, <2 || ^3.1")
    >>> spec.contains("1.4.0"), spec.contains("2.0.0"), "3.2.0" in spec
    (True, False, True)

Supported clauses are exact versions (``1.2.3``, ``=1.2.3``,
``==1.2.3``), comparisons (``<``, ``<=``, ``>``, ``>=``, ``!=``), caret
ranges (``^1.2.3``), tilde ranges (``~1.2.3``), wildcards (``1.2.x``,
``1.*``, ``*``) and hyphen ranges (``1.0 - 2.0``).

Prerelease versions only match when the specifier itself mentions a
prerelease version or when ``prereleases=True`` is passed.
"""
import operator
import re

from .errors import InvalidSpecifier
from .version import Version, parse

_NUMBER = r"[0-9]+|[xX*]"
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"

_PARTIAL_RE = re.compile(
    r"v?(?P<major>" + _NUMBER + r")"
    r"(?:\.(?P<minor>" + _NUMBER + r"))?"
    r"(?:\.(?P<patch>" + _NUMBER + r"))?"
    r"(?:-(?P<prerelease>" + _IDENTIFIERS + r"))?"
    r"(?:\+" + _IDENTIFIERS + r")?"
)
_CLAUSE_RE = re.compile(r"(?P<op>[<>=!^~]*)(?P<version>.*)")
_HYPHEN_RE = re.compile(r"\s*(?P<low>\S+)\s+-\s+(?P<high>\S+)\s*")

_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _parse_partial(text):
    """Parse a possibly incomplete version such as ``1``, ``1.2`` or ``1.2.x``.

    Returns ``(major, minor, patch, prerelease)`` where missing and
    wildcard components are ``None``.
    """
    match = _PARTIAL_RE.fullmatch(text)
    if match is None:
        raise InvalidSpecifier("invalid version in specifier: %r" % (text,))
    numbers = []
    for name in ("major", "minor", "patch"):
        value = match.group(name)
        if value is None or value in ("x", "X", "*") or None in numbers:
            numbers.append(None)
        else:
            numbers.append(int(value))
    prerelease = match.group("prerelease")
    if prerelease and None in numbers:
        raise InvalidSpecifier("a prerelease needs a full version: %r" % (text,))
    major, minor, patch = numbers
    return major, minor, patch, (tuple(prerelease.split(".")) if prerelease else ())


def _floor(major, minor, patch, prerelease=()):
    """The lowest version matched by a partial version."""
    return Version(major, minor or 0, patch or 0, prerelease)


def _ceiling(major, minor):
    """The first version *after* everything matched by ``major.minor.*``.

    When ``minor`` is missing this is the next major version.
    """
    if minor is None:
        return Version(major + 1, 0, 0)
    return Version(major, minor + 1, 0)


def _exact(major, minor, patch, prerelease):
    if patch is None:
        return [(">=", _floor(major, minor, patch)), ("<", _ceiling(major, minor))]
    return [("==", Version(major, minor, patch, prerelease))]


def _not_equal(major, minor, patch, prerelease):
    if patch is None:
        raise InvalidSpecifier("'!=' needs a full version")
    return [("!=", Version(major, minor, patch, prerelease))]


def _greater(major, minor, patch, prerelease):
    if patch is None:
        return [(">=", _ceiling(major, minor))]
    return [(">", Version(major, minor, patch, prerelease))]


def _greater_equal(major, minor, patch, prerelease):
    return [(">=", _floor(major, minor, patch, prerelease))]


def _less(major, minor, patch, prerelease):
    return [("<", _floor(major, minor, patch, prerelease))]


def _less_equal(major, minor, patch, prerelease):
    if patch is None:
        return [("<", _ceiling(major, minor))]
    return [("<=", Version(major, minor, patch, prerelease))]


def _caret(major, minor, patch, prerelease):
    """``^1.2.3`` allows every version up to the next breaking release."""
    lower = _floor(major, minor, patch, prerelease)
    return [(">=", lower), ("<", Version(major + 1, 0, 0))]


def _tilde(major, minor, patch, prerelease):
    """``~1.2.3`` allows patch releases, ``~1`` allows minor releases."""
    lower = _floor(major, minor, patch, prerelease)
    return [(">=", lower), ("<", _ceiling(major, minor))]


_HANDLERS = {
    "": _exact,
    "=": _exact,
    "==": _exact,
    "!=": _not_equal,
    ">": _greater,
    ">=": _greater_equal,
    "<": _less,
    "<=": _less_equal,
    "^": _caret,
    "~": _tilde,
}


def _parse_clause(clause):
    """Turn one clause such as ``^1.2`` into a list of ``(op, Version)``."""
    match = _CLAUSE_RE.fullmatch(clause)
    op, text = match.group("op"), match.group("version")
    major, minor, patch, prerelease = _parse_partial(text)
    if major is None:
        if op in ("", "=", "=="):
            return []  # "*" matches everything
        raise InvalidSpecifier("%r needs a version, not a wildcard" % (op,))
    return _HANDLERS[op](major, minor, patch, prerelease)


def _hyphen_range(low, high):
    """``1.2 - 2.3.4`` matches the versions between both ends, inclusive."""
    comparators = []
    lmajor, lminor, lpatch, lpre = _parse_partial(low)
    if lmajor is not None:
        comparators.append((">=", _floor(lmajor, lminor, lpatch, lpre)))
    hmajor, hminor, hpatch, hpre = _parse_partial(high)
    if hmajor is not None:
        comparators.append(("<", _floor(hmajor, hminor, hpatch, hpre)))
    return comparators


def _parse_alternative(text):
    """Parse one ``||``-separated alternative into a list of comparators."""
    hyphen = _HYPHEN_RE.fullmatch(text)
    if hyphen is not None:
        return _hyphen_range(hyphen.group("low"), hyphen.group("high"))
    comparators = []
    # Glue operators to their version so that ">= 1.2" is a single clause.
    text = re.sub(r"([<>=!^~]+)\s+", r"\1", text.strip())
    for clause in re.split(r"[\s,]+", text):
        if clause:
            comparators.extend(_parse_clause(clause))
    return comparators


class Specifier:
    """A version range such as ``">=1.2, <2 || ^3.0"``.

    :param text: the range expression; an empty string matches every
        version.
    :param prereleases: also match prerelease versions when the
        expression does not mention one.
    """

    def __init__(self, text, prereleases=False):
        if not isinstance(text, str):
            raise TypeError("expected a str, got %s" % type(text).__name__)
        self.text = text
        self.prereleases = prereleases
        # Flat list of (joiner, (op, Version)) where joiner is "and" or "or".
        self._terms = []
        for index, alternative in enumerate(text.split("||")):
            joiner = "or" if index else "and"
            for comparator in _parse_alternative(alternative):
                self._terms.append((joiner, comparator))
                joiner = "and"
        self._mentions_prerelease = any(
            bound.is_prerelease for _, (_, bound) in self._terms
        )

    def __repr__(self):
        return "Specifier(%r)" % (self.text,)

    def __str__(self):
        return self.text

    def __contains__(self, version):
        return self.contains(version)

    def contains(self, version, prereleases=None):
        """Return True if *version* (a str or Version) is in the range.

        *prereleases* overrides the instance setting for this call.
        """
        version = parse(version)
        if prereleases is None:
            prereleases = self.prereleases or self._mentions_prerelease
        if version.is_prerelease and not prereleases:
            return False
        result = True
        for joiner, (op, bound) in self._terms:
            matched = _COMPARE[op](version, bound)
            if joiner == "or":
                result = result or matched
            else:
                result = result and matched
        return result

    def filter(self, versions, prereleases=None):
        """Yield the items of *versions* that are in the range.

        Items may be strings or Version objects; they are yielded as given.
        """
        for item in versions:
            if self.contains(item, prereleases=prereleases):
                yield item

    def max_satisfying(self, versions, prereleases=None):
        """Return the highest item of *versions* in the range, or None."""
        return max(self.filter(versions, prereleases), key=parse)
