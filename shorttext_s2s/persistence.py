"""Moved to :mod:`shorttext_s2s.saving.compact`.

This path still works, with a ``DeprecationWarning``, until release 0.3.0 (see the
changelog).
"""

from ._moved import moved

__getattr__, __dir__ = moved(__name__, "shorttext_s2s.saving.compact", (
    "SECTIONS=shorttext_s2s.saving.description",
    "read_description=shorttext_s2s.saving.description",
    "builtin_optimizer_config=shorttext_s2s.saving.description",
    "builtin_loss=shorttext_s2s.saving.description",
    "MODEL_SUFFIX=shorttext_s2s.catalog",
))
