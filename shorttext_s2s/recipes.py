"""Moved to :mod:`shorttext_s2s.training.recipes`.

This path still works, with a ``DeprecationWarning``, until release 0.3.0 (see the
changelog).
"""

from ._moved import moved

__getattr__, __dir__ = moved(__name__, "shorttext_s2s.training.recipes", (
    "PATIENCE=shorttext_s2s.training.selection",
    "default_patience=shorttext_s2s.training.selection",
    "selection_measure=shorttext_s2s.training.selection",
    "RECIPES=shorttext_s2s.catalog",
))
