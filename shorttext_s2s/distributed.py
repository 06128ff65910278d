"""Moved to :mod:`shorttext_s2s.training.distributed`.

This path still works, with a ``DeprecationWarning``, until release 0.3.0 (see the
changelog).
"""

from ._moved import moved

__getattr__, __dir__ = moved(__name__, "shorttext_s2s.training.distributed", (
    "local_value=shorttext_s2s.networks.base",
))
