"""Compute the next version number.

Each function accepts a version string or :class:`~tinyver.Version` and
returns a new :class:`~tinyver.Version`; the argument is not modified::

    >>> bump_minor("1.2.3")
    Version('1.3.0')
"""
from .version import parse


def bump_major(version):
    """Return the next major version: ``1.2.3`` -> ``2.0.0``."""
    current = parse(version)
    return current.replace(major=current.major + 1, minor=0, patch=0)


def bump_minor(version):
    """Return the next minor version: ``1.2.3`` -> ``1.3.0``."""
    current = parse(version)
    return current.replace(minor=current.minor + 1, patch=0)


def bump_patch(version):
    """Return the next patch version: ``1.2.3`` -> ``1.2.4``."""
    current = parse(version)
    return current.replace(patch=current.patch + 1)
