"""shorttext_s2s: character-level sequence-to-sequence models on Keras 3.

The public API is re-exported here; see the documentation for tutorials.

The names that need Keras (the models) are imported on first use (PEP 562), so that reading
and encoding data, ``shorttext-s2s --help`` and option errors do not pay for importing Keras
and its backend (several seconds and about 600 MiB with TensorFlow).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from ._version import __version__
from .encoder import SentenceToCharVecEncoder, initSentenceToCharVecEncoder
from .exceptions import (InputDataError, InputWarning, ModelFileError, ModelFileNotFoundError,
                         ModelNotTrainedException, ShorttextS2SError)
from .native_logs import quiet_native_logs

if TYPE_CHECKING:
    from .generator import CharBasedSeq2SeqGenerator, loadCharBasedSeq2SeqGenerator
    from .model import Seq2SeqWithKeras, loadSeq2SeqWithKeras

__all__ = [
    "SentenceToCharVecEncoder",
    "initSentenceToCharVecEncoder",
    "Seq2SeqWithKeras",
    "loadSeq2SeqWithKeras",
    "CharBasedSeq2SeqGenerator",
    "loadCharBasedSeq2SeqGenerator",
    "ShorttextS2SError",
    "ModelNotTrainedException",
    "ModelFileError",
    "ModelFileNotFoundError",
    "InputDataError",
    "InputWarning",
    "quiet_native_logs",
    "__version__",
]

_LAZY = {
    "Seq2SeqWithKeras": ".model",
    "loadSeq2SeqWithKeras": ".model",
    "CharBasedSeq2SeqGenerator": ".generator",
    "loadCharBasedSeq2SeqGenerator": ".generator",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .extras import check_backend

    # The models import Keras, which names only the missing module when its backend is not
    # installed; this names the extra to install.
    check_backend()
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
