"""Moved to :mod:`shorttext_s2s.training.callbacks`.

This path still works, with a ``DeprecationWarning``, until release 0.3.0 (see the
changelog).
"""

from ._moved import moved

__getattr__, __dir__ = moved(__name__, "shorttext_s2s.training.callbacks", (
    "Selection=shorttext_s2s.training.selection",
    "ModelSelection=shorttext_s2s.training.selection",
    "ValidationScorer=shorttext_s2s.training.selection",
    "SELECTION_MEASURES=shorttext_s2s.training.selection:MEASURES",
    "MEASURE_NAMES=shorttext_s2s.training.selection",
))
