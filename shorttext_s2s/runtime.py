"""Moved to :mod:`shorttext_s2s.export.runtime`.

This path still works, with a ``DeprecationWarning``, until release 0.3.0 (see the
changelog).
"""

from ._moved import moved

__getattr__, __dir__ = moved(__name__, "shorttext_s2s.export.runtime")
