"""shorttext_s2s: character-level sequence-to-sequence models on Keras 3.

The public API is re-exported here; see the documentation for tutorials.
"""

from .encoder import SentenceToCharVecEncoder, initSentenceToCharVecEncoder
from .exceptions import (InputDataError, ModelFileError, ModelFileNotFoundError,
                         ModelNotTrainedException, ShorttextS2SError)
from .generator import CharBasedSeq2SeqGenerator, loadCharBasedSeq2SeqGenerator
from .model import Seq2SeqWithKeras, loadSeq2SeqWithKeras

__version__ = "0.1.0"

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
]
