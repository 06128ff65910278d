"""Aliases at the shorttext module paths (``shorttext.generators``), for code being ported."""

from ..encoder import SentenceToCharVecEncoder, initSentenceToCharVecEncoder
from ..generator import CharBasedSeq2SeqGenerator, loadCharBasedSeq2SeqGenerator
from ..model import Seq2SeqWithKeras, loadSeq2SeqWithKeras

__all__ = ["SentenceToCharVecEncoder", "initSentenceToCharVecEncoder",
           "CharBasedSeq2SeqGenerator", "loadCharBasedSeq2SeqGenerator",
           "Seq2SeqWithKeras", "loadSeq2SeqWithKeras"]
