"""Errors raised by the geo library.

Every message is Chinese first, then English, so the CLI and the API can show it as is.
"""

from __future__ import annotations


class GeoError(Exception):
    """Base class of every error raised by :mod:`geo`."""


class ReadError(GeoError):
    """A file cannot be read: missing, unsupported, corrupt, unsafe or too large."""


class CRSError(GeoError):
    """A coordinate reference system is unknown, unsupported or missing."""
